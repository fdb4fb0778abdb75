import json

import pytest

from qa.core.errors import CorpusError, IndexStateError
from qa.index.store import CURRENT, build_index, current_build, load_index, stale_reasons


def test_build_writes_manifest_and_loads(tiny_settings, fake_embedder):
    manifest = build_index(tiny_settings, fake_embedder)
    assert manifest["model"] == "fake/bow" and manifest["dimension"] == 64
    assert manifest["chunking"] == {"target_chars": 700, "overlap": 1}
    assert set(manifest["files"]) == {"tiny.txt"} and len(manifest["files"]["tiny.txt"]) == 64
    assert manifest["counts"]["documents"] == 1
    assert "faiss-cpu" in manifest["versions"] and manifest["built_at"]
    folder = current_build(tiny_settings.index_dir)
    assert folder.name.startswith("build-")
    assert {p.name for p in folder.iterdir()} >= {"manifest.json", "store.json", "sentences.faiss", "chunks.faiss", "lexical"}
    index = load_index(tiny_settings, "fake/bow", 64)
    for s in index.sentences:
        assert index.documents[s.doc_id].text[s.start:s.end] == s.text
    for ci, (first, last) in enumerate(index.chunk_sentences):
        assert index.sentences[first].start == index.chunks[ci].start
        assert index.sentences[last - 1].end == index.chunks[ci].end
    assert stale_reasons(tiny_settings, "fake/bow", 64) == []


def test_rebuild_replaces_and_cleans_up(tiny_settings, fake_embedder):
    build_index(tiny_settings, fake_embedder)
    first = current_build(tiny_settings.index_dir)
    (tiny_settings.index_dir / ".tmp-left-by-a-killed-build").mkdir()
    build_index(tiny_settings, fake_embedder)
    second = current_build(tiny_settings.index_dir)
    assert first != second and not first.exists()
    names = sorted(p.name for p in tiny_settings.index_dir.iterdir())
    assert names == sorted([CURRENT, ".build.lock", second.name])


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda s, c: (c / "tiny.txt").write_text("= Changed =\n\nNew text.", encoding="utf-8"), "changed file tiny.txt"),
        (lambda s, c: (c / "more.md").write_text("# More\n\nText.", encoding="utf-8"), "new file more.md"),
        (lambda s, c: (c / "tiny.txt").unlink(), "removed file tiny.txt"),
    ],
)
def test_corpus_changes_make_the_index_stale(tiny_settings, tiny_corpus, fake_embedder, change, reason):
    build_index(tiny_settings, fake_embedder)
    change(tiny_settings, tiny_corpus)
    assert reason in stale_reasons(tiny_settings, "fake/bow", 64)
    with pytest.raises(IndexStateError, match="Run `qa build`"):
        load_index(tiny_settings, "fake/bow", 64)


def test_settings_and_model_changes_make_the_index_stale(tiny_settings, fake_embedder):
    build_index(tiny_settings, fake_embedder)
    assert any("chunking changed" in r for r in stale_reasons(tiny_settings.replace(chunk_chars=300), "fake/bow", 64))
    assert any("context_prefix" in r for r in stale_reasons(tiny_settings.replace(context_prefix=False), "fake/bow", 64))
    assert any("model changed" in r for r in stale_reasons(tiny_settings, "other/model", 64))
    assert any("dimension changed" in r for r in stale_reasons(tiny_settings, "fake/bow", 384))


def test_missing_index_is_reported(tiny_settings):
    assert stale_reasons(tiny_settings, "fake/bow", 64) == [f"no index in {tiny_settings.index_dir}"]


def test_damaged_files_are_detected(tiny_settings, fake_embedder):
    build_index(tiny_settings, fake_embedder)
    folder = current_build(tiny_settings.index_dir)
    data = (folder / "sentences.faiss").read_bytes()
    (folder / "sentences.faiss").write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexStateError, match="damaged"):
        load_index(tiny_settings, "fake/bow", 64)


def test_garbage_current_pointer(tiny_settings, fake_embedder):
    build_index(tiny_settings, fake_embedder)
    (tiny_settings.index_dir / CURRENT).write_text("build-does-not-exist", encoding="utf-8")
    assert "missing build" in stale_reasons(tiny_settings, "fake/bow", 64)[0]


def test_corrupt_manifest(tiny_settings, fake_embedder):
    build_index(tiny_settings, fake_embedder)
    (current_build(tiny_settings.index_dir) / "manifest.json").write_text("{not json", encoding="utf-8")
    assert "unreadable" in stale_reasons(tiny_settings, "fake/bow", 64)[0]


def test_empty_corpus_is_a_clear_error(tmp_path, tiny_settings, fake_embedder):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorpusError, match="nothing to index"):
        build_index(tiny_settings.replace(corpus_dir=empty), fake_embedder)
    assert current_build(tiny_settings.index_dir) is None


def test_skipped_files_are_recorded(tiny_settings, tiny_corpus, fake_embedder):
    (tiny_corpus / "bad.txt").write_bytes(b"\xff\xfe bad")
    manifest = build_index(tiny_settings, fake_embedder)
    assert "bad.txt" in manifest["skipped"]
    stored = json.loads((current_build(tiny_settings.index_dir) / "manifest.json").read_text())
    assert stored["skipped"] == manifest["skipped"]


def _qa_over(tmp_path, fake_embedder, files: dict[str, str]):
    """A warmed-up QA that never abstains, over a corpus of ``files`` (name -> text, written as
    UTF-8 bytes so CRLF line ends stay as given), with the fake embedder."""
    from qa.core.config import load_settings
    from qa.answer.pipeline import QA

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in files.items():
        (corpus / name).write_bytes(text.encode("utf-8"))
    qa = QA(load_settings(corpus_dir=corpus, index_dir=tmp_path / "index", abstain_threshold=0.0),
            embedder=fake_embedder)
    qa.warm_up()
    return qa


def _frames(tmp_path, fake_embedder, files: dict[str, str]) -> dict[str, frozenset]:
    index = _qa_over(tmp_path, fake_embedder, files).index
    return {s.text: index.frame_terms(i) for i, s in enumerate(index.sentences)}


def test_list_span_covers_one_run_of_items_and_nothing_else(tmp_path, fake_embedder):
    index = _qa_over(tmp_path, fake_embedder, {"c.txt": (
        "= Pact =\n\n==Aims==\nThe pact lists aims:\n- Lower tariffs\n- Shared ports\n\n==Members==\n"
        "- Alpha\n- Beta\n")}).index
    ids = {s.text: i for i, s in enumerate(index.sentences)}
    intro = ids["The pact lists aims:"]
    assert index.list_span(intro) == (intro, intro)  # not an item: its own run, and not cached ...
    assert index.list_span(ids["Shared ports"]) == (ids["Lower tariffs"], ids["Shared ports"])  # ... so this holds
    assert index.list_span(ids["Alpha"]) == (ids["Alpha"], ids["Beta"])  # a heading ends a run
