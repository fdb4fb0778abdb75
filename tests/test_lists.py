"""List questions: typing ("which countries", "what two aims"), enumerations in sentences,
the ``listing`` retrieval signal and whole-sentence answers for lists of people."""

from types import SimpleNamespace

import pytest

from qa.question import analyse
from qa.retrieval import _listing
from qa.spans import enumeration
from qa.types import Sentence


@pytest.mark.parametrize("q, list_of", [
    ("What are the main objectives of the dialogue?", "items"),
    ("What two aims does Japan pursue with its policy?", "items"),
    ("What economic aims did the statement set?", "items"),
    ("Which four areas did the joint statement cover?", "items"),
    ("Which countries are part of the dialogue?", "names"),
    ("Which heads of state came to the summit?", "names"),
    ("List the members.", "names"),
])
def test_list_questions(q, list_of):
    a = analyse(q)
    assert a.qtype == "list" and a.expected_span == "list" and a.list_of == list_of


@pytest.mark.parametrize("q, qtype", [
    ("Which country takes part only as an observer?", "which"),  # singular: one thing asked
    ("Which of the two aims is this project meant to push?", "which"),  # one of them
    ("What did Tokyo offer its partners in 2006?", "what"),  # a verb, not a modifier, after "what"
    ("Which Tajik foreign minister was at the fourth meeting?", "who"),
    ("How many member states does the organisation have?", "how_many"),
    ("Who attended the meeting?", "who"),  # stays a who-question; see the span tests below
])
def test_not_list_questions(q, qtype):
    a = analyse(q)
    assert a.qtype == qtype and a.list_of is None


@pytest.mark.parametrize("text, kind", [
    ("The treaty was signed by France, Germany, Italy and Spain in 1957.", "names"),
    ("It was attended by the Presidents of Chile, Peru, Bolivia, and Ecuador, along with their ministers.", "names"),
    ("Minister of Peru Ana Flores, Minister of Chile Juan Soto, Minister of Bolivia Luis Mamani attended.", "names"),
    ("The plan aims at peace, stability, and democracy in the region.", "items"),
    ("Talks are held at the level of ministers, senior officials, as well as business leaders.", "items"),
    ("The policy has two goals: to deepen bilateral ties, and to promote regional dialogue.", "items"),
    ("The statement declared these objectives:", None),  # introduces a list; not a list itself
    ("The meeting opened at 10:30 in the main hall.", None),
    ("The meeting was held in Tokyo on 5 June 2006.", None),
    ("Analysts said that the efforts, especially with regard to Afghanistan, are helpful and complement others.", None),
])
def test_enumeration(text, kind):
    assert enumeration(text) == kind


MINISTERS = ("Foreign Minister of Peru Ana Flores, Foreign Minister of Chile Juan Soto, "
             "Deputy Foreign Minister of Bolivia Luis Mamani attended the event.")


def _index(*sentences):
    sents = [Sentence("doc.txt", section, 0, len(t), t, item)
             for t, item, section in (s if len(s) == 3 else (*s, "History") for s in sentences)]
    return SimpleNamespace(sentences=sents, enumeration=lambda i: enumeration(sents[i].text))


def test_listing_signal():
    index = _index(
        ("The treaty was signed by France, Germany, Italy and Spain in 1957.", False),
        ("The policy has two goals: to deepen bilateral ties, and to promote regional dialogue.", False),
        ("The statement declared these objectives:", False),
        ("The strengthening of peace in the region", True),
        ("The meeting was held in Tokyo.", False),
    )
    items, names = analyse("What are the goals of the policy?"), analyse("Which countries signed the treaty?")
    assert [_listing(index, i, items) for i in range(5)] == [1.0, 1.0, 1.0, 1.0, 0.0]
    assert [_listing(index, i, names) for i in range(5)] == [1.0, 0.0, 0.0, 0.0, 0.0]
    other = analyse("Where was the meeting held?")
    assert all(_listing(index, i, other) == 0.0 for i in range(5))


def test_links_and_descriptions_are_no_names():
    index = _index(("Kazakhstan", True, "Members"), ("Reduce poverty in the region", True, "Goals"),
                   ("Geostrategy in Central Asia", True, "See also"))
    names = analyse("Which countries are members?")
    assert [_listing(index, i, names) for i in range(3)] == [1.0, 0.0, 0.0]  # a description; a link


@pytest.mark.parametrize("q, qtype, list_of", [
    ("What areas did the joint statement of the five countries cover?", "list", "items"),  # the noun asked about
    ("What reasons did Japan's leaders give?", "list", "items"),
    ("What unites the countries?", "what", None),  # a verb, not a modifier
    ("What helped the countries meet in 2005?", "what", None),
    ("Which 2005 meeting was held in Tashkent?", "which", None),  # a year is not a count
    ("Which various countries attended?", "list", "names"),
])
def test_list_typing_reads_the_list_noun(q, qtype, list_of):
    a = analyse(q)
    assert (a.qtype, a.list_of) == (qtype, list_of)


def test_list_typing_is_linear_on_long_questions():
    import time

    q = "what are " * 700 + "?"  # a nested ".*" pattern took seconds here
    start = time.perf_counter()
    analyse(q)
    assert time.perf_counter() - start < 1.0
