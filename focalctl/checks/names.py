"""Invariant 9, names resolved: what each ``var.attr`` of a template or expression refers to.

:mod:`focalctl.checks.templates` checks that a template parses and reads only variables the
runtime provides; this module checks what the attributes it reads resolve to:

- ``slots.x``: set (collected, or a binding's ``saveAs``) by the steps on every path from the
  scenario's entry to this place: fine; on some paths only, only by later steps, or only in
  another scenario of the tenant: FOC706 (warning, the value may be undefined); nowhere in
  the tenant: FOC705 (error). A step's ``say`` is rendered before the step's own slots are
  asked for, so for it they count as "maybe".
- ``tenant.x`` / ``agent.x``: a spec field (its YAML name) or ``name``; ``args.x``: a
  parameter of the tool; ``offerings.x`` (or ``offerings['x']``): an offering the agent's
  ``catalog`` selects; ``now.x``: what the runtime puts in ``now`` (``businessOpen`` only
  where the tenant has ``businessHours``). ``profile``, ``channel``, ``intent`` and ``turn``
  are free-form.
- FOC310 (warning): an agent's ``catalog`` selector that selects no offering.

Every diagnostic points at the variable inside the string, with a did-you-mean.

Bad::

    say: "See you, {{ slots.patient_nme }}"      # FOC705: did you mean 'slots.patient_name'?
    say: "{{ tenant.display_name }}"              # FOC705: did you mean 'tenant.displayName'?

Good::

    say: "See you, {{ slots.patient_name }}"      # collected by a step before this one
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from focalctl.bundle import BundleObject
from focalctl.bundle.view import View
from focalctl.checks.slotflow import Flow, scenario_flow, slots_set_by, tenant_slots
from focalctl.checks.templates import FIELDS, matches, old_phase
from focalctl.diagnostics import Diagnostic
from focalctl.diagnostics.suggest import closest
from focalctl.templating import (
    CONTEXT_VARS,
    NameRef,
    parse_expression,
    parse_template,
)
from runtime.spec import (
    NOW_FIELDS,
    AgentSpec,
    GoalSpec,
    ScenarioSpec,
    StandaloneStepSpec,
    TenantSpec,
    ToolEffectSpec,
    catalog_selects,
)

_FREE = frozenset({"profile", "channel", "intent", "turn"})


def check(view: View, obj: BundleObject) -> Iterator[Diagnostic]:
    if isinstance(obj.spec, AgentSpec):
        yield from _empty_catalog(view, obj)
    spec = obj.doc.data.get("spec")
    resolver = _Resolver(view, obj)
    for pattern, context in FIELDS.get(obj.kind, []):
        for path, value in matches(spec, pattern):
            if not isinstance(value, str) or old_phase(path, value):
                continue
            allowed = CONTEXT_VARS[context]
            parsed = (
                parse_expression(value, allowed)
                if context == "expression"
                else parse_template(value, allowed)
            )
            if any(issue.kind == "syntax" for issue in parsed.issues):
                continue  # the templates check reports it
            for ref in parsed.refs:
                yield from resolver.resolve(("spec", *path), ref)


def _empty_catalog(view: View, agent: BundleObject) -> Iterator[Diagnostic]:
    assert isinstance(agent.spec, AgentSpec)
    if agent.spec.catalog and not catalog(view, agent):
        selector = ", ".join(f"{k}: {v}" for k, v in agent.spec.catalog.items())
        yield agent.diag(
            "FOC310", "/spec/catalog", target="key", agent=agent.name, selector=selector
        )


def catalog(view: View, agent: BundleObject) -> list[str]:
    """The offerings an agent's ``catalog`` label selector selects (all when it is empty)."""
    assert isinstance(agent.spec, AgentSpec)
    out = []
    for name in view.object_names(agent.tenant, "Offering"):
        offering = view.get(agent.tenant, "Offering", name)
        if offering is not None and catalog_selects(agent.spec.catalog, offering.metadata.labels):
            out.append(name)
    return out


