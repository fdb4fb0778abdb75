"""Questions as people type them: misspelt (qa/answer/spelling.py), in another language
(qa/answer/language.py), open ("tell me about X", qa/answer/overview.py)."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

from qa.answer.language import identify
from qa.answer.overview import open_topic
from qa.answer.spelling import Speller
from qa.surfaces.render import to_html, to_text
from qa.surfaces.view import answer_json, view

REPO = Path(__file__).resolve().parents[1]
MADE_UP = """= Harbour Accord =

The Harbour Accord was signed by Velmora and Quintara in the port of Ostrel.
Minister Dalia Fenwick negotiated the accord for Velmora.
The accord created a fisheries council that meets every spring.
"""


@pytest.fixture(scope="module")
def speller():
    return Speller([MADE_UP])


@pytest.mark.parametrize("typed, read", [
    ("whre was the acord signd?", "where was the accord signed?"),
    ("Who negotiatd the accord for Velmorra?", "Who negotiated the accord for Velmora?"),
    ("When does the fisheries councl meet?", "When does the fisheries council meet?"),
    ("Wich port hosted the signing?", "Which port hosted the signing?"),  # a question's first word
    ("what did oStrl host?", "what did Ostrel host?"),  # a name of the documents, written as one
])
def test_misspelt_words_are_read_as_the_documents_spell_them(speller, typed, read):
    assert speller.correct(typed).text == read


@pytest.mark.parametrize("question", [
    "Who negotiated the accord for Velmora?",  # all known
    "Who is Obama?",  # a name the documents lack stays as typed
    "Was the accord signed in 1999 or 2001?",  # numbers
    "What did the zymurgy panel decide?",  # a rare English word is meant as typed
    "Was it signed in Ostrel's harbour?",  # a possessive of a known name
])
def test_known_words_names_and_numbers_are_kept(speller, question):
    assert speller.correct(question).text == question
    assert speller.correct(question).changed == ()


def test_corrections_say_what_changed(speller):
    c = speller.correct("Who signd the acord?")
    assert c.changed == (("signd", "signed"), ("acord", "accord"))


def test_typo_generator_is_seeded_and_makes_two_slips():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from typos import misspell
    finally:
        sys.path.pop(0)
    q = "When was the Harbour Accord signed in Ostrel?"
    a, b = misspell(q, random.Random("s:1")), misspell(q, random.Random("s:1"))
    assert a == b and a != q
    changed = [x for x, y in zip(q.split(), a.split()) if x != y]
    assert len(changed) == 2 and len(a.split()) == len(q.split())


@pytest.mark.parametrize("question, code", [
    ("対話はどこで宣言されましたか？", "ja"),
    ("Когда состоялась четвёртая встреча?", "ru"),
    ("Où le dialogue a-t-il été proclamé ?", "fr"),
    ("Welches Land nimmt nur als Beobachter teil?", "de"),
])
def test_other_languages_are_recognised(question, code):
    lang = identify(question)
    assert lang is not None and lang.code == code
    assert "English" in lang.message and lang.name in lang.message


@pytest.mark.parametrize("question", [
    "Aso?", "Kassym-Jomart Tokayev?", "tell me about Aso", "Silk Road diplomacy", "whre was the dialouge declard?",
    "Was Tokayev foreign minister?", "2004?", "Velmora Quintara Ostrel?",
])
def test_short_english_and_names_stay_english(question):
    assert identify(question, known=frozenset({"velmora", "quintara", "ostrel"})) is None


def test_hand_translated_seed_questions_are_all_recognised():
    items = [json.loads(line) for line in (REPO / "testsets/languages.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len({d["language"] for d in items}) >= 3
    missed = [d["id"] for d in items if (identify(d["question"]) or None) is None
              or identify(d["question"]).code != d["language"]]
    assert missed == []


def test_no_english_question_of_the_test_sets_is_judged_foreign():
    questions = [d["question"] for name in ("dev", "heldout", "blind", "blind2")
                 for d in map(json.loads, (REPO / "testsets" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines())]
    assert len(questions) > 500
    assert [q for q in questions if identify(q) is not None] == []


@pytest.mark.parametrize("question, topic", [
    ("tell me about Aso", ("Aso", True)),
    ("Can you tell me more about the Harbour Accord?", ("Harbour Accord", True)),
    ("Describe the fisheries council.", ("fisheries council", True)),
    ("Give me an overview of the accord", ("accord", True)),
    ("What is the SCO?", ("SCO", False)),
    ("Ostrel?", ("Ostrel", False)),
])
def test_open_questions_and_their_topic(question, topic):
    assert open_topic(question) == topic


@pytest.mark.parametrize("question", [
    "When was the accord signed?", "What is the capital of Mongolia?", "What is Tokayev's current role?",
    "What was reaffirmed at the 2005 meeting?", "What is he now?", "Why?",
])
def test_specific_questions_are_not_open(question):
    assert open_topic(question) is None


def test_a_bare_topic_in_a_conversation_is_not_open():
    assert open_topic("Ostrel?", bare=False) is None


def test_an_open_question_gets_a_cited_overview(tiny_qa):
    a = tiny_qa.ask("Tell me about the treaty")
    d = answer_json(a)
    assert d["kind"] == "overview" and d["answer"] is None and d["abstained"]
    assert 1 <= len(d["overview"]) <= 3
    for point in d["overview"]:
        cited = d["citations"][point["citation"] - 1]
        assert point["text"] in cited["text"] and "treaty" in point["text"].lower()
    v = view(a)
    assert v.kind == "overview" and len(v.points) == len(d["overview"])
    html = to_html(v)
    assert 'class="qa-answer is-overview"' in html and "qa-point" in html and "Overview" in html
    assert "Overview" in to_text(v)


def test_an_open_question_off_the_documents_gets_no_overview(tiny_qa):
    d = answer_json(tiny_qa.ask("Tell me about volcanoes on Mars"))  # tiny_qa never declines: it answers
    assert d["kind"] == "answer" and d["overview"] == []


def test_a_question_in_another_language_is_answered_with_the_language(tiny_qa):
    d = answer_json(tiny_qa.ask("Когда был подписан договор?"))
    assert d["kind"] == "language" and d["abstained"] and d["citations"] == []
    assert "Russian" in d["message"] and "English" in d["message"]
    assert "English" in to_html(view(tiny_qa.ask("Когда был подписан договор?")))


def test_a_misspelt_question_is_answered_as_if_spelt_right(tiny_qa):
    a = tiny_qa.ask("Whre was the treatty signd?")
    assert a.corrected == "Where was the treaty signed?"
    assert a.text and "Gamma City" in a.text
    assert "Read as" in to_html(view(a))
    off = tiny_qa.with_settings(spell_correct=False).ask("Whre was the treatty signd?")
    assert off.corrected is None


def test_hostile_questions_are_bounded(speller, monkeypatch):
    """A 2,000-character question of made-up words costs at most MAX_LOOKUPS lookups, and a
    long run of letters does not make the open-question pattern backtrack."""
    from qa.answer import spelling

    calls = []
    real = spelling.Speller._best
    monkeypatch.setattr(spelling.Speller, "_best", lambda self, *a, **k: calls.append(a) or real(self, *a, **k))
    speller.correct(" ".join(f"zqx{i}vbn" if i % 2 else "qwzrtx" for i in range(300)))
    assert 0 < len(calls) <= spelling.MAX_LOOKUPS
    assert open_topic("What is " + "a" * 5000 + "!b") == ("a" * 5000 + "!b", False)  # one word, found in one pass
    assert open_topic("What is " + "a " * 3000 + "?") is None  # longer than a topic


def test_corrections_come_only_from_the_collections_searched():
    """A correction must not tell an asker about a document of a collection they cannot search."""
    from types import SimpleNamespace

    from qa.answer.spelling import speller_for

    class Index:  # the speller reads only ``documents`` (and caches by the index object)
        documents = {"open/a.txt": SimpleNamespace(id="open/a.txt", title="Accord", text="The Velmora accord."),
                     "closed/b.txt": SimpleNamespace(id="closed/b.txt", title="Plan", text="The Quintara plan.")}

    index = Index()
    assert speller_for(index).correct("Who drew the Quintarra plan?").text == "Who drew the Quintara plan?"
    scoped = speller_for(index, frozenset({"open"}))
    assert scoped.correct("Who drew the Quintarra plan?").text == "Who drew the Quintarra plan?"
    assert scoped.correct("Who signed the Velmorra accord?").text == "Who signed the Velmora accord?"
