"""The partial-parse cache file: what the last run learnt, per file and per object.

One file per bundle (its roots), under ``.focal/cache/`` of the working directory (or
``$FOCAL_CACHE_DIR``)::

    focal-partial 1\\n
    <code fingerprint>\\n
    <sha256 of the payload>\\n
    <payload: marshal of {"files": ..., "checks": ..., "compile": ...}>

This module is the only place that knows the stored form: the rest of Focal works with the
typed records (:class:`FileRecord`, :class:`~focalctl.partial.memo.StageState`,
:class:`~focalctl.diagnostics.Diagnostic`, ...) and :func:`encode_file` / :func:`decode_file`,
:func:`encode_stage` / :func:`decode_stage` convert at the boundary, with a :class:`Codec` for
each stage's per-object results.

It is used only when the code fingerprint (Focal's own sources and the versions of the
libraries whose behaviour shapes a result) matches and the payload hashes to the digest, so a
truncated, corrupted or foreign file is ignored and the run starts cold. ``marshal`` holds
only plain data here (str, bytes, int, float, bool, None, tuples, lists, dicts): loading it
never runs code. It is written to a temporary file and renamed, so a reader sees a whole old
or a whole new cache, never half of one.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import marshal
import os
import sys
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from focalctl.bundle import DocEntry, ObjectRef
from focalctl.diagnostics import Diagnostic, Severity
from focalctl.partial.memo import Record, Seen, StageState, UnitId
from runtime.fsutil import write_atomic

T = TypeVar("T")
TT = TypeVar("TT", bound=tuple[Any, ...])

MAGIC = b"focal-partial 1\n"
# Libraries whose versions can change what a bundle validates or compiles to.
_LIBRARIES = ("pydantic", "pydantic-core", "ruamel.yaml", "jinja2", "rfc8785")


@cache
def code_fingerprint() -> str:
    """The fingerprint of the code running now (see :func:`source_fingerprint`)."""
    import focalctl
    import runtime

    return source_fingerprint([Path(p.__file__ or "").parent for p in (focalctl, runtime)])


def source_fingerprint(packages: list[Path]) -> str:
    """sha256 over the Python sources under ``packages``, the Python version and the versions
    of the libraries in ``_LIBRARIES``: a cache is only ever read by the code that wrote it."""
    h = hashlib.sha256(sys.version.encode())
    for name in _LIBRARIES:
        try:
            h.update(f"\0{name}={importlib.metadata.version(name)}".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"\0{name}=?".encode())
    for root in packages:
        for path in sorted(root.rglob("*.py")):
            h.update(b"\0" + path.relative_to(root.parent).as_posix().encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()


def cache_path(roots: list[str], directory: Path | None = None) -> Path:
    """The cache file for a bundle given by ``roots`` (paths as passed on the command line)."""
    base = directory or Path(os.environ.get("FOCAL_CACHE_DIR") or Path(".focal") / "cache")
    key = "\0".join(sorted(str(Path(r).resolve()) for r in roots))
    return base / f"partial-{hashlib.sha256(key.encode()).hexdigest()[:16]}.bin"


def read(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The payload of a usable cache file, or None and why it was not used."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None, "no cache yet"
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}"
    view = memoryview(blob)  # slices without copying a payload of many megabytes
    code_end = blob.find(b"\n", len(MAGIC))
    digest_end = blob.find(b"\n", code_end + 1)
    if not blob.startswith(MAGIC) or code_end < 0 or digest_end < 0:
        return None, "not a cache file of this format"
    if bytes(view[len(MAGIC) : code_end]).decode("ascii", "replace") != code_fingerprint():
        return None, "made by another version of Focal"
    payload = view[digest_end + 1 :]
    digest = bytes(view[code_end + 1 : digest_end]).decode("ascii", "replace")
    if digest != hashlib.sha256(payload).hexdigest():
        return None, "damaged (its content does not match its digest)"
    try:
        data = marshal.loads(payload)
    except (EOFError, ValueError, TypeError) as exc:
        return None, f"damaged ({exc})"
    if not isinstance(data, dict):
        return None, "damaged (unexpected content)"
    return data, "used"


def write(path: Path, payload: dict[str, Any]) -> None:
    """Atomically replace the cache file; raises OSError if the directory is not writable."""
    body = marshal.dumps(payload)
    header = MAGIC + f"{code_fingerprint()}\n{hashlib.sha256(body).hexdigest()}\n".encode()
    write_atomic(path, header + body, sync=False)  # a lost cache only costs a cold run


# -- the stored form ----------------------------------------------------------------------------
# Plain data only (marshal refuses anything else, NamedTuple instances included). The fact
# table is plain data already (memo.Seen) and is stored as it is.
# Changing any of it means changing MAGIC, so that older files are ignored, not misread.

StoredFile = tuple[str, list[Any], list[Any], bytes]  # see FileRecord
# (the fact table as it is, {unit id: (unit fingerprint, fact positions, stored result)})
StoredStage = tuple[list[Seen], dict[UnitId, tuple[str, tuple[int, ...], Any]]]


class FileRecord(NamedTuple):
    """What the cache keeps of one file: enough to rebuild its result without parsing it."""

    key: str  # its digest and the document checks run on it (a record is reused only on a match)
    diagnostics: list[Diagnostic]  # located: load, schema and document-local checks
    entries: list[DocEntry]  # one per document
    data: bytes  # marshal of each entry's document data, in entry order


class Codec(NamedTuple, Generic[T]):
    """How one stage's per-object results are stored: ``encode`` to plain data, ``decode`` back."""

    encode: Callable[[T], Any]
    decode: Callable[[Any], T]


