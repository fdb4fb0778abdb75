"""The ONNX Runtime embedder: same vectors as sentence-transformers (fp32), a cached export that
is reused and verified, int8 as an opt-in, and a serving path that never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.embed import onnx as oe
from conftest import shared_onnx_cache
from qa.embed.onnx import OnnxEmbedder, onnx_available

pytestmark = [pytest.mark.integration, pytest.mark.skipif(not onnx_available(), reason="onnxruntime not installed")]

REPO = Path(__file__).resolve().parents[1]
SENTENCES = [
    "When was the Central Asia plus Japan dialogue formally declared?",
    "The dialogue was formally declared on 28 August 2004 in Astana, Kazakhstan.",
    "Hi",
    "",
    "word " * 400,  # longer than max_seq_length: truncated to 256 tokens like sentence-transformers
    "Ünïcödé — “quotes” and emoji 🙂 in one line.",
]


@pytest.fixture(scope="module")
def onnx_fp32():
    emb = OnnxEmbedder(cache_dir=shared_onnx_cache())
    emb.warm_up()
    return emb


@pytest.fixture(scope="module")
def torch_vectors():
    from qa.embed.torch import TorchEmbedder

    return TorchEmbedder().encode(SENTENCES, batch_size=4)


def test_fp32_matches_torch(onnx_fp32, torch_vectors):
    for batch in (1, 4, 64):  # padding differs per batch; results must not
        vecs = onnx_fp32.encode(SENTENCES, batch_size=batch)
        assert vecs.dtype == np.float32 and vecs.shape == (len(SENTENCES), 384)
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
        cos = (vecs * torch_vectors).sum(1)
        assert cos.min() >= 0.99999, cos


def test_empty_input(onnx_fp32):
    assert onnx_fp32.encode([]).shape == (0, 384)


def test_names_differ_by_backend(onnx_fp32):
    from qa.embed.torch import TorchEmbedder

    names = {onnx_fp32.name, OnnxEmbedder(quantize=True).name, TorchEmbedder().name}
    assert len(names) == 3


def test_cache_is_reused_not_reexported(onnx_fp32, monkeypatch):
    folder = shared_onnx_cache() / "onnx"
    meta = json.loads((folder / "model-fp32.json").read_text())
    assert len(meta["source"]["sha256"]) == 64 and len(meta["onnx"]["sha256"]) == 64
    assert meta["onnx"]["sha256"] == oe.sha256_file(folder / "model-fp32.onnx")

    def boom(*a, **k):
        raise AssertionError("re-exported although the cache matches")

    monkeypatch.setattr(oe, "_export_fp32", boom)
    again = OnnxEmbedder(cache_dir=shared_onnx_cache())
    again.warm_up()
    assert again.fingerprint["onnx_sha256"] == meta["onnx"]["sha256"]
    assert again.fingerprint["source_sha256"] == meta["source"]["sha256"]
    assert "torch" not in again.fingerprint


def _copied_cache(tmp_path, variant):
    """A copy of the shared cache's ``variant`` export and sidecar: (folder, sidecar, weights, meta)."""
    folder = tmp_path / "onnx"
    folder.mkdir()
    src = shared_onnx_cache() / "onnx"
    for name in (f"model-{variant}.onnx", f"model-{variant}.json"):
        (folder / name).write_bytes((src / name).read_bytes())
    side = oe._Sidecar(folder, variant)
    return folder, side, oe._weights_file(Path(oe.model_path())), side.read()


def test_changed_export_or_source_is_detected(onnx_fp32, tmp_path):
    folder, side, weights, meta = _copied_cache(tmp_path, "fp32")
    # Copies have new mtimes: the hashes are recomputed and still match.
    assert side.matches(weights, meta["source"]["sha256"]) is not None
    assert side.matches(weights, "0" * 64) is None  # other weights
    with open(folder / "model-fp32.onnx", "ab") as f:  # a damaged or swapped export
        f.write(b"x")
    assert side.matches(weights, meta["source"]["sha256"]) is None


def test_export_writes_atomically_into_empty_cache(tmp_path, monkeypatch):
    """A cold cache: the export runs once under the lock, through a temporary file."""
    calls = []

    def fake_export(source, target):
        calls.append(target)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes((shared_onnx_cache() / "onnx" / "model-fp32.onnx").read_bytes())
        os.replace(tmp, target)

    monkeypatch.setattr(oe, "_export_fp32", fake_export)
    shared_onnx_cache().mkdir(exist_ok=True)
    OnnxEmbedder(cache_dir=shared_onnx_cache()).warm_up()  # make sure the real one exists
    path, meta = oe.ensure_onnx_model(Path(oe.model_path()), tmp_path)
    path2, meta2 = oe.ensure_onnx_model(Path(oe.model_path()), tmp_path)
    assert len(calls) == 1 and path == path2 and meta == meta2
    assert sorted(p.name for p in (tmp_path / "onnx").iterdir()) == [".export.lock", "model-fp32.json", "model-fp32.onnx"]


