"""Per-object results of a stage, reused when nothing they read has changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from focalctl.bundle import Bundle, DepKey, ObjectRef
from focalctl.bundle.view import View

T = TypeVar("T")
UnitId = tuple[str, int]  # (file, document index)
# (unit fingerprint, the facts read with their fingerprints, the result)
Record = tuple[str, tuple[tuple[DepKey, str], ...], Any]


def unit_fingerprint(bundle: Bundle, ref: ObjectRef, role: str) -> str:
    """What a unit's own result depends on besides ``View`` reads: its file's bytes (so its
    data and every position in it) and whether it is the first definition or a duplicate."""
    return f"{bundle.results[ref.file].source.digest}\0{role}"


class Memo:
    """The results of one stage (checks or compile), one per object document.

    ``run`` returns the previous run's result for a unit when its fingerprint and the
    fingerprint of every fact it read are unchanged; otherwise it computes the result through
    a fresh :class:`~focalctl.bundle.view.View` and records what that read. Results must be
    plain data (``marshal``-able): they are written to the partial-parse cache.
    """

    def __init__(self, bundle: Bundle, previous: dict[UnitId, Record] | None = None) -> None:
        self.bundle = bundle
        self.previous = previous or {}
        self.current: dict[UnitId, Record] = {}
        self.reused = 0
        self.computed = 0

    def run(self, unit: UnitId, fingerprint: str, compute: Callable[[View], T]) -> T:
        record = self.previous.get(unit)
        if record is not None and self._fresh(record, fingerprint):
            self.current[unit] = record
            self.reused += 1
            result: T = record[2]
            return result
        view = View(self.bundle)
        value = compute(view)
        self.current[unit] = (fingerprint, tuple(view.deps.items()), value)
        self.computed += 1
        return value

    def _fresh(self, record: Record, fingerprint: str) -> bool:
        if record[0] != fingerprint:
            return False
        facts = self.bundle.fingerprint
        return all(facts(dep) == seen for dep, seen in record[1])