def _diagnostic_row(d: Diagnostic) -> tuple[Any, ...]:
    return (
        d.code,
        d.severity.value,
        d.message,
        d.file,
        d.line,
        d.column,
        d.end_column,
        d.pointer,
        d.hint,
        d.target,
        d.document,
    )


def _diagnostic(row: Any) -> Diagnostic:
    code, severity, message, file, line, column, end, pointer, hint, target, document = row
    return Diagnostic(
        code, Severity(severity), message, file, line, column, end, pointer, hint, target, document
    )


# Most objects have no diagnostics: "if" skips the comprehension's call for them.
def _diagnostic_rows(diags: list[Diagnostic]) -> list[tuple[Any, ...]]:
    return [_diagnostic_row(d) for d in diags] if diags else []


def _diagnostics(rows: Any) -> list[Diagnostic]:
    return [_diagnostic(r) for r in rows] if rows else []


DIAGNOSTICS: Codec[list[Diagnostic]] = Codec(_diagnostic_rows, _diagnostics)


def tuples(cls: type[TT]) -> Codec[TT]:
    """The codec of a NamedTuple of plain data: stored as a plain tuple. Decoding is what the
    NamedTuple's ``_make`` does, without a Python-level call per record."""
    return Codec(tuple, partial(tuple.__new__, cls))


def stored_key(stored: StoredFile) -> str:
    """The :attr:`FileRecord.key` of a stored record, without decoding the rest."""
    return stored[0]


def encode_file(record: FileRecord) -> StoredFile:
    entries = [
        (
            e.document,
            e.line,
            e.kind,
            e.api_version,
            e.declared,
            (e.ref.key, e.ref.attrs) if e.ref is not None else None,
        )
        for e in record.entries
    ]
    return (record.key, _diagnostic_rows(record.diagnostics), entries, record.data)


def decode_file(path: str, stored: StoredFile) -> FileRecord:
    """The record of the file at display path ``path``."""
    key, rows, entries, data = stored
    return FileRecord(
        key,
        _diagnostics(rows),
        [
            DocEntry(
                index,
                line,
                kind,
                api,
                declared,
                ObjectRef(ref[0], path, index, ref[1]) if ref is not None else None,
            )
            for index, line, kind, api, declared, ref in entries
        ],
        data,
    )


def encode_stage(state: StageState[T], codec: Codec[T]) -> StoredStage:
    encode = codec.encode
    return (
        state.facts,
        {
            unit: (record.fingerprint, record.facts, encode(record.result))
            for unit, record in state.records.items()
        },
    )


def decode_stage(stored: StoredStage, codec: Codec[T]) -> StageState[T]:
    decode = codec.decode
    table, records = stored
    new_record = partial(tuple.__new__, Record)  # Record(...) without its Python-level __new__
    return StageState(
        table,
        {
            unit: new_record((fp, facts, decode(result)))
            for unit, (fp, facts, result) in records.items()
        },
    )
