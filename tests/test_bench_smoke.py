"""Every benchmark of ``python -m benchmarks`` at tiny sizes, so the benchmark code cannot rot.
These check that each runs and returns sane shapes; they assert nothing about speed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import common, scale
from benchmarks.run import render



class FakeST:
    """Stands in for a SentenceTransformer: ``encode(texts, batch_size=...)``."""

    def __init__(self, embedder):
        self.e = embedder

    def encode(self, texts, batch_size=64, **kw):
        return self.e.encode(list(texts))


@pytest.fixture
def fake_qa(tiny_settings, fake_embedder):
    from qa import QA

    qa = QA(tiny_settings, embedder=fake_embedder)
    qa.warm_up()
    return qa


QUESTIONS = [{"id": "a", "question": "When was the treaty signed?", "answers": ["3 May 1999"],
              "evidence": "The treaty was signed on 3 May 1999 in Gamma City.", "history": []},
             {"id": "b", "question": "Who chaired the signing?", "answers": ["Jane Q. Smith"], "evidence": None,
              "history": []},
             {"id": "c", "question": "What is the capital of Mars?", "answers": [], "evidence": None, "history": []}]


def test_common_helpers():
    s = common.stats_ms([0.001, 0.002, 0.003])
    assert s["n"] == 3 and s["median_ms"] == pytest.approx(2.0)
    assert common.ratio(1.0, 2.0) == 0.5 and common.ratio(1.0, 0) is None
    m = common.machine()
    assert m["logical_cores"] >= 1 and "python" in m["versions"]
    assert common.load_questions(Path("/nonexistent.jsonl")) and common.load_questions(limit=2).__len__() <= 2
    q = common.quality([{"prediction": "on 3 May 1999", "answers": ["3 May 1999"], "evidence": "x", "texts": ["a x b"]},
                        {"prediction": None, "answers": [], "evidence": None, "texts": []}])
    assert q["contained"] == 1.0 and q["evidence_hit@3"] == 1.0
    t = common.table([{"a": 1, "b": 2.5}], title="T")
    assert "| a" in t and "2.50" in t


def test_latency_smoke(fake_qa, fake_embedder):
    from benchmarks.latency import warm_latency

    res = warm_latency(Path("."), QUESTIONS, rounds=1, qa=fake_qa, st_model=FakeST(fake_embedder), pause=0)
    assert res["ask"]["n"] == res["st_encode"]["n"] == len(QUESTIONS)
    assert res["ratio_ask_vs_st_median"] > 0
    assert "ratio ask/ST-encode" in render("latency", res)


def test_throughput_and_backends_smoke(fake_qa, fake_embedder, tiny_corpus):
    from benchmarks.throughput import backend_quality, embedding_texts, indexing_throughput

    texts = embedding_texts(tiny_corpus, 5)
    assert 0 < len(texts) <= 5
    res = indexing_throughput(texts, {"fake": fake_embedder}, FakeST(fake_embedder))
    assert {r["embedder"] for r in res["rows"]} == {"fake", "sentence-transformers",
                                                    "sentence-transformers (its default batch 32)"}
    assert all(r["vs_st"] > 0 and r["vs_st_default"] > 0 for r in res["rows"])
    assert all(r["texts_per_s"] > 0 for r in res["rows"])
    b = backend_quality({"torch": fake_qa, "onnx": fake_qa, "onnx-int8": fake_qa}, QUESTIONS)
    assert b["fp32_vs_torch"]["identical_top3"] == 1.0
    assert b["int8_max_abs_delta_points"] == 0.0
    assert b["int8_vs_fp32_cosine"]["min"] == pytest.approx(1.0, abs=1e-5)
    render("throughput", res), render("backends", b)


def test_scale_smoke():
    v = scale.synthetic_vectors(50, dim=16)
    assert v.shape == (50, 16) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    truth = scale.exact_topk(v, v[:3], 4)
    assert truth[:, 0].tolist() == [0, 1, 2] or set(truth[0].tolist()) >= {0}
    rows = scale.vector_scale(sizes=(300, 1200, 3000), dim=16, queries=10, exact_queries=2, exact_max=500, hnsw_max=2000)
    assert [r["kind"] for r in rows] == ["flat", "hnsw", "ivf-sq8"]
    assert all(r["kind"] == r["expected_kind"] and 0 <= r["recall@10"] <= 1 and r["reconstruct_ok"] for r in rows)
    assert rows[0]["recall@10"] == 1.0
    b = scale.bm25_scale(sizes=(200,), queries=3)
    assert b[0]["documents"] == 200 and b[0]["score_all_median_ms"] >= 0
    render("scale", rows), render("bm25", b)


def test_startup_smoke():
    from benchmarks.startup import cli_help, free_port

    res = cli_help(runs=1)
    assert res["n"] == 1 and res["median_ms"] > 0
    assert 0 < free_port() < 65536


@pytest.mark.integration
def test_app_first_answer_smoke(tmp_path, tiny_corpus, onnx_cache):
    """Spawns app.py with a warm index (real ONNX model from the shared test cache)."""
    from benchmarks.startup import app_first_answer
    from qa import QA, load_settings

    index = tmp_path / "index"
    common.seed_onnx_cache(onnx_cache, index)
    QA(load_settings(corpus_dir=tiny_corpus, index_dir=index)).build()
    res = app_first_answer(tiny_corpus, index, question="When was the treaty signed?", timeout=90)
    assert "error" not in res, res
    assert res["first_answer_s"] >= res["ready_s"] >= res["listening_s"] > 0
    assert res["torch_loaded_in_server"] is False


def test_e2e_smoke(tmp_path, tiny_corpus, fake_embedder):
    from benchmarks.corpusgen import to_corpus_text
    from benchmarks.e2e import e2e

    text = to_corpus_text("json", "Python Library Documentation: module json\n\nNAME\n    json - JSON encoder\n\nFUNCTIONS\n"
                                  "    dumps(obj)\n        Serialize obj to a JSON formatted str.\n")
    assert text.startswith("= Python module json =") and "==Functions==" in text
    res = e2e(corpus=tiny_corpus, root=tmp_path, embedder=fake_embedder, rounds=1, questions=["When was it signed?"])
    assert res["chunks"] > 0 and res["ask_median_ms"] > 0 and res["build_cached"] is False
    again = e2e(corpus=tiny_corpus, root=tmp_path, embedder=fake_embedder, rounds=1, questions=["When was it signed?"])
    assert again["build_cached"] is True
    render("e2e", res)


def test_peers_skip_and_helpers(tiny_corpus, monkeypatch):
    from benchmarks import peers

    assert peers._windows("x" * 2500) and all(len(w) <= 1000 for w in peers._windows("x" * 2500))
    assert peers.available("ours") is None
    monkeypatch.setattr(peers, "available", lambda name: "not installed (langchain_community)")
    rows = peers.compare(tiny_corpus, QUESTIONS, peers=("langchain",))
    assert rows == [{"peer": "langchain", "skipped": "not installed (langchain_community)"}]
    assert "not installed" in render("peers", rows)


@pytest.mark.integration
def test_peers_ours_smoke(tiny_corpus, onnx_cache):
    """Our pipeline as a peer, in its own process (real ONNX model, warm shared cache)."""
    from benchmarks import peers

    (row,) = peers.compare(tiny_corpus, QUESTIONS, onnx_cache_from=onnx_cache, peers=("ours",), timeout=180)
    assert "error" not in row, row
    assert row["chunks"] > 0 and row["peak_rss_mb"] > 0 and row["latency_median_ms"] > 0
    assert 0 <= row["evidence_hit@3"] <= 1 and row["torch_imported"] is False


def test_cli_quick_only_writes_json(tmp_path):
    from benchmarks.run import main

    out = tmp_path / "r.json"
    res = main(["--only", "bm25,scale", "--out", str(out), "--smoke"])
    data = json.loads(out.read_text())
    assert data["sections"]["bm25"]["result"] and res["machine"]["cpu"]
    assert data["sections"]["scale"]["result"][0]["kind"] == "flat"


def test_pdf_speed_smoke(capsys):
    from benchmarks import pdf_speed

    got = pdf_speed.main(["--rounds", "1"])
    assert got["pages"] == 52 and got["this"]["mb"] > 0 and got["this"]["s_per_mb"] > 0
    assert "baseline" not in got and '"pages": 52' in capsys.readouterr().out
