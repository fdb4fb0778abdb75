"""The term sets retrieval compares with a question's terms, per sentence and chunk of an index.

They do not depend on the question, so each is computed once per loaded index, on first use,
and kept while the index is (a weak reference: a rebuilt index gets fresh ones). Anything that
tokenises must go through ``qa.core.text.terms``, so the corpus and the question sides match.
"""

from __future__ import annotations

import weakref

from qa.core.text import terms
from qa.index.store import Index

_FOR = weakref.WeakKeyDictionary()


class Terms:
    def __init__(self, index: Index):
        self.index = index
        self._sentence: dict[tuple[int, bool], frozenset[str]] = {}
        self._chunk: dict[int, frozenset[str]] = {}

    def sentence(self, i: int, with_section: bool = True) -> frozenset[str]:
        got = self._sentence.get((i, with_section))
        if got is None:
            s = self.index.sentences[i]
            got = self._sentence[(i, with_section)] = frozenset(terms(f"{s.section} {s.text}" if with_section else s.text))
        return got

    def window(self, i: int) -> frozenset[str]:
        """Sentence ``i`` and the one before it in the same document (with their sections):
        "During this meeting, ..." needs its predecessor to say which meeting."""
        own = self.sentence(i)
        prev = i - 1
        if prev >= 0 and self.index.sentences[prev].doc_id == self.index.sentences[i].doc_id:
            return own | self.sentence(prev)
        return own

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
