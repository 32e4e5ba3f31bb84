"""In-memory state: one process, nothing kept across restarts (tests, simulate)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from runtime.ports.base import ComposedTurn, expired
from runtime.ports.records import (
    ActionStatus,
    AuditEvent,
    CallStatus,
    Conversation,
    OutboundMessage,
    ScheduledAction,
    ToolCall,
    receipt_moves,
)


class MemoryState(ComposedTurn):
    """Implements every state port over dicts guarded by one lock."""

    description = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conversations: dict[tuple[str, str], Conversation] = {}
        self._leases: dict[tuple[str, str], tuple[str, datetime]] = {}
        self._calls: dict[tuple[str, str], ToolCall] = {}
        self._audit: dict[tuple[str, str], list[AuditEvent]] = {}
        self._actions: dict[tuple[str, str], ScheduledAction] = {}
        self._messages: dict[tuple[str, str], OutboundMessage] = {}

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

    # AgendaStore
    def schedule(self, action: ScheduledAction) -> bool:
        with self._lock:
            if (action.tenant, action.id) in self._actions:
                return False
            self._actions[(action.tenant, action.id)] = replace(
                action, status=ActionStatus.PENDING, claimed_by=None, claim_expires_at=None
            )
            return True

    def claim_due(
        self, tenant: str | None, now: datetime, holder: str, lease: timedelta, limit: int
    ) -> list[ScheduledAction]:
        with self._lock:
            ready = sorted(
                (a.ready_at, a.tenant, a.id)
                for a in self._actions.values()
                if (tenant is None or a.tenant == tenant)
                and a.ready_at is not None
                and a.ready_at <= now
            )
            claimed = []
            for _, t, i in ready[: max(limit, 0)]:
                action = replace(
                    self._actions[(t, i)],
                    status=ActionStatus.CLAIMED,
                    claimed_by=holder,
                    claim_expires_at=now + lease,
                    updated_at=now,
                )
                self._actions[(t, i)] = action
                claimed.append(action)
            return claimed

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
        with self._lock:
            action = self._actions.get((tenant, id))
            if action is None or action.status != "claimed" or action.claimed_by != holder:
                return None
            new = action.completed(status, now, channel, error, next_due, postpone)
            self._actions[(tenant, id)] = new
            return new

    def cancel(self, tenant: str, conversation: str, goal: str, now: datetime) -> int:
        with self._lock:
            hits = [
                a
                for a in self._actions.values()
                if a.tenant == tenant
                and a.conversation == conversation
                and a.goal == goal
                and a.status in ("pending", "claimed")
            ]
            for a in hits:
                self._actions[(a.tenant, a.id)] = replace(
                    a, status=ActionStatus.CANCELLED, claim_expires_at=None, updated_at=now
                )
            return len(hits)

    def actions(self, tenant: str, conversation: str) -> list[ScheduledAction]:
        with self._lock:
            found = [
                a
                for a in self._actions.values()
                if a.tenant == tenant and a.conversation == conversation
            ]
        return sorted(found, key=lambda a: (a.due_at, a.id))

    # MessageLog
    def record(self, message: OutboundMessage) -> bool:
        with self._lock:
            if (message.tenant, message.id) in self._messages:
                return False
            self._messages[(message.tenant, message.id)] = message
            return True

    def receipt(
        self, tenant: str, id: str, status: str, now: datetime, error: str | None = None
    ) -> tuple[OutboundMessage | None, bool]:
        with self._lock:
            current = self._messages.get((tenant, id))
            if current is None or not receipt_moves(current.status, status):
                return current, False
            new = current.received(status, now, error)
            self._messages[(tenant, id)] = new
            return new, True

    def fall_back(self, message: OutboundMessage) -> OutboundMessage | None:
        with self._lock:
            current = self._messages.get((message.tenant, message.id))
            if (
                current is None
                or current.status != "failed"
                or current.revision != message.revision - 1
            ):
                return None
            self._messages[(message.tenant, message.id)] = message
            return message

    def stale_failed(self, before: datetime, limit: int) -> list[OutboundMessage]:
        with self._lock:
            found = [
                m
                for m in self._messages.values()
                if m.status == "failed" and m.updated_at <= before
            ]
        return sorted(found, key=lambda m: (m.updated_at, m.tenant, m.id))[:limit]

    def message(self, tenant: str, id: str) -> OutboundMessage | None:
        return self._messages.get((tenant, id))

    def messages(self, tenant: str, conversation: str) -> list[OutboundMessage]:
        with self._lock:
            found = [
                m
                for m in self._messages.values()
                if m.tenant == tenant and m.conversation == conversation
            ]
        return sorted(found, key=lambda m: (m.created_at, m.id))

    def close(self) -> None:
        pass