class _Resolver:
    """Resolves the refs of one object's templates; computes what it needs once."""

    def __init__(self, view: View, obj: BundleObject) -> None:
        self.view = view
        self.obj = obj
        self._flows: dict[str, Flow | None] = {}
        self._tenant_slots: dict[str, list[str]] | None = None

    def resolve(self, path: tuple[str | int, ...], ref: NameRef) -> Iterator[Diagnostic]:
        if ref.var in _FREE:
            return
        handler = getattr(self, f"_{ref.var}", None)
        if handler is not None:
            yield from handler(path, ref)

    def _diag(
        self, code: str, path: tuple[str | int, ...], ref: NameRef, why: str, hint: str | None
    ) -> Diagnostic:
        ptr = "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in path)
        return self.obj.diag(
            code,
            ptr,
            target=f"span:{ref.text}",
            ref=f"{ref.var}.{ref.attr}",
            why=why,
            hint=hint,
        )

    def _unknown(
        self, path: tuple[str | int, ...], ref: NameRef, why: str, known: list[str]
    ) -> Diagnostic:
        close = closest(ref.attr, known)
        hint = (
            f"did you mean '{ref.var}.{close}'?"
            if close
            else (f"known: {', '.join(sorted(known)[:12])}" if known else None)
        )
        return self._diag("FOC705", path, ref, why, hint)

    # -- tenant, agent, args, offerings, now ---------------------------------------------------

    def _tenant(self, path: tuple[str | int, ...], ref: NameRef) -> Iterator[Diagnostic]:
        known = ["name", *_aliases(TenantSpec)]
        if ref.attr not in known:
            yield self._unknown(path, ref, "the tenant has no such field", known)

    def _agent(self, path: tuple[str | int, ...], ref: NameRef) -> Iterator[Diagnostic]:
        known = ["name", *_aliases(AgentSpec)]
        if ref.attr not in known:
            yield self._unknown(path, ref, "an agent has no such field", known)

    def _args(self, path: tuple[str | int, ...], ref: NameRef) -> Iterator[Diagnostic]:
        tool = self._tool_at(path)
        if tool is None:
            return
        params = tool.parameters.get("properties", {})
        if ref.attr not in params:
            yield self._unknown(
                path, ref, "the tool has no such parameter", [str(p) for p in params]
            )

    def _offerings(self, path: tuple[str | int, ...], ref: NameRef) -> Iterator[Diagnostic]:
        agents = self._agents_here()
        tenant_offerings = self.view.object_names(self.obj.tenant, "Offering")
        if not agents:
            if ref.attr not in tenant_offerings:
                yield self._unknown(path, ref, "the tenant has no such offering", tenant_offerings)
            return
        selected = sorted({name for agent in agents for name in catalog(self.view, agent)})
        if ref.attr in selected:
            return
        if ref.attr in tenant_offerings:
            names = ", ".join(a.name for a in agents)
            yield self._diag(
                "FOC705",
                path,
                ref,
                f"the catalog of agent {names} does not select it",
                "add its labels to the agent's catalog selector, or label the offering",
            )
        else:
            yield self._unknown(path, ref, "the agent's catalog has no such offering", selected)

    def _now(self, path: tuple[str | int, ...], ref: NameRef) -> Iterator[Diagnostic]:
        if ref.attr not in NOW_FIELDS:
            yield self._unknown(path, ref, "'now' has no such field", list(NOW_FIELDS))
        elif ref.attr == "businessOpen":
            tenant = self.view.get(self.obj.tenant, "Tenant", self.obj.tenant)
            if (
                tenant is not None
                and isinstance(tenant.spec, TenantSpec)
                and tenant.spec.business_hours is None
            ):
                yield self._diag(
                    "FOC705",
                    path,
                    ref,
                    f"tenant '{self.obj.tenant}' has no businessHours",
                    "add businessHours (timezone, weekly ranges) to the tenant",
                )

    # -- slots -----------------------------------------------------------------------------

    def _slots(self, path: tuple[str | int, ...], ref: NameRef) -> Iterator[Diagnostic]:
        place = self._place(path)
        if place is None:
            return  # tenant, agent, channel and tool texts: slots are whatever the turn has
        scenario, step_id, phase = place
        flow = self._flow(scenario)
        if flow is None:
            return
        slot = ref.attr
        own: frozenset[str] = frozenset()
        if phase == "entry" and slot in self._slots_of_tenant():
            return  # a condition to enter: any slot the conversation may carry in
        if phase in ("entry", "goal"):
            if slot in flow.everywhere:
                return
            must: frozenset[str] = frozenset()
            may: frozenset[str] = frozenset()
        else:
            step = flow.steps.get(step_id or "")
            if step is None or step_id not in flow.must:
                return  # unreachable steps are the graph check's concern
            own = frozenset(slots_set_by(step))
            early = frozenset(
                b.save_as for b in step.tools if b.save_as and b.at in ("before", "during")
            )
            if phase == "say":
                must, may = flow.must[step_id] | early, flow.may[step_id] | own
            else:
                must, may = flow.must[step_id] | own, flow.may[step_id] | own
            if slot in must:
                return
        elsewhere = self._slots_of_tenant().get(slot, [])
        if slot in may:
            if phase == "say" and slot in own:
                why = f"step '{step_id}' asks for it only after saying this"
            else:
                why = f"not every path from the entry of '{scenario}' to here sets it"
            yield self._diag("FOC706", path, ref, why, "guard it: {% if slots." + slot + " %}")
        elif slot in flow.everywhere:
            yield self._diag(
                "FOC706",
                path,
                ref,
                f"only steps of '{scenario}' after this one set it",
                "collect it earlier, or guard it: {% if slots." + slot + " %}",
            )
        elif elsewhere:
            yield self._diag(
                "FOC706",
                path,
                ref,
                f"only scenario {', '.join(repr(s) for s in elsewhere)} sets it",
                "collect it in this scenario too, or guard it: {% if slots." + slot + " %}",
            )
        else:
            known = sorted(set(flow.everywhere) | set(self._slots_of_tenant()))
            yield self._unknown(
                path, ref, f"no step of tenant '{self.obj.tenant}' collects or saves it", known
            )

    def _place(self, path: tuple[str | int, ...]) -> tuple[str, str | None, str] | None:
        """(scenario, step id, phase) of a template in a scenario, step or goal."""
        spec = self.obj.spec
        rel = path[1:]
        if isinstance(spec, GoalSpec):
            return spec.trigger.scenario, None, "goal"
        if isinstance(spec, StandaloneStepSpec):
            return spec.scenario, spec.id, "say" if rel[:1] == ("say",) else "step"
        if isinstance(spec, ScenarioSpec):
            if rel[:1] == ("entry",):
                return self.obj.name, None, "entry"
            if rel[:1] == ("steps",) and len(rel) > 2 and isinstance(rel[1], int):
                step = spec.steps[rel[1]]
                return self.obj.name, step.id, "say" if rel[2] == "say" else "step"
        return None

    def _flow(self, scenario: str) -> Flow | None:
        if scenario not in self._flows:
            self._flows[scenario] = scenario_flow(self.view, self.obj.tenant, scenario)
        return self._flows[scenario]

    def _slots_of_tenant(self) -> dict[str, list[str]]:
        if self._tenant_slots is None:
            self._tenant_slots = tenant_slots(self.view, self.obj.tenant)
        return self._tenant_slots

    def _tool_at(self, path: tuple[str | int, ...]) -> ToolEffectSpec | None:
        if isinstance(self.obj.spec, ToolEffectSpec):
            return self.obj.spec
        node: Any = self.obj.spec
        for i, part in enumerate(path[1:]):
            if part == "tools" and i + 2 < len(path):
                index = path[i + 2]
                assert isinstance(index, int)
                binding = getattr(node, "tools", [])[index]
                tool = self.view.get(self.obj.tenant, "ToolEffect", binding.tool)
                return tool.spec if tool and isinstance(tool.spec, ToolEffectSpec) else None
            node = node[part] if isinstance(part, int) else getattr(node, str(part), None)
        return None

    def _agents_here(self) -> list[BundleObject]:
        spec = self.obj.spec
        if isinstance(spec, AgentSpec):
            return [self.obj]
        if isinstance(spec, GoalSpec):
            agent = self.view.get(self.obj.tenant, "Agent", spec.agent)
            return [agent] if agent is not None else []
        scenario = (
            spec.scenario
            if isinstance(spec, StandaloneStepSpec)
            else self.obj.name
            if isinstance(spec, ScenarioSpec)
            else None
        )
        return self.view.agents_listing(self.obj.tenant, scenario) if scenario else []


def _aliases(model: Any) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]
