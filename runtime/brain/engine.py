"""The brain: one turn of one conversation, exactly as the design's turn semantics state.

1. The message updates the context: ``intent`` is this message's; ``slots`` accumulate (typed
   ones are coerced or rejected first; a rejected value is not stored and its ``prompt`` is
   asked again with the reason); a tool result lands in ``slots.<saveAs>``.
2. With no active scenario, the agent's scenarios are tried in order and the first whose
   ``entry.when`` holds is entered. With one, the current step's transitions are evaluated
   (highest ``priority`` first, then file order) and the first that holds is followed; none:
   a re-prompt (the missing slot's ``prompt``, else the step's ``say`` again).
3. Entering a step: ``before`` and ``during`` bindings (``dependsOn`` ordered; a binding whose
   ``when`` does not hold is skipped and audited), its ``say`` (the channel's variant), then
   ``after`` bindings; then its transitions at once (a chain of at most 8 steps per turn). A
   ``terminal`` step ends the scenario.
4. A binding whose tool needs a confirmation it does not have for these exact args stops the
   chain before it runs (so does a non-pure call found in flight, asking to look again, or
   whose effect is unknown after a crash, saying so: neither is ever run twice); the reply ends with the tool's confirmation prompt. The next message
   with intent ``confirm`` (or ``slots.confirmed == true``) runs it and the step goes on;
   ``deny`` skips it.
5. The reply is the ``say`` of every step entered, in order, plus any confirmation prompt.

A turn runs on the snapshot it started on. A conversation whose scenario or step no longer
exists in it restarts at the scenario's entry (or leaves it), with an audit event.

A turn given a :class:`CancelToken` stops with :class:`TurnCancelled` when the token is set at
a safe point (before a non-pure tool call, and at the turn's end) as long as no non-pure tool
has run in it (``cancelInFlight: safe``); once one has, the turn runs to its end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from runtime.brain.compiled import Binding, CompiledSnapshot, Scenario, Step
from runtime.durations import parse_duration
from runtime.ports import AuditEvent, AuditLog, Clock, Conversation, PendingConfirmation
from runtime.slots import SlotRule, coerce
from runtime.tools import Outcome, ToolEffectRegistry, idempotency_key

MAX_CHAIN = 8


class TurnCancelled(Exception):
    """A turn stopped at a safe point because a newer message asked for it; nothing it did
    needs undoing (only pure tools ran)."""


class CancelToken:
    """Set by the gateway when a newer message arrives for a conversation whose turn is
    running; read by that turn at its safe points. Setting it is a request, not a guarantee."""

    __slots__ = ("requested",)

    def __init__(self) -> None:
        self.requested = False

    def cancel(self) -> None:
        self.requested = True


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    intent: str | None = None
    slots: Mapping[str, Any] = field(default_factory=dict)
    profile: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolReport:
    tool: str
    args: dict[str, Any]
    status: str
    error: str | None = None
    builtin: bool = False  # run by the runtime itself (no gateway: not stubbed in simulate)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tool": self.tool, "args": self.args, "status": self.status}
        if self.error:
            out["error"] = self.error
        if self.builtin:
            out["builtin"] = True
        return out


@dataclass(frozen=True, slots=True)
class GoalDecision:
    """A goal this turn triggered (``schedule``: due and expiry, and what its message will be
    rendered with) or met (``cancel``). The turn service stores it once the turn is saved."""

    goal: str
    op: str  # schedule | cancel
    due_at: datetime | None = None
    expires_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TurnResult:
    conversation: Conversation
    replies: list[str]
    tools: list[ToolReport]
    entered: list[str]  # step ids entered this turn, in order
    confirmation: str | None = None  # the prompt asked, if the turn stopped for one
    goals: tuple[GoalDecision, ...] = ()


class Brain:
    """Runs turns on one compiled snapshot."""

    def __init__(
        self,
        compiled: CompiledSnapshot,
        registry: ToolEffectRegistry,
        clock: Clock,
        audit: AuditLog,
        *,
        stream: str = "live",
    ) -> None:
        self.snap = compiled
        self.registry = registry
        self.clock = clock
        self.audit = audit
        self.stream = stream
        self.hours = compiled.hours  # computed once per snapshot
        self.zone = compiled.zone

    def turn(
        self,
        conversation: Conversation,
        message: Message,
        *,
        turn_id: str,
        channel: str,
        cancel: CancelToken | None = None,
    ) -> TurnResult:
        return _Turn(self, conversation, message, turn_id, channel, cancel).run()


class _Turn:
    def __init__(
        self,
        brain: Brain,
        conv: Conversation,
        message: Message,
        turn_id: str,
        channel: str,
        cancel: CancelToken | None,
    ) -> None:
        self.b = brain
        self.cancel = cancel
        self.committed = False  # a non-pure tool has run: the turn can no longer be cancelled
        self.visited: list[str] = list(conv.visited)
        self.turn_scenario: str | None = conv.scenario  # the scenario this turn's steps are in
        self.left: list[tuple[str, tuple[str, ...]]] = []  # scenario runs this turn ended
        self.conv = conv
        self.message = message
        self.turn_id = turn_id
        self.channel = channel
        self.slots: dict[str, Any] = dict(conv.slots)
        self.confirmed = set(conv.confirmed)
        self.denied: set[str] = set()
        self.pending = conv.pending
        self.replies: list[str] = []
        self.tools: list[ToolReport] = []
        self.entered: list[str] = []
        self.confirmation: str | None = None
        agent = brain.snap.agent(conv.agent) or {}
        self.agent = agent
        self.scenario: Scenario | None = None
        self.step: str | None = conv.step
        profile = brain.snap.channel(channel) or {}
        self.channel_ctx = {"name": channel, "type": profile.get("channel")}
        self.offerings = brain.snap.offerings_for(agent)

    # -- audit and context ------------------------------------------------------------------

    def event(self, kind: str, **data: Any) -> None:
        self.b.audit.append(
            AuditEvent(
                self.conv.tenant,
                kind,
                self.b.clock.now(),
                self.conv.id,
                self.turn_id,
                data,
                self.b.stream,
            )
        )

    def context(self, **extra: Any) -> dict[str, Any]:
        now_ctx = self.b.snap.now_context(self.b.clock.now())
        tenant = self.b.snap.tenant
        return {
            "intent": self.message.intent,
            "slots": self.slots,
            "profile": dict(self.message.profile),
            "channel": self.channel_ctx,
            "turn": {"id": self.turn_id, "text": self.message.text},
            "now": now_ctx,
            "tenant": {"name": tenant.get("name"), **tenant.get("spec", {})},
            "agent": {"name": self.conv.agent, **self.agent},
            "offerings": self.offerings,
            **extra,
        }

    # -- the turn -----------------------------------------------------------------------------

    def run(self) -> TurnResult:
        conv = self.conv
        if conv.scenario:
            self.scenario = self.b.snap.scenario(conv.scenario)
            moved = self.scenario.moved.get(conv.step or "") if self.scenario else None
            if moved is not None and conv.step not in (
                self.scenario.steps if self.scenario else {}
            ):
                # a step renamed in this release (the scenario's ``moved``): same place, new id
                self.event("conversation.moved", scenario=conv.scenario, step=conv.step, to=moved)
                self.step = moved
                self.visited = [moved if s == conv.step else s for s in self.visited]
                if self.pending is not None and self.pending.step == conv.step:
                    self.pending = replace(self.pending, step=moved)
            elif self.scenario is None or (conv.step and conv.step not in self.scenario.steps):
                self.event(
                    "conversation.restarted",
                    scenario=conv.scenario,
                    step=conv.step,
                    reason="not in this snapshot",
                )
                self.step = self.scenario.entry if self.scenario else None
                self.pending = None
        rejected = self._take_slots() if self.scenario is not None else {}
        if self.pending is not None and self.scenario is not None:
            self._answer_confirmation()
        elif self.scenario is None:
            self._start()
        else:
            self._continue(rejected)
        self._checkpoint()
        return self._result()

    def _goals(self) -> tuple[GoalDecision, ...]:
        """The agent's goals this turn triggered or met (see the Goal kind in bundle.md)."""
        decisions: list[GoalDecision] = []
        reached = {(self.turn_scenario, s) for s in self.entered}
        for name in self.agent.get("goals", []):
            spec = self.b.snap.goal(name)
            if spec is None:
                continue
            if any(
                (c["scenario"], c["reachedStep"]) in reached for c in spec.get("cancelWhen", [])
            ):
                decisions.append(GoalDecision(name, "cancel"))
                self.event("goal.met", goal=name)
            trigger = spec["trigger"]
            fired = (trigger["scenario"], trigger.get("reachedStep")) in reached or any(
                scenario == trigger["scenario"] and trigger.get("leftWithoutStep") not in steps
                for scenario, steps in self.left
                if trigger.get("leftWithoutStep")
            )
            if not fired:
                continue
            ctx = self.context()
            when = self.b.snap.condition(spec.get("when"))
            if when is not None and not when(ctx):
                self.event("goal.skipped", goal=name, reason="when")
                continue
            due = self._due(spec, ctx)
            if due is None:
                self.event("goal.skipped", goal=name, reason="relativeTo slot has no date")
                continue
            expires = due + timedelta(milliseconds=parse_duration(spec.get("expiresAfter", "7d")))
            data = {"profile": ctx["profile"], "slots": _plain(self.slots), "channel": self.channel}
            decisions.append(GoalDecision(name, "schedule", due, expires, data))
            self.event("goal.triggered", goal=name, due=due.isoformat())
        return tuple(decisions)

    def _due(self, spec: Mapping[str, Any], ctx: Mapping[str, Any]) -> datetime | None:
        relative = spec.get("relativeTo")
        if relative:
            base = _as_instant(self.slots.get(relative["slot"]), self.b.zone)
            if base is None:
                return None
            offset = str(relative.get("offset", "0"))
            sign = -1 if offset.startswith("-") else 1
            due = base + sign * timedelta(milliseconds=parse_duration(offset.lstrip("+-")))
        else:
            after = timedelta(milliseconds=parse_duration(spec.get("after", "24h")))
            due = self.b.clock.now() + after
        if spec.get("withinBusinessHours") and self.b.hours is not None:
            due = self.b.hours.next_open(due) or due
        return due

    def _checkpoint(self) -> None:
        """Stop here if a newer message asked to and nothing irrevocable has happened."""
        if self.cancel is not None and self.cancel.requested and not self.committed:
            self.event("turn.cancelled", reason="newer message", tools=len(self.tools))
            raise TurnCancelled(self.turn_id)

    def _take_slots(self) -> dict[str, str]:
        rules = self._rules()
        rejected: dict[str, str] = {}
        for name, value in self.message.slots.items():
            rule = rules.get(name)
            if rule is None:
                self.slots[name] = value
                continue
            result = coerce(rule, value, now=self.b.clock.now(), tz=self.b.zone)
            if result.ok:
                self.slots[name] = result.value
            else:
                rejected[name] = result.reason or "not a valid value"
                self.event("slot.rejected", slot=name, reason=rejected[name])
        return rejected

    def _rules(self) -> dict[str, SlotRule]:
        """The typed rules that apply: the current step's first, then its scenario's."""
        rules: dict[str, SlotRule] = {}
        if self.scenario is None:
            return rules
        for step in self.scenario.steps.values():
            for rule in step.collects:
                rules.setdefault(rule.name, rule)
        current = self.scenario.steps.get(self.step or "")
        if current is not None:
            rules.update({r.name: r for r in current.collects})
        return rules

    def _start(self) -> None:
        # Entry conditions see the message's slots as given; once a scenario is chosen, its
        # typed rules decide what is stored.
        ctx = self.context(slots={**self.slots, **self.message.slots})
        for name in self.agent.get("scenarios", []):
            scenario = self.b.snap.scenario(name)
            if scenario is None:
                continue
            if scenario.entry_when is None or scenario.entry_when(ctx):
                self.scenario = scenario
                self.turn_scenario, self.visited = name, []
                self.event("scenario.entered", scenario=name)
                self._take_slots()
                self._enter(scenario.entry)
                return
        for name, value in self.message.slots.items():
            self.slots[name] = value
        self.event("scenario.none", intent=self.message.intent)

    def _continue(self, rejected: dict[str, str]) -> None:
        assert self.scenario is not None
        step = self.scenario.steps[self.step or self.scenario.entry]
        mine = {r.name for r in step.collects}
        for name, reason in rejected.items():
            if name in mine:
                self._reprompt(step, name, reason)
                return
        target = self._transition(step)
        if target is not None:
            self._enter(target)
        else:
            self._reprompt(step)

    def _reprompt(self, step: Step, slot: str | None = None, reason: str | None = None) -> None:
        ctx = self.context()
        missing = slot or next(
            (r.name for r in step.collects if r.name in step.required and r.name not in self.slots),
            None,
        )
        prompt = step.prompts.get(missing or "")
        text = prompt(ctx) if prompt else self._say(step, ctx)
        if reason:
            text = f"{_sentence(reason)} {text}".strip()
        if text:
            self.replies.append(text)
        self.event("step.reprompted", step=step.id, slot=missing)

    def _transition(self, step: Step) -> str | None:
        ctx = self.context()
        for target, when in step.transitions:
            if target in (self.scenario.steps if self.scenario else {}) and (
                when is None or when(ctx)
            ):
                return target
        return None

    def _enter(self, step_id: str, *, resuming: bool = False) -> None:
        assert self.scenario is not None
        for _ in range(MAX_CHAIN):
            step = self.scenario.steps[step_id]
            self.step = step_id
            if not resuming:
                self.entered.append(step_id)
                self.visited.append(step_id)
                self.event("step.entered", scenario=self.scenario.name, step=step_id)
            resuming = False
            if not self._bindings(step, ("before", "during")):
                return
            said = self._say(step, self.context())
            if said:
                self.replies.append(said)
            if not self._bindings(step, ("after",)):
                return
            if step.terminal:
                self.event("scenario.finished", scenario=self.scenario.name, step=step_id)
                self.left.append((self.scenario.name, tuple(self.visited)))
                self.scenario, self.visited = None, []
                return
            target = self._transition(step)
            if target is None:
                return
            step_id = target
        self.event("chain.limit", step=step_id, limit=MAX_CHAIN)

    def _say(self, step: Step, ctx: Mapping[str, Any]) -> str:
        for key in (self.channel, self.channel_ctx.get("type"), "default"):
            template = step.say.get(str(key))
            if template is not None:
                return template(ctx).strip()
        return ""

    def _bindings(self, step: Step, phases: tuple[str, ...]) -> bool:
        """Run the step's bindings of ``phases``; False when one stopped for a confirmation."""
        for binding in step.bindings:
            if binding.at not in phases:
                continue
            ctx = self.context()
            if binding.when is not None and not binding.when(ctx):
                self.event("binding.skipped", step=step.id, tool=binding.tool, reason="when")
                continue
            if not self._call(step, binding, ctx):
                return False
        return True

    def _call(self, step: Step, binding: Binding, ctx: Mapping[str, Any]) -> bool:
        spec = self.b.snap.tool(binding.tool)
        if spec is None:
            self.tools.append(ToolReport(binding.tool, {}, "failed", "unknown tool"))
            return True
        args = _typed_args(spec, {k: v(ctx) if callable(v) else v for k, v in binding.args.items()})
        if (spec.get("gateway") or {}).get("type") == "builtin":
            return self._builtin(binding, spec, args)
        key = idempotency_key(binding.tool, spec, args)
        if key in self.denied:
            self.event("binding.skipped", step=step.id, tool=binding.tool, reason="denied")
            self.tools.append(ToolReport(binding.tool, args, "denied"))
            return True
        pure = spec.get("effect") == "pure"
        if not pure:
            self._checkpoint()
        result = self.b.registry.call(
            self.conv.tenant,
            binding.tool,
            spec,
            args,
            confirmed=self.confirmed,
            conversation=self.conv.id,
            turn=self.turn_id,
        )
        if result.outcome == Outcome.NEEDS_CONFIRMATION:
            self.pending = PendingConfirmation(binding.tool, args, key, step.id)
            prompt = (spec.get("confirmation") or {}).get("prompt") or (
                f"Shall I go ahead with {binding.tool}?"
            )
            self.confirmation = self.b.snap.template(prompt)(self.context(args=args)).strip()
            self.replies.append(self.confirmation)
            self.tools.append(ToolReport(binding.tool, args, "needs_confirmation"))
            return False
        if not pure and result.outcome not in (Outcome.INVALID, Outcome.REPLAYED):
            self.committed = True
        if not pure and result.outcome == Outcome.IN_FLIGHT:
            # another turn (or a process that died) is executing these exact args: never run
            # them again here; ask, and the customer's yes looks at the record once more
            self.pending = PendingConfirmation(binding.tool, args, key, step.id)
            self.confirmation = (
                f"An earlier attempt at {binding.tool} is still being checked. Shall I look again?"
            )
            self.replies.append(self.confirmation)
            self.tools.append(ToolReport(binding.tool, args, str(result.outcome), result.error))
            return False
        if not pure and result.outcome == Outcome.UNKNOWN:
            self.replies.append(
                f"I could not confirm whether {binding.tool} went through; "
                "it is being checked and we will get back to you."
            )
            self.tools.append(ToolReport(binding.tool, args, str(result.outcome), result.error))
            return False
        self.tools.append(ToolReport(binding.tool, args, str(result.outcome), result.error))
        if result.outcome in (Outcome.EXECUTED, Outcome.REPLAYED) and binding.save_as:
            self.slots[binding.save_as] = result.result
        return True

    def _builtin(self, binding: Binding, spec: Mapping[str, Any], args: dict[str, Any]) -> bool:
        """A tool the runtime provides: it reads the snapshot this turn runs on, so it has no
        side effect, no idempotency record and no confirmation; it is audited as every call."""
        name = str(spec["gateway"]["endpoint"])
        self.event("tool.call", tool=binding.tool, builtin=name, effect="pure")
        try:
            result = _BUILTINS[name](self, args)
        except (LookupError, TypeError, ValueError) as exc:
            error = f"{name}: {exc}"
            self.event("tool.error", tool=binding.tool, builtin=name, error=error)
            self.tools.append(ToolReport(binding.tool, args, str(Outcome.FAILED), error, True))
            return True
        self.event("tool.result", tool=binding.tool, builtin=name)
        self.tools.append(ToolReport(binding.tool, args, str(Outcome.EXECUTED), builtin=True))
        if binding.save_as:
            self.slots[binding.save_as] = result
        return True

    def _answer_confirmation(self) -> None:
        assert self.pending is not None and self.scenario is not None
        pending = self.pending
        intent = self.message.intent
        if intent == "confirm" or self.slots.get("confirmed") is True:
            self.confirmed.add(pending.key)
            self.event("confirmation.given", tool=pending.tool, key=pending.key)
        elif intent == "deny" or self.slots.get("confirmed") is False:
            self.denied.add(pending.key)
            self.event("confirmation.denied", tool=pending.tool, key=pending.key)
        else:  # neither: ask again
            tool = self.b.snap.tool(pending.tool) or {}
            prompt = (tool.get("confirmation") or {}).get("prompt") or "Shall I go ahead?"
            self.confirmation = self.b.snap.template(prompt)(
                self.context(args=pending.args)
            ).strip()
            self.replies.append(self.confirmation)
            return
        self.slots.pop("confirmed", None)
        self.pending = None
        if pending.step in self.scenario.steps:
            self._enter(pending.step, resuming=True)

    def _result(self) -> TurnResult:
        conv = replace(
            self.conv,
            scenario=self.scenario.name if self.scenario else None,
            step=self.step,
            slots=self.slots,
            pending=self.pending,
            confirmed=tuple(sorted(self.confirmed)),
            snapshot=self.b.snap.id,
            turns=self.conv.turns + 1,
            visited=tuple(self.visited),
        )
        return TurnResult(
            conv, self.replies, self.tools, self.entered, self.confirmation, self._goals()
        )


