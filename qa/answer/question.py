"""What a question asks for: its type, the kind of span that answers it, its content terms.

Rules, not a model: the question word that comes first in the question decides the type
("What job did he have back when ..." is a what-question, not a when-question); where two
patterns start at the same place the more specific wins ("how many" before "how", "what is
the reason" before "what"). A few cues mark lists ("what are the objectives") and reasons. A
question that opens with an auxiliary is a yes/no question even when a question word follows
in a relative clause ("Was he head of state *when* it began?"), unless the auxiliary is only
politeness ("Can you tell me when ...?") or the question word opens a second question
("Did Japan pledge money? How much?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.core.text import STOPWORDS, fold, stem, terms, words

# question type -> the span kind that answers it (see qa/spans.py)
EXPECTED_SPAN = {
    "when": "date",
    "how_many": "count",
    "how_much": "money",
    "how_long": "duration",
    "who": "person",
    "where": "place",
    "why": "reason",
    "list": "list",
}

# Plural nouns that ask for several things: names (countries, people) or items (goals, topics).
_NAME_NOUNS = (r"(?:countries|states|nations|members|participants|heads|leaders|presidents|ministers|people|"
               r"delegates|delegations|representatives|cities|companies|organi[sz]ations)")
_ITEM_NOUNS = (r"(?:objectives|goals|aims|reasons|areas|principles|topics|elements|issues|points|priorities|"
               r"purposes|tasks|measures|steps|fields|sectors|themes|subjects|challenges|factors)")
_LIST_NOUNS = rf"(?:{_NAME_NOUNS}|{_ITEM_NOUNS})"
_COUNT_WORDS = r"(?:two|three|four|five|six|seven|eight|nine|ten|several|\d{1,2}\b)"  # not a year
# "which two aims", "what economic aims", "which heads of state": what/which, at most two
# modifiers, then a plural list noun. A modifier is no auxiliary, determiner or "of" ("what did
# Tokyo offer its partners"), and does not look like a verb in -s or -ed ("what unites the
# countries", "what helped the countries"); "various" and "previous" still pass.
_AUX = r"is|are|was|were|do|does|did|has|have|had|can|could|will|would|should"
_MODIFIER = (rf"(?!(?:{_AUX}|of|the|a|an|"
             r"its|their|his|her|our|these|those|this|that)\b)(?![\w'-]*(?:ed|[^su's]s)\b)[\w'-]+")
_LIST_NOUN = re.compile(rf"\b{_LIST_NOUNS}\b")
_NAME_NOUN = re.compile(rf"{_NAME_NOUNS}")


class _InOrder:
    """Patterns found one after another ("what ... are ... objectives"), in linear time: one
    regex with two ``.*`` backtracks cubically on a long question. ``search`` returns the
    first pattern's match, like ``re.search`` of the whole would (its leftmost start)."""

    def __init__(self, *patterns: str):
        self.patterns = [re.compile(p) for p in patterns]

    def search(self, text: str):
        first, pos = None, 0
        for p in self.patterns:
            m = p.search(text, pos)
            if m is None:
                return None
            first, pos = first or m, m.end()
        return first


_PATTERNS: list[tuple[str, re.Pattern | _InOrder]] = [
    ("how_many", re.compile(r"\bhow many\b|\bnumber of\b|\bhow often\b")),
    ("how_much", re.compile(r"\bhow much\b|\bwhat (?:amount|sum)\b|\bhow large (?:a|an|the)? ?(?:sum|amount)\b")),
    # "how long did it last / has it existed": a duration ("how long is the border" asks a length)
    ("how_long", re.compile(r"\b(?:for )?how long (?:did|does|do|will|would)\b"
                            r"|\bfor how long\b|\bwhat (?:was|is) the duration\b")),
    ("when", re.compile(r"\bwhen\b|\bwhat (?:(?:is|was|were|are) (?:the|its|their) )?(?:year|date|day|month|time)s?\b|\bwhich (?:year|date|day|month)s?\b|\bin what year\b|\bon what (?:date|day)\b|\bthe (?:exact |precise )?dates?\b")),
    ("where", re.compile(r"\bwhere\b|\bin (?:what|which) (?:city|place|capital)\b|\b(?:what|which)\b(?:\s+[\w'-]+){0,2}\s+(?:city|(?<!took )(?<!take )(?<!takes )(?<!taking )(?<!taken )place|venue|town)\b")),
    ("why", re.compile(r"\bwhy\b|\bfor what reason\b|\bwhat (?:is|was) the reason\b|\bhow come\b|\bwhat (?:motivat|explain)")),
    ("list", _InOrder(r"\b(?:what|which|list|name)\b", r"\b(?:are|were)\b", rf"\b{_LIST_NOUNS}\b")),
    ("list", re.compile(rf"\blist\b|\b(?:what|which)\s+(?:{_MODIFIER}\s+){{0,2}}{_LIST_NOUNS}\b"
                        rf"|\b(?:what|which)\s+(?:the\s+)?{_COUNT_WORDS}\s+[a-z]")),
    # "which official", "which Japanese premier", but not "what is the official language", "what
    # did the premier host" or "what kind of leader": no auxiliary, article or kind-noun between
    ("who", re.compile(r"\bwho\b|\bwhom\b|\bwhose\b|\b(?:which|what)\b(?:\s+(?!(?:" + _AUX + r"|the|a|an|kind|sort|type)\b)[\w'-]+){0,3}\s+(?:person|minister|premier|president|leader|analyst|diplomat|author|politician|chair|chairman|chairwoman|chairperson|secretary|ambassador|envoy|spokesman|spokeswoman|spokesperson|governor|mayor|chancellor|king|queen|emperor)\b"
                       r"|\b(?:which|what)\s+(?:(?!is\b|are\b|was\b|were\b)[\w'-]+\s+)?officials?\b|\bname of the\b")),
    ("which", re.compile(r"\bwhich\b")),
    ("what", re.compile(r"\bwhat\b|\bdescribe\b|\bexplain\b")),
]


