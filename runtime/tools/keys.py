"""A tool call's idempotency key: what makes two calls "the same call"."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import rfc8785


def idempotency_key(tool: str, spec: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    """``tool:`` + the business key fields, or + sha256 of the canonical args."""
    fields = list(spec.get("idempotencyKey") or [])
    if fields:
        return f"{tool}:" + rfc8785.dumps({f: args.get(f) for f in fields}).decode()
    return f"{tool}:sha256:" + hashlib.sha256(rfc8785.dumps(dict(args))).hexdigest()


def header_value(key: str) -> str:
    """The key as an ``Idempotency-Key`` header: sha256 hex (a key may hold any JSON)."""
    return hashlib.sha256(key.encode()).hexdigest()
