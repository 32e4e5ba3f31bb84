"""Where released snapshots live: the file-target layout and the Redis key scheme.

Shared by the publisher (``focalctl apply``) and the runtime's sources, so both agree.

File target (a directory, default ``.focal/live``)::

    snapshots/<hex>.json                 canonical snapshot bytes; <hex> = sha256 of the bytes
    tenants/<tenant>/<env>/current.json  pointer {"tenant", "env", "version", "snapshot"}

Redis target (``prefix`` defaults to ``focal``; tests use their own)::

    {prefix}:{tenant}:{env}:snapshot:{id}   the snapshot bytes
    {prefix}:{tenant}:{env}:current         the pointer JSON, only ever moved to a higher version
    {prefix}:cfg-updated                    pub/sub channel; message = the pointer JSON (a hint)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.spec import NAME_PATTERN

_NAME = re.compile(NAME_PATTERN)
DEFAULT_PREFIX = "focal"
POINTER_NAME = "current.json"
POINTER_MAX_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Pointer:
    """Which snapshot is current for one (tenant, env), and its release version."""

    tenant: str
    env: str
    version: int
    snapshot: str

    def to_json(self) -> bytes:
        body = {
            "tenant": self.tenant,
            "env": self.env,
            "version": self.version,
            "snapshot": self.snapshot,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Pointer:
        """Parse a pointer; raises ``ValueError`` with a reason when it is malformed.

        A pointer is a few hundred bytes; anything over :data:`POINTER_MAX_BYTES` is refused
        before parsing, so no pointer (or pub/sub hint) can make the parser recurse deeply."""
        if len(raw) > POINTER_MAX_BYTES:
            raise ValueError(
                f"pointer is {len(raw)} bytes; a pointer is a small JSON object "
                f"(at most {POINTER_MAX_BYTES} bytes)"
            )
        try:
            data: Any = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ValueError(f"pointer is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("pointer is not a JSON object")
        try:
            tenant, env, version, snapshot = (
                data["tenant"],
                data["env"],
                data["version"],
                data["snapshot"],
            )
        except KeyError as exc:
            raise ValueError(f"pointer lacks {exc.args[0]!r}") from exc
        if not (isinstance(tenant, str) and isinstance(env, str) and isinstance(snapshot, str)):
            raise ValueError("pointer fields tenant, env, snapshot must be strings")
        for what, name in (("tenant", tenant), ("env", env)):
            if not _NAME.fullmatch(name):
                raise ValueError(f"pointer {what} {name!r} is not a valid name ({NAME_PATTERN})")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError("pointer version must be a positive integer")
        if not snapshot.startswith("sha256:") or len(snapshot) != 71:
            raise ValueError(f"pointer snapshot id {snapshot!r} is not sha256:<64 hex>")
        return cls(tenant, env, version, snapshot)


def snapshot_hex(snapshot_id: str) -> str:
    return snapshot_id.removeprefix("sha256:")


def snapshot_path(root: Path, snapshot_id: str) -> Path:
    return root / "snapshots" / f"{snapshot_hex(snapshot_id)}.json"


def pointer_path(root: Path, tenant: str, env: str) -> Path:
    return root / "tenants" / tenant / env / POINTER_NAME


def redis_snapshot_key(prefix: str, tenant: str, env: str, snapshot_id: str) -> str:
    return f"{prefix}:{tenant}:{env}:snapshot:{snapshot_id}"


def redis_current_key(prefix: str, tenant: str, env: str) -> str:
    return f"{prefix}:{tenant}:{env}:current"


def redis_channel(prefix: str) -> str:
    return f"{prefix}:cfg-updated"
