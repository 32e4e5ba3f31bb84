"""Invariant 4, references resolve within the same tenant.

- FOC301: agent → channels, tools, scenarios, goals; tool → compensation; goal → agent,
  scenario, reachedStep/leftWithoutStep, channels; offering → channels; standalone step →
  scenario. The hint is a did-you-mean over the names of that kind in the same tenant.
- FOC303: the name exists only in another tenant (tenant isolation), instead of FOC301/FOC305.
- FOC304: ``metadata.tenant`` names no Tenant document (the object's other references are
  then not checked: they would all fail for that one reason).
- FOC302: a transition targets a step of its own scenario.
- FOC305: a tool binding names an existing tool; FOC306: every agent that lists the scenario
  lists that tool in its ``tools``.

One rule for every reference to a name (here, and the channel checks through
:func:`declared_invalid`): a name whose document exists but is invalid (a schema error, a
syntax error after its name, an unknown kind close to the one referenced, ``kind: Tool``, or
an unknown kind close to none, ``kind: Widget``, which declares its name for every kind) is not
reported: that document's own errors are, and they are the ones to fix; an "unknown"
error would send the author looking for a name that is there. Channel fallbacks and say
variants are checked by :mod:`focalctl.checks.channels`.

Bad::

    kind: Agent
    metadata: {name: support, tenant: acme}
    spec: {channels: [wa-mian], tools: [globex-crm]}   # FOC301 (did you mean 'wa-main'?),
                                                       # FOC303 (globex-crm is globex's)

Good::

    spec: {channels: [wa-main], tools: [acme-crm]}
"""

from __future__ import annotations

from collections.abc import Iterator

from focalctl.bundle import BundleObject
from focalctl.bundle.view import PlacedStep, View, own_steps
from focalctl.diagnostics import Diagnostic
from focalctl.diagnostics.suggest import did_you_mean
from runtime.spec import (
    AgentSpec,
    GoalSpec,
    OfferingSpec,
    SimulationSpec,
    StandaloneStepSpec,
    ToolEffectSpec,
)

_KIND_WORDS = {
    "ChannelProfile": "channel profile",
    "ToolEffect": "tool",
    "Scenario": "scenario",
    "Goal": "goal",
    "Agent": "agent",
}


def declared_invalid(view: View, tenant: str, kind: str, name: str) -> bool:
    """Whether ``name`` (a ``kind`` of ``tenant``) is declared only by invalid documents (a
    schema error, a syntax error after its name, an unknown kind close to ``kind`` or to
    none): a reference to it is then not reported, its own errors are (see the module
    docstring)."""
    return view.get(tenant, kind, name) is None and view.declared(tenant, kind, name)


def resolve(view: View, obj: BundleObject, pointer: str, kind: str, name: str) -> Diagnostic | None:
    """A diagnostic if ``name`` (a ``kind``) does not resolve to a valid object inside
    ``obj``'s tenant (see the module docstring for the rule)."""
    if view.declared(obj.tenant, kind, name):
        return None  # a valid object, or an invalid one whose own errors are reported
    source = f"{obj.kind} '{obj.name}'"
    word = _KIND_WORDS.get(kind, kind)
    others = [t for t in view.tenants_defining(kind, name) if t != obj.tenant]
    if others:
        return obj.diag(
            "FOC303",
            pointer,
            source=source,
            kind=word,
            name=name,
            other=others[0],
            tenant=obj.tenant,
        )
    names = view.declared_names(obj.tenant, kind)
    hint = did_you_mean(name, names)
    known = ", ".join(names) or "none defined"
    return obj.diag(
        "FOC301",
        pointer,
        source=source,
        kind=word,
        name=name,
        hint=hint or f"known {word}s: {known}",
    )


def check(view: View, obj: BundleObject) -> Iterator[Diagnostic]:
    if obj.kind != "Tenant" and not view.declared(obj.tenant, "Tenant", obj.tenant):
        hint = did_you_mean(obj.tenant, view.tenants())
        yield obj.diag(
            "FOC304", "/metadata/tenant", tenant=obj.tenant, **({"hint": hint} if hint else {})
        )
        return  # its references would all fail because of the one wrong tenant name
    yield from _object_refs(view, obj)
    for placed in own_steps(obj):
        yield from _step_refs(view, placed)


