"""The turn service: one inbound message → at most one turn, on one snapshot, saved once.

For each message: the tenant's and the channel profile's rate limits are taken (a refusal is
``rate_limited`` with a retry-after); the conversation's turn lease is taken (another process
or request working on the same conversation makes this one wait, up to a bound); under it, a
channel message id the conversation's stored turns took within 5 minutes is a ``duplicate``
and changes nothing; the active snapshot, read once, runs the turn to its end even if a reload
swaps it meanwhile; the conversation is saved by compare-and-set together with the message ids
the turn took, then the turn's audit events are written in one round trip and the lease
released. A turn that is not stored (it failed, was cancelled, or its process died) recorded
no message id, so the sender's retry is processed: exactly once, by construction. A compiled snapshot
(:class:`~runtime.brain.CompiledSnapshot`) is built on its first turn and dropped when its
snapshot is no longer active.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from runtime.brain import (
    Brain,
    CancelToken,
    CompiledSnapshot,
    GoalDecision,
    Message,
    TurnCancelled,
    TurnResult,
)
from runtime.channels import format_reply
from runtime.errors import ApiError
from runtime.failpoints import failpoint
from runtime.ports import (
    ActionKind,
    AuditEvent,
    Clock,
    Conversation,
    ScheduledAction,
    StateBackend,
)
from runtime.ports.base import BufferedAudit
from runtime.providers import NoProvider, Provider
from runtime.registry import Active, SnapshotRegistry
from runtime.tools import Gateway, ToolEffectRegistry
from runtime.turns import TokenBuckets, limits_for

DUPLICATE_WINDOW = timedelta(minutes=5)
MAX_INBOUND = 256  # message ids kept per conversation (the most recent), within the window
LEASE = timedelta(seconds=30)
LEASE_WAIT_S = 10.0


class TurnError(Exception):
    """A request that cannot become a turn: ``code`` says why (the API answers with its
    status); ``retry_after``
    (whole seconds) when waiting would help."""

    def __init__(self, code: ApiError, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class TurnRequest:
    tenant: str
    agent: str
    channel: str
    conversation_id: str
    message_id: str
    text: str
    intent: str | None = None
    slots: Mapping[str, Any] = field(default_factory=dict)
    profile: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TurnResponse:
    status: str  # processed | coalesced | duplicate | queued
    turn_id: str | None
    snapshot: str
    result: TurnResult | None = None
    parts: tuple[str, ...] = ()  # the reply formatted for the channel profile

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "turn_id": self.turn_id,
            "snapshot": self.snapshot,
        }
        if self.result is not None:
            conv = self.result.conversation
            out.update(
                scenario=conv.scenario,
                step=conv.step,
                reply={"parts": list(self.parts)},
                tools=[t.to_json() for t in self.result.tools],
                entered=self.result.entered,
                awaiting_confirmation=self.result.confirmation is not None,
            )
        return out


class TurnService:
    def __init__(
        self,
        snapshots: SnapshotRegistry,
        state: StateBackend,
        clock: Clock,
        gateways: Mapping[str, Gateway],
        *,
        stream: str = "live",
        provider: Provider | None = None,
        lease: timedelta = LEASE,
        compiled: Sequence[CompiledSnapshot] = (),
    ) -> None:
        """``compiled``: snapshots already compiled for turns (e.g. shared by simulations of
        one bundle), used instead of compiling them again."""
        self.lease = lease
        self.provider: Provider = provider or NoProvider()
        self.snapshots = snapshots
        self.state = state
        self.clock = clock
        self.gateways = dict(gateways)
        self.stream = stream
        self.limits = TokenBuckets(clock)
        self._compiled: dict[str, CompiledSnapshot] = {c.id: c for c in compiled}
        self._lock = threading.Lock()
        self.holder = f"{uuid.uuid4().hex[:8]}"

    def compiled(self, snapshot_id: str, raw: bytes) -> CompiledSnapshot:
        found = self._compiled.get(snapshot_id)
        if found is None:
            with self._lock:
                found = self._compiled.get(snapshot_id)
                if found is None:
                    found = CompiledSnapshot(snapshot_id, raw)
                    active = {
                        a.id for t in self.snapshots.tenants() if (a := self.snapshots.get(t))
                    }
                    self._compiled = {k: v for k, v in self._compiled.items() if k in active} | {
                        snapshot_id: found
                    }
        return found

    def admit(self, request: TurnRequest) -> CompiledSnapshot:
        """Check the request's names against the active snapshot and take its rate limits;
        raises :class:`TurnError` (``unknown_tenant``, ``unknown_name``, ``rate_limited``)."""
        active = self.snapshots.get(request.tenant)
        if active is None:
            raise TurnError(
                ApiError.UNKNOWN_TENANT, f"no snapshot is loaded for tenant '{request.tenant}'"
            )
        compiled = self.compiled(active.id, active.raw)
        agent = compiled.agent(request.agent)
        if agent is None or not agent.get("enabled", True):
            raise TurnError(
                ApiError.UNKNOWN_NAME,
                f"tenant '{request.tenant}' has no enabled agent '{request.agent}'",
            )
        if request.channel not in agent.get("channels", []):
            speaks = ", ".join(agent.get("channels", [])) or "none"
            raise TurnError(
                ApiError.UNKNOWN_NAME,
                f"agent '{request.agent}' does not speak on channel profile '{request.channel}' (it speaks on: {speaks})",
            )
        self._rate_limit(request, compiled)
        return compiled

    def handle(self, request: TurnRequest) -> TurnResponse:
        """One message, one turn (no coalescing): what the gateway does with debounce 0."""
        self.admit(request)
        return self.run([request])[0]

    def run(
        self, requests: Sequence[TurnRequest], cancel: CancelToken | None = None
    ) -> list[TurnResponse]:
        """One turn for a burst of one conversation's admitted messages, in arrival order.

        Under the conversation's lease, a message id its stored turns took within 5 minutes
        (or one twice in the burst) is a ``duplicate``; the ids a turn takes are saved with it,
        in one compare-and-set, so a turn that is not stored (failed, cancelled, its process
        killed) leaves its messages to be run by the sender's retry, never dropped. The claimed messages make one turn: texts joined by
        newlines, the last intent given, slots and profile merged in order. The first claimed
        message's answer is ``processed``, the others' ``coalesced`` (same turn). Raises
        :class:`TurnCancelled` when ``cancel`` stopped the turn; nothing of it is stored, so
        its messages run in the next turn.
        """
        if not requests:
            return []
        first = requests[0]
        active = self.snapshots.get(first.tenant)  # read once: the turn's snapshot
        if active is None:
            raise TurnError(
                ApiError.UNKNOWN_TENANT, f"no snapshot is loaded for tenant '{first.tenant}'"
            )
        compiled = self.compiled(active.id, active.raw)
        turn_id = f"turn-{uuid.uuid4().hex[:12]}"
        holder = f"{self.holder}:{turn_id}"
        stored = self._lease(first, holder)  # the lease, then the conversation under it
        released = False
        audit = BufferedAudit(self.state)  # one write of the turn's events, at its end
        claimed: list[TurnRequest] = []
        try:
            now = self.clock.now()
            conversation = stored or Conversation(
                first.tenant, first.conversation_id, first.agent, requests[-1].channel
            )
            inbound = {k: at for k, at in conversation.inbound if now - at < DUPLICATE_WINDOW}
            for request in requests:
                key = f"{request.channel}:{request.message_id}"
                if key not in inbound:
                    inbound[key] = now
                    claimed.append(request)
            if not claimed:
                self.dropped(requests)
                return [TurnResponse("duplicate", None, active.id) for _ in requests]
            last = claimed[-1]
            tools = ToolEffectRegistry(
                self.state, self.clock, self.gateways, stream=self.stream, audit=audit
            )
            brain = Brain(compiled, tools, self.clock, audit, stream=self.stream)
            message = _merge(claimed)
            if message.intent is None and not message.slots:
                intent, slots = self._understand(last, active, compiled, conversation, audit)
                message = replace(message, intent=intent, slots=slots)
            result = brain.turn(
                conversation, message, turn_id=turn_id, channel=last.channel, cancel=cancel
            )
            kept = sorted(inbound.items(), key=lambda item: item[1])[-MAX_INBOUND:]
            failpoint("turn.before-save", *(t.tool for t in result.tools if t.status == "executed"))
            saved = self.state.end_turn(  # save, the turn's audit, the lease: one trip
                first.tenant,
                first.conversation_id,
                holder,
                now,
                replace(result.conversation, inbound=tuple(kept)),
                audit.pending,
            )
            released, audit.pending = True, []
            if saved is None:
                raise TurnError(
                    ApiError.CONFLICT,
                    "the conversation changed during the turn; send the message again",
                )
        except BaseException as exc:
            # Not stored: its message ids were not recorded either, so the sender's retry (or
            # the next turn, after a cancel) runs them. What the turn did is still audited.
            if not isinstance(exc, TurnCancelled):
                audit.append(
                    AuditEvent(
                        first.tenant,
                        "turn.failed",
                        self.clock.now(),
                        first.conversation_id,
                        turn_id,
                        {"error": type(exc).__name__},
                        self.stream,
                    )
                )
            with contextlib.suppress(Exception):
                audit.flush()
            raise
        finally:
            if not released:
                self.state.release_turn(first.tenant, first.conversation_id, holder)
        if result.goals:
            self._agenda(first, turn_id, compiled, result.goals)
        body = replace(result, conversation=saved)
        parts = _formatted(
            result.replies, compiled.channel_rendered(last.channel, {"profile": message.profile})
        )
        ids = {r.message_id for r in claimed}
        lead = claimed[0].message_id
        out: list[TurnResponse] = []
        for request in requests:
            if request.message_id not in ids:
                status = "duplicate"
            else:
                status = "processed" if request.message_id == lead else "coalesced"
                ids.discard(request.message_id)  # a second copy in the burst is a duplicate
            out.append(
                TurnResponse(status, None, active.id)
                if status == "duplicate"
                else TurnResponse(status, turn_id, active.id, body, parts)
            )
        dropped = [r for r, a in zip(requests, out, strict=True) if a.status == "duplicate"]
        if dropped:
            self.dropped(dropped)
        return out

    def dropped(self, duplicates: Sequence[TurnRequest]) -> None:
        """Audit the redeliveries a burst dropped (``turn.duplicate``)."""
        self.state.append_many(
            [
                AuditEvent(
                    r.tenant,
                    "turn.duplicate",
                    self.clock.now(),
                    r.conversation_id,
                    None,
                    {"message_id": r.message_id, "channel": r.channel},
                    self.stream,
                )
                for r in duplicates
            ]
        )

    def _agenda(
        self,
        first: TurnRequest,
        turn_id: str,
        compiled: CompiledSnapshot,
        goals: Sequence[GoalDecision],
    ) -> None:
        """Store what the saved turn decided for the agenda: cancel met goals' actions,
        schedule triggered ones (id ``goal:conversation:turn``: a retry stores it once)."""
        now = self.clock.now()
        events = []
        for decision in goals:
            data: dict[str, Any] = {"goal": decision.goal}
            if decision.op == "cancel":
                data["cancelled"] = self.state.cancel(
                    first.tenant, first.conversation_id, decision.goal, now
                )
                kind = "agenda.cancelled"
            else:
                spec = compiled.goal(decision.goal) or {}
                assert decision.due_at is not None and decision.expires_at is not None
                action = ScheduledAction(
                    first.tenant,
                    f"{decision.goal}:{first.conversation_id}:{turn_id}",
                    decision.goal,
                    first.conversation_id,
                    first.agent,
                    ActionKind(spec.get("action", "follow_up")),
                    decision.due_at,
                    decision.expires_at,
                    max_attempts=int(spec.get("maxAttempts", 3)),
                    data=decision.data,
                    created_at=now,
                )
                self.state.schedule(action)
                data.update(action=action.id, due=decision.due_at.isoformat())
                kind = "agenda.scheduled"
            events.append(
                AuditEvent(
                    first.tenant, kind, now, first.conversation_id, turn_id, data, self.stream
                )
            )
        self.state.append_many(events)

    def recover(self) -> int:
        """Reconcile the tool calls that processes which died left in flight, for every
        tenant served (see :meth:`ToolEffectRegistry.recover`); a call is considered
        abandoned after its tool's timeout plus the turn lease. Returns how many changed."""
        changed = 0
        for tenant in self.snapshots.tenants():
            active = self.snapshots.get(tenant)
            if active is None:
                continue
            tools = self.compiled(active.id, active.raw).body.get("tools", {})
            registry = ToolEffectRegistry(self.state, self.clock, self.gateways, stream=self.stream)
            specs = {name: entry["spec"] for name, entry in tools.items()}
            changed += len(registry.recover(tenant, specs, grace=self.lease))
        return changed

    def _understand(
        self,
        request: TurnRequest,
        active: Active,
        compiled: CompiledSnapshot,
        conversation: Conversation,
        audit: BufferedAudit,
    ) -> tuple[str | None, dict[str, Any]]:
        """Ask the provider for intent and slots when the request labelled nothing."""
        if isinstance(self.provider, NoProvider):
            return None, {}
        agent = compiled.agent(request.agent) or {}
        intents, slots = compiled.vocabulary(agent, conversation.scenario, conversation.step)
        try:
            settings = active.effective(
                request.agent, conversation.scenario, conversation.step, request.channel
            )["settings"]
        except (KeyError, ValueError):
            settings = active.effective(request.agent, None, None, request.channel)["settings"]
        found = self.provider.understand(
            request.text, intents=intents, slots=slots, llm=settings.get("llm", {})
        )
        audit.append(
            AuditEvent(
                request.tenant,
                "provider.understood" if found.source == "llm" else "provider.fallback",
                self.clock.now(),
                request.conversation_id,
                None,
                {"intent": found.intent, "slots": sorted(found.slots), "error": found.error},
                self.stream,
            )
        )
        return found.intent, dict(found.slots)

    def _rate_limit(self, request: TurnRequest, compiled: CompiledSnapshot) -> None:
        """The tenant's tier (or ``rateLimit``) and the channel profile's ``perMinute``, each a
        token bucket in this process. A profile's burst is ten seconds' worth (at least 1)."""
        per_minute, burst = limits_for(compiled.tenant.get("spec", {}))
        checks = [(f"tenant:{request.tenant}", per_minute, burst)]
        profile = compiled.channel(request.channel) or {}
        profile_rate = (profile.get("rateLimit") or {}).get("perMinute")
        if isinstance(profile_rate, int) and profile_rate > 0:
            checks.append(
                (
                    f"profile:{request.tenant}/{request.channel}",
                    profile_rate,
                    max(1, profile_rate // 6),
                )
            )
        for key, rate, size in checks:
            decision = self.limits.take(key, rate, size)
            if not decision.allowed:
                with contextlib.suppress(Exception):  # the refusal stands even if unrecorded
                    self.state.append(
                        AuditEvent(
                            request.tenant,
                            "turn.rate_limited",
                            self.clock.now(),
                            request.conversation_id,
                            None,
                            {"limit": key.split(":", 1)[0], "message_id": request.message_id},
                            self.stream,
                        )
                    )
                raise TurnError(
                    ApiError.RATE_LIMITED,
                    f"{key.split(':', 1)[0]} rate limit of {rate} turns per minute reached",
                    decision.retry_after_header,
                )

    def _lease(self, request: TurnRequest, holder: str) -> Conversation | None:
        """Take the conversation's turn lease (waiting up to a bound); returns the stored
        conversation, read under it."""
        deadline = time.monotonic() + LEASE_WAIT_S
        delay = 0.005
        while True:
            taken, conversation = self.state.begin_turn(
                request.tenant, request.conversation_id, holder, self.clock.now(), self.lease
            )
            if taken:
                return conversation
            if time.monotonic() > deadline:
                raise TurnError(
                    ApiError.BUSY,
                    f"conversation '{request.conversation_id}' has a turn in progress; retry shortly",
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def _formatted(replies: Sequence[str], profile: Mapping[str, Any]) -> tuple[str, ...]:
    """The turn's reply as the channel sends it: on SMS and email one message (its greeting
    and signature once, split into parts only by the length limit), elsewhere one part per
    step's reply (a chat bubble each), each within the profile's limits."""
    if not replies:
        return ()
    if profile.get("channel") in ("sms", "email"):
        return format_reply("\n\n".join(replies), profile).parts
    return tuple(p for reply in replies for p in format_reply(reply, profile).parts)


def _merge(burst: Sequence[TurnRequest]) -> Message:
    """A burst as one message: texts joined by newlines, the last intent any message gave,
    slots and profile fields merged in arrival order (a later value wins)."""
    intent = None
    slots: dict[str, Any] = {}
    profile: dict[str, Any] = {}
    for request in burst:
        intent = request.intent if request.intent is not None else intent
        slots.update(request.slots)
        profile.update(request.profile)
    return Message("\n".join(r.text for r in burst), intent, slots, profile)
