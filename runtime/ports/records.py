"""The records the state ports keep, as plain dataclasses with a JSON form.

The JSON form (``to_json``/``from_json``) is what the Redis and SQL backends store; it is
versioned by its keys only, so adding an optional field needs no migration of stored records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


def _ts(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class PendingConfirmation:
    """A tool call waiting for the customer's yes (``confirm``) or no (``deny``)."""

    tool: str
    args: dict[str, Any]
    key: str  # the call's idempotency key
    step: str

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "args": self.args, "key": self.key, "step": self.step}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingConfirmation:
        return cls(data["tool"], dict(data["args"]), data["key"], data["step"])


@dataclass(frozen=True, slots=True)
class Conversation:
    """Where one conversation stands. ``revision`` guards every write (compare-and-set): a
    writer that read revision N may only store revision N+1."""

    tenant: str
    id: str
    agent: str
    channel: str
    scenario: str | None = None
    step: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    pending: PendingConfirmation | None = None
    confirmed: tuple[str, ...] = ()  # idempotency keys the customer confirmed
    snapshot: str | None = None  # the snapshot the conversation's last turn ran on
    turns: int = 0
    revision: int = 0
    updated_at: datetime | None = None
    # channel message ids ("channel:id") the conversation's stored turns took, with when: the
    # inbound idempotency record, written in the same compare-and-set as the turn it belongs to
    inbound: tuple[tuple[str, datetime], ...] = ()
    visited: tuple[str, ...] = ()  # steps entered in the current scenario, in order

    def evolve(self, **changes: Any) -> Conversation:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "id": self.id,
            "agent": self.agent,
            "channel": self.channel,
            "scenario": self.scenario,
            "step": self.step,
            "slots": self.slots,
            "pending": self.pending.to_json() if self.pending else None,
            "confirmed": list(self.confirmed),
            "snapshot": self.snapshot,
            "turns": self.turns,
            "revision": self.revision,
            "updated_at": _ts(self.updated_at),
            "inbound": [[key, _ts(at)] for key, at in self.inbound],
            "visited": list(self.visited),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conversation:
        pending = data.get("pending")
        return cls(
            tenant=data["tenant"],
            id=data["id"],
            agent=data["agent"],
            channel=data["channel"],
            scenario=data.get("scenario"),
            step=data.get("step"),
            slots=dict(data.get("slots") or {}),
            pending=PendingConfirmation.from_json(pending) if pending else None,
            confirmed=tuple(data.get("confirmed") or ()),
            snapshot=data.get("snapshot"),
            turns=int(data.get("turns", 0)),
            revision=int(data.get("revision", 0)),
            updated_at=_dt(data.get("updated_at")),
            visited=tuple(data.get("visited") or ()),
            inbound=tuple(
                (str(key), at)
                for key, raw in data.get("inbound") or ()
                if (at := _dt(raw)) is not None
            ),
        )


class CallStatus(StrEnum):
    IN_FLIGHT = "in_flight"  # recorded before executing; a crash leaves it here
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"  # was in flight when its process died: never repeated blindly
    COMPENSATED = "compensated"


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call, keyed per tenant by its idempotency key."""

    tenant: str
    key: str
    tool: str
    args: dict[str, Any]
    status: CallStatus
    started_at: datetime
    expires_at: datetime  # a repeat after this executes again
    conversation: str | None = None
    turn: str | None = None
    result: Any = None
    error: str | None = None
    finished_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "key": self.key,
            "tool": self.tool,
            "args": self.args,
            "status": str(self.status),
            "started_at": _ts(self.started_at),
            "expires_at": _ts(self.expires_at),
            "conversation": self.conversation,
            "turn": self.turn,
            "result": self.result,
            "error": self.error,
            "finished_at": _ts(self.finished_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ToolCall:
        started, expires = _dt(data["started_at"]), _dt(data["expires_at"])
        assert started is not None and expires is not None
        return cls(
            tenant=data["tenant"],
            key=data["key"],
            tool=data["tool"],
            args=dict(data["args"]),
            status=CallStatus(data["status"]),
            started_at=started,
            expires_at=expires,
            conversation=data.get("conversation"),
            turn=data.get("turn"),
            result=data.get("result"),
            error=data.get("error"),
            finished_at=_dt(data.get("finished_at")),
        )


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One line of the audit stream. ``stream`` is ``live`` or ``simulated``."""

    tenant: str
    kind: str
    at: datetime
    conversation: str | None = None
    turn: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    stream: str = "live"
    seq: int = 0  # assigned by the backend on append: the order of the stream

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "kind": self.kind,
            "at": _ts(self.at),
            "conversation": self.conversation,
            "turn": self.turn,
            "data": self.data,
            "stream": self.stream,
            "seq": self.seq,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuditEvent:
        at = _dt(data["at"])
        assert at is not None
        return cls(
            tenant=data["tenant"],
            kind=data["kind"],
            at=at,
            conversation=data.get("conversation"),
            turn=data.get("turn"),
            data=dict(data.get("data") or {}),
            stream=data.get("stream", "live"),
            seq=int(data.get("seq", 0)),
        )


