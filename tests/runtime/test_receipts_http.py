"""Delivery receipts in a real `focalctl serve --outbound`: a refund's follow-up reaches the
webhook on WhatsApp with its message id; `POST /v1/receipts` moves it forward only (duplicates
and late receipts answer `changed: false`), rejects bad bodies (422) and unknown tenants or
messages (404); failed receipts walk the ladder WhatsApp -> SMS (GSM-7 parts of at most 160)
-> email, each hop posted to the webhook, ending undeliverable."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import httpx

from .test_agenda_http import Webhook, _soon, refund_and_confirm, serve_with_outbound
from .test_server import Server
from .test_turn_integrity import Payments, _bundle

LONG = (
    "Hi {{ profile.first_name }}, did your refund for order O-1 arrive? Banks can take up to"
    " five working days to show it. If it is not there yet, reply NO and our team will look"
    " into it today. Reply YES if all is well."
)


def _ladder(bundle: Path) -> None:
    """Due a second after the refund, no quiet hours, WhatsApp then SMS then email, and a
    message longer than one SMS."""
    _soon(bundle)
    goal = bundle / "goals" / "refund-feedback.yaml"
    text = goal.read_text().replace(
        "channels: [wa-main, sms-main]", "channels: [wa-main, sms-main, email-main]"
    )
    start = text.index("  message: ")
    end = text.index("\n", start)
    goal.write_text(text[:start] + f'  message: "{LONG}"' + text[end:])


def _receipt(server: Server, body: Any) -> httpx.Response:
    return httpx.post(server.url + "/v1/receipts", json=body, timeout=30)


def test_receipts_and_the_fallback_ladder_over_http(tmp_path: Path) -> None:
    payments, hook = Payments(), Webhook(200)
    live = _bundle(tmp_path, payments.url, _ladder)
    server = serve_with_outbound(tmp_path, live, hook)
    try:
        refund_and_confirm(server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not hook.received:
            time.sleep(0.2)
        [wa] = hook.received
        mid = wa["message_id"]
        assert (wa["profile"] == "wa-main" and mid == "refund-feedback:c1:0:1") or mid.endswith(
            ":1"
        )

        def ok(status: str, changed: bool, now: str, **extra: Any) -> None:
            r = _receipt(server, {"tenant": "acme", "message_id": mid, "status": status, **extra})
            assert r.status_code == 200, r.text
            assert r.json() == {"message_id": mid, "status": now, "changed": changed}, status

        bad = [
            ({"tenant": "acme", "message_id": mid, "status": "lost"}, 422, "invalid_receipt"),
            (
                {"tenant": "acme", "message_id": mid, "status": "undeliverable"},
                422,
                "invalid_receipt",
            ),
            ({"tenant": "acme", "status": "read"}, 422, "invalid_receipt"),
            (
                {"tenant": "acme", "message_id": mid, "status": "read", "x": 1},
                422,
                "invalid_receipt",
            ),
            ([1, 2], 422, "invalid_receipt"),
            ({"tenant": "nobody", "message_id": mid, "status": "read"}, 404, "unknown_tenant"),
            ({"tenant": "acme", "message_id": "nope", "status": "read"}, 404, "not_found"),
        ]
        for body, status, code in bad:
            r = _receipt(server, body)
            assert r.status_code == status, (body, r.text)
            assert r.json()["error"]["code"] == code and r.json()["error"]["message"]
        garbled = httpx.post(
            server.url + "/v1/receipts",
            content=b"{not json",
            timeout=10,
            headers={"content-type": "application/json"},
        )
        assert garbled.status_code == 422 and garbled.json()["error"]["code"] == "invalid_receipt"

        ok("delivered", True, "delivered")  # before "sent": jumps forward
        ok("sent", False, "delivered")  # late: never backwards
        ok("delivered", False, "delivered")  # duplicate
        ok("failed", True, "sent", error="not on WhatsApp")  # fell back to SMS
        sms = hook.received[-1]
        assert (sms["profile"], sms["channel"], sms["message_id"]) == ("sms-main", "sms", mid)
        assert len(sms["parts"]) > 1 and all(len(p) <= 160 for p in sms["parts"])
        for part in sms["parts"]:
            part.encode("gsm03.38")
        ok("failed", True, "sent")  # fell back to email
        email = hook.received[-1]
        assert email["profile"] == "email-main" and email["parts"][0].startswith("Hello Ana,")
        ok("failed", True, "undeliverable", error="bounced")
        ok("read", False, "undeliverable")
        ok("failed", False, "undeliverable")
        assert [m["profile"] for m in hook.received] == ["wa-main", "sms-main", "email-main"]
    finally:
        server.stop()
        payments.server.shutdown()
        hook.server.shutdown()
