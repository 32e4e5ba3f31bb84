"""``focalctl simulate``: run a bundle's Simulation documents against its compiled snapshots
through the real runtime code (see :mod:`.runner`), and report them (:mod:`.views`)."""

from __future__ import annotations

import difflib
import fnmatch
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path

from focalctl.bundle.marks import node_position
from focalctl.bundle.models import BundleObject
from focalctl.bundle.positions import find_node, parse_pointer
from focalctl.diagnostics import Diagnostic
from focalctl.simulate.runner import Line, SimulationResult, run
from runtime.brain import CompiledSnapshot

__all__ = [
    "Comparison",
    "Line",
    "SimulationResult",
    "Suite",
    "compare",
    "run_suite",
    "simulations_of",
]


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
    snapshots = {t: (s.id, s.raw) for t, s in compile_bundle(bundle).items()}
    simulations = [bundle.object(r) for r in bundle.sorted_refs() if r.kind == "Simulation"]
    suite.found = len(simulations)
    chosen = [o for o in simulations if not pattern or _matches(pattern, o.tenant, o.name)]
    for obj, result in zip(chosen, _run_all(chosen, snapshots), strict=True):
        if result.failure is not None:
            node, _ = find_node(obj.doc.node, parse_pointer(result.failure.pointer))
            result.line, result.column, _ = node_position(node)
        suite.results.append(result)
    return suite


# What forked workers read (set before the pool starts; never pickled): a simulation is
# independent of every other, so a suite runs on every core.
_WORK: tuple[list[BundleObject], dict[str, tuple[str, bytes]]] = ([], {})
PARALLEL_FROM = 8  # fewer simulations than this run in this process: a worker costs ~50 ms


def _run_all(
    simulations: list[BundleObject], snapshots: dict[str, tuple[str, bytes]]
) -> list[SimulationResult]:
    global _WORK
    workers = min(os.cpu_count() or 1, 8)
    if len(simulations) < PARALLEL_FROM or workers < 2 or "fork" not in get_all_start_methods():
        shared = _Compiled()
        return [run(o, *snapshots[o.tenant], shared(*snapshots[o.tenant])) for o in simulations]
    _WORK = (simulations, snapshots)
    chunk = max(1, len(simulations) // (workers * 4))
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        return list(pool.map(_run_one, range(len(simulations)), chunksize=chunk))


_IN_WORKER: _Compiled | None = None  # a worker's own compiled snapshots


def _run_one(index: int) -> SimulationResult:
    global _IN_WORKER
    if _IN_WORKER is None:
        _IN_WORKER = _Compiled()
    simulations, snapshots = _WORK
    obj = simulations[index]
    return run(obj, *snapshots[obj.tenant], _IN_WORKER(*snapshots[obj.tenant]))


class _Compiled:
    """One compiled form per snapshot for every simulation that runs on it."""

    def __init__(self) -> None:
        self._by_id: dict[str, CompiledSnapshot] = {}

    def __call__(self, snapshot_id: str, raw: bytes) -> CompiledSnapshot:
        found = self._by_id.get(snapshot_id)
        if found is None:
            found = self._by_id[snapshot_id] = CompiledSnapshot(snapshot_id, raw)
        return found


def _matches(pattern: str, tenant: str, name: str) -> bool:
    if "*" in pattern or "?" in pattern:
        return fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(f"{tenant}/{name}", pattern)
    return pattern in name or pattern in f"{tenant}/{name}"


@dataclass(frozen=True, slots=True)
class Comparison:
    """One simulation run on the active snapshot and on the candidate."""

    tenant: str
    name: str
    before: SimulationResult | None  # None: no active release to run it on
    after: SimulationResult
    diff: tuple[str, ...]  # unified diff of the two transcripts (empty: the same behaviour)

    @property
    def changed(self) -> bool:
        return bool(self.diff) or self.before is None or self.before.passed != self.after.passed


def simulations_of(paths: Sequence[Path]) -> list[BundleObject]:
    """The Simulation documents under ``paths`` (the bundle validated; invalid: none)."""
    from focalctl.validate import validate_paths

    bundle = validate_paths(paths).bundle
    return [bundle.object(r) for r in bundle.sorted_refs() if r.kind == "Simulation"]


def compare(
    simulations: Sequence[BundleObject],
    base: tuple[str, bytes] | None,
    candidate: tuple[str, bytes],
) -> list[Comparison]:
    """Run each simulation on ``base`` and on ``candidate`` (snapshot id and bytes): how the
    behaviour a plan ships differs from the behaviour live now, transcript by transcript."""
    from focalctl.simulate.views import transcript

    out = []
    shared = _Compiled()
    for obj in simulations:
        after = run(obj, *candidate, shared(*candidate))
        before = run(obj, *base, shared(*base)) if base is not None else None
        lines = difflib.unified_diff(
            transcript(before) if before else [],
            transcript(after),
            "active",
            "candidate",
            lineterm="",
        )
        out.append(Comparison(obj.tenant, obj.name, before, after, tuple(lines)))
    return out
