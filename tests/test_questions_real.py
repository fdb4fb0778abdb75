"""Questions as people type them, with the real model and index over the seed corpus: a misspelt
question, one in Japanese, an open one, and the issue's follow-up chain of three."""

import pytest

from qa.surfaces.view import answer_json

pytestmark = pytest.mark.integration


def test_a_misspelt_question_is_answered(real_qa):
    d = answer_json(real_qa.ask("whre was the dialouge declard?"))
    assert d["corrected"] == "where was the dialogue declared?"
    assert not d["abstained"] and "Astana" in d["answer"]


def test_a_japanese_question_gets_the_language_reply(real_qa):
    d = answer_json(real_qa.ask("対話はどこで宣言されましたか？"))
    assert d["kind"] == "language" and d["answer"] is None
    assert "Japanese" in d["message"] and "English" in d["message"]


def test_tell_me_about_gets_a_cited_overview(real_qa):
    d = answer_json(real_qa.ask("tell me about Aso"))
    assert d["kind"] == "overview" and d["answer"] is None
    assert d["overview"] and all("Aso" in d["citations"][p["citation"] - 1]["text"] for p in d["overview"])
    assert "Taro Aso" in d["overview"][0]["text"]


def test_a_follow_up_chain_of_three_keeps_its_event(real_qa):
    """The issue's chain: the third question is about the 4th meeting, not the 2006 one."""
    history = []
    answers = []
    for q in ("When did the 4th meeting take place?", "Who attended it?", "Where was it held?"):
        d = answer_json(real_qa.ask(q, history=history))
        answers.append(d)
        history += [{"role": "user", "content": q},
                    {"role": "assistant", "content": d["answer"] or d["message"], "source": d["source"]}]
    first, _, third = answers
    assert "10 November 2012" in first["answer"]
    assert third["answer"] and "Tokyo" in third["answer"]
    assert third["retrieval_query"].startswith("Where was the 4th meeting held?")
    assert "2012" in third["citations"][0]["text"] and "5 June 2006" not in third["citations"][0]["text"]
