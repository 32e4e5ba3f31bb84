"""Per-profile delivery endpoints: a channel profile's `delivery` block sends its messages to
its own endpoint with its own secret, timeout and retries; profiles without one use the
runtime's default webhook (`serve --outbound URL`), or fail their hop when the runtime has
none (`--outbound profiles`), and the ladder moves on. Real HTTP servers, a real `serve`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime.agenda.outbound import DeliveryError, WebhookOutbound

from .helpers import free_port
from .test_agenda_http import Webhook, _soon, refund_and_confirm
from .test_server import Server
from .test_turn_integrity import SECRETS, Payments, _bundle

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _send(out: WebhookOutbound, profile: str, delivery: dict[str, object] | None) -> None:
    out.send("acme", "c1", profile, "sms", ["Hi"], AT, "m-1", delivery=delivery)


def test_a_profiles_endpoint_and_secret_win_over_the_default_webhook() -> None:
    default, own = Webhook(200), Webhook(200)
    try:
        out = WebhookOutbound(
            default.url,
            secret_env="DEFAULT_KEY",
            environ={"DEFAULT_KEY": "default-secret", "SMS_KEY": "sms-secret"},
            backoff=0.01,
        )
        _send(out, "sms-main", {"endpoint": own.url, "auth": {"secretRef": "SMS_KEY"}})
        _send(out, "email-main", None)
        assert [m["profile"] for m in own.received] == ["sms-main"]
        assert own.auth == ["Bearer sms-secret"]
        assert [m["profile"] for m in default.received] == ["email-main"]
        assert default.auth == ["Bearer default-secret"]
        assert own.received[0]["message_id"] == "m-1" and own.received[0]["parts"] == ["Hi"]
    finally:
        default.server.shutdown()
        own.server.shutdown()


def test_delivery_problems_name_the_fix_and_never_the_secret() -> None:
    failing = Webhook(503)
    try:
        out = WebhookOutbound(None, environ={"SMS_KEY": "sms-secret"}, backoff=0.01)
        with pytest.raises(DeliveryError, match=r"has no delivery endpoint.*--outbound URL"):
            _send(out, "email-main", None)
        with pytest.raises(DeliveryError, match=r"environment variable WA_KEY .* is not set"):
            _send(out, "wa-main", {"endpoint": failing.url, "auth": {"secretRef": "WA_KEY"}})
        assert failing.received == [], "nothing is sent without its secret"
        delivery = {"endpoint": failing.url, "auth": {"secretRef": "SMS_KEY"}, "retries": 3}
        with pytest.raises(DeliveryError) as caught:
            _send(out, "sms-main", delivery)
        assert "HTTP 503" in str(caught.value) and "sms-secret" not in str(caught.value)
        assert len(failing.received) == 4, "the first try and three retries"
    finally:
        failing.server.shutdown()


def test_a_profiles_timeout_is_its_own() -> None:
    import socket

    silent = socket.socket()  # accepts, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
    try:
        out = WebhookOutbound(None, backoff=0.01)
        started = time.monotonic()
        with pytest.raises(DeliveryError, match=r"timed out after 0\.2 s"):
            _send(out, "sms-main", {"endpoint": url, "timeout": "200ms", "retries": 0})
        assert time.monotonic() - started < 2
    finally:
        silent.close()


def _endpoints(wa: str, sms: str) -> Callable[[Path], None]:
    def edit(bundle: Path) -> None:
        _soon(bundle)
        profiles = bundle / "channels" / "profiles.yaml"
        text = profiles.read_text()
        text = text.replace(
            "  fallback: [sms-main, email-main]\n",
            f"  fallback: [sms-main, email-main]\n  delivery: {{endpoint: '{wa}'}}\n",
        ).replace(
            "  fallback: [email-main]\n",
            "  fallback: [email-main]\n"
            f"  delivery: {{endpoint: '{sms}', auth: {{secretRef: ACME_SMS_HOOK}}, retries: 0}}\n",
        )
        profiles.write_text(text)

    return edit


def test_serve_outbound_profiles_sends_through_each_profiles_endpoint(tmp_path: Path) -> None:
    """WhatsApp's endpoint is down (503, retried twice); SMS's endpoint takes it with its own
    secret; email has no endpoint and would need a default webhook."""
    payments, wa, sms = Payments(), Webhook(503), Webhook(200)
    live = _bundle(tmp_path, payments.url, _endpoints(wa.url, sms.url))
    state = ["--state", f"sqlite:///{tmp_path / 'state.db'}", "--outbound", "profiles"]
    env = {**SECRETS, "ACME_SMS_HOOK": "sms-hook-secret"}
    server = Server(f"file:{live}", tmp_path, free_port(), state, env)
    try:
        refund_and_confirm(server)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not sms.received:
            time.sleep(0.2)
        assert [m["profile"] for m in sms.received] == ["sms-main"], server.log.read_text()
        assert sms.auth == ["Bearer sms-hook-secret"]
        assert len(wa.received) == 3 and {m["profile"] for m in wa.received} == {"wa-main"}
        assert all(len(p) <= 160 for p in sms.received[0]["parts"])
        log = server.log.read_text()
        assert "sms-hook-secret" not in log
        assert "the channel profiles' delivery endpoints" in log
    finally:
        server.stop()
        payments.server.shutdown()
        wa.server.shutdown()
        sms.server.shutdown()
