"""Publish targets: where a release becomes visible to runtimes.

- ``file:DIR`` (default ``file:.focal/live``): the snapshot file, then an atomically renamed
  pointer, so a reader sees the old or the new release, never half of either.
- ``redis://HOST:PORT/DB[?prefix=P]``: the snapshot key, then the ``current`` pointer moved only
  forward (a Lua script compares versions), then a ``cfg-updated`` message as a hint.

The layout is :mod:`runtime.layout`, shared with the runtime's sources.
"""

from focalctl.publish.targets import (
    DEFAULT_TARGET,
    FileTarget,
    PublishError,
    RedisTarget,
    Target,
    open_target,
)

__all__ = ["DEFAULT_TARGET", "FileTarget", "PublishError", "RedisTarget", "Target", "open_target"]
