"""Did-you-mean suggestions for misspelt keys, enum values and references."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# How many valid names a hint lists when nothing is close enough to suggest one.
MAX_LISTED = 10
_CUTOFF = 0.6


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most similar to ``word``, or None when nothing is close.

    Besides whole-word similarity, a word of 4+ characters that is close to the start of
    exactly one candidate suggests it (``Tool`` → ``ToolEffect``, ``Chanel`` →
    ``ChannelProfile``): a name cut short is a common slip.
    """
    options = sorted(set(candidates))
    lower = {c.lower(): c for c in options}
    if word.lower() in lower:
        return lower[word.lower()]
    match = difflib.get_close_matches(word, options, n=1, cutoff=_CUTOFF)
    if match:
        return match[0]
    if len(word) < 4:
        return None
    heads = {c: c[: len(word) + 1].lower() for c in options if len(c) > len(word)}
    prefixed = [
        c
        for c, head in heads.items()
        if difflib.SequenceMatcher(None, word.lower(), head).ratio() >= 0.8
    ]
    return prefixed[0] if len(prefixed) == 1 else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint sentence ``did you mean 'x'?``, or None."""
    match = closest(word, candidates)
    return f"did you mean '{match}'?" if match else None


def listing(names: Iterable[str], limit: int = MAX_LISTED) -> str:
    """``a, b, c`` – at most ``limit`` names, then how many more there are."""
    shown = list(names)
    more = len(shown) - limit
    text = ", ".join(shown[:limit])
    return f"{text} and {more} more" if more > 0 else text


def did_you_mean_or_list(word: str, candidates: Iterable[str], lead: str = "use one of") -> str:
    """``did you mean 'x'?`` when something is close, else ``<lead>: a, b, …`` (at most
    MAX_LISTED names, in the order given)."""
    names = list(dict.fromkeys(candidates))
    return did_you_mean(word, names) or f"{lead}: {listing(names) or 'none'}"
