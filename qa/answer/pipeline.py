"""The one entry point every surface uses: ``QA(settings).ask(question, history)``.

The CLI, the Gradio chat, the HTTP API and the evaluation harness all call ``ask``, so what
``qa eval`` measures is exactly what users get. Construction is cheap; the model and index
load on ``warm_up()`` or on the first question. After loading, ``ask`` only reads shared
state, so one instance serves concurrent requests.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, replace

from qa.answer.compose import compose
from qa.core.config import Settings, load_settings
from qa.answer.conversation import parse_history
from qa.answer.followup import resolve
from qa.embed.model import Embedder
from qa.embed.factory import load_embedder
from qa.core.errors import BadQuestionError, IndexStateError
from qa.index.backend import Where, collection_of
from qa.index.store import Index, build_index, current_build, load_index, stale_reasons
from qa.answer.question import QuestionAnalysis, analyse
from qa.answer.read import passages, read
from qa.answer.retrieval import Retrieved, retrieve
from qa.answer.spelling import speller_for
from qa.answer.language import Language, identify
from qa.answer.overview import open_topic, overview
from qa.core.text import terms
from qa.reader.base import SpanReader, load_reader
from qa.core.types import Answer, Turn

log = logging.getLogger(__name__)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")  # terminal colour codes pasted with a question
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # only unpaired ones can occur in a Python str
#: Earlier turns kept for follow-up rewriting (only the last user/assistant turns are used).
MAX_HISTORY_TURNS = 20
#: How often a loaded QA looks for a newer build (`qa build` run while the app serves): a
#: read of the small CURRENT file at most this often; loading a new build happens in the
#: background, so no question waits for it.
RELOAD_CHECK_SECONDS = 2.0


def clean_question(question, max_chars: int) -> str:
    """Validate and tidy a question; BadQuestionError says what is wrong with it."""
    if isinstance(question, bytes):
        try:
            question = question.decode("utf-8")
        except UnicodeDecodeError:
            raise BadQuestionError("Your question is not valid UTF-8 text; please type it again.") from None
    if not isinstance(question, str):
        raise BadQuestionError(f"The question must be text, not {type(question).__name__}.")
    if _SURROGATE.search(question):  # from invalid UTF-8 bytes (surrogateescape) or a JSON "\ud800"
        raise BadQuestionError("Your question holds characters that are not valid Unicode text (invalid UTF-8 "
                               "bytes or a broken character); please type it again.")
    if len(question) > max_chars:
        raise BadQuestionError(f"Your question is {len(question):,} characters long; the limit is {max_chars:,}. "
                               "Please ask a shorter question.")
    # NFKC: fullwidth "Ｗｈｅｎ" and ligatures become the letters the model and the index know
    # (the few characters that expand a lot under NFKC cannot make the text more than 4x the limit).
    question = unicodedata.normalize("NFKC", _ANSI.sub(" ", question))[: 4 * max_chars]
    question = " ".join(_CONTROL.sub(" ", question).split())
    if not question:
        raise BadQuestionError("The question is empty: please type a question about the documents.")
    return question


def clean_history(turns: list[Turn], max_chars: int) -> list[Turn]:
    """Bound what a client-supplied history can cost: the last MAX_HISTORY_TURNS turns, each cut
    to ``max_chars`` characters (a 1 MB turn made one answer take a minute)."""
    return [t if len(t.content) <= max_chars else Turn(t.role, t.content[:max_chars], t.source)
            for t in turns[-MAX_HISTORY_TURNS:]]


@dataclass(frozen=True)
class _Prepared:
    question: str  # the cleaned question
    query: str  # what retrieval searches with
    analysis: QuestionAnalysis
    reading: str  # what the reader is asked: a follow-up with its pronouns spelt out
    anchor: int | None  # the sentence a follow-up's chain is about, read first
    corrected: str | None = None  # the question with its spelling corrected (None: nothing corrected)
    standalone: bool = False  # not a follow-up: a bare topic ("Aso?") asks for an overview
    language: Language | None = None  # asked in another language: answered with a note, not searched


class QA:
    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None,
                 build_in_child: bool = False):
        """``build_in_child``: when the index must be built before answering, build it in a child
        ``qa build`` process (qa/index/child.py), so a long-running server never holds the bulk
        embedder's memory. ``build()`` itself always builds here, and so does a QA given its own
        ``embedder`` (a child process loads the configured model, not that object)."""
        self.settings = settings or load_settings()
        self.build_in_child = build_in_child and embedder is None
        self._embedder = embedder
        self._reader = None
        self._index: Index | None = None
        self._lock = threading.Lock()
        self._checked = time.monotonic()  # when we last looked for a newer build
        self._reloading = False  # a background load of a newer build is running
        self._rejected_build: str | None = None  # a newer build that failed to load (not retried)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.settings.embedding_backend, cache_dir=self.settings.index_dir)
        return self._embedder

    @property
    def reader(self) -> SpanReader:
        """The span reader of ``settings.reader_model`` (loaded on first use; shared sessions)."""
        if self._reader is None:
            self._reader = load_reader(self.settings.reader_model)
        return self._reader

    @property
    def index(self) -> Index:
        if self._index is None:
            self.warm_up()
        elif time.monotonic() - self._checked > RELOAD_CHECK_SECONDS:
            self._follow_rebuild()
        return self._index

    def _follow_rebuild(self) -> None:
        """Switch to a newer complete build when `qa build` has made one since we loaded.

        The question that notices the new build does not wait for it: a background thread loads
        it while every question is answered from the index already loaded, and the switch is
        one assignment. A build that cannot be loaded is logged once and not tried again until
        CURRENT names another one. Only complete builds are seen: CURRENT changes after a build
        is fully written.
        """
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._checked = time.monotonic()
            if self._reloading or self._index is None:
                return
            try:
                folder = current_build(self.settings.index_dir)
            except IndexStateError:
                return
            if folder is None or folder.name in (self._index.folder.name, self._rejected_build):
                return
            self._reloading = True
            threading.Thread(target=self._load_new_build, args=(folder.name,), name="qa-index-reload",
                             daemon=True).start()
        finally:
            self._lock.release()

    def _load_new_build(self, name: str) -> None:
        try:
            fresh = self._load_index()
        except Exception as e:  # a damaged or foreign build must never take the running app down
            self._rejected_build = name
            log.warning("the new index build %s cannot be loaded (%s); still answering from %s. "
                        "Run `qa build` again to replace it.", name, e, self._index.folder.name)
        else:
            log.info("switched to the new index build %s (was %s)", fresh.folder.name, self._index.folder.name)
            self._index = fresh
        finally:
            self._reloading = False

    def stale_reasons(self) -> list[str]:
        return stale_reasons(self.settings, self.embedder.name, self.embedder.dim)

    def _load_index(self) -> Index:
        return load_index(self.settings, self.embedder.name, self.embedder.dim)

    def reload(self) -> None:
        """Switch to the live build now (one made elsewhere, e.g. by a child ``qa build``)."""
        fresh = self._load_index()
        with self._lock:
            self._index = fresh

    def build(self, progress: bool = False, on_stage=None) -> dict:
        """(Re)build the index now and load it."""
        manifest = build_index(self.settings, self.embedder, progress=progress, on_stage=on_stage)
        with self._lock:
            self._index = self._load_index()
        return manifest

    def warm_up(self, build_if_needed: bool = True, progress: bool = False, on_stage=None, on_output=None) -> None:
        """Load the model and the index, building the index first when it is missing, stale or
        damaged (``load_index`` checks all three, so the index files are hashed once).
        ``on_output``: gets the output of a child build, as it comes."""
        if self._index is not None:
            return
        with self._lock:
            if self._index is not None:
                return
            try:
                self._index = self._load_index()
            except IndexStateError as e:
                if not build_if_needed:
                    raise
                log.info("Building the index (%s)", e.reason)
                if self.build_in_child:
                    from qa.index.child import build_in_child as run_child

                    run_child(self.settings, quiet=not progress, on_output=on_output)
                else:
                    build_index(self.settings, self.embedder, progress=progress, on_stage=on_stage)
                self._index = self._load_index()
            self.embedder.warm_up()
            self.reader.warm_up()
            speller_for(self._index)  # the documents' words and the English list, before the first question

    #: Settings that change what is in the index; the others only change how it is searched.
    INDEX_SETTINGS = ("corpus_dir", "index_dir", "chunk_chars", "chunk_overlap", "context_prefix", "embedding_backend",
                      "vector_backend", "milvus_uri")

    def with_settings(self, **overrides) -> "QA":
        """A QA with some settings changed, sharing this one's model and, when no index setting
        changed, its loaded index (cheap; used by evaluation sweeps and ablations)."""
        other = QA(self.settings.replace(**overrides), embedder=self._embedder)
        other._reader = self._reader
        if self._index is not None and all(
            getattr(other.settings, k) == getattr(self.settings, k) for k in self.INDEX_SETTINGS
        ):
            other._index = self._index
        return other

    @staticmethod
    def _source_text(index: Index, where: Where | None, source: tuple[str, int, int]) -> str:
        """The text an earlier answer's ``source`` points at ("" when it points at nothing, or at
        a document outside the asker's collections: a history is the client's to forge)."""
        doc_id, start, end = source
        doc = index.documents.get(doc_id)
        if doc is None or not 0 <= start < end <= len(doc.text) or end - start > 4000:
            return ""
        if where is not None and collection_of(doc_id) not in where.collections:
            return ""
        return doc.text[start:end]

    def prepare(self, question, history=None) -> tuple[str, str, QuestionAnalysis]:
        """(clean question, retrieval query, analysis): everything before retrieval."""
        p = self._prepare(self.index, question, history)
        return p.question, p.query, p.analysis

    def _prepare(self, index: Index, question, history=None, where: Where | None = None) -> _Prepared:
        """``prepare`` plus what a follow-up reads: the question with its pronouns spelt out and
        the sentence its chain's first answer was copied from (qa/answer/followup.py)."""
        s = self.settings
        question = clean_question(question, s.max_question_chars)
        turns = clean_history(parse_history(history), 2 * s.max_question_chars)
        typed = question
        # the words of the asker's collections only: a correction must not tell of other collections
        speller = speller_for(index, None if where is None else where.collections)
        foreign = identify(question, speller.known)
        if foreign is not None:
            return _Prepared(typed, question, analyse(question), question, None, language=foreign)
        if s.spell_correct:  # "whre was the dialouge declard?" is read as the documents spell it
            question = speller.correct(question).text
        corrected = question if question != typed else None
        asked = analyse(question)  # the type comes from the new question only; terms from the query
        source_text = lambda source: self._source_text(index, where, source)  # noqa: E731
        r = resolve(question, turns, source_text) if s.history_rewrite else None
        if r is None or not r.context:
            return _Prepared(typed, question, asked, question, None, corrected, standalone=True)
        query = f"{r.question} {r.context}"
        analysis = replace(analyse(query), qtype=asked.qtype, expected_span=asked.expected_span,
                           list_of=asked.list_of, own_terms=analyse(r.question).terms)
        usable = r.anchor is not None and bool(source_text(r.anchor))  # in the asker's collections
        anchor = self._sentence_at(index, r.anchor) if usable else None
        if anchor is not None and not self._tells(index, anchor, asked.entities):
            anchor = None  # the question names a name or number the anchor's passage lacks: another event
        return _Prepared(typed, query, analysis, r.question, anchor, corrected)

    @staticmethod
    def _tells(index: Index, anchor: int, entities: tuple[str, ...]) -> bool:
        """Whether the passage read around sentence ``anchor`` holds all of ``entities``."""
        if not entities:
            return True
        p = passages(index, Retrieved([]), 1, anchor=anchor)[0]
        have = set(terms(" ".join(index.sentences[k].text for k in range(p.first, p.last + 1))))
        return set(entities) <= have

    @staticmethod
    def _sentence_at(index: Index, source: tuple[str, int, int]) -> int | None:
        doc_id, start, _ = source
        for i, sent in enumerate(index.sentences):
            if sent.doc_id == doc_id and sent.start <= start < sent.end:
                return i
        return None

    def ask(self, question, history: list[Turn] | list[dict] | None = None, top_k: int | None = None,
            collections: frozenset[str] | None = None) -> Answer:
        """Answer ``question`` from the corpus (``history``: earlier turns, for follow-ups;
        ``collections``: answer only from these collections, None for all of them)."""
        index = self.index  # one snapshot for the whole question: a reload mid-way must not mix builds
        where = None if collections is None else Where(frozenset(collections))
        p = self._prepare(index, question, history, where)
        question, query, analysis = p.question, p.query, p.analysis
        if p.language is not None:
            return Answer(question=question, abstained=True, text=None, answer_citation=None, score=0.0,
                          question_type=analysis.qtype, retrieval_query=query, message=p.language.message,
                          kind="language")
        qvec = self.embedder.encode([query])[0]
        retrieved = retrieve(index, qvec, analysis, self.settings, where)
        # a follow-up reads around the sentence its chain's first answer came from first
        found = passages(index, retrieved, self.settings.reader_passages, anchor=p.anchor)
        readings = read(self.reader, index, p.reading, found, widen=self.settings.reader_widen)
        answer = compose(index, retrieved, analysis, self.settings, question=question, query=query,
                         top_k=top_k or self.settings.top_k, readings=readings)
        answer.corrected = p.corrected
        opened = open_topic(p.reading, bare=p.standalone)
        if opened and answer.citations and (answer.abstained or opened[1]):  # an overview instead, when sure
            answer = overview(index, retrieved, opened[0], answer) or answer
        return answer
