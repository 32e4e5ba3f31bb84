"""SMS accounting: which encoding a text needs and how many segments it costs.

A text is GSM-7 when every character is in the GSM 03.38 default alphabet or its extension
table (the ``gsm0338`` codec decides, not a hand-copied table); an extension character
(``€ [ ] { } ^ ~ | \\`` and form feed) is sent as an escape plus a septet, so it counts 2.
Anything else makes the whole message UCS-2, where the unit is a UTF-16 code unit: an emoji
outside the Basic Multilingual Plane counts 2.

One segment holds 160 septets (GSM-7) or 70 units (UCS-2); a concatenated message loses room
to its header, 153 and 67 per segment, and a character is never split across two segments.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

SmsEncoding = Literal["gsm-7", "ucs-2"]

#: Units per segment: (a message that fits one segment, each segment of a concatenated one).
_SEGMENT_UNITS: dict[SmsEncoding, tuple[int, int]] = {"gsm-7": (160, 153), "ucs-2": (70, 67)}

#: The escape septet itself is not a character anyone can send.
_ESCAPE = "\x1b"


@lru_cache(maxsize=4096)
def _septets(char: str) -> int | None:
    """Septets ``char`` takes in GSM-7 (1, or 2 from the extension table); None if it has none."""
    if char == _ESCAPE:
        return None
    try:
        return len(char.encode("gsm03.38"))
    except UnicodeEncodeError:
        return None


def sms_encoding(text: str) -> SmsEncoding:
    """GSM-7 if every character of ``text`` has a septet encoding, else UCS-2."""
    return "gsm-7" if all(_septets(c) is not None for c in text) else "ucs-2"


def char_units(char: str, encoding: SmsEncoding) -> int:
    """What one character costs in ``encoding``: septets for GSM-7, UTF-16 code units for UCS-2."""
    if encoding == "gsm-7":
        septets = _septets(char)
        if septets is None:
            raise ValueError(f"{char!r} has no GSM-7 encoding")
        return septets
    return 2 if ord(char) > 0xFFFF else 1


def sms_cost(char: str) -> int:
    """What ``char`` costs in whichever encoding its message is sent in: its septets if it has
    any, else its UTF-16 units. A part measured this way fits its limit as GSM-7 and as UCS-2,
    so a GSM-only part of a UCS-2 reply still fits if a gateway encodes each part alone."""
    septets = _septets(char)
    return septets if septets is not None else char_units(char, "ucs-2")


def sms_units(text: str, encoding: SmsEncoding) -> int:
    """The length of ``text`` in the units of ``encoding``."""
    return sum(char_units(c, encoding) for c in text)


def sms_segments(text: str) -> int:
    """Segments one SMS carrying ``text`` costs, in the encoding it needs (0 for no text)."""
    if not text:
        return 0
    encoding = sms_encoding(text)
    single, multi = _SEGMENT_UNITS[encoding]
    costs = [char_units(c, encoding) for c in text]
    if sum(costs) <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments, used = segments + 1, 0
        used += cost
    return segments
