"""The ToolEffectRegistry on every state backend: exactly-once effects, confirmations,
replays, crash recovery, compensation; and the HTTP gateway against a real local server."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runtime.ports import CallStatus, SimulatedClock, StateBackend, ToolCall, open_state
from runtime.tools import (
    GatewayError,
    HttpGateway,
    InternalGateway,
    Outcome,
    ToolEffectRegistry,
    idempotency_key,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
REFUND = {
    "effect": "irreversible",
    "gateway": {"type": "internal", "endpoint": "refund"},
    "confirmation": {"required": True, "prompt": "Refund {{ args.amount }}?"},
    "idempotencyKey": ["order_id"],
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
        "required": ["order_id", "amount"],
    },
    "timeout": "5s",
}
LOOKUP = {"effect": "pure", "gateway": {"type": "internal", "endpoint": "lookup"}}
CREDIT = {
    "effect": "compensatable",
    "compensation": "revoke-credit",
    "gateway": {"type": "internal", "endpoint": "credit"},
}
REVOKE = {"effect": "idempotent", "gateway": {"type": "internal", "endpoint": "revoke"}}


@pytest.fixture(params=["memory", "sqlite", "postgresql", "redis"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateBackend]:
    kind = request.param
    url = {
        "memory": lambda: "memory",
        "sqlite": lambda: f"sqlite:///{tmp_path / 'state.db'}",
        "postgresql": lambda: request.getfixturevalue("pg_url"),
        "redis": lambda: (
            f"{request.getfixturevalue('redis_url')}?prefix="
            + request.getfixturevalue("redis_prefix")
        ),
    }[kind]()
    backend = open_state(url)
    yield backend
    backend.close()


class Calls:
    def __init__(self) -> None:
        self.log: list[tuple[str, dict[str, Any]]] = []
        self.fail = False
        self.lock = threading.Lock()

    def gateway(self) -> InternalGateway:
        def fn(name: str) -> Any:
            def run(args: dict[str, Any]) -> Any:
                with self.lock:
                    self.log.append((name, args))
                if self.fail:
                    raise RuntimeError("bank unavailable")
                return {"ok": name, "items": []}

            return run

        return InternalGateway({n: fn(n) for n in ("refund", "lookup", "credit", "revoke")})


UNKEYED = {k: v for k, v in REFUND.items() if k != "idempotencyKey"}


def _registry(state: StateBackend, calls: Calls) -> tuple[ToolEffectRegistry, SimulatedClock]:
    clock = SimulatedClock(T0)
    return ToolEffectRegistry(state, clock, {"internal": calls.gateway()}), clock


ARGS = {"order_id": "O-1", "amount": 42.5}


def test_an_irreversible_call_needs_a_confirmation_for_exactly_its_key(state: StateBackend) -> None:
    calls = Calls()
    reg, _ = _registry(state, calls)
    first = reg.call("acme", "issue-refund", REFUND, ARGS, conversation="c1", turn="t1")
    assert first.outcome == Outcome.NEEDS_CONFIRMATION and calls.log == []
    other = idempotency_key("issue-refund", REFUND, {"order_id": "O-2", "amount": 1})
    assert reg.call("acme", "issue-refund", REFUND, ARGS, confirmed={other}).outcome == (
        Outcome.NEEDS_CONFIRMATION
    )
    done = reg.call("acme", "issue-refund", REFUND, ARGS, confirmed={first.key})
    assert done.outcome == Outcome.EXECUTED and done.result == {"ok": "refund", "items": []}
    kinds = [e.kind for e in state.events("acme")]
    assert kinds == ["tool.refused", "tool.refused", "tool.call", "tool.result"]


def test_a_repeat_is_answered_from_the_record_by_business_key(state: StateBackend) -> None:
    calls = Calls()
    reg, clock = _registry(state, calls)
    key = idempotency_key("issue-refund", REFUND, ARGS)
    assert reg.call("acme", "issue-refund", REFUND, ARGS, confirmed={key}).outcome == "executed"
    clock.advance(timedelta(hours=23))
    again = reg.call("acme", "issue-refund", REFUND, {**ARGS, "amount": 43}, confirmed={key})
    assert again.outcome == Outcome.REPLAYED and again.result == {"ok": "refund", "items": []}
    assert len(calls.log) == 1


def test_racing_turns_execute_an_irreversible_call_once(state: StateBackend) -> None:
    calls = Calls()
    reg, _ = _registry(state, calls)
    key = idempotency_key("issue-refund", REFUND, ARGS)
    outcomes: list[str] = []

    def go() -> None:
        outcomes.append(reg.call("acme", "issue-refund", REFUND, ARGS, confirmed={key}).outcome)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls.log) == 1
    assert outcomes.count(Outcome.EXECUTED) == 1
    assert set(outcomes) <= {Outcome.EXECUTED, Outcome.REPLAYED, Outcome.IN_FLIGHT}


def test_args_that_do_not_fit_the_parameters_are_refused_before_anything_runs(
    state: StateBackend,
) -> None:
    calls = Calls()
    reg, _ = _registry(state, calls)
    bad = reg.call("acme", "issue-refund", REFUND, {"order_id": 7}, confirmed={"x"})
    assert bad.outcome == Outcome.INVALID and calls.log == []
    assert "amount" in (bad.error or "") and "order_id" in (bad.error or "")


def test_a_call_in_flight_when_its_process_died_is_never_repeated_blindly(
    state: StateBackend,
) -> None:
    """An irreversible tool without an idempotency key: its endpoint cannot be asked."""
    calls = Calls()
    reg, clock = _registry(state, calls)
    key = idempotency_key("issue-refund", UNKEYED, ARGS)
    # what a process that died mid-call leaves behind: the claim, no result
    state.begin(
        ToolCall(
            "acme", key, "issue-refund", ARGS, CallStatus.IN_FLIGHT, T0, T0 + timedelta(hours=24)
        )
    )
    lookup_key = idempotency_key("lookup-order", LOOKUP, {"order_id": "O-1"})
    state.begin(
        ToolCall(
            "acme",
            lookup_key,
            "lookup-order",
            {"order_id": "O-1"},
            CallStatus.IN_FLIGHT,
            T0,
            T0 + timedelta(hours=24),
        )
    )
    specs = {"issue-refund": UNKEYED, "lookup-order": LOOKUP}
    assert reg.call("acme", "issue-refund", UNKEYED, ARGS, confirmed={key}).outcome == "in_flight"
    assert reg.recover("acme", specs) == []  # too recent: it may still be running
    clock.advance(timedelta(minutes=2))
    changed = {c.tool: c.status for c in reg.recover("acme", specs)}
    assert changed == {"issue-refund": CallStatus.UNKNOWN, "lookup-order": CallStatus.FAILED}
    unknown = reg.call("acme", "issue-refund", UNKEYED, ARGS, confirmed={key})
    assert unknown.outcome == Outcome.UNKNOWN and calls.log == []
    assert reg.call("acme", "lookup-order", LOOKUP, {"order_id": "O-1"}).outcome == "executed"
    assert [e.kind for e in state.events("acme") if e.kind.startswith("tool.u")] == ["tool.unknown"]


def test_a_keyed_call_in_flight_when_its_process_died_is_asked_again_with_its_key(
    state: StateBackend,
) -> None:
    calls = Calls()
    reg, clock = _registry(state, calls)
    key = idempotency_key("issue-refund", REFUND, ARGS)
    state.begin(
        ToolCall(
            "acme", key, "issue-refund", ARGS, CallStatus.IN_FLIGHT, T0, T0 + timedelta(hours=24)
        )
    )
    specs = {"issue-refund": REFUND}
    calls.fail = True  # the endpoint is down: the call stays in flight for the next sweep
    clock.advance(timedelta(minutes=2))
    assert reg.recover("acme", specs) == []
    assert [c.key for c in state.in_flight("acme")] == [key]
    calls.fail = False
    changed = reg.recover("acme", specs)
    assert [(c.tool, c.status) for c in changed] == [("issue-refund", CallStatus.SUCCEEDED)]
    again = reg.call("acme", "issue-refund", REFUND, ARGS, confirmed={key})
    assert again.outcome == Outcome.REPLAYED and again.result == changed[0].result
    kinds = [e.kind for e in state.events("acme") if e.kind.startswith("tool.")]
    assert kinds == ["tool.reconcile_failed", "tool.reconciled", "tool.replayed"]


def test_a_failed_call_is_retried_only_where_that_is_safe(state: StateBackend) -> None:
    calls = Calls()
    reg, _ = _registry(state, calls)
    calls.fail = True
    key = idempotency_key("issue-refund", REFUND, ARGS)
    failed = reg.call("acme", "issue-refund", REFUND, ARGS, confirmed={key})
    assert failed.outcome == Outcome.FAILED and "bank unavailable" in (failed.error or "")
    assert reg.call("acme", "lookup-order", LOOKUP, {"q": 1}).outcome == Outcome.FAILED
    calls.fail = False
    assert reg.call("acme", "issue-refund", REFUND, ARGS, confirmed={key}).outcome == "failed"
    assert reg.call("acme", "lookup-order", LOOKUP, {"q": 1}).outcome == Outcome.EXECUTED
    assert [name for name, _ in calls.log] == ["refund", "lookup", "lookup"]


def test_a_compensatable_effect_is_undone_by_its_compensation(state: StateBackend) -> None:
    calls = Calls()
    reg, _ = _registry(state, calls)
    done = reg.call("acme", "issue-credit", CREDIT, {"amount": 5}, conversation="c1")
    assert done.outcome == Outcome.EXECUTED
    undo = reg.compensate("acme", done.key, "revoke-credit", REVOKE, conversation="c1")
    assert undo.outcome == Outcome.EXECUTED
    assert calls.log == [("credit", {"amount": 5}), ("revoke", {"amount": 5})]
    assert state.lookup("acme", done.key).status == CallStatus.COMPENSATED  # type: ignore[union-attr]
    assert reg.compensate("acme", done.key, "revoke-credit", REVOKE).outcome == Outcome.FAILED
    assert "tool.compensated" in [e.kind for e in state.events("acme")]


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.seen.append((self.path, self.headers.get("Authorization"), body))
        if self.path.startswith("/slow"):
            threading.Event().wait(1.0)
        status = 500 if self.path.startswith("/broken") else 200
        payload = json.dumps({"refund_id": "R-9"}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except BrokenPipeError:  # the client timed out first, as the test wants
            pass

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_http_gateway_against_a_real_server(http_server: str) -> None:
    secret = "s3cr3t-token-value"
    gateway = HttpGateway({"BANK_TOKEN": secret})
    spec = {
        "gateway": {
            "type": "http",
            "endpoint": http_server + "/orders/{{ args.order_id }}/refund",
            "auth": {"secretRef": "BANK_TOKEN"},
        },
        "timeout": "300ms",
    }
    assert gateway.call("issue-refund", spec, ARGS) == {"refund_id": "R-9"}
    assert _Handler.seen[-1] == ("/orders/O-1/refund", f"Bearer {secret}", ARGS)
    for path, says in (("/slow", "timed out after 0.3 s"), ("/broken", "HTTP 500")):
        with pytest.raises(GatewayError) as info:
            gateway.call(
                "t", {**spec, "gateway": {**spec["gateway"], "endpoint": http_server + path}}, ARGS
            )
        assert says in str(info.value) and secret not in str(info.value)
    with pytest.raises(GatewayError, match="BANK_TOKEN"):
        HttpGateway({}).call("t", spec, ARGS)
