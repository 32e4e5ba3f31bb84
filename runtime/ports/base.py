"""The state ports: what the turn pipeline reads and writes, as Protocols.

Every method that decides by time takes ``now`` from the caller's :class:`~runtime.ports.clock.Clock`
(a lock's lease and a tool call's expiry are stored as instants and compared
with it), so every backend behaves the same under a simulated clock. Backends may also expire
keys on their own (Redis TTLs) as garbage collection only, never earlier than ``now`` would.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from runtime.ports.records import (
    ActionStatus,
    AuditEvent,
    CallStatus,
    Conversation,
    OutboundMessage,
    ScheduledAction,
    ToolCall,
)


class ConversationStore(Protocol):
    def load(self, tenant: str, conversation: str) -> Conversation | None: ...

    def save(self, conversation: Conversation, now: datetime) -> Conversation | None:
        """Store ``conversation`` as revision ``conversation.revision + 1`` if the stored one
        is still ``conversation.revision`` (0: none stored yet). Returns what was stored, or
        None when another writer got there first (re-read and retry)."""
        ...

    def count_by_step(self, tenant: str) -> dict[tuple[str, str], int]:
        """How many conversations sit on each (scenario, step) now."""
        ...

    def acquire_turn(
        self, tenant: str, conversation: str, holder: str, now: datetime, ttl: timedelta
    ) -> bool:
        """Take the conversation's turn lease (or renew one ``holder`` holds); an expired
        lease of a dead holder may be taken over."""
        ...

    def release_turn(self, tenant: str, conversation: str, holder: str) -> None:
        """Give the lease back if ``holder`` still holds it."""
        ...

    def begin_turn(
        self, tenant: str, conversation: str, holder: str, now: datetime, ttl: timedelta
    ) -> tuple[bool, Conversation | None]:
        """:meth:`acquire_turn`, and when the lease is taken, :meth:`load` (one round trip
        where the backend allows)."""
        ...

    def end_turn(
        self,
        tenant: str,
        conversation: str,
        holder: str,
        now: datetime,
        save: Conversation | None,
        events: Sequence[AuditEvent],
    ) -> Conversation | None:
        """:meth:`save` ``save`` (if given), append ``events``, :meth:`release_turn` (one round
        trip where the backend allows). Returns what :meth:`save` returned."""
        ...


class ToolCallLog(Protocol):
    def begin(self, call: ToolCall) -> ToolCall | None:
        """Record ``call`` (status in flight) unless an unexpired record with its key exists;
        returns that existing record instead (and records nothing)."""
        ...

    def finish(
        self,
        tenant: str,
        key: str,
        status: CallStatus,
        now: datetime,
        result: Any = None,
        error: str | None = None,
    ) -> ToolCall | None:
        """Move a recorded call to ``status``; None if there is no such record."""
        ...

    def lookup(self, tenant: str, key: str) -> ToolCall | None: ...

    def in_flight(self, tenant: str) -> list[ToolCall]:
        """Calls recorded as in flight (after a crash: the ones to reconcile)."""
        ...


class AuditLog(Protocol):
    def append(self, event: AuditEvent) -> AuditEvent:
        """Append; returns the event with its ``seq`` (1, 2, … per tenant and stream)."""
        ...

    def append_many(self, events: Sequence[AuditEvent]) -> list[AuditEvent]:
        """Append several in order, in one round trip where the backend allows."""
        ...

    def events(
        self, tenant: str, *, stream: str = "live", after: int = 0, limit: int = 1000
    ) -> list[AuditEvent]:
        """Events with ``seq > after``, oldest first."""
        ...


class AgendaStore(Protocol):
    """Scheduled actions, each claimed by exactly one process at a time (a lease: a claimer
    that dies loses its claims when the lease ends, and another process takes them)."""

    def schedule(self, action: ScheduledAction) -> bool:
        """Store ``action`` as pending unless one with its id exists (then False: idempotent)."""
        ...

    def claim_due(
        self, tenant: str | None, now: datetime, holder: str, lease: timedelta, limit: int
    ) -> list[ScheduledAction]:
        """Atomically take up to ``limit`` actions of ``tenant`` (None: every tenant) that are
        pending with ``due_at <= now``, or claimed with ``claim_expires_at <= now``, earliest
        first (by due time, or lease end for a lost claim); they become claimed by ``holder``
        until ``now + lease``. No action goes to two callers whose leases overlap. Expired
        actions are returned like the others: the caller completes them as expired."""
        ...

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
        """Finish a claimed action with ``status`` (sent, failed, expired, cancelled), or with
        ``next_due``, put it back to pending at ``next_due`` with one more attempt (none with
        ``postpone``: the send was not tried, e.g. quiet hours). ``channel``
        and ``error``, when given, are recorded. Only the current holder may: None when
        ``holder`` does not hold the claim (lost to another claimer, cancelled, finished)."""
        ...

    def cancel(self, tenant: str, conversation: str, goal: str, now: datetime) -> int:
        """Cancel every pending or claimed action of ``goal`` for ``conversation``; how many."""
        ...

    def actions(self, tenant: str, conversation: str) -> list[ScheduledAction]:
        """Every action of ``conversation`` (in any status), by due time."""
        ...


class MessageLog(Protocol):
    """Outbound messages and their delivery receipts. A message's status only moves forward
    (queued < sent < delivered < read; failed and undeliverable are final), atomically per
    message, whatever order receipts arrive in and however many race."""

    def record(self, message: OutboundMessage) -> bool:
        """Store ``message`` unless one with its id exists (then False: stored once)."""
        ...

    def receipt(
        self, tenant: str, id: str, status: str, now: datetime, error: str | None = None
    ) -> tuple[OutboundMessage | None, bool]:
        """Apply a receipt saying ``status``: the message (None when there is none) and
        whether it changed (:func:`~runtime.ports.records.receipt_moves`; a change adds a
        hop and one revision). A receipt at or below the current status, or after a final
        one, changes nothing."""
        ...

    def fall_back(self, message: OutboundMessage) -> OutboundMessage | None:
        """Store ``message`` (:meth:`OutboundMessage.fell_back` of a failed message) if the
        stored one is still failed at revision ``message.revision - 1``; None otherwise
        (another process fell back first). The only write that leaves ``failed``; it also
        stores a claim (:meth:`OutboundMessage.claimed`, still failed, one revision on)."""
        ...

    def stale_failed(self, before: datetime, limit: int) -> list[OutboundMessage]:
        """Messages of every tenant still ``failed`` since ``before`` or earlier, oldest change
        first: left so by a process that died before it fell them back. A sweeper claims one
        with :meth:`fall_back` of :meth:`OutboundMessage.claimed` before walking its ladder."""
        ...

    def message(self, tenant: str, id: str) -> OutboundMessage | None: ...

    def messages(self, tenant: str, conversation: str) -> list[OutboundMessage]:
        """Every message of ``conversation``, oldest first."""
        ...


class ComposedTurn:
    """:meth:`begin_turn` and :meth:`end_turn` as calls of the primitives, for backends where
    they cost no round trips (memory) or compose into few (SQL)."""

    def begin_turn(
        self: StateBackend,
        tenant: str,
        conversation: str,
        holder: str,
        now: datetime,
        ttl: timedelta,
    ) -> tuple[bool, Conversation | None]:
        if not self.acquire_turn(tenant, conversation, holder, now, ttl):
            return False, None
        return True, self.load(tenant, conversation)

    def end_turn(
        self: StateBackend,
        tenant: str,
        conversation: str,
        holder: str,
        now: datetime,
        save: Conversation | None,
        events: Sequence[AuditEvent],
    ) -> Conversation | None:
        try:
            saved = self.save(save, now) if save is not None else None
            self.append_many(events)
        finally:
            self.release_turn(tenant, conversation, holder)
        return saved


def expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is None or expires_at <= now


class StateBackend(ConversationStore, ToolCallLog, AuditLog, AgendaStore, MessageLog, Protocol):
    """One backend implements every port (they share its connection)."""

    description: str

    def close(self) -> None: ...


class BufferedAudit:
    """An audit log that keeps a turn's events and writes them in one :meth:`flush` (one
    round trip instead of one per event). Durable facts (tool calls in flight) live in the
    tool call records, so a process that dies mid-turn loses only that turn's narrative."""

    def __init__(self, target: AuditLog) -> None:
        self.target = target
        self.pending: list[AuditEvent] = []

    def append(self, event: AuditEvent) -> AuditEvent:
        self.pending.append(event)
        return event

    def append_many(self, events: Sequence[AuditEvent]) -> list[AuditEvent]:
        self.pending.extend(events)
        return list(events)

    def events(
        self, tenant: str, *, stream: str = "live", after: int = 0, limit: int = 1000
    ) -> list[AuditEvent]:
        return self.target.events(tenant, stream=stream, after=after, limit=limit)

    def flush(self) -> list[AuditEvent]:
        written, self.pending = self.target.append_many(self.pending), []
        return written
