"""A scripted stand-in for ``qa.QA`` (the pattern of simonw/llm's mock model): the HTTP API, the
security and the load tests drive the server with it, so they test the server, not retrieval.

``ScriptedQA(settings, script)`` answers each question from ``script`` (question -> the text
of the answer, or None to decline), with citations that are exact slices of its one document,
validates questions with the library's own ``clean_question`` and records every call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from qa.answer.pipeline import clean_question
from qa.core.config import Settings
from qa.core.types import Answer, Citation, Document
from qa.ingest.chunking import split_sentences
from qa.ingest.corpus import parse_document
from qa.reader.encoding import Span

DOC_ID = "scripted.txt"
TEXT = """= Scripted Treaty =

==History==
The treaty was signed on 3 May 1999 in Gamma City. Dr. Jane Q. Smith chaired the signing.
The parties met again on 7 June 2001 in Delta.

==Goals==
The treaty lowers tariffs between Alpha and Beta and opens shared ports on the coast.
"""
SCRIPT = {
    "When was the treaty signed?": "3 May 1999",
    "Who chaired the signing?": "Dr. Jane Q. Smith",
    "Where did the parties meet again?": "Delta",
    "What is the population of Mars?": None,
}


@dataclass
class _Index:
    documents: dict[str, Document]
    chunks: list = field(default_factory=lambda: [None] * 3)


class ScriptedQA:
    def __init__(self, settings: Settings | None = None, script: dict[str, str | None] | None = None, delay: float = 0.0):
        self.settings = settings or Settings()
        self.script = dict(SCRIPT if script is None else script)
        self.delay = delay
        self.document = parse_document(DOC_ID, TEXT)
        self.index = _Index({DOC_ID: self.document})
        self.calls: list[tuple[str, list, int | None]] = []
        self._lock = threading.Lock()

    def warm_up(self, *args, **kwargs) -> None:
        pass

    def with_settings(self, **overrides) -> "ScriptedQA":
        return ScriptedQA(self.settings.replace(**overrides), self.script, self.delay)

    def ask(self, question, history=None, top_k=None, collections=None) -> Answer:
        question = clean_question(question, self.settings.max_question_chars)
        with self._lock:
            self.calls.append((question, list(history or []), top_k))
        if self.delay:
            threading.Event().wait(self.delay)
        return self.answer(question, top_k or self.settings.top_k)

    def answer(self, question: str, top_k: int) -> Answer:
        text = self.script.get(question)
        citations = self._citations(text or "treaty")[:top_k]
        if text is None:
            return Answer(question, True, None, None, 0.05, citations, message="The documents do not say.",
                          retrieval_query=question)
        start = self.document.text.index(text)
        return Answer(question, False, text, 1, 0.9, citations, answer_start=start, answer_end=start + len(text),
                      retrieval_query=question, signals={"reader": 1.0, "rank": 1.0, "dense": 0.5, "entity": 1.0})

    def _citations(self, text: str) -> list[Citation]:
        """The answer's sentence first, then the document's other sentences."""
        sents = sorted(split_sentences(self.document), key=lambda s: text not in s.text)
        return [Citation(n, DOC_ID, self.document.title, s.section, s.start, s.end, s.text, round(1.0 / n, 4),
                         highlight_start=s.start, highlight_end=s.end) for n, s in enumerate(sents, start=1)]


#: What FakeReader finds for the questions the unit tests ask of the tiny corpus (conftest.TINY_DOC).
TINY_ANSWERS = {
    "When was the treaty signed?": "3 May 1999",
    "When was the Tiny Treaty signed?": "3 May 1999",
    "Who chaired the signing?": "Dr. Jane Q. Smith",
    "Where did the parties meet again in 2001?": "Delta",
    "Where was it signed?": "Gamma City",
    "Where was the treaty signed?": "Gamma City",  # a follow-up or a misspelt question, as read
    "Where was it?": "Delta",
    "What goals does the treaty list?": "Lower tariffs",
    "When did the parties meet in Epsilon?": "9 September 2009",
}


class FakeReader:
    """A stand-in for the span reader (qa/reader/onnx_reader.py) in unit tests, so they test
    passages, choosing and composing, not the model (the real one runs in integration tests).

    A passage that holds the answer ``answers`` gives for the question offers it, beating "no
    answer" by 6 logits; any other passage offers its first word and "no answer" wins by 6."""

    name = "fake/reader"

    def __init__(self, answers: dict[str, str] | None = None):
        self.answers = dict(TINY_ANSWERS if answers is None else answers)
        self.calls: list[tuple[str, int]] = []

    def warm_up(self) -> None:
        pass

    def read(self, question: str, passages: list[str], widen: float = 0.0,
             allowed: list[list[tuple[int, int]] | None] | None = None) -> list[Span | None]:
        self.calls.append((question, len(passages)))
        want = self.answers.get(question)
        out = []
        for r, text in enumerate(passages):
            at = text.find(want) if want else -1
            ranges = allowed[r] if allowed else None
            if ranges is not None and not ranges:
                out.append(None)
                continue
            if at >= 0 and ranges and not any(lo <= at and at + len(want) <= hi for lo, hi in ranges):
                at = -1
            if at >= 0:
                out.append(Span(at, at + len(want), score=8.0, null=2.0))
            elif text.strip():
                first = len(text) - len(text.lstrip())
                out.append(Span(first, first + len(text.split()[0]), score=-4.0, null=2.0))
            else:
                out.append(None)
        return out