def _search_offerings(turn: _Turn, args: Mapping[str, Any]) -> dict[str, Any]:
    """``offerings.search``: ``query`` (text), ``limit`` (1-20, default 3) over the offerings the
    conversation's agent may offer on the turn's channel profile."""
    query = args.get("query")
    if not isinstance(query, str):
        raise ValueError("args.query must be the text to search for")
    limit = args.get("limit", 3)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 20:
        raise ValueError(f"args.limit must be a whole number from 1 to 20, not {limit!r}")
    hits = turn.b.snap.catalog.search(query, agent=turn.conv.agent, channel=turn.channel, k=limit)
    results = [hit.to_json() for hit in hits]
    return {"query": query, "results": results, "top": results[0] if results else None}


_BUILTINS = {"offerings.search": _search_offerings}


def _typed_args(spec: Mapping[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """Rendered template args coerced to the type the tool's parameters give them."""
    props = (spec.get("parameters") or {}).get("properties") or {}
    out = {}
    for name, value in args.items():
        kind = (props.get(name) or {}).get("type")
        out[name] = _as(kind, value) if isinstance(value, str) else value
    return out


def _as(kind: Any, text: str) -> Any:
    try:
        if kind == "number":
            try:
                return int(text)
            except ValueError:
                return float(text)
        if kind == "integer":
            return int(float(text))
        if kind == "boolean":
            return text.strip().lower() in ("true", "yes", "1")
    except ValueError:
        return text  # the registry's parameter check reports it
    return text


def _sentence(reason: str) -> str:
    text = reason[0].upper() + reason[1:] if reason else reason
    return text if text.endswith((".", "?", "!")) else text + "."


def _plain(value: Any) -> Any:
    """Slots as JSON (dates as ISO strings), for storing with a scheduled action."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _as_instant(value: Any, zone: ZoneInfo) -> datetime | None:
    """A slot's value as an instant: a datetime (naive: in the tenant's zone), or a date (its
    midnight there)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime.combine(value, time(0), zone)
    return None
