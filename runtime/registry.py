"""The snapshot registry: one immutable loaded snapshot per tenant, swapped atomically.

A candidate is verified, validated and indexed *before* the swap, off the request path; the
swap replaces one dict entry (a single reference assignment, atomic under the GIL). A request
takes :meth:`SnapshotRegistry.get` once and uses that :class:`Active` to its end, so it never
sees two versions. Versions only move forward; a bad candidate is rejected with its reason and
the last good snapshot keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from runtime.settings import resolve, winners
from runtime.snapshot import SettingsIndex, SnapshotError, index_adapter, load_settings_index

log = logging.getLogger("focal.runtime")


@dataclass(frozen=True, slots=True)
class Rejection:
    snapshot: str
    reason: str
    message: str
    at: datetime
    version: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "reason": self.reason,
            "message": self.message,
            "at": self.at.isoformat(),
            "version": self.version,
        }


@dataclass(slots=True)
class Active:
    """What a request reads: one snapshot, its release version and derived indexes."""

    id: str
    raw: bytes  # the canonical snapshot bytes (served as-is by /config)
    index: SettingsIndex
    version: int
    env: str
    source: str
    loaded_at: datetime
    stale: bool = False
    _effective: dict[tuple[str, str | None, str | None, str | None], dict[str, Any]] = field(
        default_factory=dict
    )

    def effective(
        self, agent: str, scenario: str | None, step: str | None, channel: str | None
    ) -> dict[str, Any]:
        """Resolved settings (memoised per combination; raises KeyError for unknown names)."""
        key = (agent, scenario, step, channel)
        cached = self._effective.get(key)
        if cached is None:
            layers = self.index.layers(agent, scenario, step, channel)
            cached = {"settings": resolve(layers).to_json(), "levels": winners(layers)}
            if len(self._effective) < 10_000:
                self._effective[key] = cached
        return cached


Listener = Callable[[str, "Active | None", "Rejection | None", float], None]


class SnapshotRegistry:
    def __init__(self) -> None:
        index_adapter()  # build the snapshot validator now rather than in the first load
        self._active: dict[str, Active] = {}
        self._rejected: dict[str, Rejection] = {}
        self._lock = threading.Lock()  # serialises writers only; readers never take it
        self.listeners: list[Listener] = []

    def get(self, tenant: str) -> Active | None:
        return self._active.get(tenant)

    def tenants(self) -> list[str]:
        return sorted(self._active)

    def rejected_tenants(self) -> list[str]:
        return sorted(self._rejected)

    def last_rejected(self, tenant: str) -> Rejection | None:
        return self._rejected.get(tenant)

    def version(self, tenant: str) -> int:
        current = self._active.get(tenant)
        return current.version if current else 0

    def offer(
        self,
        tenant: str,
        env: str,
        version: int,
        snapshot_id: str,
        raw: bytes,
        source: str,
        *,
        stale: bool = False,
    ) -> Active | None:
        """Load a candidate; swap it in if valid and newer. Returns the new Active or None."""
        started = time.perf_counter()
        current = self._active.get(tenant)
        if (
            current is not None
            and version <= current.version
            and not (current.stale and version == current.version)
        ):
            return None  # duplicates and out-of-order notifications change nothing
        try:
            # Validated into plain dicts and reduced to the settings index at once: no model is
            # built, and only the bytes and the index are kept, which keeps a snapshot small.
            snap = load_settings_index(raw, snapshot_id, tenant=tenant)
            active = Active(
                snap.id,
                raw,
                snap.index,
                version,
                env,
                source,
                datetime.now(UTC),
                stale=stale,
            )
            self._warm(active)
        except SnapshotError as exc:
            self.reject(tenant, snapshot_id, exc.reason, exc.message, version)
            return None
        except (ValidationError, KeyError, ValueError) as exc:
            self.reject(
                tenant, snapshot_id, "schema-invalid", f"settings do not resolve: {exc}", version
            )
            return None
        with self._lock:
            current = self._active.get(tenant)
            if current is not None and version < current.version:
                return None
            self._active[tenant] = active
        elapsed = time.perf_counter() - started
        log.info(
            "loaded %s version %d (%s) from %s in %.1f ms",
            tenant,
            version,
            snapshot_id,
            source,
            elapsed * 1000,
        )
        for listener in self.listeners:
            listener(tenant, active, None, elapsed)
        return active

    def wants(self, tenant: str, version: int, snapshot_id: str) -> bool:
        """Is a pointer to (version, snapshot) news? A stale snapshot confirmed by its source
        becomes fresh without a reload; anything not newer than the active version is ignored."""
        current = self._active.get(tenant)
        if current is None:
            return True
        if current.stale and current.version == version and current.id == snapshot_id:
            current.stale = False
            return False
        return version > current.version or current.stale

    def reject(
        self, tenant: str, snapshot_id: str, reason: str, message: str, version: int | None = None
    ) -> None:
        rejection = Rejection(snapshot_id, reason, message, datetime.now(UTC), version)
        self._rejected[tenant] = rejection
        log.warning(
            "rejected %s candidate %s (version %s): %s: %s",
            tenant,
            snapshot_id,
            version,
            reason,
            message,
        )
        for listener in self.listeners:
            listener(tenant, None, rejection, 0.0)

    @staticmethod
    def _warm(active: Active) -> None:
        """Build derived structures before the swap: resolve every agent's default settings."""
        for name in active.index.agents:
            active.effective(name, None, None, None)
