"""The server's route table and error vocabulary, in-process (no sources)."""

from __future__ import annotations

import asyncio

import httpx

import runtime.server
from runtime.registry import SnapshotRegistry
from runtime.server import ROUTES, ApiError, create_app

from .helpers import release


class _Client:
    """Requests straight into the ASGI app (no sources, so no lifespan is needed)."""

    def __init__(self) -> None:
        reg = SnapshotRegistry()
        sid, raw = release(1)
        assert reg.offer("demo", "dev", 1, sid, raw, "test") is not None
        self.app = create_app(reg)

    def request(self, method: str, path: str) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://focal") as c:
                return await c.request(method, path)

        return asyncio.run(go())

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)


def _client() -> _Client:
    return _Client()


def test_public_names_are_pinned() -> None:
    assert sorted(runtime.server.__all__) == [
        "ApiError",
        "HEADER",
        "ROUTES",
        "Runtime",
        "create_app",
    ]


def test_every_route_answers_with_the_snapshot_header() -> None:
    client = _client()
    # route -> (method, a concrete request, its status on an app without turn state)
    requests = {
        "/healthz": ("GET", "/healthz", 200),
        "/metrics": ("GET", "/metrics", 200),
        "/v1/tenants/{tenant}/config": ("GET", "/v1/tenants/demo/config", 200),
        "/v1/tenants/{tenant}/effective": (
            "GET",
            "/v1/tenants/demo/effective?agent=concierge",
            200,
        ),
        "/v1/tenants/{tenant}/offerings/search": (
            "GET",
            "/v1/tenants/demo/offerings/search?q=order",
            200,
        ),
        "/v1/turns": ("POST", "/v1/turns", 404),
        "/v1/conversations/{conversation_id}": ("GET", "/v1/conversations/c?tenant=demo", 404),
        "/v1/conversations/{conversation_id}/agenda": (
            "GET",
            "/v1/conversations/c/agenda?tenant=demo",
            404,
        ),
        "/v1/receipts": ("POST", "/v1/receipts", 404),  # no --outbound: outbound_disabled
    }
    assert {path for _, path, _ in ROUTES} == set(requests)
    for method, path, status in requests.values():
        response = client.request(method, path)
        assert response.status_code == status, (path, response.text)
        assert "X-Focal-Snapshot" in response.headers


def test_errors_come_from_the_one_vocabulary() -> None:
    client = _client()
    cases = [
        ("GET", "/nope", ApiError.NOT_FOUND),
        ("POST", "/healthz", ApiError.METHOD_NOT_ALLOWED),
        ("GET", "/v1/tenants/other/config", ApiError.UNKNOWN_TENANT),
        ("GET", "/v1/tenants/demo/effective", ApiError.BAD_REQUEST),
        ("GET", "/v1/tenants/demo/effective?agent=concierge&step=x", ApiError.BAD_REQUEST),
        ("GET", "/v1/tenants/demo/effective?agent=nobody", ApiError.UNKNOWN_NAME),
    ]
    for method, path, code in cases:
        response = client.request(method, path)
        assert response.status_code == code.status, (path, response.text)
        assert response.json()["error"]["code"] == code.value
        assert response.json()["error"]["message"]
    for code in ApiError:
        assert (400 <= code.status < 500 or code == ApiError.STATE_UNAVAILABLE) and code.meaning
