"""Partial parsing: reuse what the last run learnt from what did not change (dbt's idea).

Two levels, each keyed so that a reused result is exactly what recomputing would give:

1. **Files.** A file whose display path and sha256 are unchanged is restored from its record:
   its located diagnostics (load, schema, document-local checks), one index entry per document
   (kind, declared key, object key, the attributes the indexes need) and its documents' data.
   Nothing is parsed; objects are built from the data only if a later stage asks for them.
2. **Objects.** The checks and the compiler work object by object through a
   :class:`~focalctl.bundle.view.View`, which records every fact of the bundle they read with
   its fingerprint (:meth:`~focalctl.bundle.Bundle.fingerprint`). :class:`~focalctl.partial.memo.Memo`
   reuses an object's result when its own file is unchanged and every recorded fact still has
   the same fingerprint; otherwise it recomputes it.

The cache file (:mod:`focalctl.partial.cache`) is only used by the exact code that wrote it and
only if its digest matches, so a stale or damaged cache costs a cold run, never a wrong result.
"""

from __future__ import annotations

import marshal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from focalctl.bundle import Bundle, DocChecks, FileResult, file_result
from focalctl.bundle.loader import SourceFile, load_bytes, read_source
from focalctl.gcpause import gc_paused
from focalctl.partial import cache as cache_file
from focalctl.partial.cache import DIAGNOSTICS, Codec, FileRecord, StoredFile, tuples
from focalctl.partial.memo import Memo

__all__ = ["DIAGNOSTICS", "CacheStats", "Codec", "FileRecord", "PartialCache", "tuples"]

_T = TypeVar("_T")
STAGES = ("checks", "compile")


@dataclass(frozen=True, slots=True)
class CacheStats:
    status: str  # why the previous cache was or was not used
    files_restored: int
    files_parsed: int
    reused: dict[str, int]
    computed: dict[str, int]

    def line(self) -> str:
        parts = [
            f"cache: {self.status}; files {self.files_restored} restored, {self.files_parsed} parsed"
        ]
        for stage in STAGES:
            if stage in self.reused:
                parts.append(
                    f"{stage} {self.reused[stage]} reused, {self.computed[stage]} computed"
                )
        return "; ".join(parts)


class _Stage(NamedTuple):
    memo: Memo[Any]
    codec: Codec[Any]


class PartialCache:
    """The previous run's records (if usable) and this run's, written back by :meth:`save`."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.status = "off" if path is None else "not read yet"
        self._loaded: dict[str, Any] | None = None if path is not None else {}
        # Restored records are written back as they were read: they are unchanged.
        self._restored: dict[str, StoredFile] = {}
        self._parsed: dict[str, tuple[FileResult, str]] = {}  # recorded only when saved
        self._stages: dict[str, _Stage] = {}

    @classmethod
    def open(cls, roots: Sequence[str | Path], directory: Path | None = None) -> PartialCache:
        """The cache of the bundle at ``roots``: read on first use, written by :meth:`save`."""
        return cls(cache_file.cache_path([str(r) for r in roots], directory))

    @classmethod
    def off(cls) -> PartialCache:
        """No cache: nothing is read or written (every run is cold)."""
        return cls(None)

    @classmethod
    def refresh(cls, roots: Sequence[str | Path], directory: Path | None = None) -> PartialCache:
        """Cold, then written: the previous records are not read, this run's replace them.

        For whatever is released (``apply``, ``plan -out``): the cache file is as writable as
        the bundle's working copy is not guarded (a CI cache shared between branches), and its
        digest is unkeyed, so what gets published must never come from it."""
        cache = cls.open(roots, directory)
        cache._loaded = {}
        cache.status = "not read (a release compiles cold)"
        return cache

    @property
    def _previous(self) -> dict[str, Any]:
        # Read lazily, so that it happens inside the pipeline's GC pause (gc_paused):
        # unmarshalling ~10^5 objects with the collector running costs several times more.
        if self._loaded is None:
            assert self.path is not None
            loaded, self.status = cache_file.read(self.path)
            self._loaded = loaded or {}
        return self._loaded

    # -- stage 1-2: files ---------------------------------------------------------------------

    def load(self, path: Path, name: str, checks: DocChecks = DocChecks()) -> FileResult:
        """The file's result: restored when its bytes are those of the last run, else parsed."""
        raw, read_diags = read_source(path, name)
        if raw is None:
            return FileResult(SourceFile(name, b""), read_diags, [])
        source = SourceFile(name, raw)
        key = _file_key(source, checks)
        stored = self._previous.get("files", {}).get(name)
        if stored is not None and cache_file.stored_key(stored) == key:
            self._restored[name] = stored
            return _restore(source, cache_file.decode_file(name, stored))
        result = file_result(*load_bytes(raw, name), checks)
        self._parsed[name] = (result, key)
        return result

    # -- stage 3-4: objects -------------------------------------------------------------------

    def memo(self, stage: str, bundle: Bundle, codec: Codec[_T]) -> Memo[_T]:
        """The stage's memo, with the previous run's records; ``codec`` stores its results."""
        stored = self._previous.get(stage)
        memo = Memo(bundle, cache_file.decode_stage(stored, codec) if stored is not None else None)
        self._stages[stage] = _Stage(memo, codec)
        return memo

    def stats(self) -> CacheStats:
        return CacheStats(
            self.status,
            len(self._restored),
            len(self._parsed),
            {s: st.memo.reused for s, st in self._stages.items()},
            {s: st.memo.computed for s, st in self._stages.items()},
        )

    def save(self) -> None:
        """Write this run's records; a stage that did not run keeps its previous records (they
        are checked again before any use). Raises OSError if the cache cannot be written."""
        if self.path is None or not (self._restored or self._parsed):
            return  # off, or the command stopped before reading the bundle: keep what is there
        with gc_paused():
            payload = self._payload()
            cache_file.write(self.path, payload)

    def _payload(self) -> dict[str, Any]:
        files = dict(self._restored)
        files.update(
            (name, cache_file.encode_file(_record(result, key)))
            for name, (result, key) in self._parsed.items()
        )
        payload: dict[str, Any] = {"files": files}
        for stage in STAGES:
            current = self._stages.get(stage)
            previous = self._previous.get(stage)
            if current is not None:
                payload[stage] = cache_file.encode_stage(current.memo.state(), current.codec)
            elif previous is not None:
                payload[stage] = previous
        return payload


def _file_key(source: SourceFile, checks: DocChecks) -> str:
    """A file's record is reused for the same bytes checked by the same document checks."""
    return f"{source.digest}\0{checks.names()}"


def _record(result: FileResult, key: str) -> FileRecord:
    documents = result.documents()
    data = marshal.dumps([documents[e.document].data for e in result.entries])
    return FileRecord(key, list(result.diagnostics), list(result.entries), data)


def _restore(source: SourceFile, record: FileRecord) -> FileResult:
    data = record.data
    return FileResult(
        source, record.diagnostics, record.entries, restore=lambda: marshal.loads(data)
    )
