"""The library entry point over a tiny corpus with the fake embedder."""

import pytest

from qa.core.errors import BadQuestionError, IndexStateError
from qa.answer.pipeline import QA, clean_question


@pytest.fixture
def qa(tiny_qa):  # conftest's tiny_qa under a shorter name
    return tiny_qa


def check_contract(d, corpus_dir):
    assert set(d) >= {"question", "abstained", "answer", "answer_citation", "score", "citations"}
    for c in d["citations"]:
        text = (corpus_dir / c["doc"]).read_bytes().decode("utf-8")
        assert text[c["start"]:c["end"]] == c["text"]
        assert set(c) >= {"n", "doc", "title", "section", "start", "end", "text", "score"}
    assert [c["n"] for c in d["citations"]] == list(range(1, len(d["citations"]) + 1))
    if d["abstained"]:
        assert d["answer"] is None and d["answer_citation"] is None
    else:
        cited = d["citations"][d["answer_citation"] - 1]
        assert d["answer"] in cited["text"]


def test_constructor_is_cheap(tiny_settings, fake_embedder):
    QA(tiny_settings, embedder=fake_embedder)
    assert fake_embedder.calls == 0


def test_warm_up_builds_missing_index(tiny_settings, fake_embedder):
    q = QA(tiny_settings, embedder=fake_embedder)
    q.warm_up()
    assert q.stale_reasons() == []


def test_warm_up_without_build_reports(tiny_settings, fake_embedder):
    with pytest.raises(IndexStateError, match="qa build"):
        QA(tiny_settings, embedder=fake_embedder).warm_up(build_if_needed=False)


def test_date_question_gets_a_date_span(qa, tiny_corpus):
    a = qa.ask("When was the treaty signed?")
    d = a.to_dict()
    check_contract(d, tiny_corpus)
    assert d["answer"] == "3 May 1999"
    assert a.question_type == "when"
    c = a.citations[0]
    assert c.highlight_start <= a.answer_start < a.answer_end <= c.highlight_end


def test_list_question_returns_the_list(qa, tiny_corpus):
    a = qa.ask("What goals does the treaty list?")  # the reader's span lies in the list: the whole list
    check_contract(a.to_dict(), tiny_corpus)
    assert "Lower tariffs" in a.text and "Joint research on fisheries" in a.text


def test_abstains_below_threshold(tiny_settings, fake_embedder, tiny_corpus):
    q = QA(tiny_settings.replace(abstain_threshold=1.0), embedder=fake_embedder)
    a = q.ask("When was the treaty signed?")
    d = a.to_dict()
    check_contract(d, tiny_corpus)
    assert d["abstained"] and d["citations"] and "do not say" in d["message"]


def test_an_answer_below_the_sure_threshold_is_marked_uncertain(qa):
    q = "When was the treaty signed?"
    unsure = qa.with_settings(sure_threshold=1.0).ask(q)  # no confidence reaches 1
    sure = qa.with_settings(sure_threshold=0.0).ask(q)
    assert not unsure.abstained and unsure.text == sure.text
    assert unsure.uncertain and unsure.to_dict()["uncertain"] is True and unsure.message.startswith("Not sure")
    assert not sure.uncertain and sure.to_dict()["uncertain"] is False and sure.message == ""
    declined = qa.with_settings(abstain_threshold=1.0, sure_threshold=1.0).ask(q)
    assert declined.abstained and not declined.uncertain  # a declined question is not an uncertain answer


def test_question_without_content_words(qa):
    a = qa.ask("what is the?")
    assert a.abstained and "no words to search" in a.message


def test_follow_up_uses_history(qa):
    history = [{"role": "user", "content": "When did the parties meet again in Delta?"},
               {"role": "assistant", "content": "7 June 2001"}]
    a = qa.ask("Where was it?", history=history)
    assert "delta" in a.retrieval_query.lower()
    assert qa.ask("Where was it?").retrieval_query == "Where was it?"


def test_top_k_override(qa):
    assert len(qa.ask("treaty", top_k=1).citations) == 1


@pytest.mark.parametrize("bad, message", [
    ("", "empty"), ("   \n\t ", "empty"), ("x" * 3000, "limit is 2,000"), (None, "must be text"), (b"\xff", "UTF-8"),
])
def test_bad_questions_are_named(bad, message):
    with pytest.raises(BadQuestionError, match=message):
        clean_question(bad, 2000)


def test_control_characters_are_removed():
    assert clean_question("When\x00 was\x1b it?\r\n", 100) == "When was it?"


def test_with_settings_shares_the_index_unless_it_must_not(qa):
    cheaper = qa.with_settings(top_k=2, fusion="rrf")
    assert cheaper.index is qa.index and cheaper.settings.fusion == "rrf"
    other = qa.with_settings(chunk_chars=300)
    assert other._index is None  # a different chunking needs its own index


def _wait_for(condition, seconds=20.0):
    """Poll ``condition`` (the switch happens in a background thread), at most ``seconds``."""
    import time

    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_a_running_qa_follows_a_rebuild(qa, tiny_corpus, fake_embedder, monkeypatch):
    import qa.answer.pipeline as P

    monkeypatch.setattr(P, "RELOAD_CHECK_SECONDS", 1e9)
    old = qa.index.folder
    assert qa.ask("When did the parties meet in Epsilon?").text != "9 September 2009"
    doc = tiny_corpus / "tiny.txt"
    doc.write_text(doc.read_text(encoding="utf-8") + "\n==Later==\nThe parties met in Epsilon on 9 September 2009.\n",
                   encoding="utf-8")
    QA(qa.settings, embedder=fake_embedder).build()  # what `qa build` does while the app runs
    assert qa.index.folder == old  # not looked for yet: at most every RELOAD_CHECK_SECONDS
    monkeypatch.setattr(P, "RELOAD_CHECK_SECONDS", 0.0)
    assert _wait_for(lambda: qa.index.folder != old)
    assert qa.ask("When did the parties meet in Epsilon?").text == "9 September 2009"


def test_a_broken_new_build_is_logged_once_and_the_loaded_index_kept(qa, monkeypatch, caplog):
    import qa.answer.pipeline as P

    old = qa.index.folder
    bad = old.parent / "build-20990101-000000-1-000001"
    bad.mkdir()  # a build folder without its files, named by CURRENT
    (old.parent / "CURRENT").write_text(bad.name, encoding="utf-8")
    calls = []
    real_load = P.load_index
    monkeypatch.setattr(P, "load_index", lambda *a, **k: calls.append(1) or real_load(*a, **k))
    monkeypatch.setattr(P, "RELOAD_CHECK_SECONDS", 0.0)
    assert qa.index.folder == old  # answering goes on from the loaded index meanwhile
    assert _wait_for(lambda: "cannot be loaded" in caplog.text and not qa._reloading)
    for _ in range(20):
        assert qa.ask("When was the treaty signed?").text == "3 May 1999"
    assert qa.index.folder == old and len(calls) == 1  # rejected once, not retried every check
