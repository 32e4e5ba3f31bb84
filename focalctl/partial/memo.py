"""Per-object results of a stage, reused when nothing they read has changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

from focalctl.bundle import Bundle, DepKey, ObjectRef
from focalctl.bundle.view import View

T = TypeVar("T")
UnitId = tuple[str, int]  # (file, document index)


# One entry of a stage's fact table: a fact of the bundle a unit read and its fingerprint then.
# A plain tuple, not a NamedTuple: the table holds thousands and is stored as it is.
Seen = tuple[DepKey, str]


class Record(NamedTuple, Generic[T]):
    """One unit's result, and what it was computed from."""

    fingerprint: str  # the unit's own (unit_fingerprint)
    facts: tuple[int, ...]  # positions of the facts it read in the stage's fact table
    result: T


class StageState(NamedTuple, Generic[T]):
    """What a stage leaves for the next run (:mod:`focalctl.partial.cache` stores it)."""

    facts: list[Seen]  # the fact table
    records: dict[UnitId, Record[T]]


def unit_fingerprint(bundle: Bundle, ref: ObjectRef, role: str) -> str:
    """What a unit's own result depends on besides ``View`` reads: its file's bytes (so its
    data and every position in it) and whether it is the first definition or a duplicate."""
    return f"{bundle.results[ref.file].source.digest}\0{role}"


class Memo(Generic[T]):
    """The results of one stage (checks or compile), one per object document.

    ``run`` returns the previous run's result for a unit when its fingerprint is unchanged and
    none of the facts it read has changed; otherwise it computes the result through a fresh
    :class:`~focalctl.bundle.view.View` and records the facts that view read.

    Facts are kept once per stage in a table of (fact, fingerprint) and records refer to them
    by position, so judging a unit is a set intersection and each fact's current fingerprint is
    computed once per run. Every record kept by a run holds fingerprints equal to that run's
    (reused records were just compared), so the table only grows by the facts that changed and
    old positions stay valid; :meth:`state` compacts it when most of it is no longer referred to.
    A result is kept in the memo's records as returned (and written to the cache from there,
    converted by the stage's :class:`~focalctl.partial.cache.Codec`), so callers must not
    mutate it.
    """

    def __init__(self, bundle: Bundle, previous: StageState[T] | None = None) -> None:
        self.bundle = bundle
        self._table: list[Seen] = list(previous.facts) if previous else []
        self._old_size = len(self._table)
        self._previous: dict[UnitId, Record[T]] = previous.records if previous else {}
        self._changed: set[int] | None = None
        self._ids: dict[DepKey, int] | None = None
        self.current: dict[UnitId, Record[T]] = {}
        self.reused = 0
        self.computed = 0

    def run(self, unit: UnitId, fingerprint: str, compute: Callable[[View], T]) -> T:
        record = self._previous.get(unit)
        if (
            record is not None
            and record.fingerprint == fingerprint
            and self.changed().isdisjoint(record.facts)
        ):
            self.current[unit] = record
            self.reused += 1
            return record.result
        view = View(self.bundle)
        value = compute(view)
        ids = tuple(self._id(dep, seen) for dep, seen in view.deps.items())
        self.current[unit] = Record(fingerprint, ids, value)
        self.computed += 1
        return value

    def changed(self) -> set[int]:
        """Positions of the previous run's facts whose fingerprint is different now."""
        if self._changed is None:
            facts = self.bundle.fingerprint
            old = self._table[: self._old_size]
            self._changed = {i for i, (dep, seen) in enumerate(old) if facts(dep) != seen}
        return self._changed

    def _id(self, dep: DepKey, seen: str) -> int:
        if self._ids is None:
            changed = self.changed()
            self._ids = {dep: i for i, (dep, _) in enumerate(self._table) if i not in changed}
        i = self._ids.get(dep)
        if i is None:
            i = self._ids[dep] = len(self._table)
            self._table.append((dep, seen))
        return i

    def state(self) -> StageState[T]:
        """This run's table and records, compacted when most of the table is dead."""
        live = {i for record in self.current.values() for i in record.facts}
        if len(self._table) <= 2 * len(live) + 1024:
            return StageState(self._table, self.current)
        remap = {old: new for new, old in enumerate(sorted(live))}
        table = [self._table[old] for old in sorted(live)]
        records = {
            unit: record._replace(facts=tuple(remap[i] for i in record.facts))
            for unit, record in self.current.items()
        }
        return StageState(table, records)
