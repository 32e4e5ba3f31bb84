"""A narrow, typed wrapper over ``bm25s`` (which ships no type information).

Only what the index needs: build from token lists, score every document for a list of terms.
``bm25s`` is imported on the first build, so a runtime that never searches never loads it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Scores = npt.NDArray[np.float32]


class Bm25:
    """BM25 (Lucene variant, k1=1.2, b=0.75) over pre-tokenised documents."""

    def __init__(self, documents: list[list[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        import bm25s

        self.size = len(documents)
        self._model: Any = bm25s.BM25(k1=k1, b=b, method="lucene")
        self._model.index(documents, show_progress=False)
        self.vocabulary: dict[str, int] = dict(self._model.vocab_dict)

    def scores(self, terms: list[str]) -> Scores:
        """Each document's BM25 score for ``terms`` (a repeated term counts again)."""
        ids = [self.vocabulary[t] for t in terms if t in self.vocabulary]
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        out: Scores = np.asarray(self._model.get_scores_from_ids(ids), dtype=np.float32)
        return out
