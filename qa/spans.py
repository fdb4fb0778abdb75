"""Typed spans inside a sentence: dates, amounts of money, counts, people, places.

Each finder returns ``Span(start, end, kind)`` with offsets into the text it was given, so
an answer span is always an exact slice of the corpus. Rules are deliberately conservative:
a span is offered only when its shape is unambiguous; otherwise the whole sentence answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import fold, words

_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
_DATE = re.compile(
    rf"\b\d{{1,2}}(?:st|nd|rd|th)? {_MONTH},? \d{{4}}\b"  # 28 August 2004
    rf"|\b{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}\b"  # August 28, 2004
    rf"|\b{_MONTH} \d{{4}}\b"  # August 2004
    r"|\b\d{4}-\d{2}-\d{2}\b"  # 2004-08-28
    r"|\b(?:1[5-9]|20)\d{2}s?\b"  # 2004, 1990s
)
_SCALE = r"(?:\s?(?:million|billion|trillion|thousand|bn|m))?"
_MONEY = re.compile(
    rf"(?:\b(?:US|USD|A|C|NZ|HK)\s?)?[$€£¥]\s?\d[\d,]*(?:\.\d+)?{_SCALE}"
    rf"|\b\d[\d,]*(?:\.\d+)?{_SCALE}\s(?:dollars|euros|pounds|yen|rubles|roubles|tenge|som|USD|EUR|JPY)\b"
)
_NUMBER_WORDS = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen twenty thirty forty fifty hundred dozen several".split()
_COUNT = re.compile(
    rf"\b(?:\d[\d,]*|{'|'.join(_NUMBER_WORDS)})\b(?![-/.]\d)(?:\s+(?:[\"“][^\"”]{{1,40}}[\"”]|[a-z][\w-]*))?",
    re.IGNORECASE,
)
_CAP = r"[A-Z][\w'’-]*[a-z][\w'’-]*"
_NAME = rf"{_CAP}(?:\s+(?:(?:de|van|von|bin|al|el|da|di|du|la|le)\s+)?{_CAP}){{0,3}}"
_TITLES = (
    r"(?:President|Vice President|Prime Minister|Deputy Prime Minister|Foreign Minister|Deputy Foreign Minister|"
    r"Minister|Secretary|Ambassador|Chairman|Chair|King|Queen|Emperor|Chancellor|Governor|Senator|Dr\.|Mr\.|Mrs\.|Ms\.|Professor|minister|president)"
)
_PERSON_AFTER_TITLE = re.compile(rf"\b{_TITLES}(?:\s+of\s+(?:the\s+)?{_CAP})?\s+(?P<name>{_NAME})")
_PERSON_BEFORE_VERB = re.compile(rf"(?P<name>{_NAME})\s+(?:said|says|stated|gave|argued|noted|wrote|announced|\(\d{{4}}\))")
_PERSON_AFTER_CUE = re.compile(rf"\b(?:According to|according to|chaired by|led by|hosted by|by)\s+(?:(?:the\s+)?{_TITLES}\s+)?(?P<name>{_NAME})")
_PLACE = re.compile(rf"\b(?:in|at|to|from)\s+(?P<name>{_CAP}(?:\s{_CAP})?(?:,\s{_CAP}(?:\s{_CAP})?)?)")
_NOT_NAMES = {w.lower() for w in _MONTH.replace("(?:", "").replace(")\\.?", "").split("|")} | {
    "the", "a", "an", "this", "that", "these", "those", "there", "it", "they", "on", "in", "during", "additionally",
}


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


def _spans(pattern: re.Pattern, text: str, kind: str, group: str | int = 0) -> list[Span]:
    out = []
    for m in pattern.finditer(text):
        s, e = m.span(group)
        out.append(Span(s, e, kind))
    return out


def _clean_name(text: str, span: Span) -> Span | None:
    toks = text[span.start:span.end].split()
    while toks and toks[0].lower() in _NOT_NAMES:
        toks = toks[1:]
    if not toks:
        return None
    start = text.index(toks[0], span.start)
    end = start + len(" ".join(toks)) if " ".join(toks) == text[start:start + len(" ".join(toks))] else span.end
    return Span(start, end, span.kind)


def find_spans(text: str, kind: str) -> list[Span]:
    """All spans of ``kind`` (date/money/count/person/place) in ``text``, in order, deduplicated."""
    if kind == "date":
        found = _spans(_DATE, text, kind)
    elif kind == "money":
        found = _spans(_MONEY, text, kind)
    elif kind == "count":
        dates = find_spans(text, "date") + find_spans(text, "money")
        found = [
            s for s in _spans(_COUNT, text, kind)
            if not any(d.start <= s.start < d.end for d in dates)
        ]
    elif kind == "person":
        found = (
            _spans(_PERSON_AFTER_TITLE, text, kind, "name")
            + _spans(_PERSON_BEFORE_VERB, text, kind, "name")
            + _spans(_PERSON_AFTER_CUE, text, kind, "name")
        )
        found = [c for c in (_clean_name(text, s) for s in found) if c is not None]
    elif kind == "place":
        people = {(p.start, p.end) for p in find_spans(text, "person")}
        found = [s for s in _spans(_PLACE, text, kind, "name")
                 if text[s.start:s.end].split()[0].lower() not in _NOT_NAMES
                 and not _DATE.fullmatch(text[s.start:s.end]) and (s.start, s.end) not in people]
    else:
        return []
    # Keep the longest of overlapping spans, in text order.
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    out: list[Span] = []
    for s in found:
        if out and s.start < out[-1].end:
            continue
        out.append(s)
    return out


def best_span(text: str, kind: str, question: str) -> Span | None:
    """The span of ``kind`` that best answers ``question`` in ``text``, or None when unclear.

    Spans that merely repeat the question ("Tokyo" when asked about the Tokyo meeting) are
    dropped; among the rest, the one nearest the question's words wins.
    """
    q_words = set(words(question))
    cands = []
    for s in find_spans(text, kind):
        span_words = set(words(text[s.start:s.end]))
        if span_words and span_words <= q_words:
            continue
        # A person the question already names is not who it asks for: "Who said the meeting
        # happened thanks to Tokayev?" is not answered by "Kassym-Jomart Tokayev".
        if kind == "person" and any(len(w) > 3 and w in q_words for w in span_words):
            continue
        cands.append(s)
    if not cands:
        return None
    if len(cands) == 1:
        return cands[0]
    # Anchor on the question words that pin a place in the sentence: those occurring once
    # there ("Kyrgyzstan" in a list of ministers), not the ones repeated everywhere
    # ("Foreign Minister"). The span nearest after/around an anchor wins.
    folded = fold(text).lower()
    positions: dict[str, list[int]] = {}
    for w in q_words:
        if len(w) > 3:
            hits = [m.start() for m in re.finditer(rf"\b{re.escape(w)}", folded)]
            if hits:
                positions[w] = hits
    unique = [p[0] for p in positions.values() if len(p) == 1]
    anchors = unique or [a for p in positions.values() for a in p]
    if not anchors:
        return cands[0]

    def distance(s: Span) -> int:
        # A name usually follows what identifies it ("Minister of Kyrgyzstan Erlan Abdyldaev"),
        # so an anchor before the span counts a little closer than one after it.
        return min((s.start - a) if a <= s.start else 3 * (a - s.end) + 10 for a in anchors)

    return min(cands, key=distance)
