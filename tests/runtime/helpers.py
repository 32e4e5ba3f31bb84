"""Building real snapshots for runtime tests: compiled from agents.d, varied per release."""

from __future__ import annotations

import copy
import json
import socket
from functools import lru_cache
from typing import Any

from focalctl.compile import compile_paths
from runtime.snapshot import canonical_bytes, snapshot_id
from tests.conftest import REPO


@lru_cache(maxsize=1)
def base_body() -> dict[str, Any]:
    return compile_paths([REPO / "agents.d"]).snapshots["demo"].body


def release(n: int, tenant: str = "demo") -> tuple[str, bytes]:
    """A distinct, valid snapshot for release ``n`` of ``tenant``."""
    body = copy.deepcopy(base_body())
    body["tenant"]["name"] = tenant
    body["tenant"]["description"] = f"release {n}"
    raw = canonical_bytes(body)
    return snapshot_id(raw), raw


def corrupt(kind: str, tenant: str = "demo") -> tuple[str, bytes]:
    """(id named by the pointer, bytes) for each kind of bad candidate."""
    good_id, raw = release(999_999, tenant)
    if kind == "truncated":
        return good_id, raw[: len(raw) // 2]
    if kind == "not_json":
        bad = b"this is not json {"
        return snapshot_id(bad), bad
    if kind == "digest_mismatch":
        return good_id, raw.replace(b"release 999999", b"release 999998")
    body = json.loads(raw)
    if kind == "schema_invalid":
        body["agents"]["concierge"]["spec"]["enabled"] = "maybe"
    elif kind == "future_format":
        body["format"] = "focal.snapshot/v2"
    bad = canonical_bytes(body)
    return snapshot_id(bad), bad


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
