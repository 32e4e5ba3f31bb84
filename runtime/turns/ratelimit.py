"""Token buckets for the turn gateway's rate limits (per tenant tier, per channel profile).

A bucket holds up to ``burst`` tokens and refills at ``per_minute / 60`` tokens a second; a turn
takes one. Arithmetic is exact: a bucket's level is an integer in units of 1/60,000,000 of a
token, and each microsecond of the :class:`~runtime.ports.clock.Clock` adds ``per_minute`` units,
so "wait ``retry_after`` and try again" always succeeds (absent other takes on that key).

A bucket left idle until it is full is indistinguishable from no bucket, so full buckets are
dropped in an amortised sweep and memory stays bounded by the keys active in the last
``burst / rate`` seconds.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.ports.clock import Clock
from runtime.spec import TIER_LIMITS

#: Units of bucket level per token: one token refills in 60 s at 1/min, i.e. 60,000,000 µs.
UNITS_PER_TOKEN = 60_000_000
#: Operations between two sweeps at least (more when there are more buckets: amortised O(1)).
SWEEP_EVERY = 1024


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to a take: allowed, or refused with the exact wait until it would be allowed."""

    allowed: bool
    retry_after: float  # seconds; 0.0 when allowed, > 0 when refused
    remaining: int  # whole tokens left in the bucket after this take

    @property
    def retry_after_header(self) -> int:
        """``retry_after`` rounded up to whole seconds, for a 429's ``Retry-After`` (0 if allowed)."""
        return math.ceil(self.retry_after)


@dataclass(slots=True)
class _Bucket:
    level: int  # in UNITS_PER_TOKEN per token
    at: datetime  # when ``level`` was last brought up to date
    per_minute: int
    burst: int


def _micros(later: datetime, earlier: datetime) -> int:
    delta = later - earlier
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class TokenBuckets:
    """Token buckets keyed by any string (``"tenant:acme"``, ``"profile:acme/wa-main"``).

    Limits are given on every :meth:`take`, so a reloaded snapshot's new limits apply at once:
    the bucket refills at its old rate up to now, then keeps its level (capped at the new burst)
    and refills at the new rate from then on. Thread-safe.
    """

    def __init__(self, clock: Clock, *, sweep_every: int = SWEEP_EVERY) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._sweep_every = sweep_every
        self._ops = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)

    def take(self, key: str, per_minute: int, burst: int, cost: int = 1) -> Decision:
        """Take ``cost`` tokens from ``key``'s bucket if it has them; a refusal takes nothing."""
        if per_minute < 1 or burst < 1:
            raise ValueError(
                f"a rate limit needs perMinute >= 1 and burst >= 1, not {per_minute}/{burst}"
            )
        if not 1 <= cost <= burst:
            raise ValueError(f"cost {cost} can never be taken from a bucket of burst {burst}")
        now = self._clock.now()
        capacity = burst * UNITS_PER_TOKEN
        need = cost * UNITS_PER_TOKEN
        with self._lock:
            self._ops += 1
            if self._ops >= max(self._sweep_every, len(self._buckets)):
                self._sweep(now)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = _Bucket(capacity, now, per_minute, burst)
                self._buckets[key] = bucket
            else:
                self._refill(bucket, now)
                bucket.per_minute, bucket.burst = per_minute, burst
                bucket.level = min(bucket.level, capacity)
            if bucket.level >= need:
                bucket.level -= need
                return Decision(True, 0.0, bucket.level // UNITS_PER_TOKEN)
            wait_us = -(-(need - bucket.level) // per_minute)  # ceiling division
            return Decision(False, wait_us / 1_000_000, bucket.level // UNITS_PER_TOKEN)

    def sweep(self) -> int:
        """Drop every bucket that is full by now; returns how many were dropped."""
        now = self._clock.now()
        with self._lock:
            return self._sweep(now)

    @staticmethod
    def _refill(bucket: _Bucket, now: datetime) -> None:
        elapsed = _micros(now, bucket.at)
        if elapsed <= 0:  # a wall clock stepped back: no refill, and keep the later mark
            return
        capacity = bucket.burst * UNITS_PER_TOKEN
        bucket.level = min(capacity, bucket.level + elapsed * bucket.per_minute)
        bucket.at = now

    def _sweep(self, now: datetime) -> int:
        self._ops = 0
        full = []
        for key, bucket in self._buckets.items():
            self._refill(bucket, now)
            if bucket.level >= bucket.burst * UNITS_PER_TOKEN:
                full.append(key)
        for key in full:
            del self._buckets[key]
        return len(full)


def limits_for(tenant_spec: Mapping[str, Any]) -> tuple[int, int]:
    """(per_minute, burst) for a tenant's spec (JSON form): its ``rateLimit``, else its tier's.

    A ``rateLimit`` without ``burst`` keeps the tier's burst (as the compiler fills it in).
    """
    tier = tenant_spec.get("tier") or "free"
    if tier not in TIER_LIMITS:
        raise ValueError(f"unknown tier {tier!r}; expected one of {', '.join(TIER_LIMITS)}")
    per_minute, burst = TIER_LIMITS[tier]
    override = tenant_spec.get("rateLimit")
    if isinstance(override, Mapping):
        per_minute = int(override.get("perMinute", per_minute))
        if override.get("burst") is not None:
            burst = int(override["burst"])
    return per_minute, burst
