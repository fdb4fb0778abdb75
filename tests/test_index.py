import json

import pytest

from qa.errors import CorpusError, IndexStateError
from qa.index import CURRENT, build_index, current_build, load_index, stale_reasons


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


EVENT_DOC = """= Harbour talks =

==Meetings==
On 5 June 2006 a meeting was held in Osaka. There, the ministers agreed to share fishing maps. They also discussed fishing quotas. The Peruvian envoy attended the meeting as a guest.

Additionally, a seminar on maps was held in Lima.

==Later==
At a later meeting the ministers discussed fishing quotas.

==Motives==
In 2007 minister Rosa Vega gave two reasons:

- Fish stocks are shrinking
- Old maps are wrong
"""


def _qa_over(tmp_path, fake_embedder, files: dict[str, str]):
    """A warmed-up QA that never abstains, over a corpus of ``files`` (name -> text, written as
    UTF-8 bytes so CRLF line ends stay as given), with the fake embedder."""
    from qa.config import load_settings
    from qa.pipeline import QA

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in files.items():
        (corpus / name).write_bytes(text.encode("utf-8"))
    qa = QA(load_settings(corpus_dir=corpus, index_dir=tmp_path / "index", abstain_threshold=0.0),
            embedder=fake_embedder)
    qa.warm_up()
    return qa


def _signal(qa, question: str, name: str) -> dict[str, float]:
    """Each candidate sentence's ``name`` signal for ``question``, by sentence text."""
    from qa.retrieval import retrieve

    _, query, analysis = qa.prepare(question)
    got = retrieve(qa.index, qa.embedder.encode([query])[0], analysis, qa.settings)
    return {qa.index.sentences[s.sentence].text: s.signals[name] for s in got.ranked}


@pytest.fixture
def event_qa(tmp_path, fake_embedder):
    return _qa_over(tmp_path, fake_embedder, {"talks.txt": EVENT_DOC})


def test_frame_terms_are_the_names_and_dates_of_the_event_a_sentence_continues(event_qa):
    index = event_qa.index
    frames = {s.text: index.frame_terms(i) for i, s in enumerate(index.sentences)}
    event = frozenset({"5", "june", "2006", "osaka"})
    assert frames["There, the ministers agreed to share fishing maps."] == event
    assert frames["The Peruvian envoy attended the meeting as a guest."] == event  # three sentences on
    assert frames["On 5 June 2006 a meeting was held in Osaka."] == frozenset()  # it has its own date
    assert frames["Additionally, a seminar on maps was held in Lima."] == frozenset()  # a new paragraph
    assert frames["At a later meeting the ministers discussed fishing quotas."] == frozenset()  # another section
    # a list item continues its introduction: its names, and the year it states
    assert frames["Old maps are wrong"] == frozenset({"2007", "rosa", "vega"})


def test_event_frames_rank_the_sentence_that_says_what_happened(event_qa):
    from qa.retrieval import retrieve

    question = "What fishing quotas were discussed at the 2006 meeting in Osaka?"

    def first(qa):
        _, query, analysis = qa.prepare(question)
        ranked = retrieve(qa.index, qa.embedder.encode([query])[0], analysis, qa.settings).ranked
        return qa.index.sentences[ranked[0].sentence].text

    assert first(event_qa) == "They also discussed fishing quotas."
    # without the frame, the later meeting's sentence (same words, no date) ranks first
    assert first(event_qa.with_settings(event_frames=False)) == "At a later meeting the ministers discussed fishing quotas."

def test_additive_questions_favour_sentences_that_add(tmp_path, fake_embedder):
    qa = _qa_over(tmp_path, fake_embedder, {"pact.txt": "= Pact =\n\n==Terms==\nThe statement outlined trade rules. "
                                                        "The statement also outlined plans for new schools.\n"})
    adds = {"The statement outlined trade rules.": 0.0, "The statement also outlined plans for new schools.": 1.0}
    assert _signal(qa, "Besides trade rules, what else did the statement outline?", "additive") == adds
    assert _signal(qa, "What other plans did the statement outline?", "additive") == adds
    # no addition asked: "see also" names a section, "one another" is reciprocal
    assert set(_signal(qa, "What did the statement outline?", "additive").values()) == {0.0}
    assert set(_signal(qa, "What is listed under see also?", "additive").values()) == {0.0}
    assert set(_signal(qa, "Did the ports help one another?", "additive").values()) == {0.0}


