"""Goals (the agenda): what a goal's timing and cancellation refer to must exist and fit.

- FOC213: ``after`` and ``relativeTo`` both set (a goal is due at one time).
- FOC308: ``relativeTo.slot`` is collected by no step of the trigger's scenario.
- FOC212: ``relativeTo.slot`` is collected, but not as a ``date`` or ``datetime`` slot.
- FOC301: ``cancelWhen`` names an unknown scenario, or a step its scenario does not have.
- FOC309: ``withinBusinessHours`` on a goal whose tenant has no ``businessHours``.

Bad::

    kind: Goal
    spec:
      trigger: {scenario: booking, reachedStep: book}
      relativeTo: {slot: appointment_at, offset: -24h}   # FOC212 if it is a string slot
      cancelWhen: [{scenario: cancellation, reachedStep: canceled}]   # FOC301

Good::

    collects: [{name: appointment_at, type: datetime}]   # in a step of 'booking'
    cancelWhen: [{scenario: cancellation, reachedStep: cancelled}]
"""

from __future__ import annotations

from collections.abc import Iterator

from focalctl.bundle import BundleObject
from focalctl.bundle.view import View
from focalctl.checks.references import resolve
from focalctl.diagnostics import Diagnostic
from focalctl.diagnostics.suggest import did_you_mean
from runtime.spec import GoalSpec, TenantSpec


def check(view: View, obj: BundleObject) -> Iterator[Diagnostic]:
    if not isinstance(obj.spec, GoalSpec):
        return
    spec = obj.spec
    authored = obj.doc.data.get("spec")
    if spec.relative_to is not None and isinstance(authored, dict) and "after" in authored:
        yield obj.diag("FOC213", "/spec/after", target="key", goal=obj.name)
    if spec.relative_to is not None and view.get(obj.tenant, "Scenario", spec.trigger.scenario):
        yield from _relative_slot(view, obj, spec)
    for i, cancel in enumerate(spec.cancel_when):
        where = f"/spec/cancelWhen/{i}"
        missing = resolve(view, obj, f"{where}/scenario", "Scenario", cancel.scenario)
        if missing is not None:
            yield missing
            continue
        ids = [p.step.id for p in view.scenario_steps(obj.tenant, cancel.scenario)]
        if ids and cancel.reached_step not in ids:
            yield obj.diag(
                "FOC301",
                f"{where}/reachedStep",
                source=f"Goal '{obj.name}'",
                kind="step",
                name=cancel.reached_step,
                hint=did_you_mean(cancel.reached_step, ids)
                or f"steps of '{cancel.scenario}': {', '.join(ids)}",
            )
    if spec.within_business_hours:
        tenant = view.get(obj.tenant, "Tenant", obj.tenant)
        if (
            tenant is not None
            and isinstance(tenant.spec, TenantSpec)
            and tenant.spec.business_hours is None
        ):
            yield obj.diag("FOC309", "/spec/withinBusinessHours", goal=obj.name, tenant=obj.tenant)


def _relative_slot(view: View, obj: BundleObject, spec: GoalSpec) -> Iterator[Diagnostic]:
    assert spec.relative_to is not None
    slot = spec.relative_to.slot
    scenario = spec.trigger.scenario
    collected = {
        s.name: s.type
        for placed in view.scenario_steps(obj.tenant, scenario)
        for s in placed.step.collects
    }
    if slot not in collected:
        yield obj.diag(
            "FOC308",
            "/spec/relativeTo/slot",
            goal=obj.name,
            slot=slot,
            scenario=scenario,
            hint=did_you_mean(slot, list(collected))
            or f"slots collected in '{scenario}': {', '.join(collected) or 'none'}",
        )
    elif collected[slot] not in ("date", "datetime"):
        yield obj.diag(
            "FOC212",
            "/spec/relativeTo/slot",
            goal=obj.name,
            slot=slot,
            type=collected[slot],
        )
