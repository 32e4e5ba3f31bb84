"""The runtime API's error vocabulary: one table of codes, each with its HTTP status.

Every error body is ``{"error": {"code", "message"}}``; ``code`` is one of :class:`ApiError`
(a stable slug clients may branch on) and ``message`` says what was wrong with this request.
Bad input is always a 4xx; a 5xx only ever means the runtime itself is not ready (its state
backend does not answer).
"""

from __future__ import annotations

from enum import StrEnum

from fastapi.responses import JSONResponse

HEADER = "X-Focal-Snapshot"


class ApiError(StrEnum):
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


_STATUS: dict[ApiError, tuple[int, str]] = {
    ApiError.BAD_REQUEST: (400, "a parameter is missing, malformed or inconsistent"),
    ApiError.NOT_FOUND: (404, "no such route"),
    ApiError.METHOD_NOT_ALLOWED: (405, "the route exists but not for this method"),
    ApiError.UNKNOWN_TENANT: (404, "no snapshot is loaded for the tenant"),
    ApiError.UNKNOWN_NAME: (404, "an agent, scenario, step or channel the snapshot lacks"),
    ApiError.UNRESOLVABLE: (422, "the settings of this combination do not resolve"),
    ApiError.INVALID_TURN: (422, "a turn request is not of the documented shape"),
    ApiError.INVALID_RECEIPT: (422, "a delivery receipt is not of the documented shape"),
    ApiError.TOO_LARGE: (413, "the message text is longer than the runtime accepts"),
    ApiError.BUSY: (409, "the conversation has a turn in progress for longer than the wait"),
    ApiError.CONFLICT: (409, "the conversation changed during the turn"),
    ApiError.TURNS_DISABLED: (404, "this runtime was started without turn state"),
    ApiError.OUTBOUND_DISABLED: (404, "this runtime was started without --outbound"),
    ApiError.STATE_UNAVAILABLE: (503, "the state backend does not answer; retry later"),
    ApiError.RATE_LIMITED: (429, "too many turns for the tenant or channel; see Retry-After"),
    ApiError.HTTP_ERROR: (400, "any other protocol-level problem with the request"),
}

assert set(_STATUS) == set(ApiError), "every API error needs a status and a meaning"


def error(
    code: ApiError, message: str, snapshot: str = "none", retry_after: int | None = None
) -> JSONResponse:
    headers = {HEADER: snapshot}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(
        {"error": {"code": str(code), "message": message}},
        status_code=code.status,
        headers=headers,
    )
