"""Answer-slot checks: cheap rules that catch a passage which cannot hold the answer asked for.

Near-miss questions ("How much money did Japan pledge at the 2006 meeting?", "Where will the
second leaders' summit be held?") retrieve a passage that names the same meeting, country and
amount, so every similarity signal calls them answered. These facts give them away:

  missing kind   the question asks for a date, a count, an amount of money or a duration
                 ("how long did it last"), and the best sentence holds no such span (beyond
                 what the question itself says): whatever the sentence is about, it cannot be
                 the answer. Dates, counts and amounts are found reliably by qa/spans.py, and
                 durations in their common forms ("two days", "a decade", "from 2004 to
                 2008"); people and places are not (an answer can be "the Afghan foreign
                 minister"), so those kinds are not checked.
  conflict       the question names a year, an ordinal or another number that the passage
                 does not contain, while the passage names a *different* one of the same sort
                 (asked about 2006, the passage is about 2012; asked about the 5th meeting, it
                 describes the 4th). A passage that names no such number does not conflict.

  missing attribute
                 the question asks for an attribute by its own name -- a birth date, a
                 population, a currency, a language; or, in a who-question, an
                 office ("the *president* of", "who *chaired*") -- and the passage around the
                 best sentence never uses that word or its family. Such names are rarely
                 paraphrased ("born" is "born"), so a passage without them is about the entity,
                 not the attribute ("When was Tokayev born?" answered by the year he was
                 foreign minister). Other words are not checked: paraphrases replace them.
  missing person  a question for "the name of" someone in a role ("the Afghan foreign
                 minister"), or "who was <a role>" ("Who was Japan's foreign minister when
                 ...?"), whose best sentence names no person.
  missing name part
                 the question asks for part of a person's name ("What was Kawaguchi's *first
                 name*?") and the best sentence names that person by one word only.

``mismatch`` is 1.0 when any fires; qa/confidence.py uses it as a feature, so the fitted
weight (``qa eval --calibrate``) decides how much it counts. The checks are set operations on
term sets the index has already cached and a few regular expressions over the question and the
best sentence: no model call, well under a millisecond per question.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .question import entity_terms
from .spans import find_spans
from .text import fold, stem, words

#: Span kinds whose absence from the best sentence means the sentence cannot answer.
RELIABLE_KINDS = frozenset({"date", "count", "money", "duration"})

_YEAR = re.compile(r"(?:1[5-9]|2\d)\d{2}s?")
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)")
_NUMBER = re.compile(r"\d[\d,.]*")


def number_sort(term: str) -> str | None:
    """"year", "ordinal" or "number" for a term that is one ("2006", "4th", "700"), else None.

    Terms are the stemmed, lower-cased tokens of qa.text.terms, where ordinal words are
    already digits ("fourth" -> "4th")."""
    if _YEAR.fullmatch(term):
        return "year"
    if _ORDINAL.fullmatch(term):
        return "ordinal"
    if _NUMBER.fullmatch(term):
        return "number"
    return None


def number_conflict(question_terms: Iterable[str], passage_terms: Iterable[str]) -> bool:
    """Whether the question names a year/ordinal/number the passage lacks while the passage
    names another one of the same sort."""
    asked = [(t, sort) for t in question_terms if t[:1].isdigit() and (sort := number_sort(t))]
    if not asked:  # most questions: no scan of the passage at all
        return False
    have: dict[str, set[str]] = {}
    for t in passage_terms:
        if t[:1].isdigit() and (sort := number_sort(t)):
            have.setdefault(sort, set()).add(t)
    return any(have.get(sort) and t not in have[sort] for t, sort in asked)


@dataclass(frozen=True)
class _Group:
    asked: tuple[tuple[str, ...], ...]  # the question's words or phrases that ask for it (surface
    # forms: "presided" is no "president"; "capital of" is, "which capital hosted" is not)
    stated: frozenset[str]  # stems, any of which in the passage states it

    def is_asked(self, question_words: list[str]) -> bool:
        n = len(question_words)
        return any(question_words[i:i + len(p)] == list(p) for p in self.asked for i in range(n - len(p) + 1))


def _groups(*groups: str) -> tuple[_Group, ...]:
    """Each group: "asked words or phrases | words that state it" ("|" optional: the same)."""
    out = []
    for g in groups:
        asked, _, stated = g.partition("|")
        phrases = tuple(tuple(p.split()) for p in asked.split(","))
        stated_words = stated.split() if stated else [w for p in phrases for w in p]
        out.append(_Group(phrases, frozenset(stem(w) for w in stated_words)))
    return tuple(out)


#: Attributes of people and places asked for by name (the facts of an encyclopedia's info box).
#: Only words that questions rarely use for anything else: "age", "old", "spoken", "area" and
#: "religious" were tried and dropped for that reason; "capital" counts only as "capital of"
#: ("which capital city hosted" asks for a city) and "party" only as "political party".
ATTRIBUTES = _groups("born, birth, birthday", "died, death", "population, inhabitants", "currency",
                     "language, languages", "gdp", "height, tall", "married, wife, husband, spouse",
                     "capital of|capital", "political party|party parties", "university")
#: Offices a who-question can ask about; the person holding another office is not the answer.
ROLES = _groups("president|president presidents", "prime, premier", "chair, chaired, chairman, chairperson, chairwoman",
                "secretary", "ambassador", "governor", "mayor", "king, queen", "emperor", "chancellor")


def missing_attribute(qtype: str, question: str, passage_terms: frozenset[str]) -> bool:
    """Whether the question names an attribute (or, asking "who", an office) that the passage
    (its stemmed terms) never mentions."""
    asked = words(question)
    groups = ATTRIBUTES + ROLES if qtype == "who" else ATTRIBUTES
    return any(g.is_asked(asked) and g.stated.isdisjoint(passage_terms) for g in groups)


_NAME_PART = re.compile(r"\b(?:first|given|full|last|family|middle|maiden) names?\b|\bsurnames?\b")


def missing_name_part(question: str, sentence: str) -> bool:
    """Whether the question asks for part of the name of someone it names ("What was
    Kawaguchi's first name?") and ``sentence`` names that person by one word only. A question
    that describes the person instead ("the first name of the Japanese prime minister") or a
    sentence that does not name them is left to the other signals."""
    if not _NAME_PART.search(fold(question).lower()):
        return False
    names = {t for t in entity_terms(question) if not t[:1].isdigit()}
    one_word = False
    for span in find_spans(sentence, "person"):
        name = words(sentence[span.start:span.end])
        if names & {stem(w) for w in name}:
            if len(name) > 1:
                return False
            one_word = True
    return one_word


#: Nouns that name a person by role ("the Afghan *foreign minister*").
ROLE_NOUNS = ("president", "minister", "premier", "chair", "chairman", "chairwoman", "chairperson", "secretary",
              "ambassador", "governor", "mayor", "king", "queen", "emperor", "chancellor", "leader", "head",
              "official", "delegate", "delegation", "representative", "diplomat", "envoy", "analyst", "author",
              "spokesman", "spokeswoman", "spokesperson", "politician")
_ROLE = "(?:" + "|".join(ROLE_NOUNS) + ")"
#: Up to three words before the role, after an optional determiner ("the Afghan foreign minister").
_BEFORE_ROLE = r"(?:the |its |their |his |her )?(?:[\w'-]+ ){0,3}?"
# The role ends the phrase ("the name of the official term for ..." asks for a term).
_ROLE_END = r"(?=\s*(?:[?,.;]|$|who\b|of\b|in\b|at\b|for\b|from\b|when\b|during\b))"
#: "the name of the Afghan foreign minister": a person's name is asked, a role will not do.
_NAME_OF_ROLE = re.compile(rf"\bnames? of {_BEFORE_ROLE}{_ROLE}s?{_ROLE_END}")
#: "Who was Japan's foreign minister when ...?": one person in one role, asked by the question
#: itself ("Who were the presidents at the summit?" can be answered by "the Presidents of
#: Kazakhstan, ...", and "... the minister who was chair" is a relative clause).
_WHO_IS_ROLE = re.compile(rf"^(?:[^,?]*,\s*)?who (?:is|was) {_BEFORE_ROLE}{_ROLE}{_ROLE_END}")


def missing_person(question: str, sentence: str) -> bool:
    """Whether a question for "the name of" someone in a role ("What was the name of the Afghan
    foreign minister?", "Who was Japan's foreign minister then?") gets a best sentence that
    names no person. (Any who-question over a sentence without a person or role was tried too:
    it declined "Who participates only as an observer?" -- countries and governments answer
    "who" in this kind of text.)"""
    q = fold(question).lower().strip()
    return bool(_NAME_OF_ROLE.search(q) or _WHO_IS_ROLE.match(q)) and not find_spans(sentence, "person")


def missing_kind(expected_span: str | None, type_match: float) -> bool:
    """Whether a date/count/money/duration question got a best sentence without such a span."""
    return expected_span in RELIABLE_KINDS and type_match <= 0.0


@dataclass(frozen=True)
class Slot:
    """What the checks look at: the question and the passage chosen to answer it."""

    question: str  # the question's text (a follow-up's with its borrowed context)
    qtype: str  # qa.question's type: when / who / what / ...
    expected_span: str | None  # the span kind asked for: date / count / money / person / ...
    question_terms: tuple[str, ...]  # its stemmed content terms
    type_match: float  # 1 when the best sentence holds a new span of the kind asked for
    sentence: str = ""  # the best sentence
    passage_terms: frozenset[str] = frozenset()  # terms of the chunk around it
    answer_terms: frozenset[str] | None = None  # terms of the sentence and the one before it (default: the passage's)


def mismatch(slot: Slot) -> float:
    """1.0 when the passage cannot hold the answer asked for (see the module docstring)."""
    answer_terms = slot.passage_terms if slot.answer_terms is None else slot.answer_terms
    return 1.0 if (missing_kind(slot.expected_span, slot.type_match)
                   or number_conflict(slot.question_terms, slot.passage_terms)
                   or missing_attribute(slot.qtype, slot.question, answer_terms)
                   or missing_name_part(slot.question, slot.sentence)
                   or missing_person(slot.question, slot.sentence)) else 0.0
