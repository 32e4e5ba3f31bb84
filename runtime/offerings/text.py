"""Tokens for offerings retrieval: words, a light English stemmer and typo correction.

Text is case-folded, accents are dropped and words are runs of letters or digits. Stop words
(the function words of questions: "do", "is", "the"...) are dropped. :func:`stem` strips common
English inflections (plurals, -ing, -ed, -er, -ly, a final -e) so "running shoes" meets "Trail
Runner 2 shoes"; it is a few rules, not Snowball (PyStemmer), because catalogs are short texts
and both sides of a match go through the same rules: no extra compiled package is needed.

Typos are corrected at query time against the index's own vocabulary (:class:`Speller`): a query
word whose stem the catalog never uses is replaced by the catalog words within a small edit
distance (1 for words of up to 5 letters, 2 for longer ones; a transposition counts once) that
start with the same letter (first letters are rarely mistyped), found through shared character
bigrams. Two adjacent query words
whose concatenation is a catalog word ("head lamp") add that word. The index stays exact (no
n-gram postings to score), and a known word costs one dictionary lookup.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Container, Iterable

_WORD = re.compile(r"[^\W_]+")
_MARKS = re.compile(r"[\u0300-\u036f]")  # combining accents left by NFKD

_STOP = """a about all also am an and any are as at be been but by can could do does did for
from get got had has have how i if in into is it its me my no not of on or our so than that the
their them then there these they this those to too us was we were what when where which who why
will with would you your yours want wanted need please hi hello"""
STOPWORDS = frozenset(_STOP.split())


def words(text: str) -> list[str]:
    """Case-folded, accent-free words of ``text`` (stop words kept)."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _MARKS.sub("", unicodedata.normalize("NFKD", folded))
    return _WORD.findall(folded)


def _undouble(word: str) -> str:
    if len(word) >= 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        return word[:-1]
    return word


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """A light English stemmer: plurals, -ing, -ed, -er, -ly and a final -e."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "zes", "ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    for suffix, keep in (("ing", 3), ("ed", 3), ("er", 4), ("ly", 4)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            word = _undouble(word[: -len(suffix)])
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def terms(text: str | list[str]) -> list[str]:
    """The indexed terms of ``text`` (or of its :func:`words`): stemmed, stop words dropped."""
    return [stem(w) for w in (words(text) if isinstance(text, str) else text) if w not in STOPWORDS]


def _grams(word: str) -> set[str]:
    """Character bigrams of ``word`` with its boundaries, each keyed by the first letter."""
    padded = f"^{word}$"
    return {word[0] + padded[i : i + 2] for i in range(len(padded) - 1)}


def distance(a: str, b: str, bound: int) -> int:
    """Optimal string alignment distance of ``a`` and ``b`` (``bound + 1`` once it exceeds
    ``bound``)."""
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > bound:
            return bound + 1
        prev2, prev = prev, cur
    return prev[-1]


class Speller:
    """Query-time typo correction against the words an index was built from."""

    def __init__(self, vocabulary: Iterable[str], limit: int = 20_000) -> None:
        self.words = {w for w in vocabulary if w.isalpha() and len(w) >= 3}
        self._grams: dict[str, list[str]] = {}
        for w in self.words:
            for gram in _grams(w):
                self._grams.setdefault(gram, []).append(w)
        self._memo: dict[str, tuple[str, ...]] = {}
        self._limit = limit

    def correct(self, word: str) -> tuple[str, ...]:
        """Catalog words closest to an unknown ``word`` (none when nothing is close)."""
        found = self._memo.get(word)
        if found is None:
            found = self._closest(word)
            if len(self._memo) < self._limit:
                self._memo[word] = found
        return found

    def _closest(self, word: str) -> tuple[str, ...]:
        if len(word) < 4 or not word.isalpha():
            return ()
        bound = 1 if len(word) <= 5 else 2
        grams = _grams(word)
        shared = Counter(w for g in grams for w in self._grams.get(g, ()))
        need = max(1, len(grams) - 3 * bound)  # an edit changes at most 3 bigrams
        best: list[str] = []
        best_d = bound + 1
        for candidate, count in shared.items():
            if count < need:
                continue
            d = distance(word, candidate, bound)
            if d > bound:
                continue
            if d < best_d:
                best, best_d = [candidate], d
            elif d == best_d:
                best.append(candidate)
        return tuple(sorted(best)[:3])


def query_terms(text: str, speller: Speller, known: Container[str]) -> list[str]:
    """The terms of a query: each word's stem, or for a word whose stem is not ``known``, the
    stems of its closest catalog words; plus joined neighbours that form a catalog word."""
    vocab = speller.words
    plain = [w for w in words(text) if w not in STOPWORDS]
    out: list[str] = []
    for w in plain:
        s = stem(w)
        fixed = () if s in known or w in vocab else speller.correct(w)
        if fixed:
            out.extend(stem(f) for f in fixed)
        else:
            out.append(s)
    for left, right in itertools.pairwise(plain):
        if left + right in vocab:
            out.append(stem(left + right))
    return out
