"""What every source shares: offering a candidate to the registry and caching good ones."""

from __future__ import annotations

import contextlib
from typing import Protocol

from runtime.cache import LocalCache
from runtime.layout import Pointer
from runtime.registry import SnapshotRegistry


class Source(Protocol):
    name: str

    async def run(self) -> None: ...


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
    """Load every cached snapshot as stale; returns how many tenants were restored."""
    if cache is None:
        return 0
    count = 0
    for pointer, raw in cache.entries(env):
        if registry.offer(
            pointer.tenant, env, pointer.version, pointer.snapshot, raw, "cache", stale=True
        ):
            count += 1
    return count
