"""Run one Simulation document through the real runtime: the turn gateway, the turn service,
the brain and the ToolEffectRegistry, on a simulated clock, with in-memory state and tools
answered by the document's stubs. Nothing here re-implements a turn.

Script events happen in order. ``after`` (30s by default) is simulated time since the previous
event; a ``burst`` sends its messages 100 ms apart; each event's expectations are checked once
its turn has finished, after the debounce window (the clock is moved through it).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from focalctl.bundle.models import BundleObject
from runtime.agenda import RecordingOutbound, Scheduler, Sent
from runtime.brain import CompiledSnapshot
from runtime.conversations import TurnError, TurnRequest, TurnResponse, TurnService
from runtime.durations import parse_duration
from runtime.gateway import TurnGateway
from runtime.ports import SimulatedClock
from runtime.ports.memory import MemoryState
from runtime.registry import SnapshotRegistry
from runtime.spec import Expectation, ScriptEvent, SimulationSpec, ToolStub
from runtime.tools import GatewayError

BURST_GAP = timedelta(milliseconds=100)
TICK_MIN = timedelta(milliseconds=1)  # the clock always moves forward a little
LONGEST_JUMP = timedelta(hours=1)  # quiet hours, business hours: re-checked at least hourly
# a ScheduledAction's status, as a simulation names it
_STATES = {"pending": "pending", "claimed": "pending", "sent": "fired"}
CONVERSATION = "sim-1"


@dataclass(frozen=True, slots=True)
class ToolCallSeen:
    tool: str
    args: dict[str, Any]
    answer: str  # result | error | no stub


@dataclass(slots=True)
class Line:
    """One transcript line: who said or did what, when."""

    at: datetime
    who: str  # user | agent | tool | system
    text: str


@dataclass(frozen=True, slots=True)
class EventRecord:
    """What one script event did: for tools that derive simulations from this one."""

    index: int
    entered: tuple[str, ...]  # step ids its turns entered
    scenario: str | None  # the scenario those steps belong to
    asked: tuple[str, ...]  # tools whose confirmation its turns asked
    executed: tuple[str, ...]  # tools its turns ran (the stub answered)
    scheduled: tuple[str, ...]  # goals it scheduled
    delivered: tuple[str, ...]  # channel profiles follow-ups went out on during it


@dataclass(slots=True)
class Failure:
    event: int  # index in the script
    key: str  # the expectation key, or the event's kind
    message: str
    pointer: str  # into the document, for its file:line


@dataclass(slots=True)
class SimulationResult:
    name: str
    tenant: str
    file: str
    transcript: list[Line] = field(default_factory=list)
    failure: Failure | None = None
    line: int | None = None  # of the failure, filled by the caller that knows positions
    column: int | None = None
    seconds: float = 0.0
    zone: tzinfo | None = None  # the start's offset: the transcript is shown in it
    audit: dict[str, int] = field(default_factory=dict)  # events written, per audit stream
    reached: set[tuple[str, str]] = field(default_factory=set)  # (scenario, step) entered
    events: list[EventRecord] = field(default_factory=list)
    # the simulated audit stream, each event's conversation named after the simulation
    audit_log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.failure is None


class Stubs:
    """The tool gateway of a simulation: every call answered by the first matching stub."""

    def __init__(self, stubs: list[ToolStub], clock: SimulatedClock) -> None:
        self.stubs = stubs
        self.clock = clock
        self.calls: list[ToolCallSeen] = []

    def call(self, name: str, spec: Any, args: Any) -> Any:
        for stub in self.stubs:
            if stub.tool == name and all(args.get(k) == v for k, v in stub.match.items()):
                if stub.delay:
                    self.clock.advance(timedelta(milliseconds=parse_duration(stub.delay)))
                if stub.error is not None:
                    self.calls.append(ToolCallSeen(name, dict(args), "error"))
                    raise GatewayError(stub.error)
                self.calls.append(ToolCallSeen(name, dict(args), "result"))
                return stub.result if stub.result is not None else {}
        self.calls.append(ToolCallSeen(name, dict(args), "no stub"))
        raise GatewayError(f"no stub for tool '{name}' with args {_show(args)}")


def run(
    obj: BundleObject, snapshot_id: str, raw: bytes, compiled: CompiledSnapshot | None = None
) -> SimulationResult:
    """Run one simulation; ``compiled`` (of the same snapshot) spares compiling it again."""
    spec = obj.spec
    assert isinstance(spec, SimulationSpec)
    started = time.perf_counter()
    result = SimulationResult(obj.name, obj.tenant, obj.doc.file, zone=spec.start.tzinfo)
    registry = SnapshotRegistry()
    registry.offer(obj.tenant, "simulate", 1, snapshot_id, raw, "simulate")
    clock = SimulatedClock(spec.start)
    stubs = Stubs(spec.stubs, clock)
    state = MemoryState()
    service = TurnService(
        registry,
        state,
        clock,
        {"internal": stubs, "http": stubs},
        stream="simulated",
        compiled=[compiled] if compiled is not None else (),
    )
    gateway = TurnGateway(service, inline=True)
    outbound = RecordingOutbound(failing={d.channel for d in spec.deliveries if d.fail})
    scheduler = Scheduler(service, outbound, holder="simulate")
    sim = _Run(obj, spec, clock, gateway, state, stubs, result, scheduler, outbound)
    try:
        for index, event in enumerate(spec.script):
            failure = sim.event(index, event)
            if failure is not None:
                result.failure = failure
                break
    finally:
        gateway.close()
    events = state.events(obj.tenant, stream="simulated", limit=1_000_000)
    result.audit = {
        "live": len(state.events(obj.tenant, stream="live", limit=1_000_000)),
        "simulated": len(events),
    }
    result.audit_log = [{**e.to_json(), "conversation": obj.name} for e in events]
    result.reached = {
        (str(e.data["scenario"]), str(e.data["step"])) for e in events if e.kind == "step.entered"
    }
    result.seconds = time.perf_counter() - started
    return result


@dataclass(slots=True)
class _Outcome:
    answers: list[TurnResponse]
    calls: list[ToolCallSeen]
    sent: list[Sent]


class _Run:
    def __init__(
        self,
        obj: BundleObject,
        spec: SimulationSpec,
        clock: SimulatedClock,
        gateway: TurnGateway,
        state: MemoryState,
        stubs: Stubs,
        result: SimulationResult,
        scheduler: Scheduler,
        outbound: RecordingOutbound,
    ) -> None:
        self.obj, self.spec, self.clock, self.gateway = obj, spec, clock, gateway
        self.state, self.stubs, self.result = state, stubs, result
        self.scheduler, self.outbound = scheduler, outbound
        self.sent: list[TurnRequest] = []
        self.last_event_at = clock.now()

    def say(self, who: str, text: str) -> None:
        self.result.transcript.append(Line(self.clock.now(), who, text))

    def request(self, text: str, event: ScriptEvent) -> TurnRequest:
        request = TurnRequest(
            self.obj.tenant,
            self.spec.agent,
            self.spec.channel,
            CONVERSATION,
            f"m{len(self.sent) + 1}",
            text,
            event.intent,
            dict(event.slots),
            dict(self.spec.profile),
        )
        self.sent.append(request)
        return request

    def event(self, index: int, event: ScriptEvent) -> Failure | None:
        here = f"/spec/script/{index}"
        after = event.after if index or "after" in event.model_fields_set else "0"
        self._advance_to(self.last_event_at + timedelta(milliseconds=parse_duration(after)))
        self.last_event_at = self.clock.now()
        calls_before, sent_before = len(self.stubs.calls), len(self.outbound.sent)
        try:
            if event.wait is not None:
                self.say("system", f"(wait {event.wait})")
                self._advance_to(
                    self.clock.now() + timedelta(milliseconds=parse_duration(event.wait))
                )
                answers: list[TurnResponse] = []
            elif event.redeliver is not None:
                if not self.sent:
                    return Failure(
                        index, "redeliver", "nothing was sent before to deliver again", here
                    )
                again = self.sent[-1]
                self.say("user", f"{again.text}   (delivered again: {again.message_id})")
                answers = self._settle([self.gateway.submit(again)])
            else:
                texts = event.burst if event.burst is not None else [event.user or ""]
                pending = []
                for n, text in enumerate(texts):
                    if n:
                        self._advance_to(self.clock.now() + BURST_GAP)
                    self.say("user", text)
                    pending.append(self.gateway.submit(self.request(text, event)))
                answers = self._settle(pending)
        except TurnError as exc:
            return Failure(index, "turn", f"the runtime refused the message: {exc.message}", here)
        builtin = [  # the runtime's own tools run for real: no stub answers them
            ToolCallSeen(t.tool, dict(t.args), "error" if t.error else "result")
            for a in answers
            if a.result is not None
            for t in a.result.tools
            if t.builtin
        ]
        outcome = _Outcome(
            answers, [*self.stubs.calls[calls_before:], *builtin], self.outbound.sent[sent_before:]
        )
        self._narrate(outcome)
        self.result.events.append(self._record(index, outcome))
        missing = [c for c in outcome.calls if c.answer == "no stub"]
        if missing:
            call = missing[0]
            return Failure(
                index,
                "stubs",
                f"tool '{call.tool}' was called with {_show(call.args)} and no stub answers it; "
                "add one under spec.stubs (a simulation never calls a real tool)",
                "/spec/stubs",
            )
        if event.expect is not None:
            return self._check(index, event.expect, outcome)
        return None

    def _record(self, index: int, outcome: _Outcome) -> EventRecord:
        results = [a.result for a in outcome.answers if a.result is not None and a.turn_id]
        scenario = next(
            (
                e.data.get("scenario")
                for e in reversed(
                    self.state.events(self.obj.tenant, stream="simulated", limit=1_000_000)
                )
                if e.kind == "step.entered"
            ),
            None,
        )
        return EventRecord(
            index,
            tuple(s for r in results for s in r.entered),
            str(scenario) if scenario and any(r.entered for r in results) else None,
            tuple(t.tool for r in results for t in r.tools if t.status == "needs_confirmation"),
            tuple(c.tool for c in outcome.calls if c.answer == "result"),
            tuple(g.goal for r in results for g in r.goals if g.op == "schedule"),
            tuple(s.profile for s in outcome.sent),
        )

    def _settle(self, pending: list[Any]) -> list[TurnResponse]:
        """Move the clock through the debounce windows until every message has its answer."""
        for _ in range(1000):
            if all(p.done() for p in pending):
                break
            deadline = self.gateway.next_deadline()
            if deadline is None:
                break
            self._advance_to(deadline)
        return [p.result(0) for p in pending if p.done()]

    def _advance_to(self, when: datetime) -> None:
        """Move the clock to ``when``, releasing bursts and firing the agenda on the way: it
        stops at every burst deadline and every moment an action of the conversation becomes
        due (``serve`` checks every second; here nothing happens in between, so the clock
        jumps)."""
        receipts = {d.channel: d.receipt for d in self.spec.deliveries if d.receipt}
        while self.clock.now() < when:
            stops = [when, self.clock.now() + LONGEST_JUMP]
            deadline = self.gateway.next_deadline()
            if deadline is not None:
                stops.append(deadline)
            for action in self.state.actions(self.obj.tenant, CONVERSATION):
                ready = action.ready_at
                if ready is not None:
                    stops.append(max(ready, self.clock.now() + TICK_MIN))
            self.clock.advance(max(min(stops) - self.clock.now(), TICK_MIN))
            self.gateway.pump()
            seen = len(self.outbound.sent)
            self.scheduler.tick()
            while seen < len(self.outbound.sent):  # a failed receipt's fallback sends more
                sent = self.outbound.sent[seen]
                seen += 1
                self.say("agent", f"[{sent.profile}] " + " | ".join(sent.parts))
                status = receipts.get(sent.profile)
                if status and sent.message_id:
                    self.say("system", f"(receipt from {sent.profile}: {status})")
                    self.scheduler.receipt(self.obj.tenant, sent.message_id, status)
        self.gateway.pump()

    def _narrate(self, outcome: _Outcome) -> None:
        for call in outcome.calls:
            self.say("tool", f"{call.tool}({_show(call.args)}) → {call.answer}")
        seen: set[str | None] = set()
        for answer in outcome.answers:
            if answer.status in ("duplicate", "queued"):
                self.say("system", f"({answer.status})")
                continue
            if answer.turn_id in seen or answer.result is None:
                continue
            seen.add(answer.turn_id)
            for part in answer.result.replies:
                self.say("agent", part)
            conv = answer.result.conversation
            where = (
                f"{conv.scenario}/{conv.step}" if conv.scenario else f"(no scenario; {conv.step})"
            )
            self.say("system", f"(at {where})")

    def _check(self, index: int, expect: Expectation, outcome: _Outcome) -> Failure | None:
        base = f"/spec/script/{index}/expect"
        turns = {a.turn_id: a for a in outcome.answers if a.turn_id and a.result is not None}
        replies = [p for a in turns.values() if a.result for p in a.result.replies]
        reply = "\n".join(replies)
        conv = self.state.load(self.obj.tenant, CONVERSATION)
        checks: list[tuple[str, bool, str]] = []
        if expect.status is not None:
            got = outcome.answers[0].status if outcome.answers else "no answer"
            checks.append(("status", got == expect.status, f"status was '{got}'"))
        if expect.turns is not None:
            checks.append(("turns", len(turns) == expect.turns, f"{len(turns)} turn(s) ran"))
        if expect.scenario is not None:
            got_s = conv.scenario if conv else None
            checks.append(("scenario", got_s == expect.scenario, f"scenario is {got_s!r}"))
        if expect.step is not None:
            got_step = conv.step if conv else None
            checks.append(("step", got_step == expect.step, f"step is {got_step!r}"))
        if expect.reply_contains is not None:
            checks.append(
                (
                    "reply_contains",
                    expect.reply_contains in reply,
                    f"the reply was {reply!r}",
                )
            )
        if expect.reply_matches is not None:
            checks.append(
                (
                    "reply_matches",
                    re.search(expect.reply_matches, reply) is not None,
                    f"the reply was {reply!r}",
                )
            )
        if expect.confirmation_asked is not None:
            asked = any(a.result.confirmation for a in turns.values() if a.result)
            checks.append(
                (
                    "confirmation_asked",
                    asked == expect.confirmation_asked,
                    "a confirmation was asked" if asked else "no confirmation was asked",
                )
            )
        if expect.no_reply is not None:
            checks.append(
                ("no_reply", (not replies) == expect.no_reply, f"the reply was {reply!r}")
            )
        if expect.tool_called is not None:
            want = expect.tool_called
            hit = any(
                c.tool == want.tool and all(c.args.get(k) == v for k, v in want.args.items())
                for c in outcome.calls
            )
            called = [f"{c.tool}({_show(c.args)})" for c in outcome.calls] or ["nothing"]
            checks.append(("tool_called", hit, f"this event called {', '.join(called)}"))
        if expect.tool_not_called is not None:
            hit = any(c.tool == expect.tool_not_called for c in outcome.calls)
            checks.append(("tool_not_called", not hit, f"'{expect.tool_not_called}' was called"))
        if expect.scheduled is not None:
            want_s = expect.scheduled
            states = [
                _STATES.get(str(a.status), str(a.status))
                for a in self.state.actions(self.obj.tenant, CONVERSATION)
                if a.goal == want_s.goal
            ]
            checks.append(
                (
                    "scheduled",
                    want_s.state in states,
                    f"the goal's actions are {states or 'none'}",
                )
            )
        if expect.delivered is not None:
            want_d = expect.delivered
            hits = [s for s in outcome.sent if s.profile == want_d.channel]
            shown = [f"{s.profile} ({len(s.parts)} part(s))" for s in outcome.sent] or ["nothing"]
            checks.append(
                (
                    "delivered",
                    any(want_d.parts is None or len(s.parts) == want_d.parts for s in hits),
                    f"this event delivered {', '.join(shown)}",
                )
            )
        for key, ok, detail in checks:
            if not ok:
                want_value = getattr(expect, key)
                shown = want_value.to_json() if hasattr(want_value, "to_json") else want_value
                return Failure(
                    index, key, f"expected {key} {_show(shown)}: {detail}", f"{base}/{key}"
                )
        return None


def _show(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
