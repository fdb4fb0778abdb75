"""Which embedder builds the index (``build_precision``): bf16 on torch for big builds on CPUs
with AMX, the question embedder otherwise; and that bf16 vectors stay fp32's."""

import numpy as np
import pytest

import qa.embed.factory as E
from qa.core.config import load_settings
from qa.core.errors import ModelUnavailableError, QAError
from qa.index.store import build_index


def test_fp32_and_small_builds_use_the_question_embedder(fake_embedder, monkeypatch):
    monkeypatch.setattr(E, "cpu_has_amx", lambda: True)
    assert E.bulk_embedder("fp32", fake_embedder, 10**6) is fake_embedder
    assert E.bulk_embedder("auto", fake_embedder, E.BF16_MIN_TEXTS - 1) is fake_embedder


def test_auto_picks_bf16_only_where_the_cpu_has_amx(fake_embedder, monkeypatch):
    # AVX512-BF16 alone is not enough: torch-bf16 there collapses when other jobs share the cores
    monkeypatch.setattr(E, "cpu_has_bf16_matmul", lambda: True)
    monkeypatch.setattr(E, "cpu_has_amx", lambda: False)
    assert E.bulk_embedder("auto", fake_embedder, 10**6) is fake_embedder
    monkeypatch.setattr(E, "cpu_has_amx", lambda: True)
    bulk = E.bulk_embedder("auto", fake_embedder, 10**6)
    assert isinstance(bulk, E.TorchEmbedder) and bulk.bf16 and bulk.name.endswith("/torch-bf16")
    assert bulk._model is None  # chosen, not loaded: loading waits for the first encode


def test_bf16_on_a_cpu_without_it_says_what_to_do(fake_embedder, monkeypatch):
    monkeypatch.setattr(E, "cpu_has_bf16_matmul", lambda: False)
    with pytest.raises(ModelUnavailableError, match="use 'auto' or 'fp32'"):
        E.bulk_embedder("bf16", fake_embedder, 10)


def test_bad_setting_is_named():
    with pytest.raises(QAError, match="build_precision='fp16'"):
        load_settings(build_precision="fp16")


def test_manifest_records_who_embedded_the_documents(tiny_settings, fake_embedder):
    manifest = build_index(tiny_settings, fake_embedder)
    assert manifest["documents_embedded_by"] == fake_embedder.name == manifest["model"]


@pytest.mark.integration
@pytest.mark.skipif(not E.cpu_has_bf16_matmul(), reason="this CPU has no bf16 matrix units")
def test_bf16_vectors_match_fp32():
    texts = ["Central Asia plus Japan — History: The dialogue was formally declared on 28 August 2004.",
             "Japan pledged US $700 million for projects in the region.", "short"]
    fp32 = E.TorchEmbedder().encode(texts)
    bf16 = E.TorchEmbedder(bf16=True).encode(texts)
    assert bf16.dtype == np.float32 and np.allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-5)
    assert (fp32 * bf16).sum(axis=1).min() > 0.999
