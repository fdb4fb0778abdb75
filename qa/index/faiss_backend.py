"""The embedded search backend: FAISS vectors (qa/index/vectors.py) and bm25s terms
(qa/index/lexical.py), kept in this process and saved as files of the build folder
(``sentences.faiss``, ``chunks.faiss``, ``lexical/``).

A build adds every piece at once, with ids 0..n-1 (the rows of the store), and the indexes are
built exactly as before the seam existed. Upserting into or deleting from a filled backend
rebuilds the touched kind from its stored vectors (FAISS's HNSW cannot remove vectors): right for
tests and small edits, not for a stream of updates, which is what Milvus is for. A collection
filter is a FAISS id selector for vectors.

BM25 is one bm25s index per collection (``lexical/<n>/``, named in ``lexical/collections.json``):
its statistics (document frequencies, average length) come from that collection's sentences
only, so what one collection holds never moves the scores of another, and a search over several
collections puts each one's scores side by side.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa.index.backend import BM25_SCOPE, KINDS, LexicalHits, Pieces, Where, collection_of
from qa.index.lexical import LexicalIndex, Vocabulary
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
        # collection -> (BM25 over its sentences, their rows); None: build from the texts when asked
        self._lexical: dict[str, tuple[LexicalIndex, np.ndarray]] | None = {}
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
            self._lexical = self._build_lexical()
        self._masks.clear()

    def _by_collection(self) -> dict[str, np.ndarray]:
        """The sentence rows of each collection, collections in name order."""
        names = {code: name for name, code in self._codes.items()}
        colls = self._colls["sentence"]
        order = np.argsort(colls, kind="stable")  # one sort, not a pass per collection
        codes, starts = np.unique(colls[order], return_index=True)
        return dict(sorted(zip((names[int(c)] for c in codes), np.split(order, starts[1:]))))

    def _build_lexical(self) -> dict[str, tuple[LexicalIndex, np.ndarray]]:
        texts = self._rows_texts()
        return {c: (LexicalIndex.build([texts[r] for r in rows]), rows) for c, rows in self._by_collection().items()}

    def _bm25(self) -> dict[str, tuple[LexicalIndex, np.ndarray]]:
        if self._lexical is None:  # a build from before BM25 was kept per collection (stale; lends vectors)
            self._lexical = self._build_lexical()
        return self._lexical

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
        lexical = self._bm25()
        (folder / "lexical").mkdir(parents=True, exist_ok=True)
        for n, (index, _) in enumerate(lexical.values()):
            index.save(folder / "lexical" / str(n))
        (folder / "lexical" / "collections.json").write_text(json.dumps(list(lexical)), encoding="utf-8")
        return {"name": self.name, "bm25": BM25_SCOPE}

    @classmethod
    def load(cls, folder: Path, docs: dict[str, Sequence[str]], texts: Callable[[], list[str]]) -> "FaissBackend":
        vectors = {kind: VectorIndex.load(folder / FILES[kind]) for kind in KINDS}
        self = cls(vectors["sentence"].dim)
        self._vectors = vectors
        for kind in KINDS:
            self._ids[kind] = np.arange(vectors[kind].size, dtype=np.int64)
            self._docs[kind] = list(docs[kind])
            self._colls[kind] = self._encode(self._docs[kind])
        self._texts, self._load_texts = None, texts
        listed = folder / "lexical" / "collections.json"
        if listed.exists():
            rows = self._by_collection()
            names = json.loads(listed.read_text(encoding="utf-8"))
            if sorted(names) != sorted(rows):
                raise ValueError(f"{listed} names other collections than the store holds")
            self._lexical = {c: (LexicalIndex.load(folder / "lexical" / str(n)), rows[c]) for n, c in enumerate(names)}
        else:
            self._lexical = None
        return self

    def close(self) -> None:
        pass

    # -- searching -------------------------------------------------------------------------

    @property
    def vocabulary(self) -> Vocabulary:
        """Every term the sentences of all collections hold."""
        return Vocabulary(frozenset().union(*(index.vocab for index, _ in self._bm25().values())))

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
        if self.count("sentence") == 0 or k < 1:
            return LexicalHits(np.zeros(0, np.int64), np.zeros(0, np.float32), lambda ids: np.zeros(len(ids), np.float32))
        bm25 = np.zeros(self.count("sentence"), np.float32)  # 0 outside the collections searched
        for coll, (index, rows) in self._bm25().items():
            if where is None or coll in where.collections:
                bm25[rows] = index.scores(query_terms)
        if len(bm25) > k:  # partial sort: O(n) instead of sorting every sentence
            top = np.argpartition(-bm25, k - 1)[:k]
            top = top[np.lexsort((top, -bm25[top]))]
        else:
            top = np.argsort(-bm25, kind="stable")
        top = top[:k]
        top = top[bm25[top] > 0]
        ids = self._ids["sentence"]
        return LexicalHits(ids[top], bm25[top], lambda want: bm25[self._rows("sentence", want)])

    def vectors(self, kind: str, ids: Sequence[int]) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.dim), np.float32)
        return self._vectors[kind].reconstruct_batch(self._rows(kind, ids).tolist())

    def count(self, kind: str, where: Where | None = None) -> int:
        mask = self._mask(kind, where)
        return len(self._ids[kind]) if mask is None else int(mask.sum())
