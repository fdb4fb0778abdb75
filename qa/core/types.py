"""Typed values that cross module boundaries: documents, chunks, hits, answers.

Every object that carries text also carries its exact character offsets into
``Document.text`` (the file decoded as UTF-8, no newline translation), so a
citation can always be checked against the corpus file it names.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Section:
    """A titled region of a document: ``text[start:end]`` is its body (heading line excluded)."""

    title: str
    start: int
    end: int


@dataclass(frozen=True)
class Table:
    """A table read from a PDF page (qa/ingest/pdf.py). Its cells are in the text as one short
    paragraph each ("Revenue, Twelve months ended 30 June 2023: 84,120"), between ``start`` and
    ``end``; ``columns`` are the composed column headings, ``rows`` the body rows (label first).
    Each of ``cells`` is (row, column, start, end, x0, top, x1, bottom): where its paragraph lies
    in the text and its box on the page as fractions of the page's width and height."""

    page: int
    start: int
    end: int
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    cells: tuple[tuple, ...]

    @classmethod
    def from_dict(cls, d: dict) -> "Table":
        return cls(d["page"], d["start"], d["end"], tuple(d["columns"]), tuple(tuple(r) for r in d["rows"]),
                   tuple(tuple(c) for c in d["cells"]))


@dataclass(frozen=True)
class Document:
    """One corpus file. ``id`` is its path relative to the corpus folder (POSIX separators)."""

    id: str
    title: str
    text: str  # for PDF, HTML and DOCX the extracted text (qa/ingest/formats.py), which citations slice
    sections: tuple[Section, ...]
    pages: tuple[int, ...] = ()  # where each page starts in ``text`` (PDF); empty: no pages
    kind: str = "text"  # "text" | "pdf" | "html" | "docx", from the file's content
    tables: tuple[Table, ...] = ()  # PDF tables, whose cells are paragraphs of ``text``

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding ``offset``, or None for a document without pages."""
        if not self.pages:
            return None
        return max(1, bisect_right(self.pages, offset))

    def page_span(self, start: int, end: int) -> tuple[int | None, int | None]:
        """The first and last page of ``[start, end)`` (None, None without pages)."""
        return self.page_at(start), self.page_at(max(start, end - 1))

    def section_at(self, offset: int) -> str:
        """Title of the section containing ``offset`` ("" before the first heading)."""
        name = ""
        for s in self.sections:
            if s.start <= offset:
                name = s.title
            else:
                break
        return name


@dataclass(frozen=True)
class Sentence:
    """A sentence or list item; ``doc.text[start:end] == text``."""

    doc_id: str
    section: str
    start: int
    end: int
    text: str
    is_list_item: bool = False

    @property
    def introduces_list(self) -> bool:
        """Whether it ends with a colon, as a list's introduction does ("... four reasons:")."""
        return self.text.rstrip().endswith(":")


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences within one section; ``doc.text[start:end] == text``."""

    doc_id: str
    section: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Turn:
    """One previous message of a conversation (used for follow-up questions)."""

    role: Literal["user", "assistant"]
    content: str
    # for an answer: where its supporting sentence is (document id, start, end), so a follow-up
    # resolves to what that answer was about, not only to the topic
    source: tuple[str, int, int] | None = None


@dataclass
class Citation:
    """A numbered source shown under an answer.

    ``text == document_text[start:end]``. ``highlight_start``/``highlight_end`` are absolute
    offsets of the supporting sentence inside the excerpt (None when nothing is highlighted).
    """

    n: int
    doc: str
    title: str
    section: str
    start: int
    end: int
    text: str
    score: float
    highlight_start: int | None = None
    highlight_end: int | None = None
    page: int | None = None  # PDF: the page the supporting sentence starts on
    page_end: int | None = None  # ... and the one it ends on

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class OverviewPoint:
    """One sentence of an overview (an open question's reply), copied from citation ``citation``."""

    text: str
    citation: int


@dataclass
class Answer:
    """The library's answer to one question; ``to_dict()`` is the ``qa ask --json`` contract.

    ``text`` is copied verbatim from the corpus: a substring of citation ``answer_citation``
    (1-based), or None when ``abstained``.
    """

    question: str
    abstained: bool
    text: str | None
    answer_citation: int | None
    score: float
    citations: list[Citation] = field(default_factory=list)
    # extras (contract allows extra fields)
    answer_start: int | None = None  # absolute offsets of ``text`` in its document
    answer_end: int | None = None
    question_type: str = "other"
    retrieval_query: str = ""  # the query actually searched (differs for follow-ups)
    message: str = ""  # human-readable note, e.g. why the corpus could not answer
    # answered with a confidence below Settings.sure_threshold: about as often wrong as right at
    # the low end, so the reader is told to check the sources
    uncertain: bool = False
    signals: dict = field(default_factory=dict)  # the confidence model's inputs (for debugging/eval)
    corrected: str | None = None  # the question as read, when its spelling was corrected
    # "answer" (answered or declined), "overview" (an open question: ``overview`` holds cited
    # sentences, ``text`` stays None) or "language" (asked in a language the system does not read)
    kind: str = "answer"
    overview: list[OverviewPoint] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "abstained": self.abstained,
            "answer": self.text,
            "answer_citation": self.answer_citation,
            "score": round(float(self.score), 4),
            "citations": [c.to_dict() for c in self.citations],
            "answer_start": self.answer_start,
            "answer_end": self.answer_end,
            "question_type": self.question_type,
            "retrieval_query": self.retrieval_query,
            "message": self.message,
            "uncertain": self.uncertain,
            "signals": {k: round(float(v), 4) for k, v in self.signals.items()},
            "corrected": self.corrected,
            "kind": "declined" if self.kind == "answer" and self.abstained else self.kind,
            "overview": [asdict(p) for p in self.overview],
        }
