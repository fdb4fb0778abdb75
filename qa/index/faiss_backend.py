"""The embedded search backend: FAISS vectors (qa/index/vectors.py) and bm25s terms
(qa/index/lexical.py), kept in this process and saved as files of the build folder
(``sentences.faiss``, ``chunks.faiss``, ``lexical/``).

A build adds every piece at once, with ids 0..n-1 (the rows of the store), and the indexes are
built exactly as before the seam existed. Upserting into or deleting from a filled backend
rebuilds the touched kind from its stored vectors (FAISS's HNSW cannot remove vectors): right for
tests and small edits, not for a stream of updates, which is what Milvus is for. A collection
filter is a FAISS id selector for vectors and a mask over the BM25 scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa.index.backend import KINDS, LexicalHits, Pieces, Where, collection_of, rrf
from qa.index.lexical import LexicalIndex
from qa.index.vectors import VectorIndex

FILES = {"sentence": "sentences.faiss", "chunk": "chunks.faiss"}


class FaissBackend:
    name = "faiss"

    def __init__(self, dim: int):
        self.dim = dim
        self._vectors: dict[str, VectorIndex | None] = dict.fromkeys(KINDS)
        self._ids = {k: np.zeros(0, np.int64) for k in KINDS}  # row -> piece id
        self._docs: dict[str, list[str]] = {k: [] for k in KINDS}
        self._colls = {k: np.zeros(0, np.int32) for k in KINDS}  # row -> collection code
        self._codes: dict[str, int] = {}
        self._lexical: LexicalIndex | None = None
        self._texts: list[str] | None = []  # sentences' lexical texts by row (None: ask _load_texts)
        self._load_texts: Callable[[], list[str]] | None = None
        self._masks: dict[tuple[str, frozenset], np.ndarray] = {}

    # -- storing ---------------------------------------------------------------------------

    def _set(self, kind: str, ids: np.ndarray, docs: list[str], vectors: np.ndarray, texts: list[str] | None) -> None:
        self._ids[kind] = np.asarray(ids, np.int64)
        self._docs[kind] = list(docs)
        self._colls[kind] = self._encode(docs)
        self._vectors[kind] = VectorIndex.build(vectors.reshape(-1, self.dim))
        if kind == "sentence":
            self._texts = list(texts)
            self._lexical = LexicalIndex.build(self._texts) if self._texts else None
        self._masks.clear()

    def _encode(self, docs: Sequence[str]) -> np.ndarray:
        by_doc: dict[str, int] = {}
        for d in docs:
            if d not in by_doc:
                by_doc[d] = self._codes.setdefault(collection_of(d), len(self._codes))
        return np.fromiter((by_doc[d] for d in docs), np.int32, len(docs))

    def _rows_texts(self) -> list[str]:
        if self._texts is None:
            self._texts = self._load_texts()
        return self._texts

    def upsert(self, pieces: Pieces) -> None:
        kind, size = pieces.kind, self.count(pieces.kind)
        texts = list(pieces.texts) if kind == "sentence" else None
        if size == 0:
            self._set(kind, pieces.ids, list(pieces.docs), np.asarray(pieces.vectors, np.float32), texts)
            return
        keep = ~np.isin(self._ids[kind], pieces.ids)
        rows = np.flatnonzero(keep).tolist()
        old = self._vectors[kind].reconstruct_batch(rows) if rows else np.zeros((0, self.dim), np.float32)
        self._set(kind, np.concatenate([self._ids[kind][keep], pieces.ids]),
                  [self._docs[kind][r] for r in rows] + list(pieces.docs),
                  np.concatenate([old, np.asarray(pieces.vectors, np.float32)]),
                  [self._rows_texts()[r] for r in rows] + texts if texts is not None else None)

    def delete_document(self, doc_id: str) -> int:
        gone = 0
        for kind in KINDS:
            rows = [r for r, d in enumerate(self._docs[kind]) if d != doc_id]
            if len(rows) == len(self._docs[kind]):
                continue
            gone += len(self._docs[kind]) - len(rows)
            vectors = self._vectors[kind].reconstruct_batch(rows) if rows else np.zeros((0, self.dim), np.float32)
            texts = [self._rows_texts()[r] for r in rows] if kind == "sentence" else None
            self._set(kind, self._ids[kind][rows], [self._docs[kind][r] for r in rows], vectors, texts)
        return gone

    def save(self, folder: Path) -> dict:
        for kind in KINDS:
            if not np.array_equal(self._ids[kind], np.arange(self.count(kind))):
                raise ValueError(f"a saved FAISS index needs {kind} ids 0..n-1 (the rows of the store)")
            (self._vectors[kind] or VectorIndex.build(np.zeros((0, self.dim), np.float32))).save(folder / FILES[kind])
        (self._lexical or LexicalIndex.build([""])).save(folder / "lexical")
        return {"name": self.name}

    @classmethod
    def load(cls, folder: Path, docs: dict[str, Sequence[str]], texts: Callable[[], list[str]]) -> "FaissBackend":
        vectors = {kind: VectorIndex.load(folder / FILES[kind]) for kind in KINDS}
        self = cls(vectors["sentence"].dim)
        self._vectors = vectors
        for kind in KINDS:
            self._ids[kind] = np.arange(vectors[kind].size, dtype=np.int64)
            self._docs[kind] = list(docs[kind])
            self._colls[kind] = self._encode(self._docs[kind])
        self._lexical = LexicalIndex.load(folder / "lexical")
        self._texts, self._load_texts = None, texts
        return self

    def close(self) -> None:
        pass

    # -- searching -------------------------------------------------------------------------

    @property
    def lexical_index(self) -> LexicalIndex | None:
        return self._lexical

    def vector_index(self, kind: str) -> VectorIndex | None:
        return self._vectors[kind]

    def _mask(self, kind: str, where: Where | None) -> np.ndarray | None:
        if where is None:
            return None
        key = (kind, where.collections)
        got = self._masks.get(key)
        if got is None:
            codes = [self._codes[c] for c in where.collections if c in self._codes]
            got = self._masks[key] = np.isin(self._colls[kind], codes)
        return got

    def _identity(self, kind: str) -> bool:
        ids = self._ids[kind]
        return len(ids) == 0 or (ids[0] == 0 and ids[-1] == len(ids) - 1 and np.array_equal(ids, np.arange(len(ids))))

    def _rows(self, kind: str, ids: Sequence[int]) -> np.ndarray:
        if self._identity(kind):
            return np.asarray(ids, np.int64)
        order = np.argsort(self._ids[kind])
        pos = np.searchsorted(self._ids[kind], ids, sorter=order)
        rows = order[np.minimum(pos, len(order) - 1)]
        if not np.array_equal(self._ids[kind][rows], np.asarray(ids, np.int64)):
            raise KeyError(f"unknown {kind} ids")
        return rows

    def dense(self, kind: str, query: np.ndarray, k: int, where: Where | None = None) -> tuple[np.ndarray, np.ndarray]:
        index = self._vectors[kind]
        if index is None or index.size == 0 or k < 1:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        mask = self._mask(kind, where)
        scores, rows = index.search(query, k, allowed=None if mask is None else np.flatnonzero(mask))
        found = rows >= 0
        return scores[found], self._ids[kind][rows[found]]

    def lexical(self, query_terms: list[str], k: int, where: Where | None = None) -> LexicalHits:
        if self._lexical is None or k < 1:
            return LexicalHits(np.zeros(0, np.int64), np.zeros(0, np.float32), lambda ids: np.zeros(len(ids), np.float32))
        bm25 = self._lexical.scores(query_terms)
        mask = self._mask("sentence", where)
        if mask is not None:
            bm25 = np.where(mask, bm25, np.float32(0))
        if len(bm25) > k:  # partial sort: O(n) instead of sorting every sentence
            top = np.argpartition(-bm25, k - 1)[:k]
            top = top[np.lexsort((top, -bm25[top]))]
        else:
            top = np.argsort(-bm25, kind="stable")
        top = top[:k]
        top = top[bm25[top] > 0]
        ids = self._ids["sentence"]
        return LexicalHits(ids[top], bm25[top], lambda want: bm25[self._rows("sentence", want)])

    def hybrid(self, query: np.ndarray, query_terms: list[str], k: int, where: Where | None = None,
               rrf_k: int = 60) -> tuple[np.ndarray, np.ndarray]:
        return rrf([self.dense("sentence", query, k, where)[1], self.lexical(query_terms, k, where).ids], k, rrf_k)

    def vectors(self, kind: str, ids: Sequence[int]) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.dim), np.float32)
        return self._vectors[kind].reconstruct_batch(self._rows(kind, ids).tolist())

    def count(self, kind: str, where: Where | None = None) -> int:
        mask = self._mask(kind, where)
        return len(self._ids[kind]) if mask is None else int(mask.sum())
