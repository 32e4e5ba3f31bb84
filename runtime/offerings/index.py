"""The offerings index of one snapshot: BM25 over offerings and their FAQ entries.

Each offering is one document (its display name twice, description, tags, type, and its
attributes: the key of a ``true`` one, key and value of a text or number, nothing for ``false``)
and each FAQ entry another (question and answer). An offering's score for a query is its own
document's score plus that of its best-matching FAQ entry; the hit says ``matched: "faq"`` (with
the question) when the FAQ entry scored higher than the offering's own text. Filters (the
agent's ``catalog`` selector, the channel profile) are masks computed once per combination.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from runtime.offerings._bm25 import Bm25
from runtime.offerings.text import Speller, query_terms, terms, words
from runtime.spec import catalog_selects

Matched = Literal["offering", "faq"]


@dataclass(frozen=True, slots=True)
class Hit:
    """One offering found for a query."""

    offering: str
    score: float
    matched: Matched
    display_name: str
    price: dict[str, Any] | None = None
    question: str | None = None  # the FAQ question, when matched by FAQ

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "offering": self.offering,
            "score": self.score,
            "matched": self.matched,
        }
        if self.question is not None:
            out["question"] = self.question
        out["displayName"] = self.display_name
        if self.price is not None:
            out["price"] = self.price
        return out


class _HasBody(Protocol):
    @property
    def body(self) -> dict[str, Any]: ...


def _offering_text(spec: Mapping[str, Any]) -> str:
    parts = [spec["displayName"], spec["displayName"], spec.get("description") or ""]
    parts += [str(t) for t in spec.get("tags") or []]
    parts.append(str(spec.get("type") or ""))
    for key, value in (spec.get("attributes") or {}).items():
        if value is False:
            continue
        parts.append(key.replace("_", " "))
        if value is not True:
            parts.append(str(value))
    return " ".join(parts)


class OfferingIndex:
    """Built once per snapshot; :meth:`search` is safe from any thread."""

    def __init__(self, offerings: Mapping[str, Mapping[str, Any]]) -> None:
        """``offerings``: a snapshot's ``offerings`` table, ``{name: {"spec", "labels"?}}``."""
        self.names = sorted(offerings)
        self._specs = [offerings[n]["spec"] for n in self.names]
        self._labels = [offerings[n].get("labels") or {} for n in self.names]
        texts = [_offering_text(s) for s in self._specs]
        self._questions: list[str] = []
        faq_offerings: list[int] = []
        faq_starts: list[int] = []
        for i, spec in enumerate(self._specs):
            faq = spec.get("faq") or []
            if faq:
                faq_offerings.append(i)
                faq_starts.append(len(self._questions))
            for entry in faq:
                self._questions.append(entry["q"])
                texts.append(f"{entry['q']} {entry['a']}")
        self._faq_offerings = np.asarray(faq_offerings, dtype=np.intp)
        self._faq_starts = np.asarray(faq_starts, dtype=np.intp)
        self._faq_ends = np.asarray([*faq_starts[1:], len(self._questions)], dtype=np.intp)
        split = [words(t) for t in texts]
        self._bm25 = Bm25([terms(ws) or [""] for ws in split]) if texts else None
        self.speller = Speller({w for ws in split for w in ws})
        n = len(self.names)
        self._everywhere = np.fromiter((not s.get("channels") for s in self._specs), np.bool_, n)
        self._by_channel: dict[str, list[int]] = {}
        self._by_labels: dict[tuple[tuple[str, str], ...], list[int]] = {}
        for i, (spec, labels) in enumerate(zip(self._specs, self._labels, strict=True)):
            for channel in spec.get("channels") or []:
                self._by_channel.setdefault(channel, []).append(i)
            self._by_labels.setdefault(tuple(sorted(labels.items())), []).append(i)
        self._masks: dict[tuple[tuple[tuple[str, str], ...], str | None], npt.NDArray[np.bool_]]
        self._masks = {}
        self._lock = threading.Lock()

    @classmethod
    def build(cls, source: _HasBody | Mapping[str, Mapping[str, Any]]) -> OfferingIndex:
        """From a :class:`~runtime.brain.CompiledSnapshot` (or anything with a snapshot
        ``body``) or from a snapshot's ``offerings`` table."""
        if isinstance(source, Mapping):
            return cls(source)
        return cls(source.body.get("offerings") or {})

    def __len__(self) -> int:
        return len(self.names)

    def _mask(self, selector: Mapping[str, str], channel: str | None) -> npt.NDArray[np.bool_]:
        """Offerings that ``selector`` selects and that are offered on ``channel``."""
        key = (tuple(sorted(selector.items())), channel)
        found = self._masks.get(key)
        if found is None:
            found = np.zeros(len(self.names), dtype=np.bool_)
            for labels, members in self._by_labels.items():  # once per distinct label set
                if catalog_selects(selector, dict(labels)):
                    found[members] = True
            if channel is not None:
                offered = self._everywhere.copy()
                offered[self._by_channel.get(channel, [])] = True
                found &= offered
            with self._lock:
                if len(self._masks) >= 256:
                    self._masks.clear()
                self._masks[key] = found
        return found

    def search(
        self,
        q: str,
        *,
        agent: Mapping[str, Any] | None = None,
        channel: str | None = None,
        k: int = 5,
    ) -> list[Hit]:
        """The ``k`` best offerings for ``q`` that ``agent``'s catalog selector (its spec) and
        ``channel`` (a channel profile name) allow; empty for a blank query."""
        if k <= 0 or not q.strip() or self._bm25 is None:
            return []
        query = query_terms(q, self.speller, self._bm25.vocabulary)
        scores = self._bm25.scores(query)
        n = len(self.names)
        own = scores[:n]
        faq = np.zeros(n, dtype=np.float32)
        if len(self._faq_offerings):
            faq[self._faq_offerings] = np.maximum.reduceat(scores[n:], self._faq_starts)
        total = own + faq
        total[~self._mask((agent or {}).get("catalog") or {}, channel)] = 0.0
        found = np.flatnonzero(total > 0)
        if len(found) > k:
            found = found[np.argpartition(-total[found], k - 1)[:k]]
        ranked = sorted(found.tolist(), key=lambda i: (-float(total[i]), self.names[i]))
        return [self._hit(i, float(total[i]), float(own[i]), float(faq[i]), scores) for i in ranked]

    def _hit(self, i: int, score: float, own: float, faq: float, scores: Any) -> Hit:
        spec = self._specs[i]
        question = None
        if faq > own:
            at = int(np.searchsorted(self._faq_offerings, i))
            start, end = int(self._faq_starts[at]), int(self._faq_ends[at])
            n = len(self.names)
            question = self._questions[start + int(np.argmax(scores[n + start : n + end]))]
        return Hit(
            offering=self.names[i],
            score=round(score, 4),
            matched="faq" if question is not None else "offering",
            display_name=spec["displayName"],
            price=spec.get("price"),
            question=question,
        )
