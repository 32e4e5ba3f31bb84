"""What every source shares: offering candidates, caching good ones, and staying alive.

:func:`supervise` runs a source's loop for the life of the server: a loop that ends with an
error (one that its own handling did not absorb) is logged with its trace, shown on
``/healthz`` and restarted with exponential backoff, so no input can stop reloads silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from runtime.cache import LocalCache
from runtime.layout import Pointer
from runtime.registry import SnapshotRegistry

log = logging.getLogger("focal.runtime.sources")


class Source(Protocol):
    name: str

    async def run(self) -> None: ...


@dataclass(slots=True)
class SourceHealth:
    """What ``/healthz`` says of a source: ``running``, or ``restarting`` with the error."""

    name: str
    state: str = "starting"
    error: str | None = None
    restarts: int = 0
    since: datetime | None = None

    def to_json(self, problem: str | None = None) -> dict[str, object]:
        return {
            "name": self.name,
            "state": self.state,
            "error": self.error or problem,
            "restarts": self.restarts,
            "since": self.since.isoformat() if self.since else None,
        }


async def supervise(
    source: Source,
    health: SourceHealth,
    *,
    first_delay: float = 0.1,
    max_delay: float = 30.0,
) -> None:
    """Run ``source.run()`` until cancelled, restarting it with backoff whenever it ends."""
    delay = first_delay
    while True:
        health.state, health.error, health.since = "running", None, datetime.now(UTC)
        started = asyncio.get_running_loop().time()
        try:
            await source.run()
            error = "the source loop returned"
            log.error("source %s stopped; restarting in %.1f s", source.name, delay)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.exception("source %s failed; restarting in %.1f s", source.name, delay)
        if asyncio.get_running_loop().time() - started > 60:
            delay = first_delay  # it ran a while: a new failure starts the backoff again
        health.state, health.error, health.since = "restarting", error, datetime.now(UTC)
        health.restarts += 1
        await asyncio.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, max_delay)


def accept(
    registry: SnapshotRegistry, cache: LocalCache | None, pointer: Pointer, raw: bytes, source: str
) -> bool:
    """Offer a candidate; cache it locally when it becomes active."""
    active = registry.offer(
        pointer.tenant, pointer.env, pointer.version, pointer.snapshot, raw, source
    )
    if active is None:
        return False
    if cache is not None:
        with contextlib.suppress(OSError):  # the cache is a convenience; serving goes on
            cache.save(pointer, raw)
    return True


def boot_from_cache(registry: SnapshotRegistry, cache: LocalCache | None, env: str) -> int:
    """Load every cached snapshot as stale; returns how many tenants were restored.

    Every source boots this way before its first scan, so a runtime whose source is down or
    whose published snapshot is damaged still serves the last good copy (marked stale until
    the source confirms it or offers a newer one)."""
    if cache is None:
        return 0
    count = 0
    for pointer, raw in cache.entries(env):
        if registry.offer(
            pointer.tenant, env, pointer.version, pointer.snapshot, raw, "cache", stale=True
        ):
            count += 1
    return count
