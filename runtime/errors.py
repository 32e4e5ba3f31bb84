"""The runtime's error vocabulary: every code the runtime reports, in one place.

- :class:`Reason`: why a candidate snapshot was refused, by a source (``missing``,
  ``bad_pointer``) or by the loader (``digest_mismatch``, ``schema_invalid``). It labels
  ``focal_snapshot_rejected`` and is ``last_rejected.reason`` on ``/healthz``.
- :class:`ApiError`: the ``code`` of every error body of the HTTP API
  (``{"error": {"code", "message"}}``), with its status. Bad input is always a 4xx; a 5xx
  only ever means the runtime itself is not ready (its state backend does not answer).

Each code is a stable snake_case slug (clients and alerts may branch on it), spelled only
here, with what it means and what to do about it; the README's tables are written from
these tables and a test keeps them in step.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a candidate snapshot was refused."""

    TRUNCATED = "truncated"
    NOT_JSON = "not_json"
    TOO_DEEP = "too_deep"
    DIGEST_MISMATCH = "digest_mismatch"
    SCHEMA_INVALID = "schema_invalid"
    FUTURE_FORMAT = "future_format"
    WRONG_TENANT = "wrong_tenant"
    BAD_POINTER = "bad_pointer"
    MISSING = "missing"
    LOAD_ERROR = "load_error"

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


class ApiError(StrEnum):
    """The code of an HTTP API error."""

    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNKNOWN_TENANT = "unknown_tenant"
    UNKNOWN_NAME = "unknown_name"
    UNRESOLVABLE = "unresolvable"
    INVALID_TURN = "invalid_turn"
    INVALID_RECEIPT = "invalid_receipt"
    TOO_LARGE = "too_large"
    BUSY = "busy"
    CONFLICT = "conflict"
    TURNS_DISABLED = "turns_disabled"
    OUTBOUND_DISABLED = "outbound_disabled"
    STATE_UNAVAILABLE = "state_unavailable"
    RATE_LIMITED = "rate_limited"
    HTTP_ERROR = "http_error"

    @property
    def status(self) -> int:
        return _STATUS[self][0]

    @property
    def meaning(self) -> str:
        return _STATUS[self][1]

    @property
    def fix(self) -> str:
        return _STATUS[self][2]


_STATUS: dict[ApiError, tuple[int, str, str]] = {
    ApiError.BAD_REQUEST: (
        400,
        "a parameter is missing, malformed or inconsistent",
        "fix the parameter the message names",
    ),
    ApiError.NOT_FOUND: (404, "no such route", "check the path against the routes in the README"),
    ApiError.METHOD_NOT_ALLOWED: (
        405,
        "the route exists but not for this method",
        "use the method the route documents (GET or POST)",
    ),
    ApiError.UNKNOWN_TENANT: (
        404,
        "no snapshot is loaded for the tenant",
        "apply a release for the tenant (focalctl apply) and check the runtime's --source and --env",
    ),
    ApiError.UNKNOWN_NAME: (
        404,
        "an agent, scenario, step or channel the snapshot lacks",
        "use a name the active snapshot has (GET /v1/tenants/{tenant}/config lists them)",
    ),
    ApiError.UNRESOLVABLE: (
        422,
        "the settings of this combination do not resolve",
        "fix the settings in the bundle; focalctl validate reports them (FOC210)",
    ),
    ApiError.INVALID_TURN: (
        422,
        "a turn request is not of the documented shape",
        "send the fields the message names (tenant, agent, channel, conversation_id, message_id, text)",
    ),
    ApiError.INVALID_RECEIPT: (
        422,
        "a delivery receipt is not of the documented shape",
        "send {message_id, status} with a status of delivered, read or failed",
    ),
    ApiError.TOO_LARGE: (
        413,
        "the message text is longer than the runtime accepts",
        "split the message, or raise the channel's limit in the bundle",
    ),
    ApiError.BUSY: (
        409,
        "the conversation has a turn in progress for longer than the wait",
        "retry the same message later; it is not lost",
    ),
    ApiError.CONFLICT: (
        409,
        "the conversation changed during the turn",
        "send the message again; nothing of the failed turn was stored",
    ),
    ApiError.TURNS_DISABLED: (
        404,
        "this runtime was started without turn state",
        "start the runtime with --state",
    ),
    ApiError.OUTBOUND_DISABLED: (
        404,
        "this runtime was started without --outbound",
        "start the runtime with --outbound",
    ),
    ApiError.STATE_UNAVAILABLE: (
        503,
        "the state backend does not answer; retry later",
        "retry later; check that the state backend (database, Redis) answers",
    ),
    ApiError.RATE_LIMITED: (
        429,
        "too many turns for the tenant or channel; see Retry-After",
        "wait the seconds in Retry-After, then retry",
    ),
    ApiError.HTTP_ERROR: (
        400,
        "any other protocol-level problem with the request",
        "fix the request; the message says what the server could not read",
    ),
}

assert set(_STATUS) == set(ApiError), "every API error needs a status, a meaning and a fix"
