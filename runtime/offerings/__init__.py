"""Offerings retrieval: BM25 (``bm25s``) over a snapshot's offerings and FAQ entries, filtered
by an agent's catalog selector and a channel profile (:mod:`.index`), with a light stemmer and
typo correction (:mod:`.text`), one index per snapshot (:mod:`.cache`)."""

from runtime.offerings.cache import CATALOGS, CatalogCache, SnapshotCatalog, UnknownName
from runtime.offerings.index import Hit, OfferingIndex

__all__ = ["CATALOGS", "CatalogCache", "Hit", "OfferingIndex", "SnapshotCatalog", "UnknownName"]
