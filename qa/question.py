"""What a question asks for: its type, the kind of span that answers it, its content terms.

Rules, not a model: the first question word decides the type ("how many" before "how"), with a
few cues for lists ("what are the objectives") and reasons ("why", "for what reason").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import fold, terms

# question type -> the span kind that answers it (see qa/spans.py)
EXPECTED_SPAN = {
    "when": "date",
    "how_many": "count",
    "how_much": "money",
    "who": "person",
    "where": "place",
    "why": "reason",
    "list": "list",
}

_LIST_NOUNS = r"(objectives|goals|aims|reasons|areas|principles|members|countries|participants|states|nations|topics|elements|issues|points)"
_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("how_many", re.compile(r"\bhow many\b|\bnumber of\b|\bhow often\b")),
    ("how_much", re.compile(r"\bhow much\b|\bwhat (?:amount|sum)\b|\bhow large (?:a|an|the)? ?(?:sum|amount)\b")),
    ("when", re.compile(r"\bwhen\b|\bwhat (?:year|date|day|month|time)\b|\bwhich (?:year|date|day|month)\b|\bin what year\b|\bon what (?:date|day)\b")),
    ("where", re.compile(r"\bwhere\b|\bin (?:what|which) (?:city|country|place|capital)\b|\bwhat (?:city|place|venue)\b|\bwhich (?:city|place|venue)\b")),
    ("why", re.compile(r"\bwhy\b|\bfor what reason\b|\bwhat (?:is|was) the reason\b|\bhow come\b|\bwhat (?:motivat|explain)")),
    ("list", re.compile(rf"\b(?:what|which|list|name)\b.*\b(?:are|were)\b.*\b{_LIST_NOUNS}\b|\blist\b|\b(?:what|which) {_LIST_NOUNS}\b")),
    ("who", re.compile(r"\bwho\b|\bwhom\b|\bwhose\b|\bwhich (?:person|minister|president|leader|official|analyst)\b|\bname of the\b")),
    ("which", re.compile(r"\bwhich\b")),
    ("what", re.compile(r"\bwhat\b|\bdescribe\b|\bexplain\b")),
]


@dataclass(frozen=True)
class QuestionAnalysis:
    text: str
    qtype: str  # when/where/who/how_many/how_much/why/list/which/what/other
    expected_span: str | None  # date/count/money/person/place/reason/list, or None
    terms: tuple[str, ...]  # stemmed content terms


def analyse(question: str) -> QuestionAnalysis:
    q = fold(question).lower()
    qtype = "other"
    for name, pattern in _PATTERNS:
        if pattern.search(q):
            qtype = name
            break
    return QuestionAnalysis(question, qtype, EXPECTED_SPAN.get(qtype), tuple(dict.fromkeys(terms(question))))
