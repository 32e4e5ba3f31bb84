"""The TurnGateway: bursts folded into one turn on the effective debounce, a message during a
running turn cancelling it (only while nothing but pure tools ran) or queueing behind it, and
every caller's answer (processed, coalesced, duplicate, queued)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from focalctl.compile import compile_paths
from runtime.conversations import TurnError, TurnRequest, TurnService
from runtime.gateway import TurnGateway
from runtime.ports import SimulatedClock, SystemClock
from runtime.ports.memory import MemoryState
from runtime.registry import SnapshotRegistry
from tests.conftest import REPO

from .test_engine import retail

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Tools:
    """A gateway that records calls and can hold one tool until the test releases it."""

    def __init__(self, hold: str | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.hold = hold
        self.entered = threading.Event()
        self.release = threading.Event()

    def call(self, name: str, spec: Mapping[str, Any], args: Mapping[str, Any]) -> Any:
        self.calls.append((name, dict(args)))
        if name == self.hold and not self.release.is_set():
            self.entered.set()
            assert self.release.wait(10), "the test never released the tool"
        if name == "lookup-order":
            return {"status": "delivered", "total": 42.0}
        return {"refund_id": "R-1"}

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.calls if n == name)


def _gateway(
    snapshot: tuple[str, bytes] | None = None,
    *,
    inline: bool,
    hold: str | None = None,
    wait_s: float = 10.0,
) -> tuple[TurnGateway, Tools, MemoryState]:
    reg = SnapshotRegistry()
    sid, raw = snapshot or retail()
    assert reg.offer("acme", "dev", 1, sid, raw, "test") is not None
    tools, state = Tools(hold), MemoryState()
    clock = SimulatedClock(T0) if inline else SystemClock()
    service = TurnService(reg, state, clock, {"http": tools, "internal": tools})
    gateway = TurnGateway(service, inline=inline, wait_s=wait_s)
    gateway.start()  # the timer, on the system clock (a no-op inline)
    return gateway, tools, state


def _msg(mid: str, text: str = "hi", channel: str = "wa-main", conv: str = "c1", **kw: Any) -> Any:
    return TurnRequest("acme", "support", channel, conv, mid, text, **kw)


def _advance(gw: TurnGateway, seconds: float) -> None:
    clock = gw.service.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(timedelta(seconds=seconds))
    gw.pump()


def test_messages_within_the_debounce_become_one_turn() -> None:
    gw, tools, state = _gateway(inline=True)  # wa-main: debounce 1500ms, maxBurst 6
    first = gw.submit(_msg("m1", "I want a refund", intent="refund"))
    _advance(gw, 0.5)
    second = gw.submit(_msg("m2", "for O-1", slots={"order_id": "O-1"}))
    _advance(gw, 1.4)  # 1.9 s after the first, 1.4 s after the last: not yet
    assert not first.done() and not second.done() and tools.calls == []
    _advance(gw, 0.2)
    a, b = first.result(0), second.result(0)
    assert (a.status, b.status) == ("processed", "coalesced")
    assert a.turn_id == b.turn_id and a.result == b.result
    conv = state.load("acme", "c1")
    assert conv is not None and conv.turns == 1
    assert conv.step == "confirm_refund" and conv.slots["order_id"] == "O-1"
    assert tools.count("lookup-order") == 1


def test_a_full_burst_runs_at_once_and_the_rest_waits_for_its_window() -> None:
    gw, _, state = _gateway(inline=True)  # maxBurst 6 on wa-main
    futures = [gw.submit(_msg(f"m{i}", f"part {i}")) for i in range(7)]
    assert [f.done() for f in futures] == [True] * 6 + [False]
    assert [f.result(0).status for f in futures[:6]] == ["processed"] + ["coalesced"] * 5
    _advance(gw, 1.5)
    assert futures[6].result(0).status == "processed"
    conv = state.load("acme", "c1")
    assert conv is not None and conv.turns == 2


def test_redeliveries_are_duplicates_while_pending_and_after_their_turn() -> None:
    gw, _, state = _gateway(inline=True)
    first = gw.submit(_msg("m1"))
    again = gw.submit(_msg("m1"))
    assert again.result(0).status == "duplicate" and not first.done()
    _advance(gw, 1.5)
    assert first.result(0).status == "processed"
    late = gw.submit(_msg("m1"))
    _advance(gw, 1.5)
    assert late.result(0).status == "duplicate"
    conv = state.load("acme", "c1")
    assert conv is not None and conv.turns == 1


def test_a_message_during_a_turn_of_pure_tools_cancels_it_and_both_run_as_one() -> None:
    gw, tools, state = _gateway(inline=False, hold="lookup-order")  # web-chat: webchat's 600ms
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(
            gw.handle,
            _msg(
                "m1", "where is O-1", "web-chat", intent="order_status", slots={"order_id": "O-1"}
            ),
        )
        assert tools.entered.wait(5)
        second = pool.submit(gw.handle, _msg("m2", "it's a tent", "web-chat"))
        _until(lambda: gw._conversations[("acme", "c1")].queue)
        tools.release.set()
        a, b = first.result(10), second.result(10)
    assert (a.status, b.status) == ("processed", "coalesced") and a.turn_id == b.turn_id
    conv = state.load("acme", "c1")
    assert conv is not None and conv.turns == 1
    kinds = [e.kind for e in state.events("acme")]
    assert kinds.count("turn.cancelled") == 1
    assert tools.count("lookup-order") == 1, "the pure call's record answers the rerun"
    gw.close()


def test_a_refund_turn_is_never_cancelled_the_next_message_queues_behind_it() -> None:
    gw, tools, state = _gateway(inline=False, hold="issue-refund")
    start = _msg("m1", "refund O-1", "web-chat", intent="refund", slots={"order_id": "O-1"})
    assert gw.handle(start).status == "processed"
    with ThreadPoolExecutor(2) as pool:
        yes = pool.submit(gw.handle, _msg("m2", "yes", "web-chat", intent="confirm"))
        assert tools.entered.wait(5)
        more = pool.submit(gw.handle, _msg("m3", "thanks!", "web-chat"))
        _until(lambda: gw._conversations[("acme", "c1")].queue)
        tools.release.set()
        a, b = yes.result(10), more.result(10)
    assert (a.status, b.status) == ("processed", "processed") and a.turn_id != b.turn_id
    assert tools.count("issue-refund") == 1
    assert "turn.cancelled" not in [e.kind for e in state.events("acme")]
    conv = state.load("acme", "c1")
    assert conv is not None and conv.turns == 3
    gw.close()


def test_with_cancel_safe_a_turn_that_ran_an_irreversible_tool_still_finishes(
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "retail"
    shutil.copytree(REPO / "examples" / "retail", bundle)
    refunds = bundle / "scenarios" / "refunds.yaml"
    refunds.write_text(refunds.read_text().replace("cancelInFlight: never", "cancelInFlight: safe"))
    snap = compile_paths([bundle]).snapshots["acme"]
    gw, tools, state = _gateway((snap.id, snap.raw), inline=False, hold="issue-refund")
    start = _msg("m1", "refund O-1", "web-chat", intent="refund", slots={"order_id": "O-1"})
    assert gw.handle(start).status == "processed"
    with ThreadPoolExecutor(2) as pool:
        yes = pool.submit(gw.handle, _msg("m2", "yes", "web-chat", intent="confirm"))
        assert tools.entered.wait(5)
        more = pool.submit(gw.handle, _msg("m3", "wait, no!", "web-chat"))
        _until(lambda: gw._conversations[("acme", "c1")].queue)
        tools.release.set()
        a, b = yes.result(10), more.result(10)
    assert (a.status, b.status) == ("processed", "processed")
    assert tools.count("issue-refund") == 1
    assert a.result is not None and "issue-refund" in [t.tool for t in a.result.tools]
    assert "turn.cancelled" not in [e.kind for e in state.events("acme")]
    gw.close()


def test_a_caller_whose_turn_waits_too_long_is_answered_queued_and_it_still_runs() -> None:
    gw, tools, state = _gateway(inline=False, hold="lookup-order", wait_s=0.2)
    ask = _msg("m1", "where is O-1", "web-chat", intent="order_status", slots={"order_id": "O-1"})
    answer = gw.handle(ask)
    assert answer.status == "queued" and answer.turn_id is None
    tools.release.set()
    _until(lambda: (c := state.load("acme", "c1")) is not None and c.turns == 1)
    assert gw.handle(ask, wait_s=5).status == "duplicate"  # after its debounce
    gw.close()


def test_the_timer_releases_a_burst_on_the_system_clock() -> None:
    gw, _, state = _gateway(inline=False)
    try:
        with ThreadPoolExecutor(2) as pool:
            a = pool.submit(gw.handle, _msg("m1", "refund", intent="refund"))
            b = pool.submit(gw.handle, _msg("m2", "O-1", slots={"order_id": "O-1"}))
            answers = sorted([a.result(10).status, b.result(10).status])
        assert answers == ["coalesced", "processed"]
        conv = state.load("acme", "c1")
        assert conv is not None and conv.turns == 1
    finally:
        gw.close()


def _until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.005)


GATEWAY_EVENT = st.one_of(
    st.tuples(
        st.just("say"),
        st.sampled_from(["a", "b"]),  # conversation
        st.sampled_from(["refund", "confirm", "deny", "store_credit", "refund_to_card", None]),
        st.sampled_from([None, "O-1", "O-7", "O-1", "banana"]),
        st.integers(0, 4000),  # ms since the previous event: within and beyond the debounce
    ),
    st.tuples(st.just("redeliver"), st.integers(0, 5), st.integers(0, 4000)),
)


@settings(
    max_examples=int(os.environ.get("FOCAL_TURN_EXAMPLES", 120)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(events=st.lists(GATEWAY_EVENT, min_size=1, max_size=25))
def test_through_the_gateway_every_message_is_in_exactly_one_turn_and_money_is_safe(
    events: list[tuple[Any, ...]],
) -> None:
    """Bursts, redeliveries (also of a message still waiting in its burst) and two
    conversations interleaved, on wa-main's 1500ms debounce; all within the 5-minute
    inbound window, so each message id is in exactly one turn."""
    gw, tools, state = _gateway(inline=True)
    sent: list[TurnRequest] = []
    answers: list[tuple[TurnRequest, Any]] = []
    accepted: set[str] = set()  # message ids the gateway took (a rate limit refuses some)
    for event in events:
        if event[0] == "say":
            _, conv, intent, order, gap = event
            request = _msg(
                f"m{len(sent)}",
                conv=conv,
                intent=intent,
                slots={"order_id": order} if order else {},
            )
            sent.append(request)
        else:
            _, back, gap = event
            if not sent:
                continue
            request = sent[max(0, len(sent) - 1 - back)]
        _advance(gw, gap / 1000)
        try:
            answers.append((request, gw.submit(request)))
        except TurnError as exc:  # refused before it was accepted: the sender must retry
            assert exc.code == "rate_limited", exc
            continue
        accepted.add(request.message_id)
    _advance(gw, 10)  # every window closes

    turns_of: dict[str, set[str]] = {}
    conversation_of_turn: dict[str, str] = {}
    for request, done in answers:
        assert done.done(), f"{request.message_id} was never answered"
        answer = done.result(0)
        if answer.status == "duplicate":
            continue
        assert answer.status in ("processed", "coalesced") and answer.turn_id
        turns_of.setdefault(request.message_id, set()).add(answer.turn_id)
        owner = conversation_of_turn.setdefault(answer.turn_id, request.conversation_id)
        assert owner == request.conversation_id, "a turn mixed two conversations"
    assert set(turns_of) == accepted, "a message was lost"
    assert all(len(t) == 1 for t in turns_of.values()), turns_of
    refunds = [args["order_id"] for name, args in tools.calls if name == "issue-refund"]
    assert len(refunds) == len(set(refunds))
    confirmed: set[tuple[str | None, str]] = set()
    for e in state.events("acme", limit=10_000):
        if e.kind == "confirmation.given":
            confirmed.add((e.conversation, e.data["key"]))
        if e.kind == "tool.call" and e.data["tool"] == "issue-refund":
            assert (e.conversation, e.data["key"]) in confirmed, e


def test_a_reload_in_the_middle_of_a_turn_lets_it_finish_on_its_snapshot(tmp_path: Path) -> None:
    gw, tools, _ = _gateway(inline=False, hold="lookup-order")
    old = gw.service.snapshots.get("acme")
    assert old is not None
    bundle = tmp_path / "retail"
    shutil.copytree(REPO / "examples" / "retail", bundle)
    status = bundle / "scenarios" / "order-status.yaml"
    status.write_text(
        status.read_text().replace(
            "Order {{ slots.order_id }} is", "Your order {{ slots.order_id }} is"
        )
    )
    new = compile_paths([bundle]).snapshots["acme"]
    ask = _msg("m1", "where is O-1", "web-chat", intent="order_status", slots={"order_id": "O-1"})
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(gw.handle, ask)
        assert tools.entered.wait(5)  # the turn is inside its tool call
        assert gw.service.snapshots.offer("acme", "dev", 2, new.id, new.raw, "test") is not None
        tools.release.set()
        answer = first.result(10)
    assert answer.snapshot == old.id and answer.result is not None
    assert answer.result.replies[-1].startswith("Order O-1 is"), "the old snapshot's words"
    again = gw.handle(
        _msg(
            "m2",
            "and O-2?",
            "web-chat",
            conv="c2",
            intent="order_status",
            slots={"order_id": "O-2"},
        )
    )
    assert again.snapshot == new.id and again.result is not None
    assert again.result.replies[-1].startswith("Your order O-2 is")
    gw.close()
