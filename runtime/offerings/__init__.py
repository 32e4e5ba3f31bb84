"""Offerings retrieval: BM25 (``bm25s``) over a snapshot's offerings and FAQ entries, filtered
by an agent's catalog selector and a channel profile (:mod:`.index`), with a light stemmer and
typo correction (:mod:`.text`), one index per snapshot (:mod:`.cache`).

Importing this package is cheap: numpy and ``bm25s`` load with the first index built."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.offerings.cache import CATALOGS, CatalogCache, SnapshotCatalog, UnknownName

if TYPE_CHECKING:
    from runtime.offerings.index import Hit, OfferingIndex

__all__ = ["CATALOGS", "CatalogCache", "Hit", "OfferingIndex", "SnapshotCatalog", "UnknownName"]


def __getattr__(name: str) -> Any:
    if name in ("Hit", "OfferingIndex"):
        from runtime.offerings import index

        return getattr(index, name)
    raise AttributeError(f"module 'runtime.offerings' has no attribute {name!r}")
