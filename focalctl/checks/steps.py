"""The steps of a scenario: inline steps in order, then standalone ``kind: Step`` documents.

Standalone steps are ordered by their document name, so file order never matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from focalctl.bundle import Bundle, BundleObject
from focalctl.diagnostics import Diagnostic
from runtime.spec import ScenarioSpec, StepSpec


@dataclass(frozen=True, slots=True)
class PlacedStep:
    """A step with the object that holds it and the JSON pointer to it in that document."""

    step: StepSpec
    owner: BundleObject
    base: str  # e.g. "/spec/steps/3" (inline) or "/spec" (standalone document)

    def ptr(self, *parts: str | int) -> str:
        return self.base + "".join(f"/{p}" for p in parts)

    def diag(
        self,
        code: str,
        parts: tuple[str | int, ...],
        *,
        target: str = "value",
        hint: str | None = None,
        **params: Any,
    ) -> Diagnostic:
        return self.owner.diag(code, self.ptr(*parts), target=target, hint=hint, **params)


def scenario_steps(bundle: Bundle, tenant: str, scenario: str) -> list[PlacedStep]:
    out: list[PlacedStep] = []
    obj = bundle.get(tenant, "Scenario", scenario)
    if obj is not None and isinstance(obj.spec, ScenarioSpec):
        out.extend(PlacedStep(s, obj, f"/spec/steps/{i}") for i, s in enumerate(obj.spec.steps))
    for step_obj in bundle.of_kind("Step", tenant):
        spec = step_obj.spec
        if getattr(spec, "scenario", None) == scenario and isinstance(spec, StepSpec):
            out.append(PlacedStep(spec, step_obj, "/spec"))
    return out
