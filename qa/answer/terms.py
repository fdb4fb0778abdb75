"""The term sets retrieval compares with a question's terms, per sentence and chunk of an index.

They do not depend on the question, so each is computed once per loaded index, on first use,
and kept while the index is (a weak reference: a rebuilt index gets fresh ones). Anything that
tokenises must go through ``qa.core.text.terms``, so the corpus and the question sides match.
"""

from __future__ import annotations

import weakref

import numpy as np

from qa.core.text import terms
from qa.index.store import Index

_FOR = weakref.WeakKeyDictionary()


class Terms:
    def __init__(self, index: Index):
        self.index = index
        self._sentence: dict[tuple[int, bool], frozenset[str]] = {}
        self._chunk: dict[int, frozenset[str]] = {}
        self._title: dict[str, frozenset[str]] = {}
        self._titled: dict[str, frozenset[str]] | None = None  # corpus term -> docs whose title matches it
        self._rows: dict[str, np.ndarray] | None = None

    def sentence(self, i: int, with_section: bool = True) -> frozenset[str]:
        got = self._sentence.get((i, with_section))
        if got is None:
            s = self.index.sentences[i]
            got = self._sentence[(i, with_section)] = frozenset(terms(f"{s.section} {s.text}" if with_section else s.text))
        return got

    def window(self, i: int, reach: int = 1) -> frozenset[str]:
        """Sentence ``i`` and the one before it in the same document (with their sections):
        "During this meeting, ..." needs its predecessor to say which meeting. With ``reach``
        2, also the one before that in the same paragraph: a long sentence (the list of who
        attended) often lies between."""
        own = self.sentence(i)
        sents = self.index.sentences
        if i >= 1 and sents[i - 1].doc_id == sents[i].doc_id:
            own = own | self.sentence(i - 1)
            for k in range(i - 2, max(-1, i - reach - 1), -1):
                if not self.index.same_paragraph(k, i):
                    break
                own = own | self.sentence(k)
        return own

    def title(self, doc_id: str) -> frozenset[str]:
        """The corpus terms the document's title matches (as ``Vocabulary.matches`` does)."""
        got = self._title.get(doc_id)
        if got is None:
            matches = self.index.vocabulary.matches
            got = self._title[doc_id] = frozenset().union(
                *(matches(t) for t in terms(self.index.documents[doc_id].title)))
        return got

    def titled(self, term: str) -> frozenset[str]:
        """The documents whose title matches the corpus term ``term`` (one lookup per question
        term instead of a pass over every title)."""
        if self._titled is None:
            by_term: dict[str, set[str]] = {}
            for doc_id in self.index.documents:
                for t in self.title(doc_id):
                    by_term.setdefault(t, set()).add(doc_id)
            self._titled = {t: frozenset(docs) for t, docs in by_term.items()}
        return self._titled.get(term, frozenset())

    def rows(self, doc_id: str) -> np.ndarray:
        """The ids of the document's sentences."""
        if self._rows is None:
            by_doc: dict[str, list[int]] = {}
            for i, s in enumerate(self.index.sentences):
                by_doc.setdefault(s.doc_id, []).append(i)
            self._rows = {d: np.array(ids, dtype=np.int64) for d, ids in by_doc.items()}
        return self._rows.get(doc_id, np.zeros(0, dtype=np.int64))

    def chunk(self, ci: int) -> frozenset[str]:
        """Chunk ``ci`` with its section and its document's title."""
        got = self._chunk.get(ci)
        if got is None:
            c = self.index.chunks[ci]
            got = self._chunk[ci] = frozenset(terms(f"{self.index.documents[c.doc_id].title} {c.section} {c.text}"))
        return got


def terms_of(index: Index) -> Terms:
    got = _FOR.get(index)
    if got is None:
        got = _FOR[index] = Terms(index)
    return got
