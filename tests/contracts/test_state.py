"""One contract for every state backend: memory, SQLite, PostgreSQL and Redis (real services,
each test in its own schema or key prefix), as Terraform tests every backend with one suite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runtime.ports import (
    AuditEvent,
    CallStatus,
    Conversation,
    PendingConfirmation,
    SimulatedClock,
    StateBackend,
    StateError,
    ToolCall,
    open_state,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BACKENDS = ["memory", "sqlite", "postgresql", "redis"]


@pytest.fixture(params=BACKENDS)
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateBackend]:
    kind = request.param
    if kind == "memory":
        url = "memory"
    elif kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    elif kind == "postgresql":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"{request.getfixturevalue('redis_url')}?prefix={request.getfixturevalue('redis_prefix')}"
    backend = open_state(url)
    yield backend
    backend.close()


def _conv(cid: str = "c1", tenant: str = "acme") -> Conversation:
    return Conversation(tenant=tenant, id=cid, agent="support", channel="wa-main")


def _call(key: str, at: datetime = T0, tool: str = "issue-refund") -> ToolCall:
    return ToolCall(
        tenant="acme",
        key=key,
        tool=tool,
        args={"order_id": "O-1", "amount": 42.5},
        status=CallStatus.IN_FLIGHT,
        started_at=at,
        expires_at=at + timedelta(hours=24),
        conversation="c1",
        turn="t1",
    )


def test_a_conversation_is_written_by_compare_and_set(state: StateBackend) -> None:
    assert state.load("acme", "c1") is None
    first = state.save(_conv(), T0)
    assert first is not None and first.revision == 1 and first.updated_at == T0
    assert state.save(_conv(), T0) is None, "revision 0 means 'not stored yet'"
    moved = first.evolve(
        scenario="refunds",
        step="confirm",
        slots={"order_id": "O-1", "items": [], "note": "café ☕", "n": {"a": [1, 2]}},
        pending=PendingConfirmation("issue-refund", {"order_id": "O-1"}, "k1", "confirm"),
        confirmed=("k0",),
        snapshot="sha256:" + "a" * 64,
        turns=1,
        inbound=(("wa-main:m1", T0), ("sms-main:m1", T0 + timedelta(seconds=1))),
    )
    second = state.save(moved, T0 + timedelta(seconds=5))
    assert second is not None and second.revision == 2
    assert state.save(moved, T0) is None, "a writer that read revision 1 lost the race"
    assert state.load("acme", "c1") == second
    assert second.inbound[1] == ("sms-main:m1", T0 + timedelta(seconds=1)), "kept with the turn"
    assert state.load("other", "c1") is None, "tenants are separate"


def test_conversations_are_counted_per_step(state: StateBackend) -> None:
    for cid in ("a", "b", "c"):
        conv = state.save(_conv(cid), T0)
        assert conv is not None
        assert state.save(conv.evolve(scenario="refunds", step="ask"), T0)
    c = state.load("acme", "c")
    assert c is not None and state.save(c.evolve(step="confirm"), T0)
    state.save(_conv("idle"), T0)
    assert state.count_by_step("acme") == {("refunds", "ask"): 2, ("refunds", "confirm"): 1}
    assert state.count_by_step("other") == {}


def test_racing_writers_of_one_revision_have_one_winner(state: StateBackend) -> None:
    base = state.save(_conv(), T0)
    assert base is not None
    wins: list[int] = []

    def write(n: int) -> None:
        if state.save(base.evolve(turns=n), T0):
            wins.append(n)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    stored = state.load("acme", "c1")
    assert stored is not None and stored.turns == wins[0] and stored.revision == 2


def test_the_turn_lease_has_one_holder_until_it_expires(state: StateBackend) -> None:
    ttl = timedelta(seconds=30)
    assert state.acquire_turn("acme", "c1", "p1", T0, ttl)
    assert not state.acquire_turn("acme", "c1", "p2", T0 + timedelta(seconds=29), ttl)
    assert state.acquire_turn("acme", "c1", "p1", T0 + timedelta(seconds=10), ttl), "renew"
    assert not state.acquire_turn("acme", "c1", "p2", T0 + timedelta(seconds=39), ttl)
    assert state.acquire_turn("acme", "c1", "p2", T0 + timedelta(seconds=40), ttl), "expired"
    state.release_turn("acme", "c1", "p1")  # no longer the holder: nothing happens
    assert not state.acquire_turn("acme", "c1", "p3", T0 + timedelta(seconds=41), ttl)
    state.release_turn("acme", "c1", "p2")
    assert state.acquire_turn("acme", "c1", "p3", T0 + timedelta(seconds=41), ttl)
    assert state.acquire_turn("acme", "c2", "p1", T0, ttl), "per conversation"


def test_racing_processes_take_a_lease_once(state: StateBackend) -> None:
    winners: list[str] = []

    def take(holder: str) -> None:
        if state.acquire_turn("acme", "race", holder, T0, timedelta(seconds=30)):
            winners.append(holder)

    threads = [threading.Thread(target=take, args=(f"p{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_a_tool_call_is_recorded_before_it_runs_and_answered_from_the_record(
    state: StateBackend,
) -> None:
    assert state.begin(_call("k1")) is None
    again = state.begin(_call("k1", T0 + timedelta(seconds=1)))
    assert again is not None and again.status == CallStatus.IN_FLIGHT and again.started_at == T0
    assert [c.key for c in state.in_flight("acme")] == ["k1"]
    done = state.finish(
        "acme", "k1", CallStatus.SUCCEEDED, T0 + timedelta(seconds=2), result={"ids": [], "n": 1}
    )
    assert done is not None and done.status == CallStatus.SUCCEEDED
    repeat = state.begin(_call("k1", T0 + timedelta(hours=23)))
    assert repeat is not None and repeat.result == {"ids": [], "n": 1}, "JSON kept exactly"
    assert repeat.finished_at == T0 + timedelta(seconds=2)
    assert state.in_flight("acme") == []
    assert state.lookup("acme", "k1") == repeat
    assert state.begin(_call("k1", T0 + timedelta(hours=24))) is None, "a new window runs again"
    assert state.finish("acme", "nope", CallStatus.FAILED, T0) is None
    assert state.lookup("other", "k1") is None


def test_racing_calls_with_one_key_execute_once(state: StateBackend) -> None:
    recorded: list[int] = []

    def begin(n: int) -> None:
        if state.begin(_call("same")) is None:
            recorded.append(n)

    threads = [threading.Thread(target=begin, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(recorded) == 1


def test_the_audit_stream_is_ordered_and_separate_per_tenant_and_stream(
    state: StateBackend,
) -> None:
    seqs = [
        state.append(AuditEvent("acme", kind, T0, "c1", "t1", {"i": i})).seq
        for i, kind in enumerate(["turn", "tool.call", "tool.result"])
    ]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    state.append(AuditEvent("acme", "turn", T0, stream="simulated"))
    state.append(AuditEvent("other", "turn", T0))
    events = state.events("acme")
    assert [e.kind for e in events] == ["turn", "tool.call", "tool.result"]
    assert [e.seq for e in events] == seqs and events[1].data == {"i": 1}
    assert [e.kind for e in state.events("acme", after=seqs[0])] == ["tool.call", "tool.result"]
    assert len(state.events("acme", limit=2)) == 2
    assert [e.stream for e in state.events("acme", stream="simulated")] == ["simulated"]


def test_open_state_refuses_an_unknown_url() -> None:
    with pytest.raises(StateError) as info:
        open_state("mysql://x")
    assert "memory" in info.value.hint


def test_the_simulated_clock_only_moves_forward() -> None:
    clock = SimulatedClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    assert clock.advance(30) == datetime(2026, 3, 2, 10, 0, 30, tzinfo=UTC)
    assert clock.advance(timedelta(hours=48)).day == 4
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        SimulatedClock(datetime(2026, 3, 2))


def test_appending_many_keeps_their_order_in_one_call(state: StateBackend) -> None:
    state.append(AuditEvent("acme", "first", T0))
    written = state.append_many(
        [AuditEvent("acme", f"e{i}", T0, "c1", "t1", {"i": i}) for i in range(5)]
        + [AuditEvent("acme", "sim", T0, stream="simulated")]
    )
    assert [e.kind for e in written] == ["e0", "e1", "e2", "e3", "e4", "sim"]
    live = [e.seq for e in written[:5]]
    assert live == sorted(live) and len(set(live)) == 5
    assert [e.kind for e in state.events("acme")] == ["first", "e0", "e1", "e2", "e3", "e4"]
    assert state.append_many([]) == []


def test_a_turn_begins_with_its_lease_and_conversation_and_ends_in_one_step(
    state: StateBackend,
) -> None:
    lease = timedelta(seconds=30)
    assert state.begin_turn("acme", "c1", "p1", T0, lease) == (True, None)
    assert state.begin_turn("acme", "c1", "p2", T0, lease) == (False, None), "p1 holds it"
    events = [AuditEvent("acme", "turn.a", T0, "c1"), AuditEvent("acme", "turn.b", T0, "c1")]
    saved = state.end_turn("acme", "c1", "p1", T0, _conv(), events)
    assert saved is not None and saved.revision == 1
    assert [e.kind for e in state.events("acme")] == ["turn.a", "turn.b"]
    taken, stored = state.begin_turn("acme", "c1", "p2", T0, lease)
    assert taken and stored == saved, "released, and the conversation read under the lease"
    assert state.end_turn("acme", "c1", "p2", T0, _conv(), []) is None, "a stale revision"
    assert state.begin_turn("acme", "c1", "p3", T0, lease)[0], "released even when not saved"
    assert state.end_turn("acme", "c1", "p3", T0, None, []) is None


def test_redis_batches_survive_a_server_that_lost_its_scripts(
    request: pytest.FixtureRequest,
) -> None:
    """Batched scripts go as EVALSHA without asking SCRIPT EXISTS first; after a restart or
    SCRIPT FLUSH each answers NOSCRIPT having done nothing, and runs again once loaded."""
    import redis

    url = request.getfixturevalue("redis_url")
    state = open_state(f"{url}?prefix={request.getfixturevalue('redis_prefix')}")
    raw = redis.Redis.from_url(url)
    try:
        lease = timedelta(seconds=30)
        raw.script_flush()
        assert state.begin_turn("acme", "c1", "p1", T0, lease) == (True, None)
        raw.script_flush()
        events = [AuditEvent("acme", "turn.a", T0, "c1"), AuditEvent("acme", "turn.b", T0, "c1")]
        saved = state.end_turn("acme", "c1", "p1", T0, _conv(), events)
        assert saved is not None and saved.revision == 1
        raw.script_flush()
        [extra] = state.append_many([AuditEvent("acme", "turn.c", T0, "c1")])
        assert [(e.kind, e.seq) for e in state.events("acme")] == [
            ("turn.a", 1),
            ("turn.b", 2),
            ("turn.c", 3),
        ]
        assert extra.seq == 3
        taken, stored = state.begin_turn("acme", "c1", "p2", T0, lease)
        assert taken and stored == saved, "the lease was released once, the save stored once"
    finally:
        state.close()
        raw.close()