def _frames(tmp_path, fake_embedder, files: dict[str, str]) -> dict[str, frozenset]:
    index = _qa_over(tmp_path, fake_embedder, files).index
    return {s.text: index.frame_terms(i) for i, s in enumerate(index.sentences)}


def test_frames_stop_at_paragraphs_sections_and_documents(tmp_path, fake_embedder):
    frames = _frames(tmp_path, fake_embedder, {
        # CRLF line ends and a "blank" line holding spaces still end a paragraph
        "a.txt": "= Alpha =\r\n\r\n==Talks==\r\nOn 5 June 2006 a meeting was held in Osaka. They agreed.\r\n\r\n"
                 "A seminar followed.\r\n \r\nThe seminar ended.\r\n\r\n"
                 # a repeated section title is still a new section
                 "==Talks==\r\nThey parted.\r\n\r\n"
                 "==Points==\r\nIn 2007 Rosa Vega of Peru listed three points:\r\n",
        # a list at the start of another document is not introduced by a.txt's last sentence
        "b.txt": "- Fish stocks are shrinking\n- Old maps are wrong\n",
    })
    assert frames["They agreed."] == frozenset({"5", "june", "2006", "osaka"})
    assert frames["A seminar followed."] == frozenset()
    assert frames["The seminar ended."] == frozenset()
    assert frames["They parted."] == frozenset()
    assert frames["Fish stocks are shrinking"] == frozenset()
    assert frames["Old maps are wrong"] == frozenset()


def test_a_list_gets_the_frame_of_an_introduction_without_a_date(tmp_path, fake_embedder):
    frames = _frames(tmp_path, fake_embedder, {"c.txt": (
        "= Pact =\n\n==Signing==\nOn 3 May 1999 the pact was signed in Lima. The statement declared its aims:\n\n"
        "- Lower tariffs\n- Shared ports\n")})
    lima = frozenset({"3", "1999", "lima"})  # "may" is a stop word
    assert frames["The statement declared its aims:"] == lima
    assert frames["Lower tariffs"] == frames["Shared ports"] == lima  # the intro's own names add nothing here


def test_list_span_covers_one_run_of_items_and_nothing_else(tmp_path, fake_embedder):
    index = _qa_over(tmp_path, fake_embedder, {"c.txt": (
        "= Pact =\n\n==Aims==\nThe pact lists aims:\n- Lower tariffs\n- Shared ports\n\n==Members==\n"
        "- Alpha\n- Beta\n")}).index
    ids = {s.text: i for i, s in enumerate(index.sentences)}
    intro = ids["The pact lists aims:"]
    assert index.list_span(intro) == (intro, intro)  # not an item: its own run, and not cached ...
    assert index.list_span(ids["Shared ports"]) == (ids["Lower tariffs"], ids["Shared ports"])  # ... so this holds
    assert index.list_span(ids["Alpha"]) == (ids["Alpha"], ids["Beta"])  # a heading ends a run


def test_date_place_and_person_questions_do_not_borrow_the_frame(event_qa):
    continuation = "They also discussed fishing quotas."
    # quota, discuss + the frame's Osaka and 2006
    assert _signal(event_qa, "What quotas were discussed in Osaka in 2006?", "coverage")[continuation] == 1.0
    assert _signal(event_qa, "Where were quotas discussed in 2006?", "coverage")[continuation] < 1.0  # 2006 not borrowed


def test_a_duration_question_is_answered_with_the_duration(tmp_path, fake_embedder):
    qa = _qa_over(tmp_path, fake_embedder, {"talks.txt": "= Talks =\n\n==Lima==\nThe talks in Lima lasted two full days. "
                                                         "The talks in Lima were friendly.\n"})
    question = "How long did the talks in Lima last?"
    assert _signal(qa, question, "type_match") == {
        "The talks in Lima lasted two full days.": 1.0, "The talks in Lima were friendly.": 0.0}
    assert qa.ask(question).text == "two full days"
