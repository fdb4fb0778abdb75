"""The two search backends side by side on the same synthetic vectors: build time (wall and CPU),
query latency (p50/p95 wall, and the median CPU time of a query, one query at a time, as the app
searches) and recall@10 against exact search.

    python -m benchmarks.milvus_scale --sizes 10000 100000 [--queries 200] [--texts]

Both go through the app's own backend classes (qa/index/faiss_backend.py, milvus_backend.py):
FAISS picks its index by size (flat, HNSW, IVF-SQ8: qa/index/vectors.py), Milvus is milvus-lite
in a temporary folder with HNSW (M=32, efConstruction=40, ef=128). The vectors are synthetic
clustered 384-d unit vectors (benchmarks/scale.py), not embeddings of real text; the ground
truth is a blocked exact inner-product search over all of them. ``--texts`` stores them as
sentences with synthetic 20-word texts, so the build includes BM25 (bm25s; Milvus's BM25
function), as a real build's sentences do.

A build's time runs until its index is ready to search: milvus-lite writes the rows, then builds
HNSW per segment in a background thread (searching brute force until it is done), so the build
waits for that thread. ``write_s`` is taking the rows in (and, for FAISS, building its index),
``index_s`` the wait for milvus-lite's background index.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
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


def _texts(n: int, seed: int = 0) -> list[str]:
    """n synthetic 20-word sentences over a 50,000-word vocabulary, word ranks Zipf-like."""
    rng = np.random.default_rng(seed)
    ranks = np.minimum(rng.zipf(1.2, size=(n, 20)), 50_000)
    return [" ".join(f"w{r}" for r in row) for row in ranks]


def _wait_for_index(backend) -> None:
    """Wait until milvus-lite's background thread has indexed every segment (reaching into
    milvus-lite: its API reports an index as finished from the start)."""
    from milvus_lite.server_manager import server_manager_instance

    db = server_manager_instance._servers[os.path.abspath(backend._lite_path)][1]
    for name in [*backend._names.values(), *backend._lexical]:
        db.get_collection(name)._wait_for_bg()


def measure(name: str, x: np.ndarray, q: np.ndarray, truth: np.ndarray, k: int = 10, texts=None) -> dict:
    from qa.index.backend import Pieces

    n, dim = x.shape
    kind = "sentence" if texts is not None else "chunk"
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        backend = _backend(name, Path(tmp), dim)
        backend.upsert(Pieces(kind, np.arange(n), [f"d{i // 100}.md" for i in range(n)], x, texts or ()))
        backend.save(Path(tmp))
        write_s = time.perf_counter() - t0
        if name == "milvus":
            _wait_for_index(backend)
        backend.dense(kind, q[0], k)  # the first search loads what a lazy engine loads
        build_s, build_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        print(json.dumps({"backend": name, "pieces": n, "built_s": round(build_s, 1),
                          "built_cpu_s": round(build_cpu_s, 1)}), file=sys.stderr, flush=True)
        times, cpu, found = [], [], []
        for v in q:
            t, c = time.perf_counter(), time.process_time()
            _, ids = backend.dense(kind, v, k)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)  # what load on the machine does not inflate
            found.append(ids)
        recall = float(np.mean([len(set(f.tolist()) & set(t.tolist())) / k for f, t in zip(found, truth)]))
        index = backend.vector_index(kind).kind if name == "faiss" else "hnsw"
        row = {"backend": name, "pieces": n, "kind": kind, "index": index, "build_s": round(build_s, 1),
               "build_cpu_s": round(build_cpu_s, 1), "write_s": round(write_s, 1),
               "index_s": round(build_s - write_s, 1), **stats_ms(times),
               "query_cpu_median_ms": round(1000 * float(np.median(cpu)), 2), f"recall@{k}": round(recall, 4),
               "rss_mb": round(rss_mb())}
        backend.close()
    return row


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--backends", nargs="+", default=["faiss", "milvus"])
    ap.add_argument("--texts", action="store_true", help="store sentences with texts (BM25 built too)")
    args = ap.parse_args(argv)
    for n in args.sizes:
        x = synthetic_vectors(n)
        q = synthetic_vectors(args.queries, seed=1)
        truth = exact_topk(x, q, 10)
        texts = _texts(n) if args.texts else None
        for name in args.backends:
            print(json.dumps(measure(name, x, q, truth, texts=texts)), flush=True)


if __name__ == "__main__":
    main()
