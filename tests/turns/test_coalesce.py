"""Burst coalescing: unit tests of the debounce rules, and properties over any arrival sequence."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.ports.clock import SimulatedClock
from runtime.turns.coalesce import Coalescer, ReadyBurst

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Msg:
    id: str
    text: str = ""
    serial: int = 0  # tells apart two offers of the same id


def ids(burst: ReadyBurst[Msg]) -> list[str]:
    return [m.id for m in burst.messages]


def test_three_messages_100ms_apart_are_one_turn_800ms_after_the_third() -> None:
    clock = SimulatedClock(START)
    co: Coalescer[Msg] = Coalescer()
    for i in range(3):
        if i:
            clock.advance(100 * MS)
        assert co.offer("c1", Msg(f"m{i}"), 0.8, 10, clock.now()).ready == ()
        assert co.next_deadline() == clock.now() + 800 * MS
    third = clock.now()
    assert co.due(third + 799 * MS) == []
    [burst] = co.due(third + 800 * MS)
    assert ids(burst) == ["m0", "m1", "m2"]
    assert burst.conversation == "c1" and burst.reason == "window"
    assert burst.ready_at == START + 1000 * MS
    assert co.next_deadline() is None and len(co) == 0


def test_max_burst_releases_at_once() -> None:
    co: Coalescer[Msg] = Coalescer()
    assert co.offer("c", Msg("a"), 0.8, 2, START).ready == ()
    offered = co.offer("c", Msg("b"), 0.8, 2, START + 100 * MS)
    [burst] = offered.ready
    assert ids(burst) == ["a", "b"] and burst.reason == "full"
    assert burst.ready_at == START + 100 * MS
    assert co.next_deadline() is None
    assert co.due(START + timedelta(hours=1)) == []  # the stale window does not fire


def test_max_burst_one_and_debounce_zero_are_immediate() -> None:
    co: Coalescer[Msg] = Coalescer()
    [burst] = co.offer("c", Msg("a"), 0.8, 1, START).ready
    assert ids(burst) == ["a"] and burst.reason == "full"
    [burst] = co.offer("c", Msg("b"), 0, 10, START).ready
    assert ids(burst) == ["b"] and burst.reason == "immediate"
    [burst] = co.offer("c", Msg("c"), 0, 10, START).ready
    assert ids(burst) == ["c"]
    assert len(co) == 0 and co.next_deadline() is None


def test_debounce_zero_closes_a_pending_burst_with_it() -> None:
    co: Coalescer[Msg] = Coalescer()
    co.offer("c", Msg("a"), 0.8, 10, START)  # another step had a window
    [burst] = co.offer("c", Msg("b"), 0, 10, START + 10 * MS).ready
    assert ids(burst) == ["a", "b"] and burst.reason == "immediate"


def test_the_window_restarts_with_the_latest_debounce() -> None:
    co: Coalescer[Msg] = Coalescer()
    co.offer("c", Msg("a"), 3.0, 10, START)
    co.offer("c", Msg("b"), 0.2, 10, START + 100 * MS)
    assert co.next_deadline() == START + 300 * MS
    [burst] = co.due(START + 300 * MS)
    assert ids(burst) == ["a", "b"]


def test_a_smaller_max_burst_releases_in_chunks() -> None:
    co: Coalescer[Msg] = Coalescer()
    for name in "abc":
        co.offer("c", Msg(name), 0.8, 10, START)
    offered = co.offer("c", Msg("d"), 0.8, 2, START)
    assert [ids(b) for b in offered.ready] == [["a", "b"], ["c", "d"]]
    assert len(co) == 0
    for name in "efg":
        co.offer("c", Msg(name), 0.8, 10, START)
    offered = co.offer("c", Msg("h"), 0.8, 3, START)
    assert [ids(b) for b in offered.ready] == [["e", "f", "g"]]
    assert not co.offer("c", Msg("e"), 0.8, 3, START).duplicate  # "e" was released, not pending
    assert co.offer("c", Msg("h"), 0.8, 3, START).duplicate
    [rest] = co.due(START + 800 * MS)
    assert ids(rest) == ["h", "e"]


def test_two_conversations_are_independent() -> None:
    co: Coalescer[Msg] = Coalescer()
    co.offer("c1", Msg("a"), 0.8, 2, START)
    co.offer("c2", Msg("a"), 0.5, 2, START + 100 * MS)  # same id, other conversation
    assert co.next_deadline() == START + 600 * MS
    [second] = co.due(START + 600 * MS)
    assert second.conversation == "c2" and ids(second) == ["a"]
    [first] = co.offer("c1", Msg("b"), 0.8, 2, START + 700 * MS).ready
    assert first.conversation == "c1" and ids(first) == ["a", "b"]


def test_a_duplicate_in_the_pending_burst_is_ignored() -> None:
    co: Coalescer[Msg] = Coalescer()
    co.offer("c", Msg("a", "hi"), 0.8, 10, START)
    offered = co.offer("c", Msg("a", "hi again"), 0.8, 10, START + 500 * MS)
    assert offered.duplicate and offered.ready == ()
    assert co.next_deadline() == START + 800 * MS  # the window did not restart
    [burst] = co.due(START + 800 * MS)
    assert [m.text for m in burst.messages] == ["hi"]
    # once released, the id is no longer pending: the inbound log handles redeliveries
    assert not co.offer("c", Msg("a"), 0.8, 10, START + 900 * MS).duplicate


def test_due_releases_earliest_deadline_first() -> None:
    co: Coalescer[Msg] = Coalescer()
    co.offer("late", Msg("x"), 2.0, 10, START)
    co.offer("early", Msg("y"), 0.5, 10, START)
    co.offer("mid", Msg("z"), 1.0, 10, START)
    assert [b.conversation for b in co.due(START + timedelta(seconds=5))] == [
        "early",
        "mid",
        "late",
    ]


def test_drain_releases_everything_pending() -> None:
    co: Coalescer[Msg] = Coalescer()
    co.offer("a", Msg("1"), 2.0, 10, START)
    co.offer("b", Msg("2"), 1.0, 10, START)
    co.offer("a", Msg("3"), 2.0, 10, START + MS)
    drained = co.drain()
    assert [(b.conversation, ids(b), b.reason) for b in drained] == [
        ("b", ["2"], "drained"),
        ("a", ["1", "3"], "drained"),
    ]
    assert len(co) == 0 and co.next_deadline() is None


def test_restarted_windows_leave_bounded_bookkeeping() -> None:
    co: Coalescer[Msg] = Coalescer()
    for i in range(10_000):
        co.offer("chatty", Msg(str(i)), 3.0, 10**6, START + i * MS)
        assert len(co._heap) <= 2 * 1 + 65
    [burst] = co.due(START + timedelta(seconds=13))
    assert len(burst.messages) == 10_000


def test_bad_arguments() -> None:
    co: Coalescer[Msg] = Coalescer()
    with pytest.raises(ValueError, match="debounce"):
        co.offer("c", Msg("a"), -1, 10, START)
    with pytest.raises(ValueError, match="maxBurst"):
        co.offer("c", Msg("a"), 0.8, 0, START)
    with pytest.raises(ValueError, match="timezone-aware"):
        co.offer("c", Msg("a"), 0.8, 10, datetime(2026, 1, 1))


def test_threads_release_every_message_once() -> None:
    co: Coalescer[Msg] = Coalescer()
    released: list[ReadyBurst[Msg]] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        mine: list[ReadyBurst[Msg]] = []
        for i in range(200):
            mine.extend(co.offer(f"c{i % 7}", Msg(f"{n}-{i}"), 0.8, 5, START).ready)
        with lock:
            released.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    released.extend(co.due(START + timedelta(seconds=1)))
    got = [m.id for b in released for m in b.messages]
    assert sorted(got) == sorted(f"{n}-{i}" for n in range(8) for i in range(200))
    assert all(len(b.messages) <= 5 for b in released)
    assert len(co) == 0


# --- properties -------------------------------------------------------------------------------

OFFERS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=1_500_000),  # µs since the previous event
        st.sampled_from(["c1", "c2", "c3"]),  # conversation
        st.sampled_from(["a", "b", "c", "d", "e"]),  # message id: duplicates happen
        st.sampled_from([0, 200, 500, 800, 3000]),  # effective debounce, ms
        st.booleans(),  # poll due() after this offer
        st.integers(min_value=1, max_value=6),  # effective maxBurst (steady or changing)
    ),
    max_size=80,
)
CONVERSATIONS = ("c1", "c2", "c3")


@settings(max_examples=400, deadline=None)
@given(offers=OFFERS, steady=st.booleans())
def test_every_message_is_released_once_in_order_never_early(
    offers: list[tuple[int, str, str, int, bool, int]], steady: bool
) -> None:
    clock = SimulatedClock(START)
    co: Coalescer[Msg] = Coalescer()
    accepted: dict[str, list[Msg]] = {c: [] for c in CONVERSATIONS}
    released: dict[str, list[Msg]] = {c: [] for c in CONVERSATIONS}
    last_arrival: dict[str, tuple[datetime, int]] = {}  # per conversation: (time, debounce ms)
    max_bursts: dict[str, int] = {}  # per conversation: the latest offer's maxBurst

    def release(bursts: list[ReadyBurst[Msg]], now: datetime, polled: bool) -> None:
        for burst in bursts:
            assert 1 <= len(burst.messages) <= max_bursts[burst.conversation]
            assert len({m.id for m in burst.messages}) == len(burst.messages)
            if polled:
                assert burst.reason == "window"
                at, debounce = last_arrival[burst.conversation]
                assert burst.ready_at == at + debounce * MS <= now  # never early
            else:
                assert burst.reason in ("full", "immediate") and burst.ready_at == now
            released[burst.conversation].extend(burst.messages)

    for serial, (gap, conv, mid, debounce, poll, max_burst) in enumerate(offers):
        arrival = clock.now() + timedelta(microseconds=gap)
        while (deadline := co.next_deadline()) is not None and deadline <= arrival:
            # an honest driver wakes at each deadline before the next message
            clock.set(deadline)
            release(co.due(clock.now()), clock.now(), polled=True)
        clock.set(arrival)
        pending_ids = {m.id for m in accepted[conv][len(released[conv]) :]}
        if mid not in pending_ids:  # a duplicate is ignored, its settings too
            # steady: each conversation keeps its first maxBurst; else it changes (other steps)
            max_bursts[conv] = max_bursts.get(conv, max_burst) if steady else max_burst
        message = Msg(mid, serial=serial)
        offered = co.offer(conv, message, debounce / 1000, max_bursts[conv], clock.now())
        assert offered.duplicate == (mid in pending_ids)
        if not offered.duplicate:
            accepted[conv].append(message)
            last_arrival[conv] = (clock.now(), debounce)
        release(list(offered.ready), clock.now(), polled=False)
        if poll:
            release(co.due(clock.now()), clock.now(), polled=True)
        deadline = co.next_deadline()
        assert (deadline is None) == (len(co) == 0)
        assert deadline is None or deadline > clock.now()
        if deadline is not None:
            assert co.due(deadline - timedelta(microseconds=1)) == []  # not a moment early

    while (deadline := co.next_deadline()) is not None:
        clock.set(deadline)
        release(co.due(clock.now()), clock.now(), polled=True)
    assert len(co) == 0
    assert co.due(clock.now() + timedelta(days=1)) == []
    assert released == accepted  # each accepted message exactly once, in arrival order
