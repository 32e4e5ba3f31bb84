"""The turn gateway's pure primitives: token-bucket rate limits and burst coalescing.

Synchronous, thread-safe and driven by the time they are given (the Clock port or ``now``), so
the gateway's async driver and a simulated clock use them alike.
"""

from __future__ import annotations

from runtime.turns.coalesce import Coalescer, Identified, Offered, ReadyBurst
from runtime.turns.ratelimit import Decision, TokenBuckets, limits_for

__all__ = [
    "Coalescer",
    "Decision",
    "Identified",
    "Offered",
    "ReadyBurst",
    "TokenBuckets",
    "limits_for",
]
