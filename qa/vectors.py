"""The dense side of the index: FAISS inner-product search over L2-normalised vectors
(inner product of unit vectors is cosine similarity)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _faiss():
    import faiss  # imported on first use so `qa --help` stays fast

    return faiss


class VectorIndex:
    """Exact inner-product search; ``search`` returns (scores, ids) best first, ids -1 padded."""

    def __init__(self, index):
        self._index = index

    @classmethod
    def build(cls, vectors: np.ndarray) -> "VectorIndex":
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"expected a 2-D array of vectors, got shape {vectors.shape}")
        index = _faiss().IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index)

    @classmethod
    def load(cls, path: Path) -> "VectorIndex":
        return cls(_faiss().read_index(str(path)))

    def save(self, path: Path) -> None:
        _faiss().write_index(self._index, str(path))

    @property
    def size(self) -> int:
        return self._index.ntotal

    @property
    def dim(self) -> int:
        return self._index.d

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        k = max(1, min(k, self.size))
        scores, ids = self._index.search(q, k)
        return scores[0], ids[0]

    def reconstruct(self, i: int) -> np.ndarray:
        return self._index.reconstruct(int(i))
