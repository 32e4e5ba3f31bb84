"""The message log's contract for every state backend (memory, SQLite, PostgreSQL, Redis):
an outbound message is recorded once; delivery receipts only move its status forward
(queued < sent < delivered < read; failed and undeliverable final), atomically, even when
many race; a failed message falls back once (the only way back to sent)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runtime.ports import MessageStatus, OutboundMessage, StateBackend, open_state
from runtime.ports.records import receipt_moves

from .test_agenda import BACKENDS, _url

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture(params=BACKENDS)
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateBackend]:
    backend = open_state(_url(request.param, request, tmp_path))
    yield backend
    backend.close()


def _message(
    n: int | str = 1, *, tenant: str = "acme", conversation: str = "c1"
) -> OutboundMessage:
    return OutboundMessage(
        tenant=tenant,
        id=f"refund-feedback:{conversation}:0:{n}",
        conversation=conversation,
        action=f"refund-feedback:{conversation}:0",
        profile="wa-main",
        channel="whatsapp",
        parts=("Hi Ana, did your refund arrive? ☕",),
        text="Hi Ana, did your refund arrive? ☕",
        status=MessageStatus.SENT,
        ladder=("sms-main", "email-main"),
        hops=({"profile": "wa-main", "result": "sent", "at": T0.isoformat()},),
        created_at=T0,
        updated_at=T0,
    )


@pytest.mark.parametrize(
    ("current", "status", "moves"),
    [
        ("queued", "sent", True),
        ("sent", "delivered", True),
        ("sent", "read", True),  # delivered's receipt was lost: jump forward
        ("delivered", "sent", False),  # late: never backwards
        ("read", "delivered", False),
        ("sent", "sent", False),  # duplicate
        ("delivered", "failed", True),
        ("failed", "sent", False),  # final
        ("failed", "failed", False),
        ("undeliverable", "read", False),
        ("sent", "bogus", False),
    ],
)
def test_the_receipt_rule(current: str, status: str, moves: bool) -> None:
    assert receipt_moves(current, status) is moves


def test_a_message_is_recorded_once_and_read_back_exactly(state: StateBackend) -> None:
    assert state.record(_message())
    assert not state.record(replace(_message(), profile="sms-main")), "the id exists"
    assert state.message("acme", _message().id) == _message()
    assert state.record(_message(tenant="other")), "ids are per tenant"
    assert state.message("acme", "nope") is None
    assert state.record(replace(_message(2), created_at=T0 - MINUTE, updated_at=T0 - MINUTE))
    assert state.record(_message(3, conversation="c2"))
    assert [m.id for m in state.messages("acme", "c1")] == [_message(2).id, _message().id]


def test_receipts_move_forward_only(state: StateBackend) -> None:
    state.record(_message())
    key = ("acme", _message().id)
    msg, changed = state.receipt(*key, "delivered", T0 + MINUTE)
    assert changed and msg is not None and msg.status == MessageStatus.DELIVERED
    assert msg.revision == 1 and msg.updated_at == T0 + MINUTE
    assert msg.hops[-1] == {
        "profile": "wa-main",
        "result": "delivered",
        "at": (T0 + MINUTE).isoformat(),
    }
    for late in ("sent", "delivered", "queued"):  # out of order, duplicate: no-ops
        again, changed = state.receipt(*key, late, T0 + 2 * MINUTE)
        assert not changed and again == msg
    read, changed = state.receipt(*key, "read", T0 + 3 * MINUTE)
    assert changed and read is not None and read.status == "read" and read.revision == 2
    assert state.message(*key) == read
    assert state.receipt("acme", "unknown", "read", T0) == (None, False)


def test_failed_is_final_and_falls_back_once(state: StateBackend) -> None:
    state.record(_message())
    key = ("acme", _message().id)
    failed, changed = state.receipt(*key, "failed", T0 + MINUTE, "number not on WhatsApp")
    assert changed and failed is not None and failed.status == "failed"
    assert failed.error == "number not on WhatsApp"
    assert failed.hops[-1]["error"] == "number not on WhatsApp"
    for status in ("sent", "read", "failed"):
        assert state.receipt(*key, status, T0 + 2 * MINUTE) == (failed, False)
    hop = {"profile": "sms-main", "result": "sent", "at": (T0 + 2 * MINUTE).isoformat()}
    moved = failed.fell_back(
        T0 + 2 * MINUTE, [hop], ("sms-main", "sms", ["Hi Ana"], ["email-main"])
    )
    assert state.fall_back(moved) == moved
    assert state.fall_back(moved) is None, "the second fallback of one failure loses"
    stored = state.message(*key)
    assert stored == moved and stored is not None
    assert (stored.status, stored.profile, stored.ladder) == ("sent", "sms-main", ("email-main",))
    assert stored.tried() == {"wa-main", "sms-main"}
    assert [h["result"] for h in stored.hops] == ["sent", "failed", "sent"]
    assert state.receipt(*key, "delivered", T0 + 3 * MINUTE)[1]
    with pytest.raises(ValueError, match="only a failed message"):
        stored.fell_back(T0, [], None)


def test_a_message_that_is_not_failed_does_not_fall_back(state: StateBackend) -> None:
    state.record(_message())
    fake = replace(_message(), status=MessageStatus.FAILED).fell_back(T0, [], None)
    assert state.fall_back(fake) is None
    assert state.message("acme", _message().id) == _message()
    failed, _ = state.receipt("acme", _message().id, "failed", T0 + MINUTE)
    assert failed is not None
    gone = failed.fell_back(T0 + MINUTE, [], None)
    assert state.fall_back(gone) == gone and gone.status == "undeliverable"
    assert state.receipt("acme", gone.id, "read", T0 + 2 * MINUTE) == (gone, False)


def test_racing_receipts_never_go_backwards(state: StateBackend) -> None:
    """Eight threads post every receipt in a different order, many times over: each status
    is entered at most once, the revisions count the changes, and the end is ``read``."""
    for n in range(5):
        assert state.record(_message(n))
    statuses = ["sent", "delivered", "read", "delivered", "sent", "read"]
    changes: list[tuple[str, str, int]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for n in range(5):
                for i in range(len(statuses)):
                    status = statuses[(i + k) % len(statuses)]
                    msg, changed = state.receipt("acme", _message(n).id, status, T0 + MINUTE)
                    assert msg is not None
                    if changed:
                        with lock:
                            changes.append((msg.id, msg.status, msg.revision))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for n in range(5):
        mine = sorted((rev, status) for i, status, rev in changes if i == _message(n).id)
        ranks = [{"delivered": 2, "read": 3}[s] for _, s in mine]
        assert ranks == sorted(set(ranks)), f"went backwards or repeated: {mine}"
        assert [rev for rev, _ in mine] == list(range(1, len(mine) + 1))
        final = state.message("acme", _message(n).id)
        assert final is not None and final.status == "read" and final.revision == len(mine)
        assert [h["result"] for h in final.hops[1:]] == [s for _, s in mine]


def test_racing_failures_fail_a_message_once(state: StateBackend) -> None:
    state.record(_message())
    wins: list[bool] = []
    barrier = threading.Barrier(6)

    def fail() -> None:
        barrier.wait()
        wins.append(state.receipt("acme", _message().id, "failed", T0 + MINUTE)[1])

    threads = [threading.Thread(target=fail) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 5 + [True], "exactly one receipt walks the ladder"


def test_stale_failed_messages_are_found_across_tenants_and_claimed_once(
    state: StateBackend,
) -> None:
    """A message left failed (its receiving process died before the fallback) is found once
    it has been failed since ``before``; a claim moves it on one revision, so of two racing
    claimers one wins, and it is not stale again until the grace has passed once more."""
    for tenant, n in (("acme", 1), ("acme", 2), ("globex", 3)):
        state.record(_message(n, tenant=tenant))
    state.record(_message(4))  # sent, never failed: never swept
    state.receipt("acme", _message(1).id, "failed", T0 + MINUTE)
    state.receipt("globex", _message(3, tenant="globex").id, "failed", T0 + 2 * MINUTE)
    state.receipt("acme", _message(2).id, "failed", T0 + 5 * MINUTE)  # still fresh
    stale = state.stale_failed(T0 + 3 * MINUTE, 10)
    assert [(m.tenant, m.id) for m in stale] == [
        ("acme", _message(1).id),
        ("globex", _message(3, tenant="globex").id),
    ]
    assert [m.id for m in state.stale_failed(T0 + 3 * MINUTE, 1)] == [_message(1).id]
    first = stale[0]
    claim = first.claimed(T0 + 10 * MINUTE)
    assert state.fall_back(claim) == claim
    assert state.fall_back(first.claimed(T0 + 10 * MINUTE)) is None, "the second claim loses"
    assert [m.id for m in state.stale_failed(T0 + 9 * MINUTE, 10)] == [
        _message(3, tenant="globex").id,
        _message(2).id,
    ]
    gone = claim.fell_back(T0 + 10 * MINUTE, [], None)
    assert state.fall_back(gone) == gone
    assert _message(1).id not in {m.id for m in state.stale_failed(T0 + 60 * MINUTE, 10)}
    with pytest.raises(ValueError, match="only a failed message"):
        gone.claimed(T0)
