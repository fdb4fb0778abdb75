"""qa/index/vectors.py: the index type follows the size; every type searches with recall@10 >= 0.95
against exact search, survives save/load with its type, and supports reconstruct()."""

from __future__ import annotations

import numpy as np
import pytest

from qa.index.vectors import EXACT_MAX, HNSW_MAX, VectorIndex, choose_kind, ivf_lists


def clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(99).standard_normal((40, dim)).astype(np.float32)
    x = centers[rng.integers(0, 40, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def recall_at_10(index: VectorIndex, data: np.ndarray, queries: np.ndarray) -> float:
    truth = np.argsort(-(queries @ data.T), axis=1)[:, :10]
    hits = [len(set(index.search(q, 10)[1].tolist()) & set(t.tolist())) / 10 for q, t in zip(queries, truth)]
    return float(np.mean(hits))


def test_choose_kind_thresholds():
    assert choose_kind(1) == "flat"
    assert choose_kind(EXACT_MAX) == "flat"
    assert choose_kind(EXACT_MAX + 1) == "hnsw"
    assert choose_kind(HNSW_MAX) == "hnsw"
    assert choose_kind(HNSW_MAX + 1) == "ivf-sq8"
    assert choose_kind(100, exact_max=10, hnsw_max=50) == "ivf-sq8"
    assert choose_kind(20, exact_max=10, hnsw_max=50) == "hnsw"
    assert EXACT_MAX < HNSW_MAX


def test_ivf_lists_grow_with_size():
    assert ivf_lists(10) == 16
    assert ivf_lists(1_000_000) == 2000
    assert ivf_lists(10**12) == 65536


@pytest.mark.parametrize("n,expected", [(300, "flat"), (1500, "hnsw"), (4000, "ivf-sq8")])
def test_auto_kind_recall_and_roundtrip(tmp_path, n, expected):
    data = clustered(n)
    queries = clustered(40, seed=7)
    index = VectorIndex.build(data, exact_max=500, hnsw_max=2000)
    assert index.kind == expected
    assert index.size == n and index.dim == data.shape[1]
    assert recall_at_10(index, data, queries) >= 0.95
    index.save(tmp_path / "v.faiss")
    loaded = VectorIndex.load(tmp_path / "v.faiss")
    assert loaded.kind == expected  # the type is recorded in the file
    assert recall_at_10(loaded, data, queries) >= 0.95
    for i in (0, n // 2, n - 1):
        vec = loaded.reconstruct(i)
        assert vec.shape == (data.shape[1],)
        # exact for flat/HNSW, 8-bit codes for IVF-SQ8
        assert np.abs(vec - data[i]).max() < (0.02 if expected == "ivf-sq8" else 1e-6)


def test_search_scores_are_inner_products_best_first():
    data = clustered(200)
    index = VectorIndex.build(data, kind="hnsw")
    scores, ids = index.search(data[5], 5)
    assert ids[0] == 5 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True)
    np.testing.assert_allclose(scores, data[ids] @ data[5], atol=1e-5)


def test_k_larger_than_index_is_clamped():
    data = clustered(3)
    scores, ids = VectorIndex.build(data).search(data[0], 10)
    assert len(ids) == 3 and set(ids.tolist()) == {0, 1, 2}


def test_hnsw_ef_search_covers_large_k():
    data = clustered(1000)
    index = VectorIndex.build(data, kind="hnsw")
    _, ids = index.search(data[0], 200)  # efSearch is raised to >= 2k per call
    assert (ids >= 0).sum() == 200


def test_batch_search_matches_single():
    data = clustered(500)
    index = VectorIndex.build(data, exact_max=100, hnsw_max=10_000)
    s, i = index.search_batch(data[:3], 4)
    assert s.shape == (3, 4) and i.shape == (3, 4)
    assert i[:, 0].tolist() == [0, 1, 2]


def test_bad_input_rejected():
    with pytest.raises(ValueError):
        VectorIndex.build(np.zeros(5, dtype=np.float32))
    with pytest.raises(ValueError):
        VectorIndex.build(clustered(10), kind="lsh")
