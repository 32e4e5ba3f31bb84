"""The steps of a scenario: inline steps in order, then standalone ``kind: Step`` documents.

A standalone step (``kind: Step`` whose ``spec.scenario`` names the scenario) belongs to that
scenario exactly like an inline one. Standalone steps are ordered by their document name, so
file order never matters. Every check that walks steps (graph, uniqueness, bindings, safety,
templates, settings) goes through :func:`scenario_steps`, so they all see the same list.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from focalctl.bundle import Bundle, BundleObject
from focalctl.diagnostics import Diagnostic
from runtime.spec import ScenarioSpec, StandaloneStepSpec, StepSpec


class PlacedStep(NamedTuple):
    """A step, the object (document) that holds it and the JSON pointer to it there.

    It is a plain tuple ``(step, owner, base)``: ``base`` is ``/spec/steps/<i>`` for an inline
    step and ``/spec`` for a standalone ``kind: Step`` document.
    """

    step: StepSpec
    owner: BundleObject
    base: str

    def ptr(self, *parts: str | int) -> str:
        """The JSON pointer of ``parts`` below this step, e.g. ``ptr("tools", 0, "tool")``."""
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
        """A diagnostic about this step at ``parts`` (relative to the step)."""
        return self.owner.diag(code, self.ptr(*parts), target=target, hint=hint, **params)


def scenario_steps(bundle: Bundle, tenant: str, scenario: str) -> list[PlacedStep]:
    """Every step of ``scenario`` in ``tenant``: inline in order, then standalone by name.

    Standalone steps are returned even when the scenario itself is missing or invalid (the
    reference check reports that), so per-step checks still run on them.
    """
    out: list[PlacedStep] = []
    obj = bundle.get(tenant, "Scenario", scenario)
    if obj is not None and isinstance(obj.spec, ScenarioSpec):
        out.extend(PlacedStep(s, obj, f"/spec/steps/{i}") for i, s in enumerate(obj.spec.steps))
    for step_obj in _standalone(bundle).get((tenant, scenario), []):
        assert isinstance(step_obj.spec, StepSpec)
        out.append(PlacedStep(step_obj.spec, step_obj, "/spec"))
    return out


# The last bundle's standalone steps by (tenant, scenario): scenario_steps is called once per
# scenario by several checks, so indexing once keeps them linear in the number of documents.
_INDEX: list[tuple[Bundle, int, dict[tuple[str, str], list[BundleObject]]]] = []


def _standalone(bundle: Bundle) -> dict[tuple[str, str], list[BundleObject]]:
    if _INDEX and _INDEX[0][0] is bundle and _INDEX[0][1] == len(bundle.objects):
        return _INDEX[0][2]
    index: dict[tuple[str, str], list[BundleObject]] = {}
    for step_obj in bundle.of_kind("Step"):  # (tenant, kind, name) order: sorted by name
        if isinstance(step_obj.spec, StandaloneStepSpec):
            index.setdefault((step_obj.tenant, step_obj.spec.scenario), []).append(step_obj)
    _INDEX[:] = [(bundle, len(bundle.objects), index)]
    return index


def all_steps(bundle: Bundle) -> list[PlacedStep]:
    """Every step of the bundle, each once: scenario by scenario, then standalone steps whose
    scenario does not exist (so per-step checks still cover them)."""
    out: list[PlacedStep] = []
    covered: set[tuple[str, str]] = set()
    for scenario in bundle.of_kind("Scenario"):
        covered.add((scenario.tenant, scenario.name))
        out.extend(scenario_steps(bundle, scenario.tenant, scenario.name))
    for step_obj in bundle.of_kind("Step"):
        spec = step_obj.spec
        if isinstance(spec, StandaloneStepSpec) and (step_obj.tenant, spec.scenario) not in covered:
            out.append(PlacedStep(spec, step_obj, "/spec"))
    return out
