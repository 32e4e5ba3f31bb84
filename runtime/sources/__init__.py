"""Where the runtime gets released snapshots from: a watched directory or Redis."""

from runtime.sources.base import Source
from runtime.sources.file import FileSource
from runtime.sources.redis import RedisSource

__all__ = ["FileSource", "RedisSource", "Source"]
