"""``focalctl simulate``: run a bundle's Simulation documents against its compiled snapshots
through the real runtime code (see :mod:`.runner`), and report them (:mod:`.views`)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from focalctl.bundle.positions import find_node, node_position, parse_pointer
from focalctl.diagnostics.model import Diagnostic
from focalctl.simulate.runner import Line, SimulationResult, run

__all__ = ["Line", "SimulationResult", "Suite", "run_suite"]


@dataclass(slots=True)
class Suite:
    """What one ``simulate`` run found and did."""

    diagnostics: list[Diagnostic] = field(default_factory=list)  # the bundle did not validate
    sources: dict[str, bytes] = field(default_factory=dict)
    results: list[SimulationResult] = field(default_factory=list)
    found: int = 0  # simulation documents, before -k

    @property
    def passed(self) -> bool:
        return not self.diagnostics and all(r.passed for r in self.results)


def run_suite(paths: Sequence[Path], pattern: str | None = None) -> Suite:
    """Validate and compile ``paths`` (the bundle and any test directories) in memory, then
    run every Simulation whose name (or ``tenant/name``) matches ``pattern`` (a substring, or
    a glob with ``*``)."""
    from focalctl.compile.build import compile_bundle
    from focalctl.validate import validate_paths

    validation = validate_paths(paths)
    bundle = validation.bundle
    suite = Suite(sources={f.path: f.raw for f in bundle.files})
    suite.diagnostics = [d for d in validation.diagnostics if d.severity.value == "error"]
    if suite.diagnostics:
        return suite
    snapshots = compile_bundle(bundle)
    simulations = [bundle.object(r) for r in bundle.sorted_refs() if r.kind == "Simulation"]
    suite.found = len(simulations)
    for obj in simulations:
        if pattern and not _matches(pattern, obj.tenant, obj.name):
            continue
        snapshot = snapshots[obj.tenant]
        result = run(obj, snapshot.id, snapshot.raw)
        if result.failure is not None:
            node, _ = find_node(obj.doc.node, parse_pointer(result.failure.pointer))
            result.line, result.column, _ = node_position(node)
        suite.results.append(result)
    return suite


def _matches(pattern: str, tenant: str, name: str) -> bool:
    if "*" in pattern or "?" in pattern:
        return fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(f"{tenant}/{name}", pattern)
    return pattern in name or pattern in f"{tenant}/{name}"
