"""The search-backend seam: what the answer layer asks of a search engine, and nothing more.

An index build stores its documents, sentences and chunks in ``store.json`` (texts and offsets,
which citations slice) and hands the searchable part -- one vector per sentence and per chunk,
and each sentence's lexical text -- to a ``SearchBackend``. Two stand behind it:

- ``faiss`` (qa/index/faiss_backend.py, the embedded default): FAISS for the vectors and BM25
  (bm25s) for the terms, files in the build folder, searched in this process.
- ``milvus`` (qa/index/milvus_backend.py): a Milvus collection per kind, HNSW for the vectors and
  Milvus's own BM25 function for the terms; milvus-lite in the build folder by default, or a
  Milvus server (``milvus_uri``) that several app servers share.

Pieces are identified by their row in the store (``ids``), carry their document and that
document's collection (the corpus's top-level folder), and every search may be limited to some
collections (``Where``). BM25's statistics (document frequencies, average length) are those of
each sentence's own collection: what another collection holds never moves a score, and a search
over several collections sets each one's scores side by side. tests/test_backend_contract.py is
the contract every backend passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

#: The two kinds of piece a build indexes: sentences (ranked, and searched by terms) and chunks.
KINDS = ("sentence", "chunk")
#: The collection of the files at the top of the corpus folder (no folder can be called ".").
ROOT_COLLECTION = "."
BACKENDS = ("faiss", "milvus")
#: What a build's manifest records (``backend.bm25``) for BM25 statistics kept per collection;
#: a build without it scored every collection with the statistics of all of them (stale).
BM25_SCOPE = "collection"


def collection_of(doc_id: str) -> str:
    """A document's collection: the corpus's top-level folder it sits in ("." at the top)."""
    head, sep, _ = doc_id.partition("/")
    return head if sep else ROOT_COLLECTION


@dataclass(frozen=True)
class Pieces:
    """Pieces of one kind to store: their ids, documents, unit vectors and, for sentences, the
    text lexical search indexes ("section sentence"; tokenised by ``qa.core.text.terms``)."""

    kind: str
    ids: np.ndarray  # int64
    docs: Sequence[str]
    vectors: np.ndarray  # (n, dim) float32, unit length
    texts: Sequence[str] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown piece kind {self.kind!r}; use one of {', '.join(KINDS)}")
        n = len(self.ids)
        if len(self.docs) != n or len(self.vectors) != n or (self.kind == "sentence" and len(self.texts) != n):
            raise ValueError(f"{n} ids but {len(self.docs)} documents, {len(self.vectors)} vectors and "
                             f"{len(self.texts)} texts; give one of each per piece")


@dataclass(frozen=True)
class Where:
    """Search only pieces of these collections."""

    collections: frozenset[str]


@dataclass
class LexicalHits:
    """The best BM25 hits (``ids``, ``scores``: best first, scores > 0), and the score of any other
    sentence on request (retrieval scores dense candidates that lexical search did not rank)."""

    ids: np.ndarray
    scores: np.ndarray
    score_of: Callable[[Sequence[int]], np.ndarray] = field(repr=False)

    def scores_of(self, ids: Sequence[int]) -> np.ndarray:
        """BM25 score of each of ``ids`` (0 where no query term occurs, or outside the filter)."""
        return self.score_of(list(ids)) if len(ids) else np.zeros(0, np.float32)


class SearchBackend(Protocol):
    name: str
    dim: int

    def upsert(self, pieces: Pieces) -> None:
        """Add pieces, replacing those with the same ids."""

    def delete_document(self, doc_id: str) -> int:
        """Remove every piece of a document; returns how many went."""

    def dense(self, kind: str, query: np.ndarray, k: int, where: Where | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the ``k`` pieces nearest ``query`` by inner product, best first."""

    def lexical(self, query_terms: list[str], k: int, where: Where | None = None) -> LexicalHits:
        """The ``k`` sentences with the best BM25 score for ``query_terms`` (already tokenised),
        each scored with the statistics of its own collection."""

    def vectors(self, kind: str, ids: Sequence[int]) -> np.ndarray:
        """(len(ids), dim) stored vectors, in the order of ``ids``."""

    def count(self, kind: str, where: Where | None = None) -> int:
        """Pieces of ``kind`` stored (in the collections of ``where``)."""

    def save(self, folder: Path) -> dict:
        """Make the stored pieces durable (files in ``folder`` for an embedded backend); returns
        what the manifest must record to open them again."""

    def close(self) -> None:
        """Let go of connections and files."""
