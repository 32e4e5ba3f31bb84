"""Turn integrity across real processes: two `focalctl serve` processes sharing Redis or
PostgreSQL state, and a server SIGKILLed before, during and after an irreversible call.

The retail example runs with its HTTP tools pointed at a local payments API that honours
``Idempotency-Key`` (as real payment APIs do) and counts what it actually executed; that
count is the ground truth: one refund per order, whatever crashed where.
"""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from focalctl.compile import compile_paths
from focalctl.publish import FileTarget
from runtime.layout import Pointer
from runtime.ports import open_state
from tests.conftest import REPO

from .helpers import free_port
from .test_server import Server

SECRETS = {"ACME_ORDERS_TOKEN": "orders-secret", "ACME_PAYMENTS_TOKEN": "payments-secret"}


class Payments:
    """Orders and refunds over HTTP. A refund with an Idempotency-Key seen before is answered
    from the record and not executed again; ``hold`` parks the next refund until released."""

    def __init__(self) -> None:
        self.executed: list[dict[str, Any]] = []
        self.answers: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.hold = False
        self.arrived = threading.Event()
        self.release = threading.Event()
        payments = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.startswith("/orders/"):
                    answer = {"order_id": body["order_id"], "status": "delivered", "total": 42.0}
                else:
                    answer = payments.refund(body, self.headers.get("Idempotency-Key"))
                data = json.dumps(answer).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the caller died while we held its request

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def refund(self, body: dict[str, Any], key: str | None) -> dict[str, Any]:
        assert key, "a refund without an Idempotency-Key"
        with self.lock:
            if key in self.answers:
                return self.answers[key]
            self.executed.append(body)
            answer = {"refund_id": f"R-{len(self.executed)}", "amount": body["amount"]}
            self.answers[key] = answer
            hold = self.hold
        if hold:  # executed; the answer is held back
            self.arrived.set()
            self.release.wait(20)
        return answer

    def refunds_of(self, order: str) -> int:
        return sum(1 for b in self.executed if b["order_id"] == order)


@pytest.fixture
def payments() -> Iterator[Payments]:
    api = Payments()
    yield api
    api.release.set()
    api.server.shutdown()


def _bundle(tmp: Path, api: str, edit: Callable[[Path], None] | None = None) -> Path:
    """The retail example against the local API, web-chat without debounce or a tight rate
    limit, 3 s refunds;
    ``edit`` may change the copy further before it is compiled and published."""
    bundle = tmp / "retail"
    shutil.copytree(REPO / "examples" / "retail", bundle)
    if edit is not None:
        edit(bundle)
    tools = bundle / "tools" / "orders.yaml"
    tools.write_text(
        tools.read_text()
        .replace("https://api.acme.example/v2", api)
        .replace("https://payments.acme.example/v1", api)
        .replace("timeout: 15s", "timeout: 3s")
    )
    profiles = bundle / "channels" / "profiles.yaml"
    profiles.write_text(  # no debounce, and limits the load of these tests never reaches
        profiles.read_text()
        .replace(
            "  channel: webchat\n", "  channel: webchat\n  settings:\n    turn: {debounce: '0'}\n"
        )
        .replace("rateLimit: {perMinute: 120}", "rateLimit: {perMinute: 100000}")
    )
    snap = compile_paths([bundle]).snapshots["acme"]
    FileTarget(tmp / "live").publish(Pointer("acme", "dev", 1, snap.id), snap.raw)
    return tmp / "live"


