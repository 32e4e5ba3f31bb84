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
    {p}:{tenant}:action:{id}             hash: a scheduled action's fields ('' for none;
                                         data as JSON)
    {p}:{tenant}:actions:ready           sorted set: id -> when claimable (ms; due time if
                                         pending, lease end if claimed; absent once finished)
    {p}:_:actions:ready                  the same for every tenant: "tenant:id" -> ms
    {p}:{tenant}:actions:conv:{id}       set of the conversation's action ids
    {p}:{tenant}:msg:{id}                hash: doc (an outbound message, JSON), rev
    {p}:{tenant}:msgs:conv:{id}          sorted set: the conversation's message ids by
                                         creation (ms)
    {p}:_:msgs:failed                    sorted set: "tenant:id" of every failed message ->
                                         when it last changed (ms)

The agenda's scripts name the keys of the actions they read from an index, so they need one
Redis (not a cluster).

Instants compared are the caller's clock, not Redis's; TTLs only collect garbage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from runtime.ports.records import (
    ActionStatus,
    AuditEvent,
    CallStatus,
    Conversation,
    OutboundMessage,
    ScheduledAction,
    ToolCall,
)

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

# KEYS: stream, its seq counter. ARGV: the events' docs, in order. Returns their seqs.
_APPEND = """
local seq = redis.call('INCRBY', KEYS[2], #ARGV) - #ARGV
local out = {}
for i, doc in ipairs(ARGV) do
  redis.call('XADD', KEYS[1], (seq + i) .. '-0', 'doc', doc)
  out[i] = seq + i
end
return out
"""

_SCHEDULE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[1])
return 1
"""

# KEYS: the index to claim from (a tenant's or the global one), the global index.
# ARGV: prefix, now ms, limit, holder, lease end ms, lease end ISO, now ISO, tenant ('' = all)
_CLAIM_DUE = """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
local out = {}
for _, m in ipairs(members) do
  local tenant, id = ARGV[8], m
  if tenant == '' then
    local sep = string.find(m, ':', 1, true)
    tenant, id = string.sub(m, 1, sep - 1), string.sub(m, sep + 1)
  end
  local key = ARGV[1] .. ':' .. tenant .. ':action:' .. id
  local ready = ARGV[1] .. ':' .. tenant .. ':actions:ready'
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'status', 'claimed', 'claimed_by', ARGV[4],
      'claim_expires_at', ARGV[6], 'updated_at', ARGV[7])
    redis.call('ZADD', ready, ARGV[5], id)
    redis.call('ZADD', KEYS[2], ARGV[5], tenant .. ':' .. id)
    out[#out + 1] = redis.call('HGETALL', key)
  else
    redis.call('ZREM', ready, id)
    redis.call('ZREM', KEYS[2], tenant .. ':' .. id)
  end
end
return out
"""

# KEYS: action, tenant index, global index. ARGV: holder, status, now ISO, channel, error,
# next due ms ('' = finish), next due ISO, id, "tenant:id", postpone ('1': no attempt counted)
_COMPLETE = """
local cur = redis.call('HMGET', KEYS[1], 'status', 'claimed_by')
if cur[1] ~= 'claimed' or cur[2] ~= ARGV[1] then return false end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[3], 'claim_expires_at', '')
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'channel', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'last_error', ARGV[5]) end
if ARGV[6] ~= '' then
  if ARGV[10] ~= '1' then redis.call('HINCRBY', KEYS[1], 'attempts', 1) end
  redis.call('HSET', KEYS[1], 'status', 'pending', 'due_at', ARGV[7], 'claimed_by', '')
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[8])
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[9])
else
  redis.call('HSET', KEYS[1], 'status', ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[8])
  redis.call('ZREM', KEYS[3], ARGV[9])
end
return redis.call('HGETALL', KEYS[1])
"""

# KEYS: the conversation's set, tenant index, global index. ARGV: action key prefix, goal,
# now ISO, tenant
_CANCEL = """
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. id
  local cur = redis.call('HMGET', key, 'goal', 'status')
  if cur[1] == ARGV[2] and (cur[2] == 'pending' or cur[2] == 'claimed') then
    redis.call('HSET', key, 'status', 'cancelled', 'claim_expires_at', '', 'updated_at', ARGV[3])
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], ARGV[4] .. ':' .. id)
    n = n + 1
  end
end
return n
"""

_RECORD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'rev', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
"""

