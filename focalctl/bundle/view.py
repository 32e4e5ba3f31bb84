"""The view of a bundle that a check or the compiler gets while it works on one object.

Every lookup goes through :class:`View`, which records the fingerprint of each fact it read
(:meth:`focalctl.bundle.Bundle.fingerprint`). The object's own document is implied. A result
computed through a view is therefore a function of the object's file and of ``view.deps``,
which is what lets :mod:`focalctl.partial` reuse it on the next run exactly when none of those
facts changed. Code that works per object must not reach the bundle any other way.

:class:`PlacedStep` and :meth:`View.scenario_steps` define the steps of a scenario: inline steps
in order, then standalone ``kind: Step`` documents attached to it, by document name (file
order never matters). Every check that walks a scenario's steps sees the same list.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from focalctl.bundle import Bundle, BundleObject, DepKey, Fact
from focalctl.bundle.kinds import UNKNOWN_KIND
from focalctl.diagnostics import Diagnostic
from runtime.spec import ScenarioSpec, StandaloneStepSpec, StepSpec


class PlacedStep(NamedTuple):
    """A step, the object (document) that holds it and the JSON pointer to it there.

    ``base`` is ``/spec/steps/<i>`` for an inline step and ``/spec`` for a standalone
    ``kind: Step`` document.
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


def own_steps(obj: BundleObject) -> list[PlacedStep]:
    """The steps written in ``obj``'s own document: a scenario's inline steps, or the step of a
    ``kind: Step`` document. Across all objects, every step of the bundle exactly once."""
    if isinstance(obj.spec, ScenarioSpec):
        return [PlacedStep(s, obj, f"/spec/steps/{i}") for i, s in enumerate(obj.spec.steps)]
    if isinstance(obj.spec, StandaloneStepSpec):
        return [PlacedStep(obj.spec, obj, "/spec")]
    return []


class View:
    """Read access to a bundle that records what was read (see the module docstring)."""

    __slots__ = ("bundle", "deps")

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.deps: dict[DepKey, str] = {}

    def _read(self, dep: DepKey) -> None:
        if dep not in self.deps:
            self.deps[dep] = self.bundle.fingerprint(dep)

    def get(self, tenant: str, kind: str, name: str) -> BundleObject | None:
        """The first valid definition of (tenant, kind, name), or None."""
        self._read((Fact.OBJECT, tenant, kind, name))
        return self.bundle.get(tenant, kind, name)

    def declared(self, tenant: str, kind: str, name: str) -> bool:
        """Whether some document declares (tenant, kind, name), valid or not; a document of an
        unknown kind close to no known one (``kind: Widget``) declares its name for every
        kind: which one its author meant is unknown, and its own FOC109 is the error to fix."""
        self._read((Fact.DECLARED, tenant, kind, name))
        if (tenant, kind, name) in self.bundle.declared:
            return True
        self._read((Fact.DECLARED, tenant, UNKNOWN_KIND, name))
        return (tenant, UNKNOWN_KIND, name) in self.bundle.declared

    def declared_names(self, tenant: str, kind: str) -> list[str]:
        self._read((Fact.DECLARED_NAMES, tenant, kind))
        return self.bundle.declared_names(tenant, kind)

    def object_names(self, tenant: str, kind: str) -> list[str]:
        self._read((Fact.OBJECT_NAMES, tenant, kind))
        return self.bundle.object_names(tenant, kind)

    def tenants(self) -> list[str]:
        self._read((Fact.TENANTS,))
        return self.bundle.declared_tenants()

    def tenants_defining(self, kind: str, name: str) -> list[str]:
        self._read((Fact.TENANTS_DEFINING, kind, name))
        return self.bundle.tenants_defining(kind, name)

    def scenario_steps(self, tenant: str, scenario: str) -> list[PlacedStep]:
        """Every step of ``scenario``: inline in order, then standalone by name.

        Standalone steps are returned even when the scenario itself is missing or invalid (the
        reference check reports that), so per-step checks still run on them.
        """
        out: list[PlacedStep] = []
        obj = self.get(tenant, "Scenario", scenario)
        if obj is not None and isinstance(obj.spec, ScenarioSpec):
            out.extend(own_steps(obj))
        self._read((Fact.STANDALONE_STEPS, tenant, scenario))
        for name in self.bundle.standalone_steps(tenant, scenario):
            step_obj = self.get(tenant, "Step", name)
            assert step_obj is not None and isinstance(step_obj.spec, StepSpec)
            out.append(PlacedStep(step_obj.spec, step_obj, "/spec"))
        return out

    def agents_listing(self, tenant: str, scenario: str) -> list[BundleObject]:
        """The agents of ``tenant`` that list ``scenario``, by name."""
        self._read((Fact.AGENTS_LISTING, tenant, scenario))
        out = []
        for name in self.bundle.agents_listing(tenant, scenario):
            agent = self.get(tenant, "Agent", name)
            assert agent is not None
            out.append(agent)
        return out

    def file(self, path: str) -> None:
        """Record that a result depends on positions in ``path`` (a diagnostic located there)."""
        self._read((Fact.FILE, path))
