"""Answer-slot checks (qa/checks.py): the passage cannot hold the answer asked for."""

from __future__ import annotations

import pytest

from qa.question import analyse
from qa.checks import (Slot, mismatch, missing_attribute, missing_kind, missing_name_part, missing_person,
                       number_conflict, number_sort)
from qa.confidence import FEATURES
from qa.text import terms


@pytest.mark.parametrize("term, sort", [
    ("2006", "year"), ("1990s", "year"), ("4th", "ordinal"), ("1st", "ordinal"), ("700", "number"),
    ("10", "number"), ("tokyo", None), ("mid-2006", None), ("", None),
])
def test_number_sort(term, sort):
    assert number_sort(term) == sort


def test_conflict_needs_a_different_number_of_the_same_sort():
    passage = terms("The 4th meeting took place on 10 November 2012 in Tokyo.")
    assert number_conflict(terms("What was pledged at the 2006 meeting?"), passage)  # 2006 vs 2012
    assert number_conflict(terms("When was the fifth meeting held?"), passage)  # 5th vs 4th
    assert not number_conflict(terms("When was the fourth meeting held?"), passage)  # same ordinal
    assert not number_conflict(terms("What happened in Tokyo in 2012?"), passage)
    # a number the passage does not contradict: no year / ordinal of that sort there
    assert not number_conflict(terms("Who spoke at the 2006 meeting?"), terms("The Afghan minister attended."))
    assert not number_conflict(terms("Who attended the 3rd meeting?"), terms("It took place in 2012."))
    assert not number_conflict([], passage)


def test_missing_kind_only_for_reliable_kinds():
    assert missing_kind("date", 0.0) and missing_kind("count", 0.0) and missing_kind("money", 0.0)
    assert not missing_kind("date", 1.0)
    # people and places are found less reliably ("the Afghan foreign minister"): never a mismatch
    assert not missing_kind("person", 0.0) and not missing_kind("place", 0.0)
    assert not missing_kind(None, 0.0) and not missing_kind("list", 0.0)


def test_missing_attribute_named_by_the_question():
    passage = frozenset(terms("Tokayev, who in 2004 was the country's foreign minister, is now President of Kazakhstan."))
    assert missing_attribute("when", "When was Tokayev born?", passage)
    assert missing_attribute("what", "What is the population of Kazakhstan?", passage)
    assert missing_attribute("what", "Which languages do people use in Kazakhstan?", passage)
    assert not missing_attribute("what", "What office did Tokayev hold in 2004?", passage)  # not an attribute word
    assert not missing_attribute("when", "When was he born?", passage | {"born"})
    # words that look like an attribute but ask something else
    assert not missing_attribute("who", "Who has spoken about Japan's interest?", passage)
    assert not missing_attribute("what", "What age of cooperation does it hope for?", passage)
    # offices count in who-questions only: the person holding another office is not the answer
    assert missing_attribute("who", "Who chaired the meeting in Astana?", passage)
    assert not missing_attribute("who", "Who is the president of Kazakhstan?", passage)  # "President"
    # the office asked about is singular; "presidents" describes other people in the question
    takaichi = frozenset(terms("The Summit took place in Tokyo, chaired by Prime Minister Sanae Takaichi of Japan."))
    assert not missing_attribute("who", "Which Japanese premier presided over the gathering of presidents?", takaichi)
    assert missing_attribute("who", "Which president attended the summit?", takaichi)
    assert not missing_attribute("what", "What did the chairman say?", passage)
    # surface words decide what is asked: "presided" shares the stem "presid" with "president"
    assert not missing_attribute("who", "Who presided over the meeting?", passage - {"presid"})
    # phrases: "the capital of" asks for a capital, "which capital (city) hosted" asks for a city
    assert missing_attribute("what", "What is the capital of Kazakhstan?", passage)
    assert not missing_attribute("where", "Which capital hosted the meeting?", passage)
    assert not missing_attribute("where", "Which capital city hosted the meeting?", passage)
    assert missing_attribute("what", "What political party does Tokayev belong to?", passage)
    assert not missing_attribute("what", "Which party chaired the summit?", passage)


