"""The lexical side of the index: BM25 (the ``bm25s`` library, sparse matrices) over our own
terms (qa/core/text.py), so the index and the question are tokenised the same way."""

from __future__ import annotations

import bisect
import logging
from pathlib import Path

import numpy as np

from qa.core.text import terms

log = logging.getLogger(__name__)


class Vocabulary:
    """The terms of an index's sentences, and which of them a question's term matches."""

    def __init__(self, vocab):
        self.vocab = frozenset(t for t in vocab if t)
        self._sorted = sorted(self.vocab)

    @classmethod
    def of(cls, texts) -> "Vocabulary":
        """The vocabulary of ``texts`` as ``LexicalIndex.build`` would index them."""
        return cls(t for text in texts for t in terms(text))

    def matches(self, term: str) -> frozenset[str]:
        """The corpus terms that ``term`` matches under ``qa.core.text.prefix_match``: itself, its
        prefixes of 5+ characters and, for 5+ characters, the terms it is a prefix of
        ("kazakh" -> {"kazakh", "kazakhstan"}). The relation is symmetric, so the terms of an
        indexed text (whose terms are all in the vocabulary: any sentence, with or without its
        section) match ``term`` exactly when they meet this set -- one C-level set operation
        instead of a prefix scan per text. Terms from elsewhere (a document title) need
        ``prefix_match``."""
        found = {term} if term in self.vocab else set()
        if len(term) >= 5:
            found.update(term[:n] for n in range(5, len(term)) if term[:n] in self.vocab)
            i = bisect.bisect_left(self._sorted, term)
            while i < len(self._sorted) and self._sorted[i].startswith(term):
                found.add(self._sorted[i])
                i += 1
        return frozenset(found)

    def knows(self, term: str) -> bool:
        """Whether ``term`` occurs in the corpus, allowing the prefix forms of
        ``qa.core.text.prefix_match`` ("kazakh" is known because "kazakhstan" is)."""
        return bool(self.matches(term))


class LexicalIndex(Vocabulary):
    def __init__(self, retriever):
        self._bm25 = retriever
        super().__init__(retriever.vocab_dict)

    @classmethod
    def build(cls, texts: list[str]) -> "LexicalIndex":
        import bm25s

        retriever = bm25s.BM25()
        # An empty token list would make bm25s drop the row and shift every id after it.
        retriever.index([terms(t) or [""] for t in texts], show_progress=False)
        return cls(retriever)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import bm25s

        return cls(bm25s.BM25.load(str(folder), show_progress=False))

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder), show_progress=False)

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every indexed text for ``query_terms`` (zeros for unknown terms)."""
        known = [t for t in query_terms if t in self.vocab]
        if not known:
            return np.zeros(self._bm25.scores["num_docs"], dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)
