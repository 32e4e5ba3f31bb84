"""The snapshot: the contract between the compiler and the runtime (``focal.snapshot/v1``).

A snapshot holds every object of one tenant, fully resolved: specs with their defaults filled
in, channel profiles merged over their channel type's built-in defaults, standalone steps
merged into their scenarios, and the settings layers of the hierarchy (see
:mod:`runtime.settings`) so the runtime never needs a default from code. Templates stay as
source; the runtime renders them.

Identity and integrity:

- The bytes are the RFC 8785 (JCS) canonical JSON of the body; the id is ``sha256:`` + the hex
  digest of those bytes. Loading hashes the raw bytes *before* parsing anything.
- Only semantic content is inside. Provenance (which file and line each value came from) and
  the digests of the source files are produced by the compiler *beside* the snapshot and kept
  by the store, because the same bundle must give the same id whatever files, lines or YAML
  style its documents come from (moving a document to another file changes no byte here).
- Nothing time- or machine-dependent is inside; that goes on the release record.

Loading: :func:`load` is the one entry point (``keep="index"`` for the runtime, ``"model"`` for
the whole :class:`SnapshotV1`). The package keeps the models and :class:`SettingsIndex` in
``_model`` and the runtime's validate-only pass in ``_wire``; both are private.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal, overload

import rfc8785
from pydantic import ValidationError

from runtime.errors import Reason
from runtime.snapshot import _wire
from runtime.snapshot._model import (
    ChannelEntry,
    ObjectEntry,
    SettingsIndex,
    SnapshotV1,
    TenantEntry,
)

__all__ = [
    "SNAPSHOT_FORMAT",
    "SUPPORTED_FORMATS",
    "ChannelEntry",
    "IndexedSnapshot",
    "ObjectEntry",
    "SettingsIndex",
    "Snapshot",
    "SnapshotError",
    "SnapshotV1",
    "TenantEntry",
    "canonical_bytes",
    "load",
    "prepare",
    "snapshot_id",
]

SNAPSHOT_FORMAT = "focal.snapshot/v1"
SUPPORTED_FORMATS = (SNAPSHOT_FORMAT,)


class SnapshotError(Exception):
    """A candidate snapshot that must not be served, with its :class:`Reason`."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A verified, validated snapshot."""

    id: str
    model: SnapshotV1
    size: int
    raw: bytes = b""

    @property
    def tenant(self) -> str:
        return self.model.tenant.name


def canonical_bytes(body: Any) -> bytes:
    """RFC 8785 canonical JSON of a JSON value (a snapshot body, or a part of one)."""
    return bytes(rfc8785.dumps(body))


def snapshot_id(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class IndexedSnapshot:
    """A verified, validated snapshot reduced to what the runtime keeps: its settings index."""

    id: str
    tenant: str
    size: int
    index: SettingsIndex


def prepare() -> None:
    """Build the runtime's snapshot validator now (a one-off ~15 ms) rather than in the first
    :func:`load` that keeps the index."""
    _wire.body_validator()


@overload
def load(
    raw: bytes,
    expected_id: str | None = None,
    tenant: str | None = None,
    *,
    keep: Literal["index"] = "index",
) -> IndexedSnapshot: ...


@overload
def load(
    raw: bytes,
    expected_id: str | None = None,
    tenant: str | None = None,
    *,
    keep: Literal["model"],
) -> Snapshot: ...


def load(
    raw: bytes,
    expected_id: str | None = None,
    tenant: str | None = None,
    *,
    keep: Literal["index", "model"] = "index",
) -> IndexedSnapshot | Snapshot:
    """Verify and validate candidate bytes; raise :class:`SnapshotError` with the reason.

    The digest is checked first (``expected_id``), then the body, then the format and the
    tenant. What is kept of a valid snapshot:

    - ``keep="index"`` (the runtime): an :class:`IndexedSnapshot`. The body is validated into
      plain dicts and each object reduced to its settings layers as it goes, without building
      the model.
    - ``keep="model"`` (the CLI, tests): a :class:`Snapshot` with the whole validated
      :class:`SnapshotV1`.

    Both accept exactly the same bytes and refuse the rest with the same reason slugs.
    """
    actual = _verify(raw, expected_id)
    if keep == "model":
        try:
            model = SnapshotV1.model_validate_json(raw)  # one pass in pydantic-core
        except ValidationError as exc:
            raise _classify(raw, exc) from exc
        _check_header(model.format, model.tenant.name, tenant)
        return Snapshot(id=actual, model=model, size=len(raw), raw=raw)
    try:
        body = _wire.body_validator().validate_json(raw)
    except ValidationError as exc:
        raise _classify(raw, exc) from exc
    name = body["tenant"]["name"]
    _check_header(body["format"], name, tenant)
    return IndexedSnapshot(id=actual, tenant=name, size=len(raw), index=_wire.index_of(body))


def _verify(raw: bytes, expected_id: str | None) -> str:
    actual = snapshot_id(raw)
    if expected_id is not None and actual != expected_id:
        stripped = raw.rstrip()
        reason = (
            Reason.TRUNCATED
            if not stripped or not stripped.endswith(b"}")
            else Reason.DIGEST_MISMATCH
        )
        raise SnapshotError(reason, f"content hashes to {actual}, expected {expected_id}")
    return actual


def _check_header(fmt: str, name: str, tenant: str | None) -> None:
    if fmt not in SUPPORTED_FORMATS:
        raise _format_error(fmt)
    if tenant is not None and name != tenant:
        raise SnapshotError(
            Reason.WRONG_TENANT, f"snapshot is for tenant {name!r}, expected {tenant!r}"
        )


def _format_error(fmt: object) -> SnapshotError:
    if isinstance(fmt, str) and fmt.startswith("focal.snapshot/"):
        return SnapshotError(
            Reason.FUTURE_FORMAT,
            f"format {fmt!r} is newer than this runtime understands ({SNAPSHOT_FORMAT})",
        )
    return SnapshotError(Reason.SCHEMA_INVALID, f"unknown snapshot format {fmt!r}")


def _classify(raw: bytes, exc: ValidationError) -> SnapshotError:
    """Why a candidate failed validation: truncated, not JSON, a newer format, or the schema."""
    try:
        data = json.loads(raw)
    except RecursionError:
        return SnapshotError(Reason.TOO_DEEP, "JSON nests deeper than the parser allows")
    except json.JSONDecodeError as err:
        if err.pos >= len(raw.rstrip()):
            return SnapshotError(Reason.TRUNCATED, f"JSON ends early: {err.msg} at byte {err.pos}")
        return SnapshotError(Reason.NOT_JSON, f"not valid JSON: {err}")
    except (ValueError, UnicodeDecodeError) as err:
        return SnapshotError(Reason.NOT_JSON, f"not valid JSON: {err}")
    if not isinstance(data, dict):
        return SnapshotError(Reason.SCHEMA_INVALID, "a snapshot is a JSON object")
    if data.get("format") not in SUPPORTED_FORMATS:
        return _format_error(data.get("format"))
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    return SnapshotError(
        Reason.SCHEMA_INVALID, f"{exc.error_count()} error(s), first at {where}: {first['msg']}"
    )