@dataclass(frozen=True)
class QuestionAnalysis:
    text: str
    qtype: str  # when/where/who/how_many/how_much/how_long/why/list/which/what/yes_no/other
    expected_span: str | None  # date/count/money/duration/person/place/reason/list, or None
    terms: tuple[str, ...]  # stemmed content terms
    entities: tuple[str, ...] = ()  # terms of names and numbers ("Tokayev", "2012", "4th")
    own_terms: tuple[str, ...] | None = None  # a follow-up's own terms, without the borrowed context
    list_of: str | None = None  # for a list question: "names" (countries, people) or "items" (goals, topics)

    @property
    def focus_terms(self) -> tuple[str, ...]:
        """The terms the answer sentence itself should contain: the question's own words when
        it has any (a follow-up's borrowed context may sit in a neighbouring sentence)."""
        return self.own_terms or self.terms


# A yes/no question opens with an auxiliary, after at most a leading phrase ("Apart from the
# aims, did ..."); a question word after it starts a relative clause ("Was Tokayev head of
# state when the dialogue was launched?" asks no date).
_YES_NO = re.compile(r"(?:[^,?]*,\s*)?(?:am|is|are|was|were|do|does|did|has|have|had|can|could|will|would|shall|"
                     r"should|may|might|must|isn't|aren't|wasn't|weren't|don't|doesn't|didn't|hasn't|haven't|"
                     r"won't|wouldn't|can't|couldn't|shouldn't)\b")
# ... unless the question word opens a second question ("Did Japan pledge money, and if so how
# much?", "Did Japan pledge money? How much?") or the auxiliary is only politeness ("Can you tell
# me when ...?", "Do you know where ...?").
_NEW_QUESTION = re.compile(r"(?:[,;:?!.-]|\band|\bif so|\bor)\s*$")
_POLITE = re.compile(r"(?:[^,?]*,\s*)?(?:(?:can|could|would|will) (?:you|anyone) (?:please )?"
                     r"(?:tell|give|show|say|list|name|explain|remind)|do(?:es)? (?:you|anyone) (?:happen to )?know)\b")


def analyse(question: str) -> QuestionAnalysis:
    q = fold(question).lower()
    qtype, first = "other", len(q) + 1
    for name, pattern in _PATTERNS:  # in order of specificity
        m = pattern.search(q)
        if m and m.start() < first:
            qtype, first = name, m.start()
    yes_no = _YES_NO.match(q)
    if yes_no and yes_no.end() <= first and not _POLITE.match(q):
        if first > len(q) or not _NEW_QUESTION.search(q[:first]):  # no question word, or one inside the clause
            qtype = "yes_no"
    list_of = None
    if qtype == "list":  # what the question's (first) list noun asks for: "what areas ... of the countries"
        noun = _LIST_NOUN.search(q)
        list_of = "names" if noun and _NAME_NOUN.fullmatch(noun.group()) else "items"
    return QuestionAnalysis(question, qtype, EXPECTED_SPAN.get(qtype), tuple(dict.fromkeys(terms(question))),
                            entity_terms(question), list_of=list_of)


_TOKEN = re.compile(r"\S+")


def entity_terms(question: str) -> tuple[str, ...]:
    """Stemmed terms of the question's specific words: capitalised words after the first
    token, and anything with a digit. They name what the question is about, so a passage
    that lacks them is unlikely to answer it."""
    out = []
    toks = _TOKEN.findall(fold(question))
    # In Title Case Or CAPITALS capitals mark nothing: only numbers count as names then.
    upper = sum(1 for t in toks[1:] if t[:1].isupper())
    by_case = upper * 2 <= max(1, len(toks) - 1)
    for n, tok in enumerate(toks):
        for w_orig in re.findall(r"[^\W_]+(?:[-'][^\W_]+)*", tok):
            capitalised = by_case and n > 0 and w_orig[:1].isupper()  # "Kassym-Jomart": both parts
            for w in words(w_orig):
                if w in STOPWORDS:
                    continue
                if any(ch.isdigit() for ch in w) or capitalised:
                    out.append(stem(w))
    return tuple(dict.fromkeys(out))
