"""Updating an index (qa/index/store.py): only new or changed files are embedded, the rest keep
their vectors from the live build, and the result is the index a full rebuild would give; a
damaged or incompatible previous build lends nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.core.config import load_settings
from qa.index.store import build_index, current_build, load_index
from conftest import FakeEmbedder


class CountingEmbedder(FakeEmbedder):
    def __init__(self):
        super().__init__()
        self.texts = []

    def encode(self, texts, batch_size=64, progress=False):
        self.texts += list(texts)
        return super().encode(texts, batch_size, progress)


DOCS = {
    "a.md": "# Alpha\n\n## One\nThe alpha river floods in May. Farmers plant rice after the flood.\n",
    "b.md": "# Beta\n\n## Two\nBeta town has a stone bridge. It was built in 1710 by masons.\n",
    "c.md": "# Gamma\n\n## Three\nGamma lake freezes in January. Skaters come from the whole valley.\n",
}


@pytest.fixture
def setup(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    return load_settings(corpus_dir=corpus, index_dir=tmp_path / "index"), corpus


def _contents(settings, embedder):
    index = load_index(settings, embedder.name, embedder.dim)
    vecs = index.search.vectors("sentence", list(range(index.search.count("sentence"))))
    return ([(s.doc_id, s.start, s.end, s.text) for s in index.sentences], vecs,
            {d: doc.text for d, doc in index.documents.items()})


def _full(settings, tmp_path):
    """What a rebuild from nothing gives, for comparison."""
    fresh = settings.replace(index_dir=tmp_path / "full-index")
    build_index(fresh, FakeEmbedder())
    return _contents(fresh, FakeEmbedder())


@pytest.mark.parametrize("backend", ["faiss", "milvus"])
def test_a_changed_file_is_the_only_one_embedded(setup, tmp_path, backend):
    settings, corpus = setup
    settings = settings.replace(vector_backend=backend)
    first = CountingEmbedder()
    m1 = build_index(settings, first)
    assert m1["update"] == {"embedded": len(first.texts), "kept": 0, "from": None}
    (corpus / "b.md").write_text(DOCS["b.md"].replace("1710", "1712"), encoding="utf-8")
    second = CountingEmbedder()
    m2 = build_index(settings, second)
    assert second.texts and all("Beta" in t for t in second.texts)  # b.md's pieces only
    assert m2["update"]["embedded"] == len(second.texts) and m2["update"]["kept"] > 0
    assert m2["update"]["from"].startswith("build-")  # the build it updated
    got = _contents(settings, FakeEmbedder())
    want = _full(settings, tmp_path)
    assert got[0] == want[0] and got[2] == want[2]
    assert np.allclose(got[1], want[1], atol=1e-6)


def test_adding_and_removing_files_embeds_only_what_is_new(setup, tmp_path):
    settings, corpus = setup
    build_index(settings, FakeEmbedder())
    (corpus / "c.md").unlink()
    e = CountingEmbedder()
    m = build_index(settings, e)
    assert e.texts == [] and m["update"]["embedded"] == 0
    assert m["counts"]["documents"] == 2
    (corpus / "d.md").write_text("# Delta\n\n## Four\nDelta port ships copper ore to the coast.\n", encoding="utf-8")
    (corpus / "bad.md").write_bytes(b"\xff\xfe not utf-8")
    e = CountingEmbedder()
    m = build_index(settings, e)
    assert e.texts and all("Delta" in t for t in e.texts)
    assert sorted(load_index(settings, e.name, e.dim).documents) == ["a.md", "b.md", "d.md"]
    assert m["skipped"] == {"bad.md": "bad.md: not valid UTF-8 at byte 0; re-save the file as UTF-8"}
    got, want = _contents(settings, FakeEmbedder()), _full(settings, tmp_path)
    assert got[0] == want[0] and np.allclose(got[1], want[1], atol=1e-6)


def test_a_different_model_lends_nothing(setup):
    settings, corpus = setup
    build_index(settings, FakeEmbedder())

    class Other(CountingEmbedder):
        name = "fake/other"

    e = Other()
    m = build_index(settings, e)
    assert m["update"]["kept"] == 0 and len(e.texts) == m["update"]["embedded"] > 0


def test_damaged_vectors_are_embedded_again_not_carried_over(setup):
    settings, corpus = setup
    build_index(settings, FakeEmbedder())
    folder = current_build(settings.index_dir)
    store = json.loads((folder / "store.json").read_text(encoding="utf-8"))
    store["documents"][0]["text"] = store["documents"][0]["text"].replace("alpha", "ALPHA")  # tampered text
    (folder / "store.json").write_text(json.dumps(store), encoding="utf-8")
    (corpus / "b.md").write_text(DOCS["b.md"] + "A second bridge followed.\n", encoding="utf-8")
    e = CountingEmbedder()
    build_index(settings, e)
    # the tampered build fails its checksums: everything is read and embedded afresh
    assert any("Alpha" in t for t in e.texts) and any("Gamma" in t for t in e.texts)
    assert "ALPHA" not in load_index(settings, e.name, e.dim).documents["a.md"].text


def test_an_8_bit_index_lends_nothing(setup, monkeypatch):
    """Beyond HNSW_MAX the vectors are stored as 8-bit codes: lending their dequantised copies
    would let them drift a little with every update, so everything is embedded again."""
    from qa.index.vectors import VectorIndex

    real = VectorIndex.build.__func__
    monkeypatch.setattr(VectorIndex, "build", classmethod(lambda cls, v, **kw: real(cls, v, kind="ivf-sq8")))
    settings, corpus = setup
    # enough sentences to train the 8-bit quantiser's lists
    (corpus / "long.md").write_text("# Long\n\n" + " ".join(f"Village {i} grows crop {i * 7}." for i in range(400)),
                                    encoding="utf-8")
    build_index(settings, FakeEmbedder())
    assert load_index(settings, FakeEmbedder.name, FakeEmbedder.dim).search.vector_index("sentence").kind == "ivf-sq8"
    (corpus / "b.md").write_text(DOCS["b.md"].replace("1710", "1712"), encoding="utf-8")
    e = CountingEmbedder()
    m = build_index(settings, e)
    assert m["update"]["kept"] == 0 and any("Alpha" in t for t in e.texts)


def test_a_file_skipped_for_a_limit_is_read_again_once_the_limit_is_raised(setup):
    settings, corpus = setup
    m = build_index(settings.replace(max_file_bytes=80), FakeEmbedder())
    assert "over the limit" in m["skipped"]["c.md"]
    m = build_index(settings, FakeEmbedder())  # same bytes, higher limit
    assert "c.md" not in m["skipped"] and m["counts"]["documents"] == 3


def test_switching_the_search_backend_embeds_nothing_again(setup):
    """The vectors are the embedder's, not the engine's: FAISS -> Milvus -> FAISS lends them all."""
    settings, corpus = setup
    build_index(settings, FakeEmbedder())
    for backend in ("milvus", "faiss"):
        e = CountingEmbedder()
        m = build_index(settings.replace(vector_backend=backend), e)
        assert e.texts == [] and m["update"]["kept"] > 0 and m["backend"]["name"] == backend
        index = load_index(settings.replace(vector_backend=backend), e.name, e.dim)
        assert index.search.name == backend and index.search.count("sentence") == len(index.sentences)


@pytest.mark.parametrize("backend", ["faiss", "milvus"])
def test_a_build_with_shared_bm25_statistics_is_stale_and_lends_its_vectors(setup, backend):
    """A build from before BM25's statistics were kept per collection (its manifest's backend has
    no "bm25" mark) cannot be used, and the next build embeds nothing again."""
    from qa.index.store import stale_reasons

    settings, corpus = setup
    settings = settings.replace(vector_backend=backend)
    build_index(settings, FakeEmbedder())
    path = current_build(settings.index_dir) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    del manifest["backend"]["bm25"]
    path.write_text(json.dumps(manifest), encoding="utf-8")
    e = CountingEmbedder()
    assert any("per collection" in r for r in stale_reasons(settings, e.name, e.dim))
    m = build_index(settings, e)
    assert e.texts == [] and m["update"]["kept"] > 0 and m["backend"]["bm25"] == "collection"
    assert stale_reasons(settings, e.name, e.dim) == []
