"""In-memory state: one process, nothing kept across restarts (tests, simulate)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from runtime.ports.base import ComposedTurn, expired
from runtime.ports.records import AuditEvent, CallStatus, Conversation, ToolCall


class MemoryState(ComposedTurn):
    """Implements every state port over dicts guarded by one lock."""

    description = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conversations: dict[tuple[str, str], Conversation] = {}
        self._leases: dict[tuple[str, str], tuple[str, datetime]] = {}
        self._calls: dict[tuple[str, str], ToolCall] = {}
        self._audit: dict[tuple[str, str], list[AuditEvent]] = {}

    # ConversationStore
    def load(self, tenant: str, conversation: str) -> Conversation | None:
        return self._conversations.get((tenant, conversation))

    def save(self, conversation: Conversation, now: datetime) -> Conversation | None:
        key = (conversation.tenant, conversation.id)
        with self._lock:
            stored = self._conversations.get(key)
            if (stored.revision if stored else 0) != conversation.revision:
                return None
            new = replace(conversation, revision=conversation.revision + 1, updated_at=now)
            self._conversations[key] = new
            return new

    def count_by_step(self, tenant: str) -> dict[tuple[str, str], int]:
        counts: Counter[tuple[str, str]] = Counter()
        for (t, _), conv in list(self._conversations.items()):
            if t == tenant and conv.scenario and conv.step:
                counts[(conv.scenario, conv.step)] += 1
        return dict(counts)

    def acquire_turn(
        self, tenant: str, conversation: str, holder: str, now: datetime, ttl: timedelta
    ) -> bool:
        with self._lock:
            lease = self._leases.get((tenant, conversation))
            if lease is not None and lease[0] != holder and not expired(lease[1], now):
                return False
            self._leases[(tenant, conversation)] = (holder, now + ttl)
            return True

    def release_turn(self, tenant: str, conversation: str, holder: str) -> None:
        with self._lock:
            lease = self._leases.get((tenant, conversation))
            if lease is not None and lease[0] == holder:
                del self._leases[(tenant, conversation)]

    # ToolCallLog
    def begin(self, call: ToolCall) -> ToolCall | None:
        with self._lock:
            existing = self._calls.get((call.tenant, call.key))
            if existing is not None and not expired(existing.expires_at, call.started_at):
                return existing
            self._calls[(call.tenant, call.key)] = replace(call, status=CallStatus.IN_FLIGHT)
            return None

    def finish(
        self,
        tenant: str,
        key: str,
        status: CallStatus,
        now: datetime,
        result: Any = None,
        error: str | None = None,
    ) -> ToolCall | None:
        with self._lock:
            existing = self._calls.get((tenant, key))
            if existing is None:
                return None
            new = replace(existing, status=status, result=result, error=error, finished_at=now)
            self._calls[(tenant, key)] = new
            return new

    def lookup(self, tenant: str, key: str) -> ToolCall | None:
        return self._calls.get((tenant, key))

    def in_flight(self, tenant: str) -> list[ToolCall]:
        return sorted(
            (
                c
                for (t, _), c in list(self._calls.items())
                if t == tenant and c.status == "in_flight"
            ),
            key=lambda c: c.started_at,
        )

    # AuditLog
    def append(self, event: AuditEvent) -> AuditEvent:
        with self._lock:
            stream = self._audit.setdefault((event.tenant, event.stream), [])
            stored = replace(event, seq=len(stream) + 1)
            stream.append(stored)
            return stored

    def append_many(self, events: Sequence[AuditEvent]) -> list[AuditEvent]:
        return [self.append(event) for event in events]

    def events(
        self, tenant: str, *, stream: str = "live", after: int = 0, limit: int = 1000
    ) -> list[AuditEvent]:
        return list(self._audit.get((tenant, stream), [])[after : after + limit])

    def close(self) -> None:
        pass
