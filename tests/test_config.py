from pathlib import Path

import pytest

from qa.core.config import load_settings, write_settings
from qa.core.errors import QAError


def test_precedence_defaults_toml_env_overrides(monkeypatch, tmp_path):
    cfg = tmp_path / "qa.toml"
    cfg.write_text('[qa]\ntop_k = 3\nfusion = "rrf"\nabstain_threshold = 0.4\n', encoding="utf-8")
    monkeypatch.setenv("QA_CONFIG", str(cfg))
    assert load_settings().top_k == 3
    monkeypatch.setenv("QA_TOP_K", "7")
    s = load_settings()
    assert s.top_k == 7 and s.fusion == "rrf" and s.abstain_threshold == 0.4
    assert load_settings(top_k=2).top_k == 2


def test_env_types_and_paths(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_CONTEXT_PREFIX", "off")
    monkeypatch.setenv("QA_CORPUS_DIR", str(tmp_path))
    s = load_settings()
    assert s.context_prefix is False and s.corpus_dir == Path(tmp_path)


@pytest.mark.parametrize("var, value, message", [
    ("QA_TOP_K", "many", "top_k='many' is not a valid int"),
    ("QA_FUSION", "magic", "use 'weighted' or 'rrf'"),
    ("QA_ABSTAIN_THRESHOLD", "2", "between 0 and 1"),
    ("QA_CHUNK_CHARS", "5", "too small"),
])
def test_bad_values_are_named(monkeypatch, var, value, message):
    monkeypatch.setenv(var, value)
    with pytest.raises((QAError, ValueError), match=message):
        load_settings()


def test_unknown_toml_key(monkeypatch, tmp_path):
    cfg = tmp_path / "qa.toml"
    cfg.write_text("[qa]\ntopk = 3\n", encoding="utf-8")
    monkeypatch.setenv("QA_CONFIG", str(cfg))
    with pytest.raises(QAError, match="unknown setting 'topk'"):
        load_settings()


def test_write_settings_round_trip(monkeypatch, tmp_path):
    cfg = tmp_path / "qa.toml"
    monkeypatch.setenv("QA_CONFIG", str(cfg))
    write_settings({"abstain_threshold": 0.42, "confidence_weights": {"bias": -1.5, "dense": 2.0}})
    write_settings({"top_k": 4})
    s = load_settings()
    assert s.abstain_threshold == 0.42 and s.top_k == 4
    assert s.confidence_weights == {"bias": -1.5, "dense": 2.0}


def test_sure_threshold_outside_0_to_1_is_refused():
    with pytest.raises(QAError, match=r"sure_threshold=1.5: use a number between 0 and 1"):
        load_settings(sure_threshold=1.5)


def test_the_reader_and_the_search_backend_are_settings(tmp_path):
    from qa.answer.pipeline import QA
    from qa.reader.onnx_reader import MODEL_FILE

    with pytest.raises(QAError, match="reader_model='/nowhere/r.onnx' is not a file"):
        load_settings(reader_model="/nowhere/r.onnx")
    with pytest.raises(QAError, match="vector_backend='solr'"):
        load_settings(vector_backend="solr")
    with pytest.raises(QAError, match="milvus_uri='milvus.db'"):
        load_settings(milvus_uri="milvus.db")
    copy = tmp_path / "other-reader.onnx"
    copy.write_bytes(b"")  # never loaded here: the reader loads lazily
    assert QA(load_settings(reader_model=str(copy))).reader.path == copy
    assert QA(load_settings()).reader.path == MODEL_FILE
