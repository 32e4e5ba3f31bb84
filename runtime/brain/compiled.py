"""A snapshot compiled for turns: conditions and templates compiled once, in the sandbox.

:class:`CompiledSnapshot` is built once per snapshot (it is dropped with it) and compiles an
agent's scenarios on that agent's first turn. Conditions are ``compile_expression``-ed and
templates ``from_string``-ed in a :class:`~jinja2.sandbox.SandboxedEnvironment`, each once per
distinct source. Missing values are *chainable*: ``slots.order.total`` with no order is
undefined, which is false in a condition and empty in a text, never an error mid-turn (the
compiler already warned about every name that may be undefined).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from runtime.hours import Hours
from runtime.offerings.cache import SnapshotCatalog
from runtime.slots import SlotRule
from runtime.spec import catalog_selects

_ENV = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)
_INTENT = re.compile(r"""intent\s*==\s*['"]([^'"]+)['"]""")


@dataclass(frozen=True, slots=True)
class Binding:
    tool: str
    at: str
    when: Callable[[Mapping[str, Any]], bool] | None
    args: dict[str, Any]  # values: compiled templates or literals
    depends_on: tuple[str, ...]
    save_as: str | None


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    say: dict[str, Callable[[Mapping[str, Any]], str]]  # variant key -> template
    collects: tuple[SlotRule, ...]
    required: frozenset[str]
    prompts: dict[str, Callable[[Mapping[str, Any]], str]]
    bindings: tuple[Binding, ...]  # in run order: before, during (dependsOn), after
    transitions: tuple[tuple[str, Callable[[Mapping[str, Any]], bool] | None], ...]  # ordered
    terminal: bool


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    entry: str
    entry_when: Callable[[Mapping[str, Any]], bool] | None
    steps: dict[str, Step]
    moved: dict[str, str] = field(default_factory=dict)  # renamed step id -> its new id


class CompileError(ValueError):
    """A condition or template the sandbox refuses (the compiler would have said so)."""


class _Cache:
    def __init__(self) -> None:
        self.conditions: dict[str, Callable[[Mapping[str, Any]], bool]] = {}
        self.templates: dict[str, Callable[[Mapping[str, Any]], str]] = {}

    def condition(self, source: str) -> Callable[[Mapping[str, Any]], bool]:
        found = self.conditions.get(source)
        if found is None:
            try:
                expr = _ENV.compile_expression(source, undefined_to_none=False)
            except TemplateError as exc:
                raise CompileError(f"condition {source!r}: {exc}") from exc

            def holds(context: Mapping[str, Any], _expr: Any = expr) -> bool:
                try:
                    return bool(_expr(**context))
                except (TemplateError, TypeError, ValueError, ArithmeticError):
                    return False  # e.g. comparing an undefined value with a number

            found = self.conditions[source] = holds
        return found

    def template(self, source: str) -> Callable[[Mapping[str, Any]], str]:
        found = self.templates.get(source)
        if found is None:
            if "{{" not in source and "{%" not in source:

                def fixed(_: Mapping[str, Any], _text: str = source) -> str:
                    return _text

                found = fixed
            else:
                try:
                    compiled = _ENV.from_string(source)
                except TemplateError as exc:
                    raise CompileError(f"template {source!r}: {exc}") from exc

                def render(context: Mapping[str, Any], _t: Any = compiled) -> str:
                    try:
                        return str(_t.render(**context))
                    except (TemplateError, TypeError, ValueError, ArithmeticError):
                        return ""

                found = render
            self.templates[source] = found
        return found


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class CompiledSnapshot:
    """The parts of one snapshot the brain reads, compiled lazily per agent."""

    def __init__(self, snapshot_id: str, raw: bytes) -> None:
        self.id = snapshot_id
        self.body: dict[str, Any] = json.loads(raw)
        self._cache = _Cache()
        self._scenarios: dict[str, Scenario] = {}
        self._lock = threading.Lock()

    @cached_property
    def hours(self) -> Hours | None:
        """The tenant's business hours, if it has them."""
        spec = self.body["tenant"].get("spec", {}).get("businessHours")
        return Hours.of(spec) if spec else None

    @cached_property
    def zone(self) -> ZoneInfo:
        """The tenant's timezone: its business hours', else its quiet hours', else UTC."""
        spec = self.body["tenant"].get("spec", {})
        zone = (spec.get("businessHours") or {}).get("timezone") or (
            (spec.get("outbound") or {}).get("quietHours") or {}
        ).get("timezone")
        return ZoneInfo(zone) if zone else ZoneInfo("UTC")

    @property
    def tenant(self) -> dict[str, Any]:
        tenant: dict[str, Any] = self.body["tenant"]
        return tenant

    @cached_property
    def catalog(self) -> SnapshotCatalog:
        """The snapshot's offerings index, built on the first built-in search of the snapshot
        and dropped with it."""
        return SnapshotCatalog.of(self.id, self.body)

    def now_context(self, now: datetime) -> dict[str, Any]:
        """What templates and conditions read as ``now``: the instant, and the tenant's local
        date, time and weekday (and ``businessOpen`` when the tenant has business hours). One
        function for turns and follow-ups, so a goal's message reads the same names."""
        local = now.astimezone(self.zone)
        context: dict[str, Any] = {
            "iso": now.isoformat(),
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "weekday": _DAYS[local.weekday()],
        }
        if self.hours is not None:
            context["businessOpen"] = self.hours.is_open(now)
        return context

    def agent(self, name: str) -> dict[str, Any] | None:
        entry = self.body.get("agents", {}).get(name)
        return entry["spec"] if entry else None

    def tool(self, name: str) -> dict[str, Any] | None:
        entry = self.body.get("tools", {}).get(name)
        return entry["spec"] if entry else None

    def goal(self, name: str) -> dict[str, Any] | None:
        entry = self.body.get("goals", {}).get(name)
        return entry["spec"] if entry else None

    def channel(self, name: str) -> dict[str, Any] | None:
        entry = self.body.get("channels", {}).get(name)
        return entry["spec"] if entry else None

    def channel_rendered(self, name: str, context: Mapping[str, Any]) -> dict[str, Any]:
        """The profile's spec with its email ``greeting`` and ``signature`` templates rendered
        for ``context`` (a template that fails to render is left out, never shown raw)."""
        spec = self.channel(name) or {}
        fmt = dict(spec.get("format") or {})
        for key in ("greeting", "signature"):
            if fmt.get(key):
                try:
                    fmt[key] = self.template(str(fmt[key]))(context).strip()
                except Exception:
                    fmt.pop(key)
        return {**spec, "format": fmt} if fmt else spec

    def offerings_for(self, agent: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        selector = agent.get("catalog") or {}
        out = {}
        for name, entry in self.body.get("offerings", {}).items():
            if catalog_selects(selector, entry.get("labels") or {}):
                spec = entry["spec"]
                out[name] = {
                    "displayName": spec.get("displayName"),
                    "price": spec.get("price"),
                    "attributes": spec.get("attributes") or {},
                }
        return out

    def vocabulary(
        self, agent: Mapping[str, Any], scenario: str | None, step: str | None
    ) -> tuple[list[str], list[str]]:
        """What a model provider may answer here: the intents the agent's scenarios test for
        (plus ``confirm`` and ``deny``), and the slots the current step collects (with no
        active scenario: those of the scenarios' entry steps)."""
        intents = {"confirm", "deny"}
        slot_names: list[str] = []
        for name in agent.get("scenarios", []):
            entry = self.body.get("scenarios", {}).get(name)
            if entry is None:
                continue
            spec = entry["spec"]
            sources = [spec["entry"].get("when") or ""] + [
                t.get("when") or "" for s in spec.get("steps", []) for t in s.get("transitions", [])
            ]
            for source in sources:
                intents.update(_INTENT.findall(source))
            compiled = self.scenario(name)
            if compiled is None:
                continue
            here = step if scenario == name else (compiled.entry if scenario is None else None)
            if here in compiled.steps:
                slot_names += [r.name for r in compiled.steps[here].collects]
        return sorted(intents), sorted(set(slot_names))

    def scenario(self, name: str) -> Scenario | None:
        found = self._scenarios.get(name)
        if found is None:
            entry = self.body.get("scenarios", {}).get(name)
            if entry is None:
                return None
            with self._lock:
                found = self._scenarios.get(name) or self._compile(name, entry["spec"])
                self._scenarios[name] = found
        return found

    def condition(self, source: str | None) -> Callable[[Mapping[str, Any]], bool] | None:
        return self._cache.condition(source) if source else None

    def template(self, source: str) -> Callable[[Mapping[str, Any]], str]:
        return self._cache.template(source)

    def _compile(self, name: str, spec: Mapping[str, Any]) -> Scenario:
        steps = {s["id"]: self._step(s) for s in spec.get("steps", [])}
        entry = spec["entry"]
        moved = {m["from"]: m["to"] for m in spec.get("moved", []) if m["to"] in steps}
        return Scenario(name, entry["step"], self.condition(entry.get("when")), steps, moved)

    def _step(self, spec: Mapping[str, Any]) -> Step:
        say_src = spec.get("say")
        variants = (
            say_src if isinstance(say_src, dict) else ({"default": say_src} if say_src else {})
        )
        collects = tuple(SlotRule.of(item) for item in spec.get("collects", []))
        raw_slots = [
            item if isinstance(item, dict) else {"name": item} for item in spec.get("collects", [])
        ]
        bindings = [
            Binding(
                b["tool"],
                b.get("at", "during"),
                self.condition(b.get("when")),
                {
                    k: self.template(v) if isinstance(v, str) else v
                    for k, v in b.get("args", {}).items()
                },
                tuple(b.get("dependsOn", [])),
                b.get("saveAs"),
            )
            for b in spec.get("tools", [])
        ]
        transitions = sorted(
            enumerate(spec.get("transitions", [])),
            key=lambda it: (-int(it[1].get("priority", 0)), it[0]),
        )
        return Step(
            id=spec["id"],
            say={k: self.template(v) for k, v in variants.items()},
            collects=collects,
            required=frozenset(s["name"] for s in raw_slots if s.get("required", True)),
            prompts={s["name"]: self.template(s["prompt"]) for s in raw_slots if s.get("prompt")},
            bindings=tuple(_ordered(bindings)),
            transitions=tuple((t["to"], self.condition(t.get("when"))) for _, t in transitions),
            terminal=bool(spec.get("terminal")),
        )


def _ordered(bindings: list[Binding]) -> list[Binding]:
    """before, then during, then after; within a phase, ``dependsOn`` first (stable)."""
    out: list[Binding] = []
    for phase in ("before", "during", "after"):
        pending = [b for b in bindings if b.at == phase]
        placed: set[str] = {b.tool for b in out}
        while pending:
            ready = [
                b
                for b in pending
                if all(d in placed or d not in {p.tool for p in pending} for d in b.depends_on)
            ]
            if not ready:  # a cycle (validate refuses it): keep file order
                ready = pending[:1]
            for b in ready:
                out.append(b)
                placed.add(b.tool)
                pending.remove(b)
    return out
