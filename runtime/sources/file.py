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
from runtime.errors import Reason
from runtime.layout import POINTER_NAME, Pointer, snapshot_path
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
        """Load every pointer newer than what is active; returns how many were swapped in.

        Never raises for a candidate: whatever goes wrong with one tenant's pointer or snapshot
        rejects that candidate with a reason, and the other tenants are still scanned."""
        swapped = 0
        try:
            pointer_files = sorted((self.root / "tenants").glob(f"*/{self.env}/{POINTER_NAME}"))
        except OSError as exc:
            log.warning("cannot list %s: %s", self.root / "tenants", exc)
            return 0
        seen: set[str] = set()
        for pointer_file in pointer_files:
            tenant = pointer_file.parent.parent.name
            seen.add(tenant)
            try:
                swapped += self._load(tenant, pointer_file)
            except Exception as exc:  # one bad candidate never stops the source
                log.exception("reading the %s candidate at %s failed", tenant, pointer_file)
                self.registry.reject(tenant, "-", Reason.LOAD_ERROR, f"{pointer_file}: {exc!r}")
        self.registry.keep_rejections(seen)
        return swapped

    def _load(self, tenant: str, pointer_file: Path) -> int:
        try:
            pointer = Pointer.from_json(pointer_file.read_bytes())
        except FileNotFoundError:  # removed between the listing and the read
            self.registry.clear_rejection(tenant)
            return 0
        except (OSError, ValueError) as exc:
            self.registry.reject(tenant, "-", Reason.BAD_POINTER, f"{pointer_file}: {exc}")
            return 0
        if pointer.tenant != tenant or pointer.env != self.env:
            self.registry.reject(
                tenant,
                pointer.snapshot,
                Reason.WRONG_TENANT,
                f"{pointer_file} names {pointer.tenant}/{pointer.env}",
            )
            return 0
        if not self.registry.note_pointer(tenant, pointer.version, pointer.snapshot):
            return 0
        try:
            raw = snapshot_path(self.root, pointer.snapshot).read_bytes()
        except OSError as exc:
            self.registry.reject(
                tenant,
                pointer.snapshot,
                Reason.MISSING,
                f"snapshot file unreadable: {exc.strerror or exc}",
                pointer.version,
            )
            return 0
        return 1 if accept(self.registry, self.cache, pointer, raw, self.name) else 0

    async def run(self) -> None:
        """Scan, then watch until cancelled. Only a failure of the watch itself switches to
        polling; a failure of polling too ends ``run`` with the error, for the supervisor
        (:func:`runtime.sources.base.supervise`) to log, report and restart."""
        self.scan()
        resync = asyncio.create_task(self._resync())
        try:
            while True:
                try:
                    await self._watch()
                    return
                except _WatchFailed as failed:
                    if self.force_polling:
                        raise RuntimeError(f"polling {self.root} failed: {failed.error}") from None
                    log.warning(
                        "file watch unavailable (%s); falling back to polling every %d ms",
                        failed.error,
                        POLL_MS,
                    )
                    self.force_polling, self.mode = True, "polling"
        finally:
            resync.cancel()

    async def _watch(self) -> None:
        if not self.root.is_dir():
            raise _WatchFailed(FileNotFoundError(f"{self.root} is not a directory"))
        ready = False
        watch = awatch(
            self.root,
            debounce=DEBOUNCE_MS,
            step=10,
            force_polling=self.force_polling,
            poll_delay_ms=POLL_MS,
            recursive=True,
            ignore_permission_denied=True,
            rust_timeout=200,
            yield_on_timeout=True,
        )
        while True:
            try:
                changes = await anext(watch)
            except StopAsyncIteration:
                return
            except (OSError, RuntimeError) as exc:  # the watch itself, never a scan
                raise _WatchFailed(exc) from exc
            if changes or not ready:
                # The first (empty) yield means the watch is in place: rescan once so a
                # release written while it was being set up is not missed.
                ready = True
                self.scan()

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.resync_interval)
            self.scan()


class _WatchFailed(Exception):
    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error
