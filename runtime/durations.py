"""Durations as authored in bundles: ``0``, ``800ms``, ``15s``, ``5m``, ``24h``, ``7d``, ``1h30m``."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_PART = re.compile(r"(\d+)(ms|s|m|h|d)")
_WHOLE = re.compile(r"(?:\d+(?:ms|s|m|h|d))+")


def parse_duration(text: str) -> int:
    """Milliseconds in ``text``; raises ``ValueError`` with a how-to-fix message."""
    if not isinstance(text, str):
        raise ValueError(f"a duration is a string like '800ms' or '24h', not {text!r}")
    s = text.strip()
    if s == "0":
        return 0
    if not _WHOLE.fullmatch(s):
        raise ValueError(f"'{text}' is not a duration; write e.g. 800ms, 15s, 5m, 24h, 7d or 1h30m")
    return sum(int(n) * _UNIT_MS[u] for n, u in _PART.findall(s))


def _check(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[str, AfterValidator(_check)]

__all__ = ["Duration", "parse_duration"]
