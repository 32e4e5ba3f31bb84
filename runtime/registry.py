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

from runtime.errors import Reason
from runtime.settings import resolve, winners
from runtime.snapshot import SettingsIndex, SnapshotError, load, prepare

log = logging.getLogger("focal.runtime")


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused candidate. It stands while the source's candidate for the tenant is this one;
    a good load, a pointer that moves elsewhere, or a pointer that disappears clears it."""

    snapshot: str
    reason: Reason
    message: str
    at: datetime
    version: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "reason": str(self.reason),
            "message": self.message,
            "fix": self.reason.fix,
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
        prepare()  # build the snapshot validator now rather than in the first load
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

    def known_tenants(self) -> list[str]:
        """Tenants served or with a refused candidate."""
        return sorted(set(self._active) | set(self._rejected))

    def last_rejected(self, tenant: str) -> Rejection | None:
        """The rejection of the tenant's current candidate, if that candidate was refused."""
        return self._rejected.get(tenant)

    def status(self, tenant: str) -> str:
        """``ok`` (serving its newest release), ``stale`` (serving a cached copy the source has
        not confirmed), ``degraded`` (serving, but the newest candidate was refused) or
        ``unavailable`` (nothing to serve)."""
        active = self._active.get(tenant)
        if active is None:
            return "unavailable"
        if tenant in self._rejected:
            return "degraded"
        return "stale" if active.stale else "ok"

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
            snap = load(raw, snapshot_id, tenant=tenant)
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
                tenant,
                snapshot_id,
                Reason.SCHEMA_INVALID,
                f"settings do not resolve: {exc}",
                version,
            )
            return None
        except Exception as exc:  # a candidate, however odd, never takes the loader down
            log.exception("loading %s candidate %s failed", tenant, snapshot_id)
            self.reject(tenant, snapshot_id, Reason.LOAD_ERROR, _describe(exc), version)
            return None
        with self._lock:
            current = self._active.get(tenant)
            if current is not None and version < current.version:
                return None
            self._active[tenant] = active
            self._rejected.pop(tenant, None)
        elapsed = time.perf_counter() - started
        log.info(
            "loaded %s version %d (%s) from %s in %.1f ms",
            tenant,
            version,
            snapshot_id,
            source,
            elapsed * 1000,
        )
        self._notify(tenant, active, None, elapsed)
        return active

    def note_pointer(self, tenant: str, version: int, snapshot_id: str) -> bool:
        """Note that the source points at (version, snapshot) and answer whether to read it.
        Noting changes state: a stale snapshot confirmed by its source becomes fresh without a
        reload; anything not newer than the active version is ignored
        (and replaces a refused candidate); a candidate refused for a permanent reason is not
        read again until the pointer moves."""
        refused = self._rejected.get(tenant)
        if refused is not None and (refused.version, refused.snapshot) == (version, snapshot_id):
            if refused.reason.permanent:
                return False
        current = self._active.get(tenant)
        if current is None:
            return True
        if current.stale and current.version == version and current.id == snapshot_id:
            current.stale = False
            self._rejected.pop(tenant, None)
            return False
        news = version > current.version or current.stale
        if not news:
            self._rejected.pop(tenant, None)
        return news

    def reject(
        self,
        tenant: str,
        snapshot_id: str,
        reason: Reason,
        message: str,
        version: int | None = None,
    ) -> None:
        """Refuse a candidate. The same candidate refused again for the same reason (a rescan,
        a repeated hint) is logged and counted once."""
        previous = self._rejected.get(tenant)
        if previous is not None and (previous.snapshot, previous.version, previous.reason) == (
            snapshot_id,
            version,
            reason,
        ):
            return
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
        self._notify(tenant, None, rejection, 0.0)

    def clear_rejection(self, tenant: str) -> None:
        """The tenant's refused candidate is gone (its pointer was removed)."""
        self._rejected.pop(tenant, None)

    def keep_rejections(self, tenants: set[str]) -> None:
        """After a full scan: only tenants that still have a pointer keep their rejection."""
        for tenant in [t for t in self._rejected if t not in tenants]:
            del self._rejected[tenant]

    def _notify(
        self, tenant: str, active: Active | None, rejection: Rejection | None, seconds: float
    ) -> None:
        for listener in self.listeners:
            try:
                listener(tenant, active, rejection, seconds)
            except Exception:  # a listener (metrics, GC) must not undo or block a swap
                log.exception("snapshot listener %r failed", listener)

    @staticmethod
    def _warm(active: Active) -> None:
        """Build derived structures before the swap: resolve every agent's default settings."""
        for name in active.index.agents:
            active.effective(name, None, None, None)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if len(text) > 300:
        text = text[:300] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