def test_missing_name_part():
    text = "According to Kawaguchi, the meeting was possible thanks to President Kassym-Jomart Tokayev."
    assert missing_name_part("What was Kawaguchi's first name?", text)  # named by one word only
    assert not missing_name_part("What is Tokayev's first name?", text)
    assert missing_name_part("What is Idrisov's given name?", "Foreign Minister of Kazakhstan Idrisov attended.")
    aso = "Former foreign minister Taro Aso gave four reasons."
    assert not missing_name_part("What is Aso's first name?", aso)  # a three-letter name counts too
    # the question describes the person instead of naming them: other signals decide
    assert not missing_name_part("What is the first name of the former foreign minister?", aso)
    assert not missing_name_part("What is Gemba's first name?", aso)  # the sentence does not name Gemba
    assert not missing_name_part("When was the first meeting?", text)  # no name part asked


def test_missing_person_when_a_name_is_asked():
    guest = "The Afghan foreign minister attended the meeting as a guest."
    assert missing_person("What was the name of the Afghan foreign minister?", guest)
    assert not missing_person("What was the name of Kazakhstan's foreign minister?",
                              "Foreign Minister of Kazakhstan Idrisov attended.")
    assert not missing_person("What is the name of Japan's policy?", guest)  # no role asked
    # the role must end the phrase, and be a whole word
    assert not missing_person("What is the name of the official term for the policy?", guest)
    assert not missing_person("What is the name of the kingdom's diplomacy?", guest)
    assert not missing_person("What is the name of the headquarters?", guest)
    # a who-question alone is not enough: countries and governments answer "who" here
    assert not missing_person("Who participates only as an observer?", "Turkmenistan participates as an observer.")
    # "who was <someone in a role>" asks for a name as well
    declared = "The dialogue was formally declared on 28 August 2004 in Astana at a meeting of foreign ministers."
    assert missing_person("Who was Japan's foreign minister when the dialogue was declared?", declared)
    assert not missing_person("Who was Kazakhstan's foreign minister in 2012?",
                              "Foreign Minister of Kazakhstan Idrisov attended.")
    assert not missing_person("Who was present at the summit?", declared)  # no role asked
    presidents = "It was attended by the Presidents of Kazakhstan and Uzbekistan, along with respective Ministers."
    assert not missing_person("Who were the presidents at the 2025 summit?", presidents)  # several, by role
    assert not missing_person("Which country sent the minister who was chair in 2006?", declared)  # a relative clause


def test_a_duration_question_needs_a_duration():
    assert analyse("How long did the fourth meeting last?").expected_span == "duration"
    assert missing_kind("duration", 0.0)
    assert not missing_kind("duration", 1.0)


def test_mismatch_is_either_check():
    passage = frozenset(terms("The treaty was signed on 3 May 1999 in Gamma City."))
    def check(question, kind, type_match, qtype="", **kw):
        return mismatch(Slot(question=question, qtype=qtype, expected_span=kind, question_terms=tuple(terms(question)),
                             type_match=type_match, passage_terms=passage, **kw))

    assert check("When was it ratified?", "date", 0.0) == 1.0  # no date in the passage
    assert check("What was signed in 2003?", None, 1.0) == 1.0  # 2003 against 1999
    assert check("When was the treaty signed?", "date", 1.0) == 0.0
    assert check("When was Gamma born?", "date", 1.0) == 1.0  # "born" nowhere near the answer
    assert check("When was Gamma born?", "date", 1.0, answer_terms=passage | {"born"}) == 0.0
    named = "What was the name of the minister who signed it?"
    assert check(named, None, 1.0, sentence="The treaty was signed by a minister in 1999.") == 1.0
    assert check(named, None, 1.0, sentence="Minister Jane Smith signed it in 1999.") == 0.0


def test_answer_signals_carry_mismatch(tiny_qa):
    assert "mismatch" in FEATURES
    conflicting = tiny_qa.ask("Where did the parties meet again in 2005?")
    assert conflicting.signals["mismatch"] == 1.0  # the passage is about 2001
    fine = tiny_qa.ask("Where did the parties meet again in 2001?")
    assert fine.signals["mismatch"] == 0.0
    assert set(fine.signals) == set(FEATURES)
    assert tiny_qa.ask("When was Jane Q. Smith born?").signals["mismatch"] == 1.0
    assert tiny_qa.ask("Who chaired the signing?").signals["mismatch"] == 0.0