def test_int8_is_close_but_distinct(onnx_fp32):
    q8 = OnnxEmbedder(cache_dir=shared_onnx_cache(), quantize=True)
    texts = SENTENCES[:3]
    cos = (q8.encode(texts) * onnx_fp32.encode(texts)).sum(1)
    assert cos.min() > 0.95
    assert q8.name.endswith("onnx-int8") and q8.fingerprint["onnx_sha256"] != onnx_fp32.fingerprint["onnx_sha256"]


def test_fp32_graph_is_fused(onnx_fp32):
    """Export version 2: ORT's BERT fusions (fewer kernels per question), same numbers as torch
    (test_fp32_matches_torch)."""
    import onnx

    ops = {n.op_type for n in onnx.load(str(onnx_fp32.model_file), load_external_data=False).graph.node}
    assert {"Attention", "SkipLayerNormalization", "EmbedLayerNormalization"} <= ops
    assert onnx_fp32.fingerprint["recipe"]["export_version"] == oe.EXPORT_VERSION == 2


def test_int8_recipe_keeps_attention_fp32(onnx_fp32):
    """Recipe 2: fused graph, int8 only on the weight MatMuls; the Attention op (scores, softmax)
    stays fp32, which is what keeps dev metrics within 1 point of fp32."""
    import onnx

    q8 = OnnxEmbedder(cache_dir=shared_onnx_cache(), quantize=True)
    q8.warm_up()
    assert q8.fingerprint["recipe"]["quantize_dynamic"] == oe.INT8_RECIPE
    ops = {n.op_type for n in onnx.load(str(q8.model_file), load_external_data=False).graph.node}
    assert {"Attention", "MatMulInteger", "SkipLayerNormalization"} <= ops
    assert "QAttention" not in ops and "Softmax" not in ops
    cos = (q8.encode(SENTENCES) * onnx_fp32.encode(SENTENCES)).sum(1)
    assert cos.min() > 0.97, cos  # ~0.994 on real text; "Hi" and "" are the outliers (~0.98)


def test_old_int8_recipe_is_requantised(tmp_path):
    OnnxEmbedder(cache_dir=shared_onnx_cache(), quantize=True).warm_up()
    folder, side, weights, meta = _copied_cache(tmp_path, "int8")
    assert side.matches(weights, meta["source"]["sha256"]) is not None
    meta["recipe"]["quantize_dynamic"] = {"weight_type": "QInt8", "per_channel": True}  # recipe 1
    side.write(meta)
    assert side.matches(weights, meta["source"]["sha256"]) is None


def test_load_embedder_and_settings_accept_int8():
    from qa.core.config import load_settings
    from qa.embed.factory import load_embedder

    assert load_settings(embedding_backend="onnx-int8").embedding_backend == "onnx-int8"
    emb = load_embedder("onnx-int8", cache_dir=shared_onnx_cache())
    assert isinstance(emb, OnnxEmbedder) and emb.quantize
    assert not load_embedder("onnx", cache_dir=shared_onnx_cache()).quantize


SERVING = r"""
import sys
from qa import QA, load_settings
from qa.embed.model import force_offline
qa = QA(load_settings(corpus_dir=sys.argv[1], index_dir=sys.argv[2]))
qa.warm_up(build_if_needed=True)
answer = qa.ask("When was the treaty signed?")
assert qa.embedder.name.endswith("onnx-fp32"), qa.embedder.name
from qa.surfaces.cli import cli
cli(["--corpus", sys.argv[1], "--index", sys.argv[2], "ask", "--json", "Who chaired the signing?"], standalone_mode=False)
import gradio  # the chat UI's import must not pull torch either
import qa.surfaces.chat
heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules)
assert not heavy, heavy
print("SERVING-OK", answer.text)
"""


def test_serving_path_does_not_import_torch(onnx_fp32, tiny_corpus, tmp_path):
    index = tmp_path / "index"
    onnx = index / "onnx"
    onnx.mkdir(parents=True)
    for f in (shared_onnx_cache() / "onnx").glob("model-fp32.*"):  # a warm cache, as after `qa build`
        os.link(f, onnx / f.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")} | {"QA_CONFIG": str(tmp_path / "none.toml")}
    proc = subprocess.run([sys.executable, "-c", SERVING, str(tiny_corpus), str(index)], capture_output=True,
                          text=True, timeout=240, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "SERVING-OK" in proc.stdout
    manifest = json.loads(next(index.glob("build-*/manifest.json")).read_text())
    assert manifest["model"].endswith("onnx-fp32")
    assert manifest["embedder"]["onnx_sha256"] == onnx_fp32.fingerprint["onnx_sha256"]
