"""What a person is shown for an answer, computed once: the view model every surface renders.

``view(answer)`` turns the library's ``Answer`` into an ``AnswerView``: a headline (the answer,
or "the documents do not say"), a confidence in words ("Likely" / "Not sure", the percentage
for a tooltip), and de-duplicated source cards (under an answer, none from another document
that scores far below the answer's own: ``UNRELATED_SHARE``), each with its supporting sentence split into
segments (plain / support / answer) and the whole passage likewise. Only sentences that
support the answer are marked as support: the source the answer was copied from, and another
source only where its sentence holds the answer text too; the closest passages of a declined
question are shown without marks.

The chat, the widget (through the API's ``view`` and ``html``) and the CLI only turn this into
their markup (qa/surfaces/render.py), so the rules live here once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from urllib.parse import quote

from qa.core.types import Answer, Citation

LIKELY, NOT_SURE = "Likely", "Not sure"
DECLINED = "The documents do not say."
UNCERTAIN_NOTE = "This may be wrong: check it against the source."
OVERVIEW = "Overview"
OVERVIEW_NOTE = "No single answer: what the documents say about it, sentence by sentence."


@dataclass(frozen=True)
class Segment:
    text: str
    kind: str = "plain"  # "plain" | "support" (a sentence that supports the answer) | "answer"


@dataclass(frozen=True)
class SourceView:
    n: int
    title: str
    section: str
    doc: str
    link: str  # the document view, at this passage (relative to the server)
    sentence: tuple[Segment, ...]  # the supporting (or closest) sentence: the compact card
    passage: tuple[Segment, ...]  # the whole excerpt, for "show more"
    supports: bool
    pages: str = ""  # "page 2" or "pages 1–2" for a PDF; "" for kinds without pages


@dataclass(frozen=True)
class PointView:
    """One cited sentence of an overview."""

    text: str
    cite: int


@dataclass(frozen=True)
class AnswerView:
    kind: str  # "answer" | "declined" | "overview" (cited sentences, not an answer) | "language"
    headline: str
    cite: int | None  # the source number the answer was copied from
    confidence_label: str  # "Likely" | "Not sure" | "" (declined)
    confidence_percent: int
    note: str  # a sentence under the headline ("This may be wrong ...", why it was declined)
    sources_label: str  # "Sources" | "Closest passages"
    sources: tuple[SourceView, ...] = field(default_factory=tuple)
    #: show the headline's first letter in capitals: it is copied from mid-sentence ("the
    #: Presidents of ..."). Only the display changes; the text stays as the document has it.
    capitalise: bool = False
    points: tuple[PointView, ...] = ()  # an overview's sentences, each with its source number
    read_as: str = ""  # the question as read when its spelling was corrected ("" when it was not)

    def to_dict(self) -> dict:
        """Plain JSON values (lists, not tuples), exactly what the API sends."""
        return _lists(asdict(self))


def _lists(value):
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value


def _squash(text: str) -> str:
    return " ".join(text.split())


def _fold(text: str) -> str:
    return _squash(text).casefold()


def doc_link(doc: str, start: int, end: int, hs: int | None = None, he: int | None = None, sign=None) -> str:
    """The document view at a citation: its supporting sentence (``hs``..``he``) highlighted and
    scrolled to, else the whole excerpt; ``sign(doc)`` gives the token a server with access keys
    needs to open it (qa/surfaces/access.py)."""
    if hs is not None and he is not None and start <= hs < he <= end:
        start, end = hs, he
    token = f"&t={quote(sign(doc))}" if sign is not None else ""
    return f"/doc/{quote(doc)}?start={start}&end={end}{token}#passage"


def _segments(text: str, offset: int, marks: list[tuple[int, int, str]]) -> tuple[Segment, ...]:
    """``text`` (starting at absolute ``offset``) cut at the absolute ``marks`` (start, end, kind),
    inner marks after outer ones; whitespace collapsed inside each piece."""
    cuts = {0, len(text)}
    for s, e, _ in marks:
        cuts.update((max(0, min(len(text), s - offset)), max(0, min(len(text), e - offset))))
    points = sorted(cuts)
    out: list[Segment] = []
    for a, b in zip(points, points[1:]):
        kind = "plain"
        for s, e, k in marks:  # later (inner) marks win
            if s - offset <= a and b <= e - offset:
                kind = k
        piece = text[a:b]
        if not piece:
            continue
        lead = " " if piece[:1].isspace() and out else ""
        trail = " " if piece[-1:].isspace() and b < len(text) else ""
        piece = lead + _squash(piece) + trail
        if out and out[-1].kind == kind:
            out[-1] = Segment(out[-1].text + piece, kind)
        elif piece.strip() or kind == "plain":
            out.append(Segment(piece, kind))
    return tuple(s for s in out if s.text)


def _sentence(c: Citation) -> tuple[int, int]:
    if c.highlight_start is not None and c.start <= c.highlight_start < c.highlight_end <= c.end:
        return c.highlight_start, c.highlight_end
    return c.start, c.end


def pages_label(first: int | None, last: int | None) -> str:
    """The pages of a citation in words: "page 2", "pages 1–2", or "" for a document without pages."""
    if not first:
        return ""
    return f"page {first}" if not last or last == first else f"pages {first}–{last}"


#: Under an answer, a passage from another document than the answer's that scores below this
#: share of the answer's own passage is left out: it is about something else. Measured on the
#: held-out tune articles (15 documents; every 12th question, 618 citations after the source):
#: 103 came from another document, 4 of them held a gold answer and none the answer shown; below
#: 0.8 of the source's score are 56 of the 103, one of the 4 among them.
UNRELATED_SHARE = 0.8


def _unrelated(c: Citation, source: Citation | None, supports: bool) -> bool:
    return (source is not None and source.score > 0 and not supports and c.doc != source.doc
            and c.score < UNRELATED_SHARE * source.score)


def view(answer: Answer, sign=None) -> AnswerView:
    declined = answer.abstained
    shown: list[SourceView] = []
    seen: set[str] = set()
    wanted = _fold(answer.text or "")
    source = None if declined else next((c for c in answer.citations if c.n == answer.answer_citation), None)
    for c in answer.citations:
        hs, he = _sentence(c)
        sentence_text = c.text[hs - c.start:he - c.start]
        key = _fold(sentence_text)
        if key in seen:  # overlapping chunks repeat a sentence: one card for it
            continue
        seen.add(key)
        is_source = not declined and c.n == answer.answer_citation
        # an overview's sentences are what it says: each card's sentence supports it
        supports = is_source or answer.kind == "overview" or (not declined and bool(wanted) and wanted in key)
        if _unrelated(c, source, supports):
            continue
        marks: list[tuple[int, int, str]] = []
        if supports:
            marks.append((hs, he, "support"))
        if supports and wanted:
            a0, a1 = ((answer.answer_start, answer.answer_end) if is_source
                      else _locate(sentence_text, hs, answer.text or ""))
            # the answer in bold only when it is shorter than its sentence (else the mark says it)
            if a0 is not None and a1 is not None and hs <= a0 < a1 <= he and a1 - a0 < len(sentence_text.strip()):
                marks.append((a0, a1, "answer"))
        sentence = _segments(sentence_text, hs, marks)
        passage = _segments(c.text, c.start, marks)
        shown.append(SourceView(n=c.n, title=c.title, section=c.section, doc=c.doc,
                                link=doc_link(c.doc, c.start, c.end, hs, he, sign), sentence=sentence, passage=passage,
                                supports=supports, pages=pages_label(c.page, c.page_end)))
    read_as = answer.corrected or ""
    if answer.kind == "language":
        return AnswerView("language", answer.message, None, "", 0, "", "", ())
    if answer.kind == "overview":
        points = tuple(PointView(_squash(p.text), p.citation) for p in answer.overview)
        return AnswerView("overview", OVERVIEW, None, "", round(100 * answer.score), OVERVIEW_NOTE, "Sources",
                          tuple(shown), points=points, read_as=read_as)
    if declined:
        return AnswerView("declined", DECLINED, None, "", round(100 * answer.score), _decline_note(answer),
                          "Closest passages", tuple(shown), read_as=read_as)
    label = NOT_SURE if answer.uncertain else LIKELY
    headline = _squash(answer.text or "")
    return AnswerView("answer", headline, answer.answer_citation, label, round(100 * answer.score),
                      UNCERTAIN_NOTE if answer.uncertain else "", "Sources", tuple(shown),
                      capitalise=starts_in_lower_case(headline), read_as=read_as)


def starts_in_lower_case(text: str) -> bool:
    """True when the first word is all small letters ("the", "about", "de"), so a capital makes
    it read as an answer; never for words with capitals or signs inside ("iPhone", "e.g.", "mRNA")."""
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    return first.isalpha() and first.islower()


def display_headline(v: AnswerView) -> str:
    """The headline as the terminal shows it: first letter capitalised when ``v.capitalise``."""
    return v.headline[:1].upper() + v.headline[1:] if v.capitalise else v.headline


def _locate(text: str, offset: int, needle: str) -> tuple[int | None, int | None]:
    """Absolute offsets of ``needle`` in ``text`` (case-insensitive), or (None, None)."""
    at = text.casefold().find(needle.casefold())
    return (None, None) if at < 0 else (offset + at, offset + at + len(needle))


def _decline_note(answer: Answer) -> str:
    from qa.answer.compose import NO_TERMS_MESSAGE

    if answer.message == NO_TERMS_MESSAGE:
        return answer.message
    return "Nothing in them answers this clearly." + (" These passages came closest." if answer.citations else "")


def answer_source(answer: Answer) -> tuple[str, int, int] | None:
    """(document, start, end) of the sentence an answer was copied from; None when declined."""
    if answer.abstained or not answer.citations or answer.citations[0].highlight_start is None:
        return None
    c = answer.citations[0]
    return c.doc, c.highlight_start, c.highlight_end


def answer_json(answer: Answer, sign=None) -> dict:
    """The JSON of an answer, for ``qa ask --json`` and ``POST /api/ask`` alike: the contract
    (``Answer.to_dict``) plus each citation's document-view ``link``, the answer's ``source``
    (send it back with the answer in ``history`` for follow-ups) and its ``view``."""
    out = answer.to_dict()
    for c in out["citations"]:
        c["link"] = doc_link(c["doc"], c["start"], c["end"], c["highlight_start"], c["highlight_end"], sign)
    source = answer_source(answer)
    out["source"] = None if source is None else {"doc": source[0], "start": source[1], "end": source[2]}
    out["view"] = view(answer, sign).to_dict()
    return out
