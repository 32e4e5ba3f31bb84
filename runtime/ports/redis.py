"""Redis state: shared by every runtime process; each write is one atomic script or transaction.

Keys (``prefix`` defaults to ``focal``; tenant names never contain ``:``)::

    {p}:{tenant}:conv:{id}               hash: rev, doc (JSON), at (scenario/step)
    {p}:{tenant}:steps                   hash: "scenario/step" -> conversations there
    {p}:{tenant}:turn:{id}               "expires_ms|holder": the conversation's turn lease
    {p}:{tenant}:call:{key}              hash: doc (the call as begun, JSON), exp (ms), out
                                         (JSON: status, result, error, finished_at; once set)
    {p}:{tenant}:calls:in-flight         set of keys recorded in flight
    {p}:{tenant}:audit:{stream}          stream; entry id "<seq>-0", field doc
    {p}:{tenant}:audit:{stream}:seq      the stream's last seq

Instants compared are the caller's clock, not Redis's; TTLs only collect garbage.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import redis

from runtime.ports.records import AuditEvent, CallStatus, Conversation, ToolCall

_SAVE = """
local rev = redis.call('HGET', KEYS[1], 'rev') or '0'
if rev ~= ARGV[1] then return 0 end
local old = redis.call('HGET', KEYS[1], 'at')
if old and old ~= '' then redis.call('HINCRBY', KEYS[2], old, -1) end
if ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[4], 1) end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'doc', ARGV[3], 'at', ARGV[4])
return 1
"""

_CLAIM = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  local exp = tonumber(string.sub(cur, 1, sep - 1))
  local holder = string.sub(cur, sep + 1)
  if exp > tonumber(ARGV[2]) and not (ARGV[5] == '1' and holder == ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[3] .. '|' .. ARGV[1], 'PX', ARGV[4])
return 1
"""

_RELEASE = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  if string.sub(cur, sep + 1) == ARGV[1] then redis.call('DEL', KEYS[1]) end
end
return 0
"""

_BEGIN = """
local exp = redis.call('HGET', KEYS[1], 'exp')
if exp and tonumber(exp) > tonumber(ARGV[3]) then
  return redis.call('HMGET', KEYS[1], 'doc', 'out')
end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'exp', ARGV[5])
redis.call('HDEL', KEYS[1], 'out')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[2])
return false
"""

_FINISH = """
local doc = redis.call('HGET', KEYS[1], 'doc')
if not doc then return false end
redis.call('HSET', KEYS[1], 'out', ARGV[1])
if ARGV[3] == '1' then redis.call('SADD', KEYS[2], ARGV[2])
else redis.call('SREM', KEYS[2], ARGV[2]) end
return {doc, ARGV[1]}
"""

_APPEND = """
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], seq .. '-0', 'doc', ARGV[1])
return seq
"""


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _gc_ms(ttl: timedelta) -> int:
    """Garbage-collection TTL: well past the logical expiry, whatever the caller's clock."""
    return int(ttl.total_seconds() * 2000) + 60_000


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _call(doc: bytes | str, outcome: bytes | str | None) -> ToolCall:
    """A call record: as begun, with its outcome (a separate field, written in one step)."""
    data = json.loads(doc)
    if outcome:
        data.update(json.loads(outcome))
    return ToolCall.from_json(data)


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


