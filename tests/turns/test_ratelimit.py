"""Token buckets: unit tests on a simulated clock, the token-bucket bound as a property."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.ports.clock import SimulatedClock
from runtime.turns.ratelimit import UNITS_PER_TOKEN, TokenBuckets, limits_for

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def make() -> tuple[SimulatedClock, TokenBuckets]:
    clock = SimulatedClock(START)
    return clock, TokenBuckets(clock)


def test_burst_is_allowed_at_once_then_refused_with_the_exact_wait() -> None:
    clock, buckets = make()
    for left in range(9, -1, -1):
        decision = buckets.take("tenant:acme", 60, 10)
        assert decision.allowed and decision.retry_after == 0.0 and decision.remaining == left
    refused = buckets.take("tenant:acme", 60, 10)
    assert not refused.allowed
    assert refused.retry_after == 1.0 and refused.retry_after_header == 1
    clock.advance(0.999999)
    assert not buckets.take("tenant:acme", 60, 10).allowed
    clock.advance(timedelta(microseconds=1))
    assert buckets.take("tenant:acme", 60, 10).allowed


def test_retry_after_is_partial_and_rounds_up_for_the_header() -> None:
    clock, buckets = make()
    for _ in range(50):
        assert buckets.take("k", 600, 50).allowed  # pro: 10 tokens a second
    clock.advance(0.03)
    refused = buckets.take("k", 600, 50)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(0.07) and refused.retry_after_header == 1


def test_refill_rate_is_exact() -> None:
    clock, buckets = make()
    for _ in range(10):
        buckets.take("k", 60, 10)
    clock.advance(5.5)  # 5.5 tokens back
    allowed = 0
    while buckets.take("k", 60, 10).allowed:
        allowed += 1
    assert allowed == 5
    assert buckets.take("k", 60, 10).retry_after == 0.5
    clock.advance(3600)
    allowed = 0
    while buckets.take("k", 60, 10).allowed:
        allowed += 1
    assert allowed == 10  # never more than the burst, however long the wait


def test_separate_keys_are_independent() -> None:
    _, buckets = make()
    for _ in range(10):
        assert buckets.take("tenant:a", 60, 10).allowed
    assert not buckets.take("tenant:a", 60, 10).allowed
    assert buckets.take("tenant:b", 60, 10).allowed
    assert buckets.take("profile:a/wa-main", 60, 10).allowed


def test_changed_limits_take_effect_on_the_next_take() -> None:
    clock, buckets = make()
    for _ in range(10):
        buckets.take("k", 60, 10)
    assert buckets.take("k", 60, 10).retry_after == 1.0
    assert buckets.take("k", 600, 10).retry_after == 0.1  # faster refill at once
    clock.advance(0.1)
    assert buckets.take("k", 600, 10).allowed
    clock.advance(60)
    assert buckets.take("k", 600, 3).remaining == 2  # a smaller burst caps the level
    assert buckets.take("k", 600, 3).allowed
    assert buckets.take("k", 600, 3).allowed
    assert not buckets.take("k", 600, 3).allowed


def test_cost_and_bad_limits() -> None:
    _, buckets = make()
    assert buckets.take("k", 60, 10, cost=4).remaining == 6
    assert buckets.take("k", 60, 10, cost=6).allowed
    refused = buckets.take("k", 60, 10, cost=3)
    assert not refused.allowed and refused.retry_after == 3.0
    with pytest.raises(ValueError, match="can never be taken"):
        buckets.take("k", 60, 10, cost=11)
    with pytest.raises(ValueError, match="can never be taken"):
        buckets.take("k", 60, 10, cost=0)
    with pytest.raises(ValueError, match="perMinute >= 1"):
        buckets.take("k", 0, 10)
    with pytest.raises(ValueError, match="burst >= 1"):
        buckets.take("k", 60, 0)


def test_a_refusal_takes_nothing() -> None:
    clock, buckets = make()
    buckets.take("k", 60, 1)
    for _ in range(100):
        assert not buckets.take("k", 60, 1).allowed
    clock.advance(1.0)
    assert buckets.take("k", 60, 1).allowed


def test_idle_full_buckets_are_dropped() -> None:
    clock, buckets = make()
    for i in range(100):
        buckets.take(f"k{i}", 60, 10)
    assert len(buckets) == 100
    assert buckets.sweep() == 0  # each is one token short
    clock.advance(0.5)
    assert buckets.sweep() == 0
    clock.advance(0.5)
    assert buckets.sweep() == 100 and len(buckets) == 0
    # a dropped bucket comes back full
    assert buckets.take("k0", 60, 10).remaining == 9


def test_cleanup_is_amortised_and_memory_bounded() -> None:
    clock = SimulatedClock(START)
    buckets = TokenBuckets(clock, sweep_every=16)
    for i in range(10_000):
        buckets.take(f"conversation:{i}", 6000, 200)  # a token back every 10 ms
        clock.advance(0.01)
        assert len(buckets) <= 40  # the 16 since the last sweep, or the buckets still refilling


def test_a_wall_clock_stepping_back_refills_nothing() -> None:
    class Steppy:
        def __init__(self) -> None:
            self.at = START

        def now(self) -> datetime:
            return self.at

    clock = Steppy()
    buckets = TokenBuckets(clock)
    buckets.take("k", 60, 1)
    clock.at = START - timedelta(hours=1)
    assert not buckets.take("k", 60, 1).allowed
    clock.at = START + timedelta(seconds=1)
    assert buckets.take("k", 60, 1).allowed


def test_threads_never_take_more_than_the_burst() -> None:
    _, buckets = make()
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [buckets.take("shared", 60, 200).allowed for _ in range(100)]
        with lock:
            allowed.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 200 and len(allowed) == 800


@pytest.mark.parametrize(
    ("spec", "limits"),
    [
        ({}, (60, 10)),
        ({"tier": "free"}, (60, 10)),
        ({"tier": "pro"}, (600, 50)),
        ({"tier": "enterprise"}, (6000, 200)),
        ({"tier": "pro", "rateLimit": {"perMinute": 100}}, (100, 50)),
        ({"tier": "pro", "rateLimit": {"perMinute": 100, "burst": 5}}, (100, 5)),
        ({"tier": "enterprise", "rateLimit": {"perMinute": 100, "burst": None}}, (100, 200)),
    ],
)
def test_limits_for_a_tenant(spec: dict[str, object], limits: tuple[int, int]) -> None:
    assert limits_for(spec) == limits


def test_limits_for_an_unknown_tier() -> None:
    with pytest.raises(ValueError, match="unknown tier 'gold'"):
        limits_for({"tier": "gold"})


# --- properties -------------------------------------------------------------------------------

OPS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3_000_000),  # advance, µs
        st.sampled_from(["a", "b"]),  # key
        st.booleans(),  # after a refusal: probe retry_after exactly
    ),
    min_size=1,
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(
    per_minute=st.integers(min_value=1, max_value=6000),
    burst=st.integers(min_value=1, max_value=20),
    ops=OPS,
)
def test_token_bucket_bound_and_exact_retry_after(
    per_minute: int, burst: int, ops: list[tuple[int, str, bool]]
) -> None:
    clock, buckets = make()
    granted: dict[str, list[datetime]] = {"a": [], "b": []}
    for advance_us, key, probe in ops:
        clock.advance(timedelta(microseconds=advance_us))
        decision = buckets.take(key, per_minute, burst)
        assert (decision.retry_after > 0) == (not decision.allowed)
        if decision.allowed:
            granted[key].append(clock.now())
        elif probe:
            wait = timedelta(seconds=decision.retry_after)
            clock.advance(wait - timedelta(microseconds=1))
            assert not buckets.take(key, per_minute, burst).allowed
            clock.advance(timedelta(microseconds=1))
            assert buckets.take(key, per_minute, burst).allowed
            granted[key].append(clock.now())
    for times in granted.values():
        for i in range(len(times)):
            for j in range(i, len(times)):
                window_us = (times[j] - times[i]) // timedelta(microseconds=1)
                count = j - i + 1
                # count <= burst + rate * T, in exact units
                assert count * UNITS_PER_TOKEN <= burst * UNITS_PER_TOKEN + per_minute * window_us


@settings(max_examples=200, deadline=None)
@given(
    per_minute=st.integers(min_value=1, max_value=6000),
    burst=st.integers(min_value=1, max_value=20),
    ops=OPS,
    sweep_every=st.integers(min_value=1, max_value=8),
)
def test_sweeping_never_changes_a_decision(
    per_minute: int, burst: int, ops: list[tuple[int, str, bool]], sweep_every: int
) -> None:
    clock = SimulatedClock(START)
    swept = TokenBuckets(clock, sweep_every=sweep_every)
    kept = TokenBuckets(clock, sweep_every=10**9)
    for advance_us, key, _ in ops:
        clock.advance(timedelta(microseconds=advance_us))
        assert swept.take(key, per_minute, burst) == kept.take(key, per_minute, burst)