# A receipt, atomically (the rule of records.receipt_moves). KEYS: the message, the failed set.
# ARGV: status, now ISO, error ('' = none), now ms, "tenant:id". Returns {doc, changed}, or
# false for no message.
_RECEIPT = """
local doc = redis.call('HGET', KEYS[1], 'doc')
if not doc then return false end
local m = cjson.decode(doc)
local rank = {queued = 0, sent = 1, delivered = 2, read = 3}
local final = {failed = true, undeliverable = true}
local cur, new = m['status'], ARGV[1]
if rank[cur] == nil then return {doc, 0} end
if not final[new] and (rank[new] == nil or rank[new] <= rank[cur]) then return {doc, 0} end
local hop = {profile = m['profile'], result = new, at = ARGV[2]}
if ARGV[3] ~= '' then hop['error'] = ARGV[3] end
if type(m['hops']) ~= 'table' then m['hops'] = {} end
table.insert(m['hops'], hop)
m['status'] = new
m['updated_at'] = ARGV[2]
if final[new] then m['error'] = (ARGV[3] ~= '' and ARGV[3]) or cjson.null end
m['revision'] = (tonumber(m['revision']) or 0) + 1
doc = cjson.encode(m)
redis.call('HSET', KEYS[1], 'doc', doc, 'rev', m['revision'])
if new == 'failed' then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5]) end
return {doc, 1}
"""

# KEYS: the message, the failed set. ARGV: the new doc, its revision, its status, its change
# (ms), "tenant:id". Only over a failed message at rev - 1.
_FALL_BACK = """
local doc = redis.call('HGET', KEYS[1], 'doc')
if not doc then return 0 end
local rev = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
if rev ~= tonumber(ARGV[2]) - 1 or cjson.decode(doc)['status'] ~= 'failed' then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'rev', ARGV[2])
if ARGV[3] == 'failed' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
else
  redis.call('ZREM', KEYS[2], ARGV[5])
end
return 1
"""


def _message(doc: bytes | str) -> OutboundMessage:
    """A message from its JSON (Lua's cjson writes an empty list as ``{}``)."""
    data = json.loads(doc)
    for name in ("parts", "ladder", "hops"):
        if data.get(name) == {}:
            data[name] = []
    return OutboundMessage.from_json(data)


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


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def _action_fields(action: ScheduledAction) -> list[str]:
    """The action's hash, as field, value, …: '' for none, ``data`` as JSON."""
    out: list[str] = []
    for name, value in action.to_json().items():
        text = _dumps(value) if name == "data" else "" if value is None else str(value)
        out += [name, text]
    return out


def _action(flat: list[bytes | str]) -> ScheduledAction:
    """An action from its hash (HGETALL's flat reply)."""
    raw = {_text(k): _text(v) for k, v in zip(flat[::2], flat[1::2], strict=True)}
    data: dict[str, Any] = {k: (v if v != "" else None) for k, v in raw.items()}
    data["data"] = json.loads(raw.get("data") or "{}")
    return ScheduledAction.from_json(data)


