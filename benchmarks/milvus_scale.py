"""The two search backends side by side on the same synthetic vectors: build time, query
latency (p50/p95, one query at a time, as the app searches) and recall@10 against exact search.

    python -m benchmarks.milvus_scale --sizes 10000 100000 [--queries 200]

Both go through the app's own backend classes (qa/index/faiss_backend.py, milvus_backend.py):
FAISS picks its index by size (flat, HNSW, IVF-SQ8: qa/index/vectors.py), Milvus is milvus-lite
in a temporary folder with HNSW (M=32, efConstruction=200, ef=128). The vectors are synthetic
clustered 384-d unit vectors (benchmarks/scale.py), not embeddings of real text; the ground
truth is a blocked exact inner-product search over all of them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import rss_mb, stats_ms
from .scale import exact_topk, synthetic_vectors


def _backend(name: str, folder: Path, dim: int):
    if name == "faiss":
        from qa.index.faiss_backend import FaissBackend

        return FaissBackend(dim)
    from qa.index.milvus_backend import MilvusBackend

    return MilvusBackend.create("", folder, "bench", dim)


def measure(name: str, x: np.ndarray, q: np.ndarray, truth: np.ndarray, k: int = 10) -> dict:
    from qa.index.backend import Pieces

    n, dim = x.shape
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        backend = _backend(name, Path(tmp), dim)
        backend.upsert(Pieces("chunk", np.arange(n), [f"d{i // 100}.md" for i in range(n)], x))
        backend.save(Path(tmp))
        backend.dense("chunk", q[0], k)  # the first search loads what a lazy engine loads
        build_s = time.perf_counter() - t0
        times, found = [], []
        for v in q:
            t = time.perf_counter()
            _, ids = backend.dense("chunk", v, k)
            times.append(time.perf_counter() - t)
            found.append(ids)
        recall = float(np.mean([len(set(f.tolist()) & set(t.tolist())) / k for f, t in zip(found, truth)]))
        kind = backend.vector_index("chunk").kind if name == "faiss" else "hnsw"
        row = {"backend": name, "pieces": n, "index": kind, "build_s": round(build_s, 1), **stats_ms(times),
               f"recall@{k}": round(recall, 4), "rss_mb": round(rss_mb())}
        backend.close()
    return row


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--backends", nargs="+", default=["faiss", "milvus"])
    args = ap.parse_args(argv)
    for n in args.sizes:
        x = synthetic_vectors(n)
        q = synthetic_vectors(args.queries, seed=1)
        truth = exact_topk(x, q, 10)
        for name in args.backends:
            print(json.dumps(measure(name, x, q, truth)), flush=True)


if __name__ == "__main__":
    main()