def _state(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return (
        f"{request.getfixturevalue('redis_url')}?prefix={request.getfixturevalue('redis_prefix')}"
    )


def _server(tmp: Path, live: Path, state: str, failpoints: str = "", lease: str = "2s") -> Server:
    """A crash test's short lease makes recovery quick; where no server dies, a long one keeps
    a turn slowed by a loaded machine from losing its lease to the other server (a 409)."""
    env = {**SECRETS, "FOCAL_FAILPOINTS": failpoints}
    extra = ["--state", state, "--turn-lease", lease, "--cache-dir", str(tmp / f"c{free_port()}")]
    return Server(f"file:{live}", tmp, free_port(), extra, env)


def _turn(server: Server, conv: str, mid: str, text: str, **fields: Any) -> httpx.Response:
    body = {
        "tenant": "acme",
        "agent": "support",
        "channel": "web-chat",
        "conversation_id": conv,
        "message_id": mid,
        "text": text,
        **fields,
    }
    return httpx.post(server.url + "/v1/turns", json=body, timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["redis", "postgresql"])
def test_two_servers_sharing_state_run_each_message_once_and_each_refund_once(
    backend: str, tmp_path: Path, payments: Payments, request: pytest.FixtureRequest
) -> None:
    live = _bundle(tmp_path, payments.url)
    state = _state(backend, request)
    a, b = _server(tmp_path, live, state, lease="15s"), _server(tmp_path, live, state, lease="15s")
    conversations = [f"c{i}" for i in range(12)]

    def converse(conv: str) -> list[tuple[str, str, str | None]]:
        order = f"O-{conv[1:]}"
        start = _turn(a, conv, "m1", f"refund {order}", intent="refund", slots={"order_id": order})
        assert start.status_code == 200, start.text
        with ThreadPoolExecutor(3) as pool:  # one conversation's messages on both servers
            sent = [
                ("m2", pool.submit(_turn, a, conv, "m2", "yes", intent="confirm")),
                ("m2", pool.submit(_turn, b, conv, "m2", "yes", intent="confirm")),  # redelivery
                ("m3", pool.submit(_turn, b, conv, "m3", "yes please", intent="confirm")),
            ]
            answers = [(mid, done.result()) for mid, done in sent]
        for _, answer in answers:
            assert answer.status_code == 200, answer.text
        return [(mid, a.json()["status"], a.json()["turn_id"]) for mid, a in answers]

    try:
        with ThreadPoolExecutor(6) as pool:
            outcomes = dict(zip(conversations, pool.map(converse, conversations), strict=True))
    finally:
        a.stop()
        b.stop()
    backend_state = open_state(state)
    try:
        for conv, answers in outcomes.items():
            # each message is in exactly one turn (a second delivery is a duplicate; two
            # messages on one server may share a turn), and the refund ran once
            taken = [(mid, status) for mid, status, _ in answers if status != "duplicate"]
            assert sorted(mid for mid, _ in taken) == ["m2", "m3"], (conv, answers)
            assert {status for _, status in taken} <= {"processed", "coalesced"}, answers
            assert payments.refunds_of(f"O-{conv[1:]}") == 1, conv
            turns = {turn for _, status, turn in answers if status != "duplicate"}
            stored = backend_state.load("acme", conv)
            assert stored is not None and stored.turns == 1 + len(turns), (conv, answers)
    finally:
        backend_state.close()


KILLS = [
    "tool.before:issue-refund",
    "during",
    "tool.after:issue-refund",
    "turn.before-save:issue-refund",
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "kill"),
    [("redis", k) for k in KILLS] + [("postgresql", "during")],
)
def test_a_server_killed_mid_turn_leaves_nothing_stuck_lost_or_repeated(
    backend: str, kill: str, tmp_path: Path, payments: Payments, request: pytest.FixtureRequest
) -> None:
    live = _bundle(tmp_path, payments.url)
    state = _state(backend, request)
    doomed = _server(tmp_path, live, state, "" if kill == "during" else kill)
    survivor = _server(tmp_path, live, state)
    try:
        start = _turn(doomed, "c1", "m1", "refund O-1", intent="refund", slots={"order_id": "O-1"})
        assert start.json()["step"] == "confirm_refund", start.text
        payments.hold = kill == "during"
        with ThreadPoolExecutor(1) as pool:
            yes = pool.submit(_turn, doomed, "c1", "m2", "yes", intent="confirm")
            if kill == "during":
                assert payments.arrived.wait(10), "the refund never reached the API"
                doomed.proc.send_signal(signal.SIGKILL)
            with pytest.raises(httpx.HTTPError):
                yes.result()  # the connection dies with the process
        assert doomed.proc.wait(10) == -signal.SIGKILL
        payments.release.set()

        # the sender retries on the other server: the dead turn's lease expires, the message
        # was never recorded as taken, so it runs now (never dropped as a duplicate)
        retry = _turn(survivor, "c1", "m2", "yes", intent="confirm")
        assert retry.status_code == 200, retry.text
        body = retry.json()
        assert body["status"] == "processed", body
        refund = [t for t in body["tools"] if t["tool"] == "issue-refund"]
        if kill.startswith("turn.before-save"):  # the call finished: its record answers
            assert [t["status"] for t in refund] == ["replayed"], body
        else:  # in flight when the process died: never re-run blindly
            assert [t["status"] for t in refund] == ["in_flight"], body
            assert "still being checked" in body["reply"]["parts"][-1]
            _wait_reconciled(state)
            done = _turn(survivor, "c1", "m3", "yes", intent="confirm")
            body = done.json()
            assert [t["status"] for t in body["tools"] if t["tool"] == "issue-refund"] == [
                "replayed"
            ], body
        assert any("is on its way" in part for part in body["reply"]["parts"]), body
        assert payments.refunds_of("O-1") == 1, payments.executed
        assert _turn(survivor, "c1", "m2", "yes", intent="confirm").json()["status"] == (
            "duplicate"
        )
    finally:
        payments.release.set()
        survivor.stop()
        if doomed.proc.poll() is None:
            doomed.stop()


def _wait_reconciled(state: str, timeout: float = 20.0) -> None:
    """Until a survivor's sweep has reconciled the call (timeout 3 s + lease 2 s)."""
    backend = open_state(state)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            kinds = [e.kind for e in backend.events("acme", limit=10_000)]
            if "tool.reconciled" in kinds:
                return
            time.sleep(0.2)
        raise AssertionError(f"never reconciled; audit: {kinds}")
    finally:
        backend.close()
