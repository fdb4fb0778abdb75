"""Reading: the trained span reader (qa/reader) over the passages retrieval ranked best.

A passage is a ranked sentence widened by whole neighbouring sentences of its paragraph, up to
``PASSAGE_CHARS`` -- the shape the reader was trained on (qa/reader/examples.py). The best few
distinct passages are read in one batch; each gives its best span with a score and the
passage's no-answer score. ``compose`` chooses the answer among these spans by the calibrated
confidence (qa/answer/compose.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from qa.index.store import Index
from qa.reader.encoding import Span
from qa.reader.windows import grow
from qa.answer.retrieval import YEAR, Retrieved

#: Characters of a passage (training drew 200-650; ~110 tokens, which keeps reading 4 of them
#: within the latency budget on two cores).
PASSAGE_CHARS = 450
#: Sentences looked at on each side of a ranked sentence when widening it.
REACH = 8


@dataclass(frozen=True)
class Passage:
    sentence: int  # the ranked sentence it was built around
    first: int  # first and last sentence ids it holds
    last: int
    start: int  # absolute offsets in the document
    end: int
    rank: int  # position of ``sentence`` in the retrieval ranking
    anchor: bool = False  # built around the sentence a follow-up's previous answer came from


@dataclass(frozen=True)
class Reading:
    """The best span of one passage, its offsets made absolute in the document."""

    passage: Passage
    span: Span

    @property
    def follows_up(self) -> bool:
        """Whether the span answers from the passage a follow-up is about: such a span is the
        answer, whatever the other passages offer (``compose`` chooses among the rest).

        A follow-up ("Who attended it?") is about what the previous answer was about: when the
        reader finds an answer in the passage around that answer's sentence (its span beats "no
        answer" there), that span is the answer, however well other passages score. A fixed bonus
        of 3 logits lost "Who attended it?" after "When was the dialogue declared?" to another
        meeting's attendees (margin 5.0 against 0.9 + 3); on the seed's 34 follow-ups asked as the
        chat asks them, the two rules give the same answers (docs/quality.md)."""
        return self.passage.anchor and self.span.margin > 0


def passages(index: Index, retrieved: Retrieved, n: int, budget: int = PASSAGE_CHARS,
             anchor: int | None = None) -> list[Passage]:
    """Up to ``n`` passages around the best-ranked sentences, none inside an earlier one; with
    ``anchor`` (a follow-up's previous answer), the passage around that sentence comes first."""
    out: list[Passage] = []
    covered: set[int] = set()
    order = [(rank, s.sentence) for rank, s in enumerate(retrieved.ranked)]
    if anchor is not None:
        order.insert(0, (-1, anchor))
    for rank, i in order:
        if i in covered:
            continue
        lo = i
        while lo > 0 and i - lo < REACH and index.same_paragraph(lo - 1, i):
            lo -= 1
        hi = i
        while hi + 1 < len(index.sentences) and hi - i < REACH and index.same_paragraph(i, hi + 1):
            hi += 1
        listed = index.introduced_list(i) if rank < 0 else None
        if listed:  # a follow-up's anchor that introduces a list ("... gave four reasons:") reads on into it
            lo, hi = i, min(listed[1], i + REACH)
        spans = [(index.sentences[k].start, index.sentences[k].end) for k in range(lo, hi + 1)]
        a, b = grow(spans, i - lo, i - lo, budget)
        first, last = lo + a, lo + b
        out.append(Passage(i, first, last, index.sentences[first].start, index.sentences[last].end, max(rank, 0),
                           anchor=rank < 0))
        covered.update(range(first, last + 1))
        if len(out) >= n:
            break
    return out


_YEAR = re.compile(rf"\b(?:{YEAR.pattern})\b")  # the years retrieval weighs, found in running text


def dated_ranges(question: str, sentences: list[tuple[int, int]], text: str,
                 date: set[str] | None = None) -> list[tuple[int, int]] | None:
    """Where in a passage an answer to a question that names a year may lie: the sentences dated
    to a year it asks about, a sentence without a year taking the date of the last dated sentence
    before it (the same event goes on: "On 5 June 2006 a meeting was held in Tokyo. There, ...").
    Sentences before the first date take ``date`` (the years of the paragraph's last dated sentence
    before the passage), and stay when there is none. None (anywhere) when the question names no
    year; an empty list when the passage dates all it says to other years.

    "Where was the 2005 meeting held?" over "In 2005 they met in Tashkent. In 2006 a meeting was
    held in Tokyo." read Tokyo: the reader weighs the words "meeting was held" above the year."""
    asked = set(_YEAR.findall(question))
    if not asked:
        return None
    keep = []
    for start, end in sentences:
        years = set(_YEAR.findall(text[start:end]))
        if years:
            date = years
        if date is None or date & asked:
            if keep and not text[keep[-1][1]:start].strip():  # next to the last one kept: a span may run on
                keep[-1] = (keep[-1][0], end)
            else:
                keep.append((start, end))
    return keep


def _date_before(index: Index, first: int, doc: str) -> set[str] | None:
    """The years of the last sentence that names one before sentence ``first`` in its paragraph
    (within ``REACH``): "The 4th meeting took place on 10 November 2012... During this meeting,
    Japan pledged..." dates a passage that starts at "During this meeting"."""
    k = first
    while k > 0 and first - k < REACH and index.same_paragraph(k - 1, first):
        k -= 1
        years = set(_YEAR.findall(doc[index.sentences[k].start:index.sentences[k].end]))
        if years:
            return years
    return None


def read(reader, index: Index, question: str, found: list[Passage], widen: float = 0.0) -> list[Reading]:
    """Each passage's best span, in passage order (passages with no span are left out); a question
    that names a year is answered from the sentences of that year where a passage has them
    (``dated_ranges``)."""
    docs = [index.documents[index.sentences[p.sentence].doc_id].text for p in found]
    texts = [doc[p.start:p.end] for p, doc in zip(found, docs)]
    allowed = None
    if _YEAR.search(question):  # the dating is only for questions that name a year
        allowed = []
        for p, doc, text in zip(found, docs, texts):
            sentences = [(index.sentences[k].start - p.start, index.sentences[k].end - p.start)
                         for k in range(p.first, p.last + 1)]
            allowed.append(dated_ranges(question, sentences, text, _date_before(index, p.first, doc)))
    spans: list[Span | None] = reader.read(question, texts, widen=widen, allowed=allowed)
    return [Reading(p, replace(s, start=p.start + s.start, end=p.start + s.end)) for p, s in zip(found, spans) if s]
