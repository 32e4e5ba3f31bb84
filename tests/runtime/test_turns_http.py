"""POST /v1/turns and GET /v1/conversations on a real `focalctl serve` process, with the
default bundle's demo tools, on SQLite, PostgreSQL and Redis state."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from focalctl.compile import compile_paths
from focalctl.publish import FileTarget
from runtime.layout import Pointer
from tests.conftest import REPO

from .helpers import free_port
from .test_server import Server


def _publish(root: Path) -> None:
    snap = compile_paths([REPO / "agents.d"]).snapshots["demo"]
    FileTarget(root).publish(Pointer("demo", "dev", 1, snap.id), snap.raw)


def _turn(server: Server, **fields: Any) -> httpx.Response:
    body = {
        "tenant": "demo",
        "agent": "concierge",
        "channel": "web",
        "conversation_id": "c-1",
        "text": "hi",
        **fields,
    }
    return httpx.post(server.url + "/v1/turns", json=body, timeout=10)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "redis"])
def test_the_demo_scenario_over_http(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    state = {
        "sqlite": lambda: f"sqlite:///{tmp_path / 'state.db'}",
        "postgresql": lambda: request.getfixturevalue("pg_url"),
        "redis": lambda: (
            f"{request.getfixturevalue('redis_url')}?prefix="
            + request.getfixturevalue("redis_prefix")
        ),
    }[backend]()
    _publish(tmp_path / "live")
    server = Server(f"file:{tmp_path / 'live'}", tmp_path, free_port(), ["--state", state])
    try:
        first = _turn(server, message_id="m-1", text="where is my order?", intent="order_status")
        assert first.status_code == 200, first.text
        body = first.json()
        assert (body["status"], body["scenario"], body["step"]) == (
            "processed",
            "order-status",
            "ask_order",
        )
        assert body["reply"]["parts"] == ["Sure! What is your order number?"]
        assert first.headers["X-Focal-Snapshot"] == body["snapshot"]

        second = _turn(server, message_id="m-2", text="A-1001", slots={"order_id": "A-1001"})
        body = second.json()
        assert body["entered"] == ["report", "done"] and body["scenario"] is None
        assert body["tools"] == [
            {"tool": "check-order", "args": {"order_id": "A-1001"}, "status": "executed"}
        ]
        assert body["reply"]["parts"][0].startswith("Order A-1001 is ")

        again = _turn(server, message_id="m-2", text="A-1001", slots={"order_id": "A-1001"})
        assert again.status_code == 200 and again.json()["status"] == "duplicate"

        conv = httpx.get(server.url + "/v1/conversations/c-1?tenant=demo", timeout=5).json()
        assert conv["turns"] == 2 and conv["slots"]["order_id"] == "A-1001"
        metrics = server.get("/metrics").text
        assert 'focal_turns_total{status="processed",tenant="demo"} 2.0' in metrics
        assert 'focal_turns_total{status="duplicate",tenant="demo"} 1.0' in metrics
    finally:
        server.stop()


def test_bad_turn_requests_are_4xx_json(tmp_path: Path) -> None:
    _publish(tmp_path / "live")
    server = Server(f"file:{tmp_path / 'live'}", tmp_path, free_port(), ["--state", "memory"])
    try:
        cases = [
            ({"message_id": "m", "tenant": "nope"}, 404, "unknown_tenant"),
            ({"message_id": "m", "agent": "nobody"}, 404, "unknown_name"),
            ({"message_id": "m", "channel": "pager"}, 404, "unknown_name"),
            ({"message_id": "m", "text": "x" * 5000}, 413, "too_large"),
            ({"text": "no message id"}, 422, "invalid_turn"),
            ({"message_id": "m", "slots": "not a map"}, 422, "invalid_turn"),
            ({"message_id": "m", "surprise": 1}, 422, "invalid_turn"),
        ]
        for fields, status, code in cases:
            response = _turn(server, **fields)
            assert response.status_code == status, (fields, response.text)
            assert response.json()["error"]["code"] == code
        garbage = httpx.post(server.url + "/v1/turns", content=b"{not json", timeout=5)
        assert garbage.status_code == 422
        missing = httpx.get(server.url + "/v1/conversations/zzz?tenant=demo", timeout=5)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        assert "Traceback" not in server.log.read_text()
    finally:
        server.stop()


def test_serve_refuses_an_unknown_state_url(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "focalctl.cli.main",
            "serve",
            "--state",
            "mysql://x/y",
            "--source",
            f"file:{tmp_path}",
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2 and "unknown state backend" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_state_backend_that_does_not_answer_is_a_503_not_a_crash(tmp_path: Path) -> None:
    _publish(tmp_path / "live")
    dead = f"redis://127.0.0.1:{free_port()}/0"
    server = Server(f"file:{tmp_path / 'live'}", tmp_path, free_port(), ["--state", dead])
    try:
        response = _turn(server, message_id="m-1", intent="order_status")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "state_unavailable"
        assert server.get("/v1/tenants/demo/config").status_code == 200  # config still served
        assert "does not answer" in server.log.read_text()
    finally:
        server.stop()
