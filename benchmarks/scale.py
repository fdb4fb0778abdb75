"""Scale: the dense index on synthetic 384-d unit vectors (10k / 100k / 1M) with the index type
chosen by ``qa.index.vectors.choose_kind``, and the lexical (BM25) index on synthetic text.

Synthetic vectors are *clustered* (a mixture of Gaussians with a decaying spectrum, then
normalised), like sentence embeddings; isotropic random vectors would be an unrealistically
hard case for any approximate index (no neighbourhood structure at all).
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import rss_mb, stats_ms


def synthetic_vectors(n: int, dim: int = 384, clusters: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(12345).standard_normal((clusters, dim), dtype=np.float32)
    scale = (np.arange(1, dim + 1, dtype=np.float32) ** -0.5) * 3.0
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        x = centers[rng.integers(0, clusters, m)] * 0.6
        x += rng.standard_normal((m, dim), dtype=np.float32) * scale
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[s:s + m] = x
    return out


def exact_topk(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    """Ground truth with blocked BLAS matmul (much faster than a flat index for many queries)."""
    best_s = np.full((len(q), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(q), k), dtype=np.int64)
    for s in range(0, len(x), 100_000):
        sc = q @ x[s:s + 100_000].T
        kk = min(k, sc.shape[1])
        part = np.argpartition(-sc, kk - 1, axis=1)[:, :kk]
        cand_s = np.concatenate([best_s, np.take_along_axis(sc, part, 1)], axis=1)
        cand_i = np.concatenate([best_i, part + s], axis=1)
        top = np.argpartition(-cand_s, k - 1, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, top, 1), np.take_along_axis(cand_i, top, 1)
    return best_i


def vector_scale(sizes=(10_000, 100_000, 1_000_000), dim: int = 384, queries: int = 200, k: int = 10,
                 exact_queries: int = 20, **kind_params) -> list[dict]:
    """One row per size: chosen type, build time, bytes per vector, search median/p95, recall@k,
    and the exact (flat) search time at the same size for comparison."""
    import faiss

    from qa.index.vectors import VectorIndex, choose_kind

    rows = []
    for n in sizes:
        x = synthetic_vectors(n, dim, seed=1)
        q = synthetic_vectors(queries, dim, seed=2)
        gt = exact_topk(x, q, k)
        gc.collect()
        rss0 = rss_mb()
        t0 = time.perf_counter()
        index = VectorIndex.build(x, **kind_params)
        build_s = time.perf_counter() - t0
        rss1 = rss_mb()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "v.faiss"
            index.save(path)
            file_bytes = os.path.getsize(path)
            index = VectorIndex.load(path)  # measure what serving uses: the loaded index
        times, hits = [], []
        for i in range(queries):
            t = time.perf_counter()
            _, ids = index.search(q[i], k)
            times.append(time.perf_counter() - t)
            hits.append(len(set(ids.tolist()) & set(gt[i].tolist())) / k)
        ok = all(np.isfinite(index.reconstruct(j)).all() for j in (0, n // 2, n - 1))
        exact = faiss.IndexFlatIP(dim)
        exact.add(x)
        et = []
        for i in range(min(exact_queries, queries)):
            t = time.perf_counter()
            exact.search(q[i:i + 1], k)
            et.append(time.perf_counter() - t)
        del exact
        s = stats_ms(times)
        rows.append({
            "vectors": n,
            "kind": index.kind,
            "expected_kind": choose_kind(n, **{k_: v for k_, v in kind_params.items() if k_ in ("exact_max", "hnsw_max")}),
            "build_s": round(build_s, 2),
            "bytes_per_vector": round(file_bytes / n, 1),
            "rss_delta_mb": round(rss1 - rss0, 1),
            "search_median_ms": s["median_ms"],
            "search_p95_ms": s["p95_ms"],
            f"recall@{k}": round(float(np.mean(hits)), 4),
            "exact_search_median_ms": stats_ms(et)["median_ms"],
            "reconstruct_ok": ok,
        })
        del index, x
        gc.collect()
    return rows


def synthetic_texts(n: int, words_per_doc: int = 24, vocab_size: int = 50_000, seed: int = 0) -> list[str]:
    """Zipf-distributed pseudo-words (like term frequencies in real text)."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, vocab_size + 1)
    p = 1.0 / ranks
    p /= p.sum()
    vocab = np.array([_word(i) for i in range(vocab_size)])
    ids = rng.choice(vocab_size, size=(n, words_per_doc), p=p)
    return [" ".join(vocab[row]) for row in ids]


def _word(i: int) -> str:
    letters = "bcdfghjklmnprstvz"
    vowels = "aeiou"
    out = []
    i += 17 * 5 * 17
    while i:
        i, r = divmod(i, 17 * 5)
        out.append(letters[r % 17] + vowels[r // 17])
    return "".join(out)


def bm25_scale(sizes=(10_000, 100_000, 1_000_000), queries: int = 50, k: int = 50) -> list[dict]:
    """Our lexical index (bm25s sparse matrices over qa.text terms): build time, memory, and per
    query the scoring of every document plus a top-k selection (argpartition) and, for
    reference, the full argsort that a naive top-k would do."""
    from qa.index.lexical import LexicalIndex
    from qa.core.text import terms

    rows = []
    for n in sizes:
        texts = synthetic_texts(n, seed=3)
        qs = [terms(" ".join(t.split()[:4])) for t in synthetic_texts(queries, seed=4)]
        gc.collect()
        rss0 = rss_mb()
        t0 = time.perf_counter()
        lex = LexicalIndex.build(texts)
        build_s = time.perf_counter() - t0
        rss1 = rss_mb()
        with tempfile.TemporaryDirectory() as tmp:
            lex.save(Path(tmp) / "lex")
            disk = sum(f.stat().st_size for f in (Path(tmp) / "lex").rglob("*") if f.is_file())
        score_t, topk_t, sort_t = [], [], []
        for qt in qs:
            t = time.perf_counter()
            sc = lex.scores(qt)
            score_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            kk = min(k, len(sc) - 1)
            top = np.argpartition(-sc, kk)[:kk]
            top[np.argsort(-sc[top], kind="stable")]
            topk_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            np.argsort(-sc, kind="stable")[:k]
            sort_t.append(time.perf_counter() - t)
        rows.append({
            "documents": n,
            "build_s": round(build_s, 2),
            "docs_per_s": round(n / build_s),
            "disk_bytes_per_doc": round(disk / n, 1),
            "rss_delta_mb": round(rss1 - rss0, 1),
            "score_all_median_ms": stats_ms(score_t)["median_ms"],
            "topk_argpartition_ms": stats_ms(topk_t)["median_ms"],
            "full_argsort_ms": stats_ms(sort_t)["median_ms"],
        })
        del lex, texts
        gc.collect()
    return rows
