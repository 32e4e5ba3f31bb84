"""format_reply: one reply text made ready for a channel profile, as the parts to send."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.channels.plain import to_plain
from runtime.channels.sms import SmsEncoding, sms_cost, sms_encoding, sms_segments
from runtime.channels.split import Cut, is_space, split, truncate
from runtime.spec import Capabilities, ChannelFormat, ChannelProfileSpec


@dataclass(frozen=True)
class Formatted:
    """A reply ready to send: ``parts`` in order, each within the profile's message length.

    ``breaks[i]`` is the whitespace dropped between ``parts[i]`` and ``parts[i + 1]`` ("" where
    a word longer than the limit was cut), so :meth:`text` gives the normalised reply back.
    ``buttons`` are the labels to send as native buttons (empty when the channel has none and
    they were written into the text instead). For SMS, ``encoding`` is the reply's (GSM-7 only
    if every character has a septet) and ``segments`` what all parts cost, each part counted
    in the encoding it needs on its own; both are None elsewhere.
    ``truncated`` says the text was cut short and ends with an ellipsis.
    """

    parts: tuple[str, ...]
    breaks: tuple[str, ...] = ()
    buttons: tuple[str, ...] = ()
    encoding: SmsEncoding | None = None
    segments: int | None = None
    truncated: bool = False

    def text(self) -> str:
        """The parts joined by what was dropped between them: the normalised reply, exactly."""
        joined = self.parts[:1]
        for gap, part in zip(self.breaks, self.parts[1:], strict=True):
            joined += (gap, part)
        return "".join(joined)


_SPECS: dict[str, ChannelProfileSpec] = {}
# what could make a text mean something else to a markdown parser: emphasis, code, links,
# headings, quotes, tables, HTML and entities, escapes, list and rule markers at a line start
_MARKUP = re.compile(r"[*_`#>\[\]~|<&\\]|^[ \t]*([-+=]|\d+[.)])", re.M)


def _spec(profile: Mapping[str, Any]) -> ChannelProfileSpec:
    """The profile's model, validated once per distinct profile (a few per snapshot)."""
    key = json.dumps(profile, sort_keys=True, default=str)
    found = _SPECS.get(key)
    if found is None:
        if len(_SPECS) > 256:
            _SPECS.clear()
        found = _SPECS[key] = ChannelProfileSpec.model_validate(dict(profile))
    return found


def format_reply(
    text: str, profile: Mapping[str, Any], *, buttons: Sequence[str] = ()
) -> Formatted:
    """``text`` formatted for ``profile`` (a ChannelProfile's compiled spec, as in a snapshot).

    In order: markdown kept or turned into plain text (``capabilities.markdown``); buttons
    written as a numbered list when the channel has none; the greeting before (email only: a
    chat or a text does not open with one) and the signature after (any channel that sets
    one, e.g. "- Acme" on SMS), both already rendered; the result normalised (see :func:`normalise`); then split or
    truncated (``format.split``) to ``capabilities.maxMessageLength``, measured in characters,
    or for SMS in septets (GSM-7) or UTF-16 units (UCS-2), whichever the part is sent in.
    """
    spec = _spec(profile)
    caps = spec.capabilities or Capabilities()
    fmt = spec.format or ChannelFormat()
    # markdown-it is only asked when the text could hold markdown: most replies are plain
    blocks = [text if caps.markdown or not _MARKUP.search(text) else to_plain(text)]
    if buttons and not caps.buttons:
        blocks.append("\n".join(f"{n}. {label}" for n, label in enumerate(buttons, 1)))
    greeting = fmt.greeting if spec.channel == "email" else None
    blocks = [greeting or "", *blocks, fmt.signature or ""]
    body = normalise("\n\n".join(blocks))
    encoding = sms_encoding(body) if spec.channel == "sms" else None
    limit = caps.max_message_length
    if limit is None:
        cut = Cut((body,) if body else (), ())
    elif fmt.split == "truncate":
        # "…" has no GSM-7 septet: it would turn a GSM-7 reply into UCS-2 and halve its room.
        ellipsis = "..." if encoding == "gsm-7" else "…"
        cut = truncate(body, limit, sms_cost if encoding else _one_unit, ellipsis)
    else:
        cut = split(body, limit, sms_cost if encoding else _one_unit)
    return Formatted(
        parts=cut.parts,
        breaks=cut.breaks,
        buttons=tuple(buttons) if caps.buttons else (),
        encoding=encoding,
        segments=sum(sms_segments(part) for part in cut.parts) if encoding else None,
        truncated=cut.truncated,
    )


def normalise(text: str) -> str:
    """Line ends as ``\\n``, no whitespace at the end of a line, at most one blank line in a
    row, none at either end: the text whose parts :class:`Formatted` holds."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    joined = "\n".join(_trim_end(line) for line in lines)
    while "\n\n\n" in joined:
        joined = joined.replace("\n\n\n", "\n\n")
    start = 0
    while start < len(joined) and is_space(joined[start]):
        start += 1
    return _trim_end(joined[start:])


def _trim_end(line: str) -> str:
    end = len(line)
    while end and is_space(line[end - 1]):
        end -= 1
    return line[:end]


def _one_unit(char: str) -> int:
    """Every character costs one unit (a channel that counts characters, not septets)."""
    return 1
