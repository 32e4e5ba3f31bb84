"""Cutting a normalised text into parts that fit a channel's message length.

Lengths are measured by a per-character cost (1 for most channels; septets or UTF-16 units
for SMS). A cut is made only at a run of whitespace, and the run is dropped: parts never start
or end with whitespace, and ``Cut.breaks`` keeps what was dropped, so the parts interleaved
with their breaks are the text again, exactly. Among the runs that fit, a paragraph break beats
a line break or a sentence end, which beats any other whitespace, provided it leaves the part
at least half as long as it could be (so a preference never yields a tiny part). A list
marker that starts a line ("- ", "1. ") counts as part of its item's first word. Only a single
word (or URL) longer than the limit is cut inside, at a grapheme-cluster boundary (so an emoji
sequence or a letter with its accents stays whole), with an empty break.

A grapheme cluster that alone costs more than the limit is cut between its code points; a
code point is never cut, so one that alone costs more than the limit (a 2-unit character under
a limit of 1) makes a part over the limit.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

import regex

#: Characters that never break a line: they are not cut points.
_NO_BREAK = frozenset("\u00a0\u2007\u202f\u2060\ufeff")
_SENTENCE_END = frozenset(".!?…")
_CLOSERS = frozenset("\"')]»”’")
_GRAPHEME = regex.compile(r"\X")
_BULLETS = ("-", "*", "+")


@dataclass(frozen=True)
class Cut:
    """Parts of a text, and the whitespace dropped between each two ("" after a hard cut)."""

    parts: tuple[str, ...]
    breaks: tuple[str, ...]
    truncated: bool = False


def is_space(char: str) -> bool:
    """Whitespace a line may break at (no-break spaces excluded)."""
    return char.isspace() and char not in _NO_BREAK


class _Measured:
    """A text with its cumulative costs and its whitespace runs, to find cut points fast."""

    def __init__(self, text: str, cost: Callable[[str], int]) -> None:
        self.text = text
        self.total = [0, *accumulate(cost(c) for c in text)]
        runs: list[tuple[int, int]] = []
        for i, char in enumerate(text):
            if is_space(char):
                if runs and runs[-1][1] == i:
                    runs[-1] = (runs[-1][0], i + 1)
                else:
                    runs.append((i, i + 1))
        self.runs = runs
        self.starts = [start for start, _ in runs]

    def cost(self, start: int, end: int) -> int:
        return self.total[end] - self.total[start]

    def reach(self, start: int, budget: int) -> int:
        """The furthest end such that text[start:end] costs at most ``budget``."""
        return bisect_right(self.total, self.total[start] + budget) - 1

    def best_run(self, start: int, end: int) -> tuple[int, int] | None:
        """The whitespace run to cut at so that text[start:run] fits in text[start:end]."""
        first, last = bisect_right(self.starts, start), bisect_right(self.starts, end)
        half = start + (end - start) / 2
        best: tuple[int, int] | None = None
        best_key = (-2, -1)
        for run in self.runs[first:last]:
            if self._after_marker(run):
                continue
            key = (self._rank(run) if run[0] >= half else -1, run[0])
            if key > best_key:
                best, best_key = run, key
        return best

    def _after_marker(self, run: tuple[int, int]) -> bool:
        """Whether ``run`` follows a list marker ("-", "1.") that starts a line: a marker is
        bound to its item's first word (a lone "-" part would mean nothing, or a heading)."""
        line_start = self.text.rfind("\n", 0, run[0]) + 1
        token = self.text[line_start : run[0]].lstrip(" ")
        return token in _BULLETS or (token[:-1].isdigit() and token[-1:] in ".)")

    def _rank(self, run: tuple[int, int]) -> int:
        gap = self.text[run[0] : run[1]]
        if "\n\n" in gap:
            return 2
        before = self.text[max(run[0] - 2, 0) : run[0]]
        ends_sentence = before[-1:] in _SENTENCE_END or (
            before[-1:] in _CLOSERS and before[:1] in _SENTENCE_END
        )
        return 1 if "\n" in gap or ends_sentence else 0

    def gap_at(self, cut: int) -> tuple[int, int]:
        """The whitespace around position ``cut`` (empty if it falls between two non-spaces):
        a hard cut landing next to the space after a list marker drops that space."""
        first, last = cut, cut
        while first and is_space(self.text[first - 1]):
            first -= 1
        while last < len(self.text) and is_space(self.text[last]):
            last += 1
        return first, last

    def hard_end(self, start: int, end: int) -> int:
        """The last grapheme boundary in (start, end]; without one, ``end`` itself (between
        code points of a cluster longer than the limit), or one code point if ``end`` is start."""
        cut = start
        for match in _GRAPHEME.finditer(self.text, start):
            if match.end() > end:
                break
            cut = match.end()
        return cut if cut > start else max(end, start + 1)


def split(text: str, limit: int, cost: Callable[[str], int]) -> Cut:
    """``text`` (normalised: no leading or trailing whitespace) in parts of at most ``limit``."""
    if sum(map(cost, text)) <= limit:  # most replies: one part, no cut to look for
        return Cut((text,) if text else (), ())
    measured = _Measured(text, cost)
    parts: list[str] = []
    breaks: list[str] = []
    start = 0
    while measured.cost(start, len(text)) > limit:
        end = measured.reach(start, limit)
        run = measured.best_run(start, end)
        if run is None:
            run = measured.gap_at(measured.hard_end(start, end))
        parts.append(text[start : run[0]])
        breaks.append(text[run[0] : run[1]])
        start = run[1]
    if text:
        parts.append(text[start:])
    return Cut(tuple(parts), tuple(breaks))


def truncate(text: str, limit: int, cost: Callable[[str], int], ellipsis: str) -> Cut:
    """``text`` as one part of at most ``limit``, cut at a boundary and ended by ``ellipsis``."""
    measured = _Measured(text, cost)
    if measured.cost(0, len(text)) <= limit:
        return Cut((text,) if text else (), ())
    end = measured.reach(0, max(limit - sum(cost(c) for c in ellipsis), 0))
    run = measured.best_run(0, end)
    cut = run[0] if run is not None else measured.gap_at(measured.hard_end(0, end))[0] if end else 0
    return Cut((text[:cut] + ellipsis,), (), truncated=True)
