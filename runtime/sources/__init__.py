"""Where the runtime gets released snapshots from: a watched directory or Redis.

:func:`open_source` turns a ``--source`` URL into a source, as ``focalctl.publish.open_target``
does for targets; :func:`supervise` keeps it running.
"""

from __future__ import annotations

from pathlib import Path

from runtime.cache import LocalCache
from runtime.registry import SnapshotRegistry
from runtime.sources.base import Source, SourceHealth, accept, boot_from_cache, supervise
from runtime.sources.file import FileSource
from runtime.sources.redis import RedisSource

__all__ = [
    "FileSource",
    "RedisSource",
    "Source",
    "SourceError",
    "SourceHealth",
    "accept",
    "boot_from_cache",
    "open_source",
    "supervise",
]


class SourceError(ValueError):
    """A ``--source`` that cannot be used, with what to do instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def open_source(
    url: str,
    env: str,
    registry: SnapshotRegistry,
    cache: LocalCache | None = None,
    *,
    resync_interval: float = 15.0,
) -> FileSource | RedisSource:
    """``file:DIR`` (an existing directory) or ``redis://HOST:PORT/DB[?prefix=P]``."""
    if url.startswith("file:"):
        root = Path(url.removeprefix("file:") or ".")
        if not root.is_dir():
            raise SourceError(
                f"source directory {root} does not exist"
                if not root.exists()
                else f"source {root} is not a directory",
                "publish to it first (focalctl apply --target file:DIR) or pass the "
                "directory that focalctl apply writes (default .focal/live)",
            )
        return FileSource(root, env, registry, cache, resync_interval=resync_interval)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisSource(url, env, registry, cache, resync_interval=resync_interval)
    raise SourceError(
        f"unknown source {url!r}", "use --source file:DIR or --source redis://HOST:PORT/DB"
    )
