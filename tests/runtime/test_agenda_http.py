"""The agenda in a real `focalctl serve`: a refund's follow-up goes to the operator's webhook
(`--outbound`), and `GET /v1/conversations/{id}/agenda` shows it sent."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from .helpers import free_port
from .test_server import Server
from .test_turn_integrity import SECRETS, Payments, _bundle, _turn


class Webhook:
    def __init__(self, status: int = 200) -> None:
        self.received: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.received.append(body)
                hook.auth.append(self.headers.get("Authorization"))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/deliver"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _soon(bundle: Path) -> None:
    """The follow-up due a second after the refund, and no quiet hours (CI runs at any hour)."""
    goal = bundle / "goals" / "refund-feedback.yaml"
    goal.write_text(goal.read_text().replace("after: 24h", "after: 1s"))
    tenant = bundle / "tenant.yaml"
    text = tenant.read_text()
    assert "    quietHours:" in text
    tenant.write_text(
        "\n".join(line for line in text.splitlines() if "quietHours" not in line) + "\n"
    )


def serve_with_outbound(
    tmp_path: Path, live: Path, hook: Webhook, env: dict[str, str] | None = None
) -> Server:
    """A real `focalctl serve` on SQLite state whose follow-ups go to ``hook``."""
    state = ["--state", f"sqlite:///{tmp_path / 'state.db'}", "--outbound", hook.url]
    return Server(f"file:{live}", tmp_path, free_port(), state, {**SECRETS, **(env or {})})


def refund_and_confirm(server: Server) -> None:
    """Ana asks for a refund of O-1 and confirms it: the refund-feedback follow-up is due."""
    profile = {"first_name": "Ana", "consent": True}
    first = _turn(
        server,
        "c1",
        "m1",
        "refund O-1",
        intent="refund",
        slots={"order_id": "O-1"},
        profile=profile,
    )
    assert first.status_code == 200, first.text
    done = _turn(server, "c1", "m2", "yes", intent="confirm", profile=profile)
    assert done.json()["step"] == "wrap_up", done.text


@pytest.mark.parametrize("status", [200, 503])
def test_a_follow_up_reaches_the_webhook_or_falls_back(status: int, tmp_path: Path) -> None:
    payments, hook = Payments(), Webhook(status)
    live = _bundle(tmp_path, payments.url, _soon)
    server = serve_with_outbound(tmp_path, live, hook, {"FOCAL_OUTBOUND_KEY": "hook-secret"})
    try:
        refund_and_confirm(server)

        def agenda() -> list[dict[str, Any]]:
            r = httpx.get(server.url + "/v1/conversations/c1/agenda?tenant=acme", timeout=5)
            return list(r.json()["actions"])

        def settled() -> bool:
            [a] = agenda()
            return a["status"] in ("sent", "failed") or a["attempts"] == 1

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not settled():
            time.sleep(0.2)
        [action] = agenda()
        if status == 200:
            assert action["status"] == "sent" and action["channel"] == "wa-main", action
            [message] = hook.received
            assert message["profile"] == "wa-main" and message["conversation_id"] == "c1"
            assert message["parts"] == ["Hi Ana, did your refund arrive? Reply YES or NO. - Acme"]
            assert hook.auth == ["Bearer hook-secret"]
        else:  # every hop fails: retried later (4 h), each profile tried, with retries
            assert action["status"] == "pending" and action["attempts"] == 1, action
            assert {m["profile"] for m in hook.received} == {"wa-main", "sms-main", "email-main"}
        assert "hook-secret" not in server.log.read_text()
    finally:
        server.stop()
        payments.server.shutdown()
        hook.server.shutdown()
