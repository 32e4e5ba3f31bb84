"""Invariant 3, uniqueness.

- FOC801: (tenant, kind, name) names one document; later duplicates (``bundle.duplicate_refs``)
  are reported at their ``metadata.name``, pointing back to the first definition.
- FOC802: step ids are unique within a scenario, counting its inline steps and the standalone
  ``kind: Step`` documents whose ``spec.scenario`` names it (the later one is reported).
- FOC803: a step binds each tool at most once (the later binding is reported).

Bad::

    steps:
      - {id: start, tools: [{tool: lookup}, {tool: lookup}]}   # FOC803
      - {id: start, terminal: true}                            # FOC802

Good::

    steps:
      - {id: start, tools: [{tool: lookup}]}
      - {id: done, terminal: true}
"""

from __future__ import annotations

from collections.abc import Iterator

from focalctl.bundle import BundleObject
from focalctl.bundle.view import View
from focalctl.checks.local import duplicate_bindings
from focalctl.diagnostics import Diagnostic


def check_duplicate(view: View, dup: BundleObject) -> Iterator[Diagnostic]:
    first = view.get(*dup.key)
    assert first is not None
    yield dup.diag(
        "FOC801",
        "/metadata/name",
        kind=dup.kind,
        name=dup.name,
        tenant=dup.tenant,
        first=first.where(),
    )


def check(view: View, obj: BundleObject) -> Iterator[Diagnostic]:
    if obj.kind == "Scenario":
        seen: set[str] = set()
        for placed in view.scenario_steps(obj.tenant, obj.name):
            if placed.step.id in seen:
                yield placed.diag("FOC802", ("id",), step=placed.step.id, scenario=obj.name)
            seen.add(placed.step.id)
    yield from duplicate_bindings(obj.doc)
