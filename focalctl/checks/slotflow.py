"""Which slots a scenario's steps set, and which are set before each step: the data flow
:mod:`focalctl.checks.names` resolves ``slots.x`` against (and templates' did-you-means use).

A step sets the slots it ``collects`` and its bindings' ``saveAs``. Before a step, a slot is
set on *every* path from the entry (``must``) or on *some* path (``may``); the slots that the
scenario's ``entry.when`` reads are there from the entry on (the condition had to hold).
"""

from __future__ import annotations

from dataclasses import dataclass

from focalctl.bundle.view import View
from focalctl.templating import WHEN_VARS, parse_expression
from runtime.spec import ScenarioSpec, StepSpec


@dataclass(frozen=True, slots=True)
class Flow:
    """Which slots are set before each step of a scenario, on every path and on some path."""

    steps: dict[str, StepSpec]
    must: dict[str, frozenset[str]]  # set on every path from the entry to the step
    may: dict[str, frozenset[str]]  # set on some path
    everywhere: frozenset[str]  # set by any step of the scenario


def slots_set_by(step: StepSpec) -> set[str]:
    return {slot.name for slot in step.collects} | {b.save_as for b in step.tools if b.save_as}


def scenario_flow(view: View, tenant: str, scenario: str) -> Flow | None:
    obj = view.get(tenant, "Scenario", scenario)
    if obj is None or not isinstance(obj.spec, ScenarioSpec):
        return None
    steps = {p.step.id: p.step for p in view.scenario_steps(tenant, scenario)}
    entry = obj.spec.entry.step
    provides = {sid: frozenset(slots_set_by(s)) for sid, s in steps.items()}
    everywhere = frozenset().union(*provides.values()) if provides else frozenset()
    if entry not in steps:
        return Flow(steps, {}, {}, everywhere)
    # Entering needs entry.when to hold, so the slots it reads are there at the entry step.
    given = frozenset(
        ref.attr
        for ref in parse_expression(obj.spec.entry.when or "true", WHEN_VARS).refs
        if ref.var == "slots"
    )
    preds: dict[str, list[str]] = {sid: [] for sid in steps}
    reach, queue = {entry}, [entry]
    while queue:
        sid = queue.pop()
        for t in steps[sid].transitions:
            if t.to in steps:
                preds[t.to].append(sid)
                if t.to not in reach:
                    reach.add(t.to)
                    queue.append(t.to)
    may = {sid: given for sid in reach}
    must = {sid: (given if sid == entry else everywhere | given) for sid in reach}
    changed = True
    while changed:
        changed = False
        for sid in sorted(reach):
            if sid == entry:
                continue
            ins = [p for p in preds[sid] if p in reach]
            new_may = given.union(*(may[p] | provides[p] for p in ins))
            new_must = given | frozenset.intersection(*(must[p] | provides[p] for p in ins))
            if new_may != may[sid] or new_must != must[sid]:
                may[sid], must[sid], changed = new_may, new_must, True
    return Flow(steps, must, may, everywhere)


def tenant_slots(view: View, tenant: str) -> dict[str, list[str]]:
    """Slot name → the scenarios of the tenant that set it."""
    out: dict[str, list[str]] = {}
    for scenario in view.object_names(tenant, "Scenario"):
        for placed in view.scenario_steps(tenant, scenario):
            for slot in slots_set_by(placed.step):
                if scenario not in out.setdefault(slot, []):
                    out[slot].append(scenario)
    return out
