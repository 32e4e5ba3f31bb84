"""The file source: watch the publish directory and load what its pointers name.

It watches the directory, not the pointer file: the publisher replaces ``current.json`` by
rename, which a watch on the file itself would lose. Debounce is 50 ms (watchfiles' default
is 1.6 s): a release writes two files within a few milliseconds, so 50 ms still folds them
into one rescan while keeping a release live well under the 500 ms target. Without inotify
(or with its watch limit exhausted), and when ``FOCAL_WATCH_POLL=1`` (Docker volumes, network
filesystems), it polls every 100 ms instead. A slow rescan every ``resync_interval`` seconds
backs both up.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from watchfiles import awatch

from runtime.cache import LocalCache
from runtime.layout import Pointer, snapshot_path
from runtime.registry import SnapshotRegistry
from runtime.sources.base import accept

log = logging.getLogger("focal.runtime.file")
DEBOUNCE_MS = 50
POLL_MS = 100


class FileSource:
    def __init__(
        self,
        root: Path,
        env: str,
        registry: SnapshotRegistry,
        cache: LocalCache | None = None,
        resync_interval: float = 15.0,
        force_polling: bool | None = None,
    ) -> None:
        self.root = root
        self.env = env
        self.registry = registry
        self.cache = cache
        self.resync_interval = resync_interval
        self.force_polling = (
            os.environ.get("FOCAL_WATCH_POLL") == "1" if force_polling is None else force_polling
        )
        self.name = f"file:{root}"
        self.mode = "polling" if self.force_polling else "inotify"

    def scan(self) -> int:
        """Load every pointer newer than what is active; returns how many were swapped in."""
        swapped = 0
        tenants_dir = self.root / "tenants"
        if not tenants_dir.is_dir():
            return 0
        for pointer_file in sorted(tenants_dir.glob(f"*/{self.env}/current.json")):
            tenant = pointer_file.parent.parent.name
            try:
                pointer = Pointer.from_json(pointer_file.read_bytes())
            except FileNotFoundError:
                continue
            except ValueError as exc:
                self.registry.reject(tenant, "-", "bad-pointer", f"{pointer_file}: {exc}")
                continue
            if pointer.tenant != tenant or pointer.env != self.env:
                self.registry.reject(
                    tenant,
                    pointer.snapshot,
                    "wrong-tenant",
                    f"{pointer_file} names {pointer.tenant}/{pointer.env}",
                )
                continue
            if not self.registry.wants(tenant, pointer.version, pointer.snapshot):
                continue
            try:
                raw = snapshot_path(self.root, pointer.snapshot).read_bytes()
            except OSError as exc:
                self.registry.reject(
                    tenant,
                    pointer.snapshot,
                    "missing",
                    f"snapshot file unreadable: {exc.strerror or exc}",
                    pointer.version,
                )
                continue
            if accept(self.registry, self.cache, pointer, raw, self.name):
                swapped += 1
        return swapped

    async def run(self) -> None:
        self.scan()
        resync = asyncio.create_task(self._resync())
        try:
            while True:
                try:
                    await self._watch()
                    return
                except (OSError, RuntimeError) as exc:
                    if self.force_polling:
                        raise
                    log.warning(
                        "file watch unavailable (%s); falling back to polling every %d ms",
                        exc,
                        POLL_MS,
                    )
                    self.force_polling, self.mode = True, "polling"
        finally:
            resync.cancel()

    async def _watch(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        ready = False
        async for changes in awatch(
            self.root,
            debounce=DEBOUNCE_MS,
            step=10,
            force_polling=self.force_polling,
            poll_delay_ms=POLL_MS,
            recursive=True,
            ignore_permission_denied=True,
            rust_timeout=200,
            yield_on_timeout=True,
        ):
            if changes or not ready:
                # The first (empty) yield means the watch is in place: rescan once so a
                # release written while it was being set up is not missed.
                ready = True
                self.scan()

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.resync_interval)
            self.scan()
