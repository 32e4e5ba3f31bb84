"""GET /v1/tenants/{tenant}/offerings/search through the real app: in-process for the error
vocabulary, and on a `focalctl serve` process across a snapshot swap."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from focalctl.compile import compile_paths
from focalctl.publish import FileTarget
from runtime.layout import Pointer
from runtime.registry import SnapshotRegistry
from runtime.server import ApiError, create_app
from runtime.snapshot import canonical_bytes, snapshot_id
from tests.conftest import REPO, focalctl_env


def _serve(live: Path, cwd: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`focalctl serve` on a free loopback port, once it answers /healthz."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = (cwd / "serve.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "focalctl.cli.main",
            "serve",
            "--source",
            f"file:{live}",
            "--port",
            str(port),
        ],
        cwd=cwd,
        env=focalctl_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60  # a loaded CI machine: the wait ends at the first answer
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/healthz", timeout=1)
            return proc, url
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise RuntimeError((cwd / "serve.log").read_text()) from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


SNAP = compile_paths([REPO / "examples" / "retail"]).snapshots["acme"]


def _get(app: object, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://focal") as client:
            return await client.get(path)

    return asyncio.run(go())


def _app() -> object:
    registry = SnapshotRegistry()
    assert registry.offer("acme", "dev", 1, SNAP.id, SNAP.raw, "test") is not None
    return create_app(registry)


SEARCH = "/v1/tenants/acme/offerings/search"


def test_search_answers_hits_with_the_snapshot_header() -> None:
    app = _app()
    response = _get(app, SEARCH + "?q=waterprof+jaket&k=2")
    assert response.status_code == 200, response.text
    assert response.headers["X-Focal-Snapshot"] == SNAP.id
    body = response.json()
    assert body["query"] == "waterprof jaket"
    assert len(body["hits"]) <= 2
    assert body["hits"][0] == {
        "offering": "alpine-shell",
        "score": body["hits"][0]["score"],
        "matched": "offering",
        "displayName": "Alpine Shell jacket",
        "price": {"amount": "289", "currency": "EUR", "period": "once"},
    }
    faq = _get(app, SEARCH + "?q=does+the+gift+card+expire").json()["hits"][0]
    assert (faq["offering"], faq["matched"], faq["question"]) == (
        "gift-card-50",
        "faq",
        "Does it expire?",
    )
    assert _get(app, SEARCH + "?q=%20%20").json() == {"query": "  ", "hits": []}


def test_agent_and_channel_filter_the_hits() -> None:
    app = _app()
    # the gift card is offered on web-chat and email-main only
    on_sms = _get(app, SEARCH + "?q=gift+card&agent=support&channel=sms-main").json()["hits"]
    assert "gift-card-50" not in [h["offering"] for h in on_sms]
    on_web = _get(app, SEARCH + "?q=gift+card&agent=support&channel=web-chat").json()["hits"]
    assert on_web[0]["offering"] == "gift-card-50"


def test_errors_use_the_one_vocabulary() -> None:
    app = _app()
    cases = [
        ("/v1/tenants/other/offerings/search?q=tent", ApiError.UNKNOWN_TENANT),
        (SEARCH, ApiError.BAD_REQUEST),
        (SEARCH + "?q=tent&k=0", ApiError.BAD_REQUEST),
        (SEARCH + "?q=tent&k=many", ApiError.BAD_REQUEST),
        (SEARCH + "?q=tent&agent=nobody", ApiError.UNKNOWN_NAME),
        (SEARCH + "?q=tent&channel=fax", ApiError.UNKNOWN_NAME),
        (SEARCH + "?q=" + "a" * 5000, ApiError.TOO_LARGE),
    ]
    for path, code in cases:
        response = _get(app, path)
        assert response.status_code == code.status, (path[:80], response.text)
        assert response.json()["error"]["code"] == code.value
        assert "X-Focal-Snapshot" in response.headers


def test_a_served_tenant_searches_the_snapshot_it_serves(tmp_path: Path) -> None:
    live = tmp_path / "live"
    target = FileTarget(live)
    target.publish(Pointer("acme", "dev", 1, SNAP.id), SNAP.raw)
    proc, url = _serve(live, tmp_path)
    try:
        first = httpx.get(url + SEARCH + "?q=head+torch", timeout=5)
        assert first.status_code == 200, first.text
        assert first.headers["X-Focal-Snapshot"] == SNAP.id
        assert first.json()["hits"][0]["offering"] == "headlamp-400"
        # release 2 renames the headlamp: the search follows the new snapshot
        body = SNAP.body
        renamed = {**body, "offerings": dict(body["offerings"])}
        renamed["offerings"]["lantern-200"] = renamed["offerings"].pop("headlamp-400")
        raw = canonical_bytes(renamed)
        target.publish(Pointer("acme", "dev", 2, snapshot_id(raw)), raw)
        deadline = time.monotonic() + 10
        while True:
            second = httpx.get(url + SEARCH + "?q=head+torch", timeout=5)
            if second.headers["X-Focal-Snapshot"] == snapshot_id(raw):
                break
            assert time.monotonic() < deadline, "release 2 was not served"
            time.sleep(0.05)
        assert second.json()["hits"][0]["offering"] == "lantern-200"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