def _object_refs(view: View, obj: BundleObject) -> Iterator[Diagnostic]:
    spec = obj.spec
    refs: list[tuple[str, str, str]] = []  # (pointer, kind, name)
    if isinstance(spec, AgentSpec):
        for field, kind in (
            ("channels", "ChannelProfile"),
            ("tools", "ToolEffect"),
            ("scenarios", "Scenario"),
            ("goals", "Goal"),
        ):
            refs.extend((f"/spec/{field}/{i}", kind, n) for i, n in enumerate(getattr(spec, field)))
    elif isinstance(spec, ToolEffectSpec) and spec.compensation:
        refs.append(("/spec/compensation", "ToolEffect", spec.compensation))
    elif isinstance(spec, GoalSpec):
        refs.append(("/spec/agent", "Agent", spec.agent))
        refs.append(("/spec/trigger/scenario", "Scenario", spec.trigger.scenario))
        refs.extend(
            (f"/spec/channels/{i}", "ChannelProfile", n) for i, n in enumerate(spec.channels)
        )
    elif isinstance(spec, OfferingSpec):
        refs.extend(
            (f"/spec/channels/{i}", "ChannelProfile", n) for i, n in enumerate(spec.channels)
        )
    elif isinstance(spec, StandaloneStepSpec):
        refs.append(("/spec/scenario", "Scenario", spec.scenario))
    elif isinstance(spec, SimulationSpec):
        refs.extend(_simulation_refs(spec))
    for pointer, kind, name in refs:
        diag = resolve(view, obj, pointer, kind, name)
        if diag is not None:
            yield diag
    if isinstance(spec, SimulationSpec):
        yield from _simulation_steps(view, obj, spec)
    if isinstance(spec, GoalSpec) and view.get(obj.tenant, "Scenario", spec.trigger.scenario):
        ids = [p.step.id for p in view.scenario_steps(obj.tenant, spec.trigger.scenario)]
        for field, step in (
            ("reachedStep", spec.trigger.reached_step),
            ("leftWithoutStep", spec.trigger.left_without_step),
        ):
            if step is not None and step not in ids:
                yield obj.diag(
                    "FOC301",
                    f"/spec/trigger/{field}",
                    source=f"Goal '{obj.name}'",
                    kind="step",
                    name=step,
                    hint=did_you_mean(step, ids)
                    or f"steps of '{spec.trigger.scenario}': {', '.join(ids)}",
                )


def _simulation_refs(spec: SimulationSpec) -> Iterator[tuple[str, str, str]]:
    """What a simulation names: its agent and channel, stubbed tools, failing channels, and
    the tools, goals and channels its expectations mention."""
    yield ("/spec/agent", "Agent", spec.agent)
    yield ("/spec/channel", "ChannelProfile", spec.channel)
    for i, stub in enumerate(spec.stubs):
        yield (f"/spec/stubs/{i}/tool", "ToolEffect", stub.tool)
    for i, delivery in enumerate(spec.deliveries):
        yield (f"/spec/deliveries/{i}/channel", "ChannelProfile", delivery.channel)
    for i, event in enumerate(spec.script):
        expect, at = event.expect, f"/spec/script/{i}/expect"
        if expect is None:
            continue
        if expect.tool_called is not None:
            yield (f"{at}/tool_called/tool", "ToolEffect", expect.tool_called.tool)
        if expect.tool_not_called is not None:
            yield (f"{at}/tool_not_called", "ToolEffect", expect.tool_not_called)
        if expect.scheduled is not None:
            yield (f"{at}/scheduled/goal", "Goal", expect.scheduled.goal)
        if expect.delivered is not None:
            yield (f"{at}/delivered/channel", "ChannelProfile", expect.delivered.channel)
        if expect.scenario is not None:
            yield (f"{at}/scenario", "Scenario", expect.scenario)


def _simulation_steps(view: View, obj: BundleObject, spec: SimulationSpec) -> Iterator[Diagnostic]:
    """An expected ``step`` is a step of one of the agent's scenarios."""
    agent = view.get(obj.tenant, "Agent", spec.agent)
    if agent is None or not isinstance(agent.spec, AgentSpec):
        return
    ids = sorted(
        {p.step.id for name in agent.spec.scenarios for p in view.scenario_steps(obj.tenant, name)}
    )
    for i, event in enumerate(spec.script):
        step = event.expect.step if event.expect else None
        if step is not None and step not in ids:
            yield obj.diag(
                "FOC301",
                f"/spec/script/{i}/expect/step",
                source=f"Simulation '{obj.name}'",
                kind="step",
                name=step,
                hint=did_you_mean(step, ids)
                or f"steps of agent '{spec.agent}': {', '.join(ids) or 'none'}",
            )


def _step_refs(view: View, p: PlacedStep) -> Iterator[Diagnostic]:
    """Transitions → steps of the same scenario; bindings → tools granted to its agents."""
    tenant = p.owner.tenant
    scenario = p.owner.name if p.owner.kind == "Scenario" else _scenario_of(p)
    if p.step.transitions and view.get(tenant, "Scenario", scenario) is not None:
        ids = [q.step.id for q in view.scenario_steps(tenant, scenario)]
        for i, t in enumerate(p.step.transitions):
            if t.to not in ids:
                yield p.diag(
                    "FOC302", ("transitions", i, "to"), name=t.to, hint=did_you_mean(t.to, ids)
                )
    for i, b in enumerate(p.step.tools):
        yield from _binding(view, p, i, b.tool, scenario)


def _scenario_of(p: PlacedStep) -> str:
    assert isinstance(p.step, StandaloneStepSpec)
    return p.step.scenario


def _binding(view: View, p: PlacedStep, i: int, tool: str, scenario: str) -> Iterator[Diagnostic]:
    """FOC305 (or FOC303) for an unknown tool, else FOC306 per agent that lacks it."""
    where = ("tools", i, "tool")
    diag = resolve(view, p.owner, p.ptr(*where), "ToolEffect", tool)
    if diag is not None:
        yield p.diag("FOC305", where, name=tool, hint=diag.hint) if diag.code == "FOC301" else diag
        return
    for agent in view.agents_listing(p.owner.tenant, scenario):
        assert isinstance(agent.spec, AgentSpec)
        if tool not in agent.spec.tools:
            yield p.diag("FOC306", where, scenario=scenario, tool=tool, agent=agent.name)
