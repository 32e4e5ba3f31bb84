"""The file and Redis publish targets."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qs, urlsplit, urlunsplit

from focalctl.names import InvalidName, check_name
from runtime.fsutil import write_atomic

if TYPE_CHECKING:  # imported when a Redis target is opened: file-target runs skip its ~50 ms
    import redis
from runtime.layout import (
    DEFAULT_PREFIX,
    Pointer,
    pointer_path,
    redis_channel,
    redis_current_key,
    redis_snapshot_key,
    snapshot_path,
)

DEFAULT_TARGET = "file:.focal/live"


class PublishError(Exception):
    """The target cannot be read or written (for apply: the release is stored but not
    published; re-running apply publishes it). ``hint`` says what to check."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


_SNAPSHOT_ID = re.compile(r"sha256:[0-9a-f]{64}")


def _checked(tenant: str, env: str, snapshot: str | None = None) -> None:
    """Refuse names that would leave the target's layout (``../x`` as a directory, ``a:b`` in a
    Redis key) before any path or key is built from them. Raises InvalidName (a ValueError)."""
    check_name("tenant", tenant)
    check_name("environment", env)
    if snapshot is not None and not _SNAPSHOT_ID.fullmatch(snapshot):
        raise InvalidName(f"invalid snapshot id {snapshot!r}: expected sha256:<64 hex digits>")


class Target(Protocol):
    description: str

    def current(self, tenant: str, env: str) -> Pointer | None: ...

    def publish(self, pointer: Pointer, raw: bytes) -> bool:
        """Make ``raw`` current for the pointer's tenant/env; False if a newer version is there."""
        ...


def open_target(spec: str | None) -> Target:
    spec = spec or os.environ.get("FOCAL_TARGET") or DEFAULT_TARGET
    if spec.startswith("file:"):
        return FileTarget(Path(spec.removeprefix("file:") or "."))
    if spec.startswith(("redis://", "rediss://", "unix://")):
        return RedisTarget.from_url(spec)
    raise PublishError(f"unknown publish target {spec!r}; use file:DIR or redis://HOST:PORT/DB")


class FileTarget:
    """A directory of content-addressed snapshot files and one pointer per (tenant, env)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = f"file:{root}"

    def current(self, tenant: str, env: str) -> Pointer | None:
        _checked(tenant, env)
        path = pointer_path(self.root, tenant, env)
        try:
            return Pointer.from_json(path.read_bytes())
        except FileNotFoundError:
            return None
        except ValueError:
            return None  # a damaged pointer is replaced by the next publish
        except OSError as exc:  # a file where a directory belongs, no permission, ...
            raise PublishError(
                f"cannot read {path}: {exc.strerror or exc}",
                "point --target (or FOCAL_TARGET) at a directory this user can write: file:DIR",
            ) from exc

    def publish(self, pointer: Pointer, raw: bytes) -> bool:
        _checked(pointer.tenant, pointer.env, pointer.snapshot)
        try:
            existing = self.current(pointer.tenant, pointer.env)
            if existing is not None and existing.version > pointer.version:
                return False
            snap = snapshot_path(self.root, pointer.snapshot)
            if not snap.exists() or snap.read_bytes() != raw:
                write_atomic(snap, raw)
            write_atomic(pointer_path(self.root, pointer.tenant, pointer.env), pointer.to_json())
        except OSError as exc:
            raise PublishError(f"cannot write to {self.root}: {exc.strerror or exc}") from exc
        return True


# KEYS[1] = current pointer key, KEYS[2] = channel; ARGV[1] = pointer JSON, ARGV[2] = version.
_MOVE_FORWARD = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, decoded = pcall(cjson.decode, cur)
  if ok and tonumber(decoded['version']) and tonumber(decoded['version']) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', KEYS[2], ARGV[1])
return 1
"""


class RedisTarget:
    """Snapshot keys plus a forward-only ``current`` pointer and a ``cfg-updated`` hint."""

    def __init__(self, client: redis.Redis, prefix: str, description: str) -> None:
        from redis import RedisError

        self._error = RedisError
        self.client = client
        self.prefix = prefix
        self.description = description
        self._move = client.register_script(_MOVE_FORWARD)

    @classmethod
    def from_url(cls, url: str) -> RedisTarget:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        prefix = query.pop("prefix", [os.environ.get("FOCAL_REDIS_PREFIX", DEFAULT_PREFIX)])[0]
        clean = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        import redis

        client = redis.Redis.from_url(clean, socket_timeout=10, socket_connect_timeout=5)
        shown = urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))
        return cls(client, prefix, f"{shown} (prefix {prefix})")

    def current(self, tenant: str, env: str) -> Pointer | None:
        _checked(tenant, env)
        try:
            raw = self.client.get(redis_current_key(self.prefix, tenant, env))
        except self._error as exc:
            raise PublishError(f"cannot reach Redis at {self.description}: {exc}") from exc
        if raw is None:
            return None
        try:
            return Pointer.from_json(raw)
        except ValueError:
            return None

    def publish(self, pointer: Pointer, raw: bytes) -> bool:
        _checked(pointer.tenant, pointer.env, pointer.snapshot)
        try:
            self.client.set(
                redis_snapshot_key(self.prefix, pointer.tenant, pointer.env, pointer.snapshot), raw
            )
            moved = self._move(
                keys=[
                    redis_current_key(self.prefix, pointer.tenant, pointer.env),
                    redis_channel(self.prefix),
                ],
                args=[pointer.to_json(), pointer.version],
            )
        except self._error as exc:
            raise PublishError(f"cannot publish to Redis at {self.description}: {exc}") from exc
        return bool(moved)
