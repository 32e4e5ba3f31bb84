"""Did-you-mean suggestions for misspelt keys, enum values and references."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most similar to ``word``, or None when nothing is close."""
    options = sorted(set(candidates))
    lower = {c.lower(): c for c in options}
    if word.lower() in lower:
        return lower[word.lower()]
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return match[0] if match else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint sentence ``did you mean 'x'?``, or None."""
    match = closest(word, candidates)
    return f"did you mean '{match}'?" if match else None