class RedisState:
    """Implements every state port on one Redis database under ``prefix``."""

    def __init__(self, url: str, prefix: str | None = None) -> None:
        parts = urlsplit(url)
        self.prefix = prefix or parse_qs(parts.query).get("prefix", ["focal"])[0]
        clean = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self.client = redis.Redis.from_url(clean, socket_connect_timeout=2, socket_timeout=5)
        self.description = urlunsplit(
            (parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", "")
        )
        self._save = self.client.register_script(_SAVE)
        self._claim = self.client.register_script(_CLAIM)
        self._release = self.client.register_script(_RELEASE)
        self._begin = self.client.register_script(_BEGIN)
        self._finish = self.client.register_script(_FINISH)
        self._append = self.client.register_script(_APPEND)

    def _k(self, tenant: str, *parts: str) -> str:
        return ":".join((self.prefix, tenant, *parts))

    # ConversationStore
    def load(self, tenant: str, conversation: str) -> Conversation | None:
        doc = self.client.hget(self._k(tenant, "conv", conversation), "doc")
        return Conversation.from_json(json.loads(doc)) if doc else None

    def save(self, conversation: Conversation, now: datetime) -> Conversation | None:
        new, stored = self._save_one(conversation, now, self.client)
        return new if stored == 1 else None

    def _save_one(self, conversation: Conversation, now: datetime, client: Any) -> Any:
        """The compare-and-set script for ``conversation`` on ``client`` (or a pipeline)."""
        new = replace(conversation, revision=conversation.revision + 1, updated_at=now)
        at = f"{new.scenario}/{new.step}" if new.scenario and new.step else ""
        stored = self._save(
            keys=[self._k(new.tenant, "conv", new.id), self._k(new.tenant, "steps")],
            args=[str(conversation.revision), str(new.revision), _dumps(new.to_json()), at],
            client=client,
        )
        return new, stored

    def _append_to(self, event: AuditEvent, client: Any) -> Any:
        stream = self._k(event.tenant, "audit", event.stream)
        doc = _dumps(replace(event, seq=0).to_json())
        return self._append(keys=[stream, stream + ":seq"], args=[doc], client=client)

    def count_by_step(self, tenant: str) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for field, value in self.client.hgetall(self._k(tenant, "steps")).items():
            scenario, _, step = _text(field).partition("/")
            if int(value) > 0:
                counts[(scenario, step)] = int(value)
        return counts

    def acquire_turn(
        self, tenant: str, conversation: str, holder: str, now: datetime, ttl: timedelta
    ) -> bool:
        key = self._k(tenant, "turn", conversation)
        args: list[str | int] = [holder, _ms(now), _ms(now + ttl), _gc_ms(ttl), "1"]
        return bool(self._claim(keys=[key], args=args))

    def release_turn(self, tenant: str, conversation: str, holder: str) -> None:
        self._release(keys=[self._k(tenant, "turn", conversation)], args=[holder])

    def begin_turn(
        self, tenant: str, conversation: str, holder: str, now: datetime, ttl: timedelta
    ) -> tuple[bool, Conversation | None]:
        args: list[str | int] = [holder, _ms(now), _ms(now + ttl), _gc_ms(ttl), "1"]
        with self.client.pipeline(transaction=False) as pipe:
            self._claim(keys=[self._k(tenant, "turn", conversation)], args=args, client=pipe)
            pipe.hget(self._k(tenant, "conv", conversation), "doc")
            taken, doc = pipe.execute()
        if not taken:
            return False, None  # the read raced the holder's write: not used
        return True, Conversation.from_json(json.loads(doc)) if doc else None

    def end_turn(
        self,
        tenant: str,
        conversation: str,
        holder: str,
        now: datetime,
        save: Conversation | None,
        events: Sequence[AuditEvent],
    ) -> Conversation | None:
        new = None
        with self.client.pipeline(transaction=False) as pipe:
            if save is not None:
                new, _ = self._save_one(save, now, pipe)
            for event in events:
                self._append_to(event, pipe)
            self._release(keys=[self._k(tenant, "turn", conversation)], args=[holder], client=pipe)
            replies = pipe.execute()
        return new if save is not None and replies[0] == 1 else None

    # ToolCallLog
    def begin(self, call: ToolCall) -> ToolCall | None:
        record = replace(call, status=CallStatus.IN_FLIGHT)
        ttl = call.expires_at - call.started_at
        existing = self._begin(
            keys=[self._k(call.tenant, "call", call.key), self._k(call.tenant, "calls:in-flight")],
            args=[
                _dumps(record.to_json()),
                call.key,
                _ms(call.started_at),
                _gc_ms(ttl),
                _ms(call.expires_at),
            ],
        )
        return _call(existing[0], existing[1]) if existing else None

    def finish(
        self,
        tenant: str,
        key: str,
        status: CallStatus,
        now: datetime,
        result: Any = None,
        error: str | None = None,
    ) -> ToolCall | None:
        outcome = {"status": str(status), "result": result, "error": error}
        outcome["finished_at"] = now.astimezone(UTC).isoformat()
        found = self._finish(
            keys=[self._k(tenant, "call", key), self._k(tenant, "calls:in-flight")],
            args=[_dumps(outcome), key, "1" if status == CallStatus.IN_FLIGHT else "0"],
        )
        return _call(found[0], found[1]) if found else None

    def lookup(self, tenant: str, key: str) -> ToolCall | None:
        doc, outcome = self.client.hmget(self._k(tenant, "call", key), ["doc", "out"])
        return _call(doc, outcome) if doc else None

    def in_flight(self, tenant: str) -> list[ToolCall]:
        calls = []
        for key in self.client.smembers(self._k(tenant, "calls:in-flight")):
            call = self.lookup(tenant, _text(key))
            if call is not None and call.status == CallStatus.IN_FLIGHT:
                calls.append(call)
        return sorted(calls, key=lambda c: c.started_at)

    # AuditLog
    def append(self, event: AuditEvent) -> AuditEvent:
        return replace(event, seq=int(self._append_to(event, self.client)))

    def append_many(self, events: Sequence[AuditEvent]) -> list[AuditEvent]:
        if not events:
            return []
        with self.client.pipeline(transaction=False) as pipe:
            for event in events:
                self._append_to(event, pipe)
            seqs = pipe.execute()
        return [replace(e, seq=int(s)) for e, s in zip(events, seqs, strict=True)]

    def events(
        self, tenant: str, *, stream: str = "live", after: int = 0, limit: int = 1000
    ) -> list[AuditEvent]:
        entries: Any = self.client.xrange(
            self._k(tenant, "audit", stream), min=f"{after + 1}-0", max="+", count=limit
        )
        return [
            replace(
                AuditEvent.from_json(json.loads(fields[b"doc"])),
                seq=int(_text(entry_id).split("-")[0]),
            )
            for entry_id, fields in entries
        ]

    def close(self) -> None:
        self.client.close()
