"""The turn service: one inbound message → at most one turn, on one snapshot, saved once.

For each message: the tenant's and the channel profile's rate limits are taken (a refusal is
``rate_limited`` with a retry-after); the conversation's turn lease is taken (another process
or request working on the same conversation makes this one wait, up to a bound); under it, the
channel message id is claimed (a redelivery within 5 minutes is a ``duplicate`` and changes
nothing); the active snapshot, read once, runs the turn to its end even if a reload swaps it
meanwhile; the conversation is saved by compare-and-set, then the turn's audit events are
written in one round trip and the lease released. A turn that fails before it is stored gives
the message id back, so the sender's retry is processed. A compiled snapshot
(:class:`~runtime.brain.CompiledSnapshot`) is built on its first turn and dropped when its
snapshot is no longer active.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from runtime.brain import Brain, CompiledSnapshot, Message, TurnResult
from runtime.ports import AuditEvent, Clock, Conversation, StateBackend
from runtime.ports.base import BufferedAudit
from runtime.providers import NoProvider, Provider
from runtime.registry import Active, SnapshotRegistry
from runtime.tools import Gateway, ToolEffectRegistry
from runtime.turns import TokenBuckets, limits_for

DUPLICATE_WINDOW = timedelta(minutes=5)
LEASE = timedelta(seconds=30)
LEASE_WAIT_S = 10.0


class TurnError(Exception):
    """A request that cannot become a turn: ``code`` is an API error code; ``retry_after``
    (whole seconds) when waiting would help."""

    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
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
    status: str  # processed | duplicate
    turn_id: str | None
    snapshot: str
    result: TurnResult | None = None

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
                reply={"parts": self.result.replies},
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
    ) -> None:
        self.provider: Provider = provider or NoProvider()
        self.snapshots = snapshots
        self.state = state
        self.clock = clock
        self.gateways = dict(gateways)
        self.stream = stream
        self.limits = TokenBuckets(clock)
        self._compiled: dict[str, CompiledSnapshot] = {}
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

    def handle(self, request: TurnRequest) -> TurnResponse:
        active = self.snapshots.get(request.tenant)  # read once: the turn's snapshot
        if active is None:
            raise TurnError(
                "unknown_tenant", f"no snapshot is loaded for tenant '{request.tenant}'"
            )
        compiled = self.compiled(active.id, active.raw)
        agent = compiled.agent(request.agent)
        if agent is None or not agent.get("enabled", True):
            raise TurnError(
                "unknown_name", f"tenant '{request.tenant}' has no enabled agent '{request.agent}'"
            )
        if request.channel not in agent.get("channels", []):
            speaks = ", ".join(agent.get("channels", [])) or "none"
            raise TurnError(
                "unknown_name",
                f"agent '{request.agent}' does not speak on channel profile '{request.channel}' (it speaks on: {speaks})",
            )
        self._rate_limit(request, compiled)
        turn_id = f"turn-{uuid.uuid4().hex[:12]}"
        holder = f"{self.holder}:{turn_id}"
        self._lease(request, holder)  # first: a message claimed as seen is always processed
        claimed = False
        try:
            if not self.state.first_delivery(
                request.tenant,
                request.channel,
                request.message_id,
                self.clock.now(),
                DUPLICATE_WINDOW,
            ):
                return TurnResponse("duplicate", None, active.id)
            claimed = True
            conversation = self.state.load(request.tenant, request.conversation_id) or Conversation(
                request.tenant, request.conversation_id, request.agent, request.channel
            )
            audit = BufferedAudit(self.state)  # one write of the turn's events, at its end
            tools = ToolEffectRegistry(
                self.state, self.clock, self.gateways, stream=self.stream, audit=audit
            )
            brain = Brain(compiled, tools, self.clock, audit, stream=self.stream)
            intent, slots = request.intent, dict(request.slots)
            if intent is None and not slots:
                intent, slots = self._understand(request, active, compiled, conversation, audit)
            message = Message(request.text, intent, slots, dict(request.profile))
            result = brain.turn(conversation, message, turn_id=turn_id, channel=request.channel)
            saved = self.state.save(result.conversation, self.clock.now())
            if saved is None:
                raise TurnError(
                    "conflict", "the conversation changed during the turn; send the message again"
                )
            claimed = False  # the turn is stored: the claim stands for good
            audit.flush()
        except BaseException:
            if claimed:  # the turn was not stored: the sender's retry must run it, not be dropped
                with contextlib.suppress(Exception):
                    self.state.forget_delivery(request.tenant, request.channel, request.message_id)
            raise
        finally:
            self.state.release_turn(request.tenant, request.conversation_id, holder)
        return TurnResponse(
            "processed",
            turn_id,
            active.id,
            replace(result, conversation=saved),
        )

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
                raise TurnError(
                    "rate_limited",
                    f"{key.split(':', 1)[0]} rate limit of {rate} turns per minute reached",
                    decision.retry_after_header,
                )

    def _lease(self, request: TurnRequest, holder: str) -> None:
        deadline = time.monotonic() + LEASE_WAIT_S
        delay = 0.005
        while not self.state.acquire_turn(
            request.tenant, request.conversation_id, holder, self.clock.now(), LEASE
        ):
            if time.monotonic() > deadline:
                raise TurnError(
                    "busy",
                    f"conversation '{request.conversation_id}' has a turn in progress; retry shortly",
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
