"""One :class:`OfferingIndex` per snapshot, built on the snapshot's first search and dropped
when the snapshot is no longer active (as the turn service keeps its compiled snapshots)."""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.offerings.index import Hit, OfferingIndex


class UnknownName(LookupError):
    """An agent or channel profile the snapshot lacks (API code ``unknown_name``)."""


@dataclass(frozen=True, slots=True)
class SnapshotCatalog:
    """A snapshot's offerings index with the agents and channel profiles that filter it."""

    snapshot: str
    index: OfferingIndex
    agents: Mapping[str, Mapping[str, Any]]
    channels: frozenset[str]

    @classmethod
    def of(cls, snapshot_id: str, body: Mapping[str, Any]) -> SnapshotCatalog:
        from runtime.offerings.index import OfferingIndex  # numpy and bm25s load here

        agents = {name: entry["spec"] for name, entry in (body.get("agents") or {}).items()}
        return cls(
            snapshot_id,
            OfferingIndex.build(body.get("offerings") or {}),
            agents,
            frozenset(body.get("channels") or {}),
        )

    def search(
        self, q: str, *, agent: str | None = None, channel: str | None = None, k: int = 5
    ) -> list[Hit]:
        """Search as ``agent`` (its catalog selector) on ``channel``; names are checked."""
        spec = None
        if agent is not None:
            spec = self.agents.get(agent)
            if spec is None or not spec.get("enabled", True):
                raise UnknownName(f"the snapshot has no enabled agent '{agent}'")
        if channel is not None and channel not in self.channels:
            known = ", ".join(sorted(self.channels)) or "none"
            raise UnknownName(f"the snapshot has no channel profile '{channel}' (it has: {known})")
        return self.index.search(q, agent=spec, channel=channel, k=k)


class CatalogCache:
    """Snapshot id → :class:`SnapshotCatalog`; thread-safe, built once per snapshot."""

    def __init__(self) -> None:
        self._by_id: dict[str, SnapshotCatalog] = {}
        self._lock = threading.Lock()

    def get(self, snapshot_id: str, raw: bytes, active: Collection[str]) -> SnapshotCatalog:
        """The catalog of snapshot ``snapshot_id`` (canonical bytes ``raw``); catalogs of
        snapshots not in ``active`` (the ids now served) are dropped when one is built."""
        found = self._by_id.get(snapshot_id)
        if found is None:
            with self._lock:
                found = self._by_id.get(snapshot_id)
                if found is None:
                    found = SnapshotCatalog.of(snapshot_id, json.loads(raw))
                    self._by_id = {k: v for k, v in self._by_id.items() if k in active} | {
                        snapshot_id: found
                    }
        return found

    def __len__(self) -> int:
        return len(self._by_id)


CATALOGS = CatalogCache()
