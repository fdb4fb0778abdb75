"""The dense side of the index: FAISS inner-product search over L2-normalised vectors
(inner product of unit vectors is cosine similarity).

The index type follows the number of vectors (``choose_kind``), because what is best for a
small corpus is hopeless for a big one and the other way round:

- up to ``EXACT_MAX`` (20k) vectors: ``IndexFlatIP``, exact. A scan of <= 30 MB costs ~1-5 ms,
  there is nothing to tune and recall is 1.
- up to ``HNSW_MAX`` (500k): ``IndexHNSWFlat`` (inner product, M=32, efSearch=max(128, 2k) per
  call). Graph search ~0.5 ms, recall@10 ~0.99; it stores the full vectors (+~256 B/vector of
  graph), so ``reconstruct`` is exact. Building is the slow part (~1-3k vectors/s on 2 cores).
- beyond: ``IndexIVFScalarQuantizer`` (~2*sqrt(n) lists, exact coarse quantiser, 8-bit codes,
  nprobe=32). 4x less memory than float vectors (a chunk gives ~4 vectors here: its sentences
  and itself); building is k-means on a sample plus one assignment pass, minutes faster than
  HNSW at 1M; search ~1-3 ms, recall@10 ~0.97; ``reconstruct`` (kept working by a direct map)
  returns the dequantised vector (error < 1e-2 per component).

The thresholds are parameters (``exact_max``, ``hnsw_max``) so tests can exercise every type on
small data; the figures behind them are in docs/performance.md (``python -m benchmarks``).
FAISS records the type in the saved file, and search parameters are passed per call
(``SearchParameters``), so a loaded index needs nothing else and concurrent searches are safe.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

#: Up to this many vectors the index is exact (IndexFlatIP).
EXACT_MAX = 20_000
#: Up to this many vectors HNSW over the full float vectors; beyond, IVF with 8-bit codes.
HNSW_MAX = 500_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 128
IVF_NPROBE = 32
#: OpenMP threads for one query. FAISS splits a single query's scan over its threads; on 2 busy
#: cores the thread hand-off costs far more than it saves (flat 10k vectors: 1.3 ms with 1 thread,
#: 30 ms with 2, measured under load). Concurrent requests parallelise across threads instead.
#: The setting is per calling thread (an OpenMP ICV) and restored after the call, so builds keep
#: all cores.
SEARCH_THREADS = 1
IVF_TRAIN_PER_LIST = 40  # k-means sample: this many vectors per list (faiss wants >= 39)
KINDS = ("flat", "hnsw", "ivf-sq8")


def _faiss():
    import faiss  # imported on first use so `qa --help` stays fast

    return faiss


def choose_kind(n: int, exact_max: int = EXACT_MAX, hnsw_max: int = HNSW_MAX) -> str:
    """The index type for ``n`` vectors: "flat" (exact), "hnsw" or "ivf-sq8"."""
    if n <= exact_max:
        return "flat"
    if n <= hnsw_max:
        return "hnsw"
    return "ivf-sq8"


def ivf_lists(n: int) -> int:
    """Number of IVF lists for ``n`` vectors: ~2*sqrt(n), at least 16, at most 65536."""
    return int(min(65536, max(16, 2 * math.sqrt(n))))


class VectorIndex:
    """Inner-product search; ``search`` returns (scores, ids) best first, ids -1 padded."""

    def __init__(self, index, ef_search: int = HNSW_EF_SEARCH, nprobe: int = IVF_NPROBE):
        self._index = index  # a concrete faiss type (read_index and the constructors give one)
        self.ef_search = ef_search
        self.nprobe = nprobe

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        kind: str = "auto",
        exact_max: int = EXACT_MAX,
        hnsw_max: int = HNSW_MAX,
        seed: int = 0,
    ) -> "VectorIndex":
        """Index ``vectors`` (n, dim); ``kind`` "auto" picks by size (see ``choose_kind``)."""
        faiss = _faiss()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"expected a 2-D array of vectors, got shape {vectors.shape}")
        n, dim = vectors.shape
        if kind == "auto":
            kind = choose_kind(n, exact_max, hnsw_max)
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        elif kind == "ivf-sq8":
            nlist = ivf_lists(n)
            quantizer = faiss.IndexFlatIP(dim)  # exact over ~2*sqrt(n) centroids: ~0.1 ms at 1M
            index = faiss.IndexIVFScalarQuantizer(
                quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
            index.own_fields = True
            quantizer.this.disown()  # the IVF index owns (and frees) its quantiser
            index.cp.niter = 10
            index.cp.seed = seed
            sample = min(n, nlist * IVF_TRAIN_PER_LIST)
            rows = np.sort(np.random.default_rng(seed).choice(n, sample, replace=False)) if sample < n else slice(None)
            index.train(vectors[rows])
            index.make_direct_map()  # so reconstruct(i) works
        else:
            raise ValueError(f"unknown index kind {kind!r}; use one of {', '.join(KINDS)} or 'auto'")
        index.add(vectors)
        return cls(index)

    @classmethod
    def load(cls, path: Path) -> "VectorIndex":
        return cls(_faiss().read_index(str(path)))

    def save(self, path: Path) -> None:
        _faiss().write_index(self._index, str(path))

    @property
    def kind(self) -> str:
        faiss = _faiss()
        if isinstance(self._index, faiss.IndexHNSW):
            return "hnsw"
        if isinstance(self._index, faiss.IndexIVFScalarQuantizer):
            return "ivf-sq8"
        if isinstance(self._index, faiss.IndexFlat):
            return "flat"
        return type(self._index).__name__

    @property
    def size(self) -> int:
        return self._index.ntotal

    @property
    def dim(self) -> int:
        return self._index.d

    def _params(self, k: int, sel=None):
        faiss = _faiss()
        kind = self.kind
        if kind == "hnsw":
            return faiss.SearchParametersHNSW(efSearch=max(self.ef_search, 2 * k), sel=sel)
        if kind == "ivf-sq8":
            return faiss.SearchParametersIVF(nprobe=self.nprobe, sel=sel)
        return None if sel is None else faiss.SearchParameters(sel=sel)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k``; with ``allowed`` (row ids), only among those rows (-1 padded when fewer)."""
        faiss = _faiss()
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        k = max(1, min(k, self.size))
        # the selector must outlive the search: the parameters hold only a pointer to it
        sel = None if allowed is None else faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
        params = self._params(k, sel)
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(SEARCH_THREADS)
        try:
            if params is None:
                scores, ids = self._index.search(q, k)
            else:
                scores, ids = self._index.search(q, k, params=params)
        finally:
            faiss.omp_set_num_threads(before)
        return scores[0], ids[0]

    def search_batch(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(nq, k) scores and ids for a batch of queries (benchmarks, evaluation)."""
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        k = max(1, min(k, self.size))
        params = self._params(k)
        return self._index.search(q, k) if params is None else self._index.search(q, k, params=params)

    def reconstruct(self, i: int) -> np.ndarray:
        return self._index.reconstruct(int(i))

    def reconstruct_batch(self, ids: list[int]) -> np.ndarray:
        """(len(ids), dim) stored vectors, in one call (cheaper than one ``reconstruct`` each)."""
        return self._index.reconstruct_batch(np.asarray(ids, dtype=np.int64))
