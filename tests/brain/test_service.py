"""The turn service in process: rate limits, and the money-safety invariants under random
conversations (bursts, redeliveries, confirmations, denials, two conversations interleaved)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.conversations import TurnError, TurnRequest, TurnService
from runtime.ports import SimulatedClock
from runtime.ports.memory import MemoryState
from runtime.registry import SnapshotRegistry
from runtime.turns import limits_for

from .test_engine import retail

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class RecordingTools:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, name: str, spec: Mapping[str, Any], args: Mapping[str, Any]) -> Any:
        self.calls.append((name, dict(args)))
        if name == "lookup-order":
            total = 150.0 if str(args["order_id"]).endswith("7") else 40.0
            return {"status": "delivered", "total": total}
        return {"refund_id": f"R-{args.get('order_id')}", "amount": args.get("amount")}


def _service() -> tuple[TurnService, SimulatedClock, RecordingTools, MemoryState]:
    reg = SnapshotRegistry()
    sid, raw = retail()
    assert reg.offer("acme", "dev", 1, sid, raw, "test") is not None
    clock, tools, state = SimulatedClock(T0), RecordingTools(), MemoryState()
    return TurnService(reg, state, clock, {"http": tools, "internal": tools}), clock, tools, state


def _request(conv: str, mid: str, **fields: Any) -> TurnRequest:
    return TurnRequest("acme", "support", "wa-main", conv, mid, fields.pop("text", "hi"), **fields)


def test_the_tenant_and_channel_limits_answer_with_a_retry_after() -> None:
    service, clock, _, _ = _service()
    tenant_rate, tenant_burst = limits_for(
        service.compiled(*retail()).tenant["spec"]  # pro tier: 600 / 50
    )
    profile_burst = max(1, 60 // 6)  # wa-main: whatsapp's 60 per minute
    allowed = min(tenant_burst, profile_burst)
    for i in range(allowed):
        service.handle(_request(f"c{i}", f"m{i}"))
    with pytest.raises(TurnError) as info:
        service.handle(_request("cx", "mx"))
    assert info.value.code == "rate_limited" and info.value.retry_after == 1
    clock.advance(timedelta(seconds=1))
    assert service.handle(_request("cx", "mx")).status == "processed"
    assert tenant_rate == 600


EVENT = st.one_of(
    st.tuples(
        st.just("say"),
        st.sampled_from(["a", "b"]),  # conversation
        st.sampled_from(["refund", "confirm", "deny", "store_credit", "refund_to_card", None]),
        st.sampled_from([None, "O-1", "O-7", "O-1", "banana"]),
        st.integers(1, 40),  # seconds since the previous event
    ),
    st.tuples(st.just("redeliver"), st.integers(0, 5), st.integers(1, 40)),
)


@settings(
    max_examples=int(os.environ.get("FOCAL_TURN_EXAMPLES", 150)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(events=st.lists(EVENT, min_size=1, max_size=25))
def test_no_money_moves_twice_or_unconfirmed_and_no_message_is_lost(
    events: list[tuple[Any, ...]],
) -> None:
    service, clock, tools, state = _service()
    sent: list[tuple[TurnRequest, datetime]] = []
    outcomes: dict[str, list[tuple[datetime, str]]] = {}
    for event in events:
        if event[0] == "say":
            _, conv, intent, order, gap = event
            clock.advance(timedelta(seconds=gap))
            slots = {"order_id": order} if order else {}
            request = _request(conv, f"m{len(sent)}", intent=intent, slots=slots)
            sent.append((request, clock.now()))
        else:
            _, back, gap = event
            if not sent:
                continue
            clock.advance(timedelta(seconds=gap))
            request = sent[max(0, len(sent) - 1 - back)][0]
        status = service.handle(request).status
        outcomes.setdefault(request.message_id, []).append((clock.now(), status))

    # a delivery is processed exactly when no delivery of its id was processed in the
    # 5 minutes before it (the inbound window); every other one is a duplicate
    window = timedelta(minutes=5)
    for mid, seen in outcomes.items():
        last_processed: datetime | None = None
        for at, status in seen:
            fresh = last_processed is None or at - last_processed >= window
            assert status == ("processed" if fresh else "duplicate"), (mid, seen)
            if status == "processed":
                last_processed = at
    # no refund executes twice for one order (its business key), whatever the conversation
    refunds = [args["order_id"] for name, args in tools.calls if name == "issue-refund"]
    assert len(refunds) == len(set(refunds))
    # every refund that ran was confirmed first, for exactly that key, in its conversation
    for tenant_events in [state.events("acme", limit=10_000)]:
        confirmed: set[tuple[str | None, str]] = set()
        for e in tenant_events:
            if e.kind == "confirmation.given":
                confirmed.add((e.conversation, e.data["key"]))
            if e.kind == "tool.call" and e.data["tool"] == "issue-refund":
                assert (e.conversation, e.data["key"]) in confirmed, e


def test_a_turn_that_fails_to_be_stored_is_run_again_on_the_senders_retry() -> None:
    service, _, tools, state = _service()

    class Flaky(MemoryState):
        failures = 1

        def save(self, conversation: Any, now: datetime) -> Any:
            if Flaky.failures:
                Flaky.failures -= 1
                raise ConnectionError("state backend went away")
            return super().save(conversation, now)

    flaky = Flaky()
    service.state = flaky
    request = _request("c1", "m1", intent="order_status")
    with pytest.raises(ConnectionError):
        service.handle(request)
    retry = service.handle(request)
    assert retry.status == "processed", "the retry must not be taken for a duplicate"
    assert service.handle(request).status == "duplicate"
    assert state is not flaky and tools.calls == []


def test_the_reply_is_formatted_for_the_channel_profile() -> None:
    service, _, _, _ = _service()
    profile = {"first_name": "Ana"}
    email = service.handle(
        TurnRequest("acme", "support", "email-main", "e1", "m1", "refund", "refund", {}, profile)
    )
    [part] = email.parts
    assert part.startswith("Hello Ana,\n\n") and part.endswith("The Acme Outdoor team")
    assert "I'm sorry to hear that." in part
    sms = service.handle(
        TurnRequest(
            "acme", "support", "sms-main", "s1", "m1", "refund", "refund", {"order_id": "O-1"}
        )
    )
    # one message: the three steps' replies and the signature once, split at 160 characters
    assert len(sms.parts) == 2 and all(len(p) <= 160 for p in sms.parts)
    assert sms.parts[0].startswith("Sorry to hear that.") and sms.parts[-1].endswith("- Acme")
    assert "".join(sms.parts).count("- Acme") == 1
    assert sms.to_json()["reply"]["parts"] == list(sms.parts)
    chat = service.handle(
        TurnRequest(
            "acme", "support", "web-chat", "w1", "m1", "refund", "refund", {"order_id": "O-1"}
        )
    )
    assert chat.result is not None and list(chat.parts) == chat.result.replies  # a bubble each
