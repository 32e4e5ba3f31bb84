"""Why the runtime refused a candidate snapshot: one table of reasons, each with what to do.

A reason is a stable slug (it labels ``focal_snapshot_rejected`` and appears on ``/healthz``
as ``last_rejected.reason``). :class:`Reason` is the only place a slug is spelled; the table
beside it says what the slug means and what an operator does about it, and the README's
reliability section is written from it.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    TRUNCATED = "truncated"
    NOT_JSON = "not-json"
    TOO_DEEP = "too-deep"
    DIGEST_MISMATCH = "digest-mismatch"
    SCHEMA_INVALID = "schema-invalid"
    FUTURE_FORMAT = "future-format"
    WRONG_TENANT = "wrong-tenant"
    BAD_POINTER = "bad-pointer"
    MISSING = "missing"
    LOAD_ERROR = "load-error"

    @property
    def meaning(self) -> str:
        return _TABLE[self][0]

    @property
    def fix(self) -> str:
        return _TABLE[self][1]

    @property
    def permanent(self) -> bool:
        """Does the same (pointer, snapshot id) always fail the same way? Snapshots are
        content-addressed, so bytes that hash to their id and still fail will fail again: the
        source need not read them again until the pointer moves."""
        return self in _PERMANENT


_TABLE: dict[Reason, tuple[str, str]] = {
    Reason.TRUNCATED: (
        "the snapshot bytes end early",
        "re-publish the release (focalctl apply or rollback); check the target's disk space",
    ),
    Reason.NOT_JSON: (
        "the snapshot bytes are not JSON",
        "re-publish the release; something other than focalctl wrote the file or key",
    ),
    Reason.TOO_DEEP: (
        "the candidate nests deeper than a JSON parser allows",
        "re-publish the release; focalctl never writes such a document",
    ),
    Reason.DIGEST_MISMATCH: (
        "the bytes do not hash to the id the pointer names",
        "re-publish the release; the snapshot was modified after it was written",
    ),
    Reason.SCHEMA_INVALID: (
        "the snapshot does not match the focal.snapshot/v1 schema",
        "compile and publish it with the focalctl of this runtime's version",
    ),
    Reason.FUTURE_FORMAT: (
        "the snapshot's format is newer than this runtime understands",
        "upgrade the runtime, or publish with a focalctl of the runtime's version",
    ),
    Reason.WRONG_TENANT: (
        "the pointer or snapshot belongs to another tenant or environment",
        "re-publish with focalctl apply --tenant for the right tenant",
    ),
    Reason.BAD_POINTER: (
        "the current pointer is not a valid {tenant, env, version, snapshot} object",
        "re-publish the release; only focalctl should write current pointers",
    ),
    Reason.MISSING: (
        "the pointer names a snapshot the source does not have",
        "re-publish the release, or restore the snapshot file or key",
    ),
    Reason.LOAD_ERROR: (
        "reading or checking the candidate failed unexpectedly (the runtime's log has the trace)",
        "report it as a bug with the log; the last good snapshot keeps serving",
    ),
}

_PERMANENT = frozenset(
    {Reason.TOO_DEEP, Reason.SCHEMA_INVALID, Reason.FUTURE_FORMAT, Reason.WRONG_TENANT}
)

assert set(_TABLE) == set(Reason), "every reason needs a meaning and a fix"
