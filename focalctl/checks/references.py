"""Invariant 4, references resolve within the same tenant.

agent → channels, tools, scenarios, goals; transitions → steps; compensation → tool;
goal → agent, scenario, step, channels; offering → channels; standalone step → scenario;
every object → its tenant. A name that exists only in another tenant is a cross-tenant
reference (FOC303), never silently accepted.

Bad::

    kind: Agent
    spec: {channels: [wa-mian]}          # FOC301: did you mean 'wa-main'?

Good::

    spec: {channels: [wa-main]}
"""

from __future__ import annotations

from collections.abc import Iterator

from focalctl.bundle import Bundle, BundleObject
from focalctl.checks.steps import scenario_steps
from focalctl.diagnostics import Diagnostic
from focalctl.diagnostics.suggest import did_you_mean
from runtime.spec import AgentSpec, GoalSpec, OfferingSpec, StandaloneStepSpec, ToolEffectSpec

_KIND_WORDS = {
    "ChannelProfile": "channel profile",
    "ToolEffect": "tool",
    "Scenario": "scenario",
    "Goal": "goal",
    "Agent": "agent",
}


def _names(bundle: Bundle, tenant: str, kind: str) -> list[str]:
    """Names of ``kind`` declared in ``tenant``, valid or not (for did-you-mean hints)."""
    return sorted({n for (t, k, n) in bundle.declared if t == tenant and k == kind})


def resolve(
    bundle: Bundle, obj: BundleObject, pointer: str, kind: str, name: str
) -> Diagnostic | None:
    """A diagnostic if ``name`` (a ``kind``) does not resolve inside ``obj``'s tenant."""
    if (
        bundle.get(obj.tenant, kind, name) is not None
        or (obj.tenant, kind, name) in bundle.declared
    ):
        return None
    source = f"{obj.kind} '{obj.name}'"
    word = _KIND_WORDS.get(kind, kind)
    others = [t for t in bundle.tenants_defining(kind, name) if t != obj.tenant]
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
    hint = did_you_mean(name, _names(bundle, obj.tenant, kind))
    known = ", ".join(_names(bundle, obj.tenant, kind)) or "none defined"
    return obj.diag(
        "FOC301",
        pointer,
        source=source,
        kind=word,
        name=name,
        hint=hint or f"known {word}s: {known}",
    )


def check(bundle: Bundle) -> Iterator[Diagnostic]:
    tenants = {n for (_, k, n) in bundle.declared if k == "Tenant"}
    for obj in bundle:
        if obj.kind != "Tenant" and obj.tenant not in tenants:
            hint = did_you_mean(obj.tenant, tenants)
            yield obj.diag(
                "FOC304", "/metadata/tenant", tenant=obj.tenant, **({"hint": hint} if hint else {})
            )
        yield from _object_refs(bundle, obj)
    yield from _step_refs(bundle)


def _object_refs(bundle: Bundle, obj: BundleObject) -> Iterator[Diagnostic]:
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
    for pointer, kind, name in refs:
        diag = resolve(bundle, obj, pointer, kind, name)
        if diag is not None:
            yield diag
    if isinstance(spec, GoalSpec) and bundle.get(obj.tenant, "Scenario", spec.trigger.scenario):
        ids = [p.step.id for p in scenario_steps(bundle, obj.tenant, spec.trigger.scenario)]
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


def _step_refs(bundle: Bundle) -> Iterator[Diagnostic]:
    for scenario in bundle.of_kind("Scenario"):
        placed = scenario_steps(bundle, scenario.tenant, scenario.name)
        ids = [p.step.id for p in placed]
        agents = [
            a
            for a in bundle.of_kind("Agent", scenario.tenant)
            if isinstance(a.spec, AgentSpec) and scenario.name in a.spec.scenarios
        ]
        for p in placed:
            for i, t in enumerate(p.step.transitions):
                if t.to not in ids:
                    yield p.diag(
                        "FOC302", ("transitions", i, "to"), name=t.to, hint=did_you_mean(t.to, ids)
                    )
            for i, b in enumerate(p.step.tools):
                if (scenario.tenant, "ToolEffect", b.tool) in bundle.declared and not bundle.get(
                    scenario.tenant, "ToolEffect", b.tool
                ):
                    continue
                if bundle.get(scenario.tenant, "ToolEffect", b.tool) is None:
                    diag = resolve(bundle, p.owner, p.ptr("tools", i, "tool"), "ToolEffect", b.tool)
                    if diag is not None and diag.code == "FOC301":
                        diag = p.diag("FOC305", ("tools", i, "tool"), name=b.tool, hint=diag.hint)
                    if diag is not None:
                        yield diag
                    continue
                for agent in agents:
                    assert isinstance(agent.spec, AgentSpec)
                    if b.tool not in agent.spec.tools:
                        yield p.diag(
                            "FOC306",
                            ("tools", i, "tool"),
                            scenario=scenario.name,
                            tool=b.tool,
                            agent=agent.name,
                        )