class ActionKind(StrEnum):
    FOLLOW_UP = "follow_up"
    REMINDER = "reminder"
    NOTIFICATION = "notification"


class ActionStatus(StrEnum):
    PENDING = "pending"  # waiting for its due time
    CLAIMED = "claimed"  # taken by one process until ``claim_expires_at``
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


FINAL_ACTION_STATUSES = frozenset(
    {ActionStatus.SENT, ActionStatus.FAILED, ActionStatus.EXPIRED, ActionStatus.CANCELLED}
)


@dataclass(frozen=True, slots=True)
class ScheduledAction:
    """One action of the agenda, keyed per tenant by ``id`` (deterministic, chosen by the
    caller, e.g. ``f"{goal}:{conversation}:{n}"``, so scheduling it twice stores it once)."""

    tenant: str
    id: str
    goal: str
    conversation: str
    agent: str
    action: ActionKind
    due_at: datetime
    expires_at: datetime
    attempts: int = 0
    max_attempts: int = 1
    status: ActionStatus = ActionStatus.PENDING
    channel: str | None = None  # the last channel used
    last_error: str | None = None
    claimed_by: str | None = None  # the claimer (kept once finished: who finished it)
    claim_expires_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def ready_at(self) -> datetime | None:
        """When the action may be claimed: its due time when pending, its lease end when
        claimed (a claimer that died), never once finished."""
        if self.status == ActionStatus.PENDING:
            return self.due_at
        if self.status == ActionStatus.CLAIMED:
            return self.claim_expires_at
        return None

    def completed(
        self,
        status: ActionStatus,
        now: datetime,
        channel: str | None = None,
        error: str | None = None,
        next_due: datetime | None = None,
        postpone: bool = False,
    ) -> ScheduledAction:
        """The action as :meth:`AgendaStore.complete` stores it (finished, or pending again
        at ``next_due`` with one more attempt; ``postpone``: without one)."""
        if next_due is None and status not in FINAL_ACTION_STATUSES:
            raise ValueError(f"an action finishes sent, failed, expired or cancelled, not {status}")
        changes: dict[str, Any] = {"updated_at": now, "claim_expires_at": None}
        if channel is not None:
            changes["channel"] = channel
        if error is not None:
            changes["last_error"] = error
        if next_due is None:
            changes["status"] = status
        else:
            changes.update(
                status=ActionStatus.PENDING,
                attempts=self.attempts + (0 if postpone else 1),
                due_at=next_due,
                claimed_by=None,
            )
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "id": self.id,
            "goal": self.goal,
            "conversation": self.conversation,
            "agent": self.agent,
            "action": str(self.action),
            "due_at": _ts(self.due_at),
            "expires_at": _ts(self.expires_at),
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "status": str(self.status),
            "channel": self.channel,
            "last_error": self.last_error,
            "claimed_by": self.claimed_by,
            "claim_expires_at": _ts(self.claim_expires_at),
            "data": self.data,
            "created_at": _ts(self.created_at),
            "updated_at": _ts(self.updated_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScheduledAction:
        due, expires = _dt(data["due_at"]), _dt(data["expires_at"])
        assert due is not None and expires is not None
        return cls(
            tenant=data["tenant"],
            id=data["id"],
            goal=data["goal"],
            conversation=data["conversation"],
            agent=data["agent"],
            action=ActionKind(data["action"]),
            due_at=due,
            expires_at=expires,
            attempts=int(data.get("attempts", 0)),
            max_attempts=int(data.get("max_attempts", 1)),
            status=ActionStatus(data.get("status", "pending")),
            channel=data.get("channel") or None,
            last_error=data.get("last_error") or None,
            claimed_by=data.get("claimed_by") or None,
            claim_expires_at=_dt(data.get("claim_expires_at")),
            data=dict(data.get("data") or {}),
            created_at=_dt(data.get("created_at")),
            updated_at=_dt(data.get("updated_at")),
        )


class MessageStatus(StrEnum):
    """Where an outbound message stands, from the delivery receipts received for it."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"  # the channel said it failed: the fallback ladder takes over
    UNDELIVERABLE = "undeliverable"  # every profile of the ladder failed


# statuses only move forward along this order; failed and undeliverable are final
MESSAGE_RANK: dict[str, int] = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}
FINAL_MESSAGE_STATUSES = frozenset({MessageStatus.FAILED, MessageStatus.UNDELIVERABLE})


def receipt_moves(current: str, status: str) -> bool:
    """Whether a receipt saying ``status`` changes a message that is ``current``: forward
    only (``delivered`` before ``sent`` jumps forward), never out of a final state, never
    back. ``failed`` ends any live state. (The one way back to ``sent`` is the fallback
    ladder's :meth:`MessageLog.fall_back`, not a receipt.)"""
    if current in FINAL_MESSAGE_STATUSES or current not in MESSAGE_RANK:
        return False
    if status in FINAL_MESSAGE_STATUSES:
        return True
    return status in MESSAGE_RANK and MESSAGE_RANK[status] > MESSAGE_RANK[current]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message sent to a customer outside a turn (a follow-up), keyed per tenant by
    ``id`` (the scheduler's is ``f"{action}:{attempt}"``). ``profile``, ``channel`` and
    ``parts`` are those of its current hop; ``ladder`` the profiles it may still fall back
    to; ``hops`` every send and every receipt that changed it, oldest first
    (``{"profile", "result", "at", "error"?}``). ``text`` is the message before formatting,
    so a fallback can format it anew for its profile."""

    tenant: str
    id: str
    conversation: str
    profile: str
    channel: str
    parts: tuple[str, ...]
    status: MessageStatus
    created_at: datetime
    updated_at: datetime
    action: str | None = None
    text: str = ""
    ladder: tuple[str, ...] = ()
    hops: tuple[dict[str, Any], ...] = ()
    error: str | None = None
    revision: int = 0  # one more on every change: what a fallback compares-and-sets

    def tried(self) -> set[str]:
        """The profiles already tried for this message (a ladder never tries one twice)."""
        return {str(h["profile"]) for h in self.hops} | {self.profile}

    def received(self, status: str, now: datetime, error: str | None = None) -> OutboundMessage:
        """The message once a receipt saying ``status`` moved it (see :func:`receipt_moves`)."""
        hop: dict[str, Any] = {"profile": self.profile, "result": status, "at": _ts(now)}
        if error:
            hop["error"] = error
        return replace(
            self,
            status=MessageStatus(status),
            updated_at=now,
            error=error if status in FINAL_MESSAGE_STATUSES else self.error,
            hops=(*self.hops, hop),
            revision=self.revision + 1,
        )

    def claimed(self, now: datetime) -> OutboundMessage:
        """The failed message claimed at ``now`` by the process that will fall it back: still
        failed, one revision on (so one claimer wins), changed ``now`` (so it is not stale
        again until the sweep's grace has passed)."""
        if self.status != MessageStatus.FAILED:
            raise ValueError(f"only a failed message is claimed, not a {self.status} one")
        return replace(self, updated_at=now, revision=self.revision + 1)

    def fell_back(
        self,
        now: datetime,
        hops: Sequence[dict[str, Any]],
        sent: tuple[str, str, Sequence[str], Sequence[str]] | None,
    ) -> OutboundMessage:
        """The failed message after its fallback: ``hops`` added, and either ``sent`` again
        on another profile (``(profile, channel, parts, remaining ladder)``), or, with
        ``sent`` None, ``undeliverable``. The one way a message goes back to ``sent``."""
        if self.status != MessageStatus.FAILED:
            raise ValueError(f"only a failed message falls back, not a {self.status} one")
        changes: dict[str, Any] = {"hops": (*self.hops, *hops), "updated_at": now}
        if sent is None:
            changes.update(status=MessageStatus.UNDELIVERABLE, ladder=())
        else:
            profile, channel, parts, ladder = sent
            changes.update(
                status=MessageStatus.SENT,
                profile=profile,
                channel=channel,
                parts=tuple(parts),
                ladder=tuple(ladder),
                error=None,
            )
        return replace(self, revision=self.revision + 1, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "id": self.id,
            "conversation": self.conversation,
            "action": self.action,
            "profile": self.profile,
            "channel": self.channel,
            "parts": list(self.parts),
            "text": self.text,
            "status": str(self.status),
            "ladder": list(self.ladder),
            "hops": [dict(h) for h in self.hops],
            "error": self.error,
            "created_at": _ts(self.created_at),
            "updated_at": _ts(self.updated_at),
            "revision": self.revision,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutboundMessage:
        created, updated = _dt(data["created_at"]), _dt(data.get("updated_at"))
        assert created is not None
        return cls(
            tenant=data["tenant"],
            id=data["id"],
            conversation=data["conversation"],
            action=data.get("action"),
            profile=data["profile"],
            channel=data["channel"],
            parts=tuple(data.get("parts") or ()),
            text=data.get("text") or "",
            status=MessageStatus(data.get("status", "queued")),
            ladder=tuple(data.get("ladder") or ()),
            hops=tuple(dict(h) for h in data.get("hops") or ()),
            error=data.get("error"),
            created_at=created,
            updated_at=updated or created,
            revision=int(data.get("revision", 0)),
        )
