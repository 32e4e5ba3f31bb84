"""The HTTP form of the runtime's errors: ``{"error": {"code", "message"}}`` with the code's
status (the codes themselves are in :mod:`runtime.errors`)."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from runtime.errors import ApiError

__all__ = ["HEADER", "ApiError", "error"]

HEADER = "X-Focal-Snapshot"


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