class _Batch:
    """Commands sent together in one round trip (a non-transactional pipeline). Scripts go as
    EVALSHA of their known digest: redis-py's pipeline would first ask ``SCRIPT EXISTS``, one
    more round trip per batch. A script the server lost (a restart, ``SCRIPT FLUSH``) answers
    NOSCRIPT and did nothing: that command alone runs again through the script object, which
    loads it. Only scripts and reads go in a batch, so running one again is safe."""

    def __init__(self, client: redis.Redis) -> None:
        self.pipe = client.pipeline(transaction=False)
        self.again: list[Callable[[], Any] | None] = []

    def script(self, script: Script, keys: Sequence[str], args: Sequence[str | int]) -> None:
        self.pipe.evalsha(script.sha, len(keys), *keys, *args)
        self.again.append(lambda: script(keys=list(keys), args=list(args)))

    def command(self, name: str, *args: str) -> None:
        getattr(self.pipe, name)(*args)
        self.again.append(None)

    def execute(self) -> list[Any]:
        with self.pipe:
            replies = self.pipe.execute(raise_on_error=False)
        out = []
        for reply, again in zip(replies, self.again, strict=True):
            if isinstance(reply, NoScriptError) and again is not None:
                reply = again()
            elif isinstance(reply, Exception):
                raise reply
            out.append(reply)
        return out


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
        self._schedule = self.client.register_script(_SCHEDULE)
        self._claim_due = self.client.register_script(_CLAIM_DUE)
        self._complete = self.client.register_script(_COMPLETE)
        self._cancel = self.client.register_script(_CANCEL)
        self._record = self.client.register_script(_RECORD)
        self._receipt = self.client.register_script(_RECEIPT)
        self._fall_back = self.client.register_script(_FALL_BACK)

    def _k(self, tenant: str, *parts: str) -> str:
        return ":".join((self.prefix, tenant, *parts))

    # ConversationStore
    def load(self, tenant: str, conversation: str) -> Conversation | None:
        doc = self.client.hget(self._k(tenant, "conv", conversation), "doc")
        return Conversation.from_json(json.loads(doc)) if doc else None

    def save(self, conversation: Conversation, now: datetime) -> Conversation | None:
        new, keys, args = self._save_call(conversation, now)
        return new if self._save(keys=keys, args=args) == 1 else None

    def _save_call(
        self, conversation: Conversation, now: datetime
    ) -> tuple[Conversation, list[str], list[str]]:
        """The conversation as the compare-and-set script stores it, and the script's keys
        and args."""
        new = replace(conversation, revision=conversation.revision + 1, updated_at=now)
        at = f"{new.scenario}/{new.step}" if new.scenario and new.step else ""
        keys = [self._k(new.tenant, "conv", new.id), self._k(new.tenant, "steps")]
        args = [str(conversation.revision), str(new.revision), _dumps(new.to_json()), at]
        return new, keys, args

    def _append_to(self, events: Sequence[AuditEvent], batch: _Batch) -> list[list[int]]:
        """One script call per (tenant, stream) of ``events``, queued on ``batch``: the
        events' indexes of each call, in order."""
        groups: dict[tuple[str, str], list[int]] = {}
        for i, event in enumerate(events):
            groups.setdefault((event.tenant, event.stream), []).append(i)
        for (tenant, name), indexes in groups.items():
            stream = self._k(tenant, "audit", name)
            docs = [_dumps(replace(events[i], seq=0).to_json()) for i in indexes]
            batch.script(self._append, [stream, stream + ":seq"], docs)
        return list(groups.values())

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
        batch = _Batch(self.client)
        batch.script(self._claim, [self._k(tenant, "turn", conversation)], args)
        batch.command("hget", self._k(tenant, "conv", conversation), "doc")
        taken, doc = batch.execute()
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
        batch = _Batch(self.client)
        if save is not None:
            new, keys, args = self._save_call(save, now)
            batch.script(self._save, keys, args)
        if events:
            self._append_to(events, batch)
        batch.script(self._release, [self._k(tenant, "turn", conversation)], [holder])
        replies = batch.execute()
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
        return self.append_many([event])[0]

    def append_many(self, events: Sequence[AuditEvent]) -> list[AuditEvent]:
        if not events:
            return []
        batch = _Batch(self.client)
        groups = self._append_to(events, batch)
        replies = batch.execute()
        seqs: dict[int, int] = {}
        for indexes, reply in zip(groups, replies, strict=True):
            seqs.update(zip(indexes, (int(s) for s in reply), strict=True))
        return [replace(e, seq=seqs[i]) for i, e in enumerate(events)]

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

    # AgendaStore
    def _global(self) -> str:
        return ":".join((self.prefix, "_", "actions", "ready"))

    def schedule(self, action: ScheduledAction) -> bool:
        new = replace(action, status=ActionStatus.PENDING, claimed_by=None, claim_expires_at=None)
        t = new.tenant
        stored = self._schedule(
            keys=[
                self._k(t, "action", new.id),
                self._k(t, "actions", "ready"),
                self._global(),
                self._k(t, "actions", "conv", new.conversation),
            ],
            args=[new.id, _ms(new.due_at), f"{t}:{new.id}", *_action_fields(new)],
        )
        return bool(stored)

    def claim_due(
        self, tenant: str | None, now: datetime, holder: str, lease: timedelta, limit: int
    ) -> list[ScheduledAction]:
        if limit <= 0:
            return []
        index = self._k(tenant, "actions", "ready") if tenant is not None else self._global()
        end = now + lease
        found = self._claim_due(
            keys=[index, self._global()],
            args=[
                self.prefix,
                _ms(now),
                limit,
                holder,
                _ms(end),
                _iso(end),
                _iso(now),
                tenant or "",
            ],
        )
        return [_action(flat) for flat in found]

    def complete(
        self,
        tenant: str,
        id: str,
        holder: str,
        status: ActionStatus,
        now: datetime,
        *,
        channel: str | None = None,
        error: str | None = None,
        next_due: datetime | None = None,
        postpone: bool = False,
    ) -> ScheduledAction | None:
        if next_due is None and status in (ActionStatus.PENDING, ActionStatus.CLAIMED):
            raise ValueError(f"an action finishes sent, failed, expired or cancelled, not {status}")
        found = self._complete(
            keys=[
                self._k(tenant, "action", id),
                self._k(tenant, "actions", "ready"),
                self._global(),
            ],
            args=[
                holder,
                str(status),
                _iso(now),
                channel or "",
                error or "",
                _ms(next_due) if next_due is not None else "",
                _iso(next_due) if next_due is not None else "",
                id,
                f"{tenant}:{id}",
                "1" if postpone else "0",
            ],
        )
        return _action(found) if found else None

    def cancel(self, tenant: str, conversation: str, goal: str, now: datetime) -> int:
        return int(
            self._cancel(
                keys=[
                    self._k(tenant, "actions", "conv", conversation),
                    self._k(tenant, "actions", "ready"),
                    self._global(),
                ],
                args=[self._k(tenant, "action", ""), goal, _iso(now), tenant],
            )
        )

    def actions(self, tenant: str, conversation: str) -> list[ScheduledAction]:
        ids = sorted(
            _text(i) for i in self.client.smembers(self._k(tenant, "actions", "conv", conversation))
        )
        with self.client.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hgetall(self._k(tenant, "action", i))
            hashes = pipe.execute()
        found = [_action([x for kv in h.items() for x in kv]) for h in hashes if h]
        return sorted(found, key=lambda a: (a.due_at, a.id))

    # MessageLog
    def record(self, message: OutboundMessage) -> bool:
        t = message.tenant
        stored = self._record(
            keys=[self._k(t, "msg", message.id), self._k(t, "msgs", "conv", message.conversation)],
            args=[
                _dumps(message.to_json()),
                message.revision,
                _ms(message.created_at),
                message.id,
            ],
        )
        return bool(stored)

    def receipt(
        self, tenant: str, id: str, status: str, now: datetime, error: str | None = None
    ) -> tuple[OutboundMessage | None, bool]:
        found = self._receipt(
            keys=[self._k(tenant, "msg", id), self._failed()],
            args=[status, _iso(now), error or "", _ms(now), f"{tenant}:{id}"],
        )
        if not found:
            return None, False
        return _message(found[0]), bool(int(found[1]))

    def fall_back(self, message: OutboundMessage) -> OutboundMessage | None:
        stored = self._fall_back(
            keys=[self._k(message.tenant, "msg", message.id), self._failed()],
            args=[
                _dumps(message.to_json()),
                message.revision,
                str(message.status),
                _ms(message.updated_at),
                f"{message.tenant}:{message.id}",
            ],
        )
        return message if stored else None

    def _failed(self) -> str:
        return ":".join((self.prefix, "_", "msgs", "failed"))

    def stale_failed(self, before: datetime, limit: int) -> list[OutboundMessage]:
        members: Any = self.client.zrangebyscore(
            self._failed(), "-inf", _ms(before), start=0, num=limit
        )
        with self.client.pipeline(transaction=False) as pipe:
            for member in members:
                tenant, _, id = _text(member).partition(":")
                pipe.hget(self._k(tenant, "msg", id), "doc")
            docs = pipe.execute()
        found = [_message(doc) for doc in docs if doc]
        return [m for m in found if m.status == "failed" and m.updated_at <= before]

    def message(self, tenant: str, id: str) -> OutboundMessage | None:
        doc = self.client.hget(self._k(tenant, "msg", id), "doc")
        return _message(doc) if doc else None

    def messages(self, tenant: str, conversation: str) -> list[OutboundMessage]:
        ids: Any = self.client.zrange(self._k(tenant, "msgs", "conv", conversation), 0, -1)
        with self.client.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hget(self._k(tenant, "msg", _text(i)), "doc")
            docs = pipe.execute()
        found = [_message(doc) for doc in docs if doc]
        return sorted(found, key=lambda m: (m.created_at, m.id))

    def close(self) -> None:
        self.client.close()
