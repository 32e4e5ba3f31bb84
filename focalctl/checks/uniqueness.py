"""Invariant 3, uniqueness: (tenant, kind, name); step ids in a scenario; tools in a step.

Bad::

    steps: [{id: start, ...}, {id: start, ...}]     # FOC802

Good::

    steps: [{id: start, ...}, {id: confirm, ...}]
"""

from __future__ import annotations

from collections.abc import Iterator

from focalctl.bundle import Bundle
from focalctl.checks.steps import scenario_steps
from focalctl.diagnostics import Diagnostic


def check(bundle: Bundle) -> Iterator[Diagnostic]:
    for dup in bundle.duplicates:
        first = bundle.objects[dup.key]
        yield dup.diag(
            "FOC801",
            "/metadata/name",
            kind=dup.kind,
            name=dup.name,
            tenant=dup.tenant,
            first=first.where(),
        )
    for scenario in bundle.of_kind("Scenario"):
        seen: set[str] = set()
        for placed in scenario_steps(bundle, scenario.tenant, scenario.name):
            if placed.step.id in seen:
                yield placed.diag("FOC802", ("id",), step=placed.step.id, scenario=scenario.name)
            seen.add(placed.step.id)
            tools: set[str] = set()
            for i, binding in enumerate(placed.step.tools):
                if binding.tool in tools:
                    yield placed.diag(
                        "FOC803", ("tools", i, "tool"), step=placed.step.id, tool=binding.tool
                    )
                tools.add(binding.tool)
