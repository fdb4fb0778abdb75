"""Typed spans inside a sentence (dates, amounts of money, counts, durations, people, places)
and enumerations ("A, B, and C"): signals for retrieval, which favours a sentence that holds the
kind of thing a question asks for (qa/retrieval.py ``type_match``, ``listing``). The answer
itself is the reader's span (qa/read.py).

Each finder returns ``Span(start, end, kind)`` with offsets into the text it was given. Rules are
deliberately conservative: a span is offered only when its shape is unambiguous.
"""

from __future__ import annotations

import re
from itertools import takewhile
from dataclasses import dataclass

from .text import fold

_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
_DATE = re.compile(
    rf"\b\d{{1,2}}(?:st|nd|rd|th)? {_MONTH},? \d{{4}}\b"  # 28 August 2004
    rf"|\b{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}\b"  # August 28, 2004
    rf"|\b{_MONTH} \d{{4}}\b"  # August 2004
    r"|\b\d{4}-\d{2}-\d{2}\b"  # 2004-08-28
    r"|\b(?:1[5-9]|20)\d{2}s?\b"  # 2004, 1990s
)
#: Words that scale an amount ("$700 million", "2 bn").
SCALE_WORDS = ("million", "billion", "trillion", "thousand", "bn", "m")
_SCALE = rf"(?:\s?(?:{'|'.join(SCALE_WORDS)}))?"
_MONEY = re.compile(
    rf"(?:\b(?:US|USD|A|C|NZ|HK)\s?)?[$€£¥]\s?\d[\d,]*(?:\.\d+)?{_SCALE}"
    rf"|\b\d[\d,]*(?:\.\d+)?{_SCALE}\s(?:dollars|euros|pounds|yen|rubles|roubles|tenge|som|USD|EUR|JPY)\b"
)
NUMBER_WORDS = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen twenty thirty forty fifty hundred dozen several".split()
_COUNT = re.compile(
    rf"\b(?:\d[\d,]*|{'|'.join(NUMBER_WORDS)})\b(?![-/.]\d)(?:\s+(?:[\"“][^\"”]{{1,40}}[\"”]|[a-z][\w-]*))?",
    re.IGNORECASE,
)
# "two days", "three-day", "18 months", "two full days", "a decade", "from 2004 to 2008": how long
# something lasted. The number may not continue another one ("2006, years" is no duration), and
# "twice a year" is a rate.
_UNIT = r"(?:second|minute|hour|day|week|fortnight|month|year|decade|century|centuries)"
_DURATION = re.compile(
    rf"(?:(?<![\d.,])\d+(?:[.,]\d+)*|\b(?:{'|'.join(NUMBER_WORDS)}|a few|a couple of|many))"
    rf"(?:[\s-]+(?:and a half|full|whole|entire|long))?[\s-]+{_UNIT}s?\b"
    rf"|(?<!twice )(?<!once )(?<!times )(?<!percent )(?<!% )\ban? (?:half[- ])?{_UNIT}\b|\b(?:half|a quarter) (?:an? )?{_UNIT}s?\b"
    rf"|\b(?:from|between) (?:\d{{1,2}} )?(?:{_MONTH} )?\d{{3,4}} (?:to|until|till|and) (?:\d{{1,2}} )?(?:{_MONTH} )?\d{{3,4}}\b",
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


#: Most words an inner item of a series may have ("senior officials", "expansion of Japanese-
#: Central Asian relations"); a longer stretch between two commas is a clause, not an item.
MAX_ITEM_WORDS = 6
#: People a sentence must name to count as a list of names on that ground alone.
MIN_NAMES = 3


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
    """All spans of ``kind`` (date/money/count/duration/person/place) in ``text``, in order, deduplicated."""
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
    elif kind == "duration":
        found = _spans(_DURATION, text, kind)
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


# --- Enumerations: a sentence that lists several things --------------------------------------

_SEGMENT_SPLIT = re.compile(r"[,;]")  # segments are stripped after splitting (no backtracking on spaces)
_COORD = re.compile(r"^[\"'(]*\s*(?:and|or|as well as|along with)\s+", re.IGNORECASE)
_INNER_COORD = re.compile(r"\s(?:and|or)\s")
_COLON = re.compile(r":\s+(?=\S)")
_LEADING_DET = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)


def _is_name(item: str) -> bool:
    item = _LEADING_DET.sub("", _COORD.sub("", item.strip(" \"'()")))
    return item[:1].isupper()


def _series(text: str) -> str | None:
    """"names" when ``text`` holds a coordinated series of capitalised items ("A, B, C and D",
    "A, B, and C", "A, B, as well as C"), "items" for a series of other short phrases, None when
    it holds no series of three or more items."""
    segs = [seg.strip() for seg in _SEGMENT_SPLIT.split(text.rstrip(" .;:"))]
    segs = [seg for seg in segs if seg]
    found = None
    for end in range(1, len(segs)):
        last = segs[end]
        if _COORD.match(last):
            closing = [last]  # "..., and C"
        else:
            m = _INNER_COORD.search(last)  # "..., B and C"
            if m is None or len(last[:m.start()].split()) > MAX_ITEM_WORDS:
                continue
            closing = [last[:m.start()], last[m.end():]]
        # the short segments right before the closing one (the first item of a series may end
        # a longer clause: "... the nations of Kazakhstan, Kyrgyzstan and Uzbekistan")
        inner = list(takewhile(lambda seg: len(seg.split()) <= MAX_ITEM_WORDS, reversed(segs[1:end])))
        names = all(map(_is_name, inner + closing))
        if len(closing) == 1 and not inner:
            continue  # "A, and B": two items
        if len(closing) == 2 and len(inner) < 2 and not names:
            continue  # "X, especially Y, is helpful and complements Z" is a clause, not a series
        if names:
            return "names"
        found = "items"
    return found


def enumeration(text: str) -> str | None:
    """Whether a sentence lists several things, and what: ``"names"`` for a series of
    capitalised names ("Kazakhstan, Kyrgyzstan, Tajikistan and Uzbekistan") or three or more
    people, ``"items"`` for a series of phrases ("peace, stability, and democracy") or for
    items after a colon ("two goals: to X, and to Y"), None otherwise. (Retrieval reads it
    through ``Index.enumeration``, cached per sentence.)"""
    text = fold(text)
    if len(find_spans(text, "person")) >= MIN_NAMES:
        return "names"
    series = _series(text)
    if series == "names":
        return "names"
    colon = _COLON.search(text)  # "two goals: to X, and to Y" (not a closing "...:" nor "10:30")
    if colon:
        after = text[colon.end():]
        if _SEGMENT_SPLIT.search(after.strip(" .")) or _INNER_COORD.search(after):
            return "items"
    return "items" if series is not None else None


def is_name_item(text: str) -> bool:
    """Whether a list item is a short name: every word of four letters or more capitalised
    ("Kazakhstan", "Geostrategy in Central Asia"; not "Reduce poverty in the region")."""
    toks = text.split()
    return len(toks) <= MAX_ITEM_WORDS and _is_name(text) and all(t[:1].isupper() for t in toks if len(t) >= 4)
