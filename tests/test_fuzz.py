"""Property-based tests (hypothesis) of the offset contracts, for any text:

- loader (qa.corpus.parse_document): sections in order, inside the text, never overlapping, never
  holding a heading line; the text is kept byte for byte;
- chunker (qa.chunking): every sentence and chunk is exactly ``doc.text[start:end]``; sentences are
  trimmed, ordered, inside one section and bounded in length; chunks are runs of whole sentences
  of one section that cover every sentence, always moving forward; no text is lost except list
  bullets and whitespace;
- answer composer (through QA.ask over an index built with the fake embedder): citations are exact
  slices of the corpus files, the answer is a substring of its citation, abstaining means no
  answer, and the rendered chat message carries no markup of the corpus.

Example counts are modest to keep the suite fast; raise them with HYPOTHESIS_PROFILE=thorough.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import FakeEmbedder
from qa.core.config import ChunkSettings
from qa.ingest.chunking import _LIST_ITEM, chunk_document, split_sentences
from qa.core.config import load_settings
from qa.ingest.corpus import _MD_HEAD, _WIKI_HEAD, _WIKI_TITLE, parse_document
from qa.core.errors import BadQuestionError, CorpusError
from qa.answer.pipeline import QA
from conftest import assert_safe_html
from qa.surfaces.render import to_html
from qa.surfaces.view import view

settings.register_profile("default", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"

# ---------------------------------------------------------------------------------------------
# Strategies: documents that look like the corpus (headings, lists, abbreviations, odd line
# ends) mixed with arbitrary Unicode.

ANY_CHAR = st.characters(blacklist_categories=("Cs",))  # a str cannot hold a lone surrogate from a file
TITLE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r=#"), max_size=15)
HEADING = st.one_of(
    TITLE.map(lambda t: f"= {t} ="),
    st.tuples(st.integers(2, 7), TITLE).map(lambda x: f"{'=' * x[0]}{x[1]}{'=' * x[0]}"),
    st.tuples(st.integers(1, 7), TITLE).map(lambda x: f"{'#' * x[0]} {x[1]}"),
    st.sampled_from(["=", "==", "= =", "==a=", "#", "#nospace", "====== x ======", "= a == b =", " ==Indented==",
                     "\ufeff= Bom =", "## Trailing ##  ", "==\u2028=="]),
)
SENTENCE = st.one_of(
    st.sampled_from([
        "Dr. Smith went home.", "It was signed on 3 May 1999.", "e.g. this one", "J. R. R. Tolkien wrote it!",
        "Why? Because.", "“Quoted.” Next one.", "(A bracket.) Then more.", "U.S. forces left...",
        "No punctuation at all", "3.14 is pi. 2.71 is e.", "Ends with colon:", "Mr.", ".", "?!", "A. B. C.",
        "Über. Élan. 東京は首都です。 Next.", "ﬁne ligature.", "x" * 120, "word " * 60,
    ]),
    st.text(ANY_CHAR, max_size=60),
    st.text(st.sampled_from("ab .!?\"')( \tA1:-*•"), max_size=80),
)
LIST_ITEM = st.tuples(st.sampled_from(["-", "*", "•", "1.", "22)", "  -", "\t*", "-\t", "‣"]), SENTENCE).map(
    lambda x: f"{x[0]} {x[1]}")
LINE = st.one_of(HEADING, SENTENCE, LIST_ITEM, st.just(""), st.just("   \t"))
LINE_END = st.sampled_from(["\n", "\n", "\n", "\r\n", "\n\n", "\r", "\u2028", "\x0b", "\x0c", "\x85", "\x1c"])
STRUCTURED = st.tuples(st.booleans(), st.lists(st.tuples(LINE, LINE_END), max_size=25)).map(
    lambda x: ("\ufeff" if x[0] else "") + "".join(a + b for a, b in x[1]))
DOC_TEXT = st.one_of(STRUCTURED, STRUCTURED, st.text(ANY_CHAR, max_size=300))
CHUNKING = st.builds(ChunkSettings, target_chars=st.integers(50, 400), overlap=st.integers(0, 3))


def _is_heading(line: str) -> bool:
    return bool(_WIKI_HEAD.match(line) or _WIKI_TITLE.match(line) or _MD_HEAD.match(line))


# ---------------------------------------------------------------------------------------------
# Loader


@given(text=DOC_TEXT)
def test_loader_sections_are_ordered_bounded_and_disjoint(text):
    doc = parse_document("doc.txt", text)
    assert doc.text == text
    assert doc.title and "\n" not in doc.title
    prev_end = 0
    for sec in doc.sections:
        assert 0 <= prev_end <= sec.start < sec.end <= len(text), doc.sections
        assert "\n" not in sec.title and "\r" not in sec.title
        # A body holds no heading line (a "= Title =" line is a heading only before any other).
        for line in text[sec.start:sec.end].splitlines(keepends=True):
            line = line.rstrip("\r\n")  # what the loader calls a line (U+2028 etc. split but stay)
            assert not (_WIKI_HEAD.match(line) or _MD_HEAD.match(line)), (line, doc.sections)
            if _WIKI_TITLE.match(line):
                assert sec.start > 0 or prev_end > 0, (line, doc.sections)
        prev_end = sec.end


@given(text=DOC_TEXT)
def test_loader_keeps_every_body_character(text):
    """Outside the sections there are only heading lines and line ends."""
    doc = parse_document("doc.txt", text)
    covered = [False] * len(text)
    for sec in doc.sections:
        for i in range(sec.start, sec.end):
            covered[i] = True
    pos = 0
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        for i in range(pos, pos + len(line)):
            if not covered[i] and i < pos + len(bare):
                assert _is_heading(bare), (repr(bare), doc.sections)
        pos += len(line)


# ---------------------------------------------------------------------------------------------
# Chunker


def check_chunking(doc, chunking):
    sentences, chunks = chunk_document(doc, chunking)
    text = doc.text
    limit = 4 * chunking.target_chars
    prev_end = 0
    sec_of = []
    for s in sentences:
        assert s.text == text[s.start:s.end] and s.text, s
        assert s.text == s.text.strip(), repr(s.text)
        assert prev_end <= s.start < s.end, (prev_end, s)
        prev_end = s.end
        assert s.end - s.start <= limit, len(s.text)
        owners = [k for k, sec in enumerate(doc.sections) if sec.start <= s.start and s.end <= sec.end]
        assert len(owners) == 1 and doc.sections[owners[0]].title == s.section, (s, doc.sections)
        sec_of.append(owners[0])
    starts = {s.start: i for i, s in enumerate(sentences)}
    ends = {s.end: i for i, s in enumerate(sentences)}
    covered = set()
    prev = None
    for c in chunks:
        assert c.text == text[c.start:c.end] and c.text, c
        # Whole sentences only: a chunk starts where a sentence starts and ends where one ends.
        assert c.start in starts and c.end in ends, c
        first, last = starts[c.start], ends[c.end]
        assert first <= last
        assert {sec_of[i] for i in range(first, last + 1)} == {sec_of[first]}, "a chunk spans sections"
        assert all(sentences[i].section == c.section for i in range(first, last + 1))
        if last > first:
            assert c.end - c.start <= chunking.target_chars, (len(c.text), chunking)
        if prev is not None:
            assert first > prev[0], "no progress"  # always forward
            if sec_of[first] == sec_of[prev[1]]:
                assert prev[1] - first + 1 <= chunking.overlap, "more overlap than configured"
        prev = (first, last)
        covered.update(range(first, last + 1))
    assert covered == set(range(len(sentences))), "a sentence is in no chunk"
    assert len(chunks) <= len(sentences)
    assert split_sentences(doc, chunking) == sentences  # deterministic
    return sentences, chunks


@given(text=DOC_TEXT, chunking=CHUNKING)
def test_chunker_offsets_sections_and_coverage(text, chunking):
    check_chunking(parse_document("doc.txt", text), chunking)


@given(text=DOC_TEXT, chunking=CHUNKING)
def test_chunker_loses_no_text(text, chunking):
    """Every non-space character of a section body is in a sentence, except list bullets."""
    doc = parse_document("doc.txt", text)
    sentences, _ = chunk_document(doc, chunking)
    covered = bytearray(len(text))
    for s in sentences:
        covered[s.start:s.end] = b"\x01" * (s.end - s.start)
    for sec in doc.sections:
        pos = sec.start
        for line in text[sec.start:sec.end].splitlines(keepends=True):
            bare_end = pos + len(line.rstrip("\r\n"))
            bullet = _LIST_ITEM.match(text, pos, bare_end)
            for i in range(pos, bare_end):
                if not covered[i] and not text[i].isspace():
                    assert bullet and i < bullet.end(), (repr(line), i - pos, repr(text[i]))
            pos += len(line)


@pytest.mark.bench  # a wall-clock bound: `make bench`, not the default suite
@settings(max_examples=10 if THOROUGH else 4, deadline=None)
@given(n=st.integers(1, 3), unit=st.sampled_from(["word ", "Dr. No. ", "x", "a.b ", "Is it? "]))
def test_chunker_is_fast_on_big_documents(n, unit):
    """Linear time: a 300 kB document chunks in well under a second (it once took minutes)."""
    import time

    text = "= Big =\n\n" + unit * (100_000 * n // len(unit))
    t0 = time.perf_counter()
    check_chunking(parse_document("big.txt", text), ChunkSettings())
    assert time.perf_counter() - t0 < 10


# ---------------------------------------------------------------------------------------------
# Answer composer, end to end through QA.ask with the fake embedder

WORDS = ["treaty", "signed", "Alpha", "Beta", "1999", "May", "Dr.", "Smith", "ports", "coast", "goals", "summit",
         "Tokyo", "east", "<script>", "**bold**", "[x](javascript:1)", "東京", "🎉", "Gamma", "three", "list"]
SENTENCE_FROM_WORDS = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(
    lambda ws: " ".join(ws).capitalize() + ".")
CORPUS_DOC = st.one_of(
    st.lists(st.one_of(SENTENCE_FROM_WORDS, LIST_ITEM, HEADING, SENTENCE_FROM_WORDS), min_size=1, max_size=15)
    .map("\n".join),
    DOC_TEXT,
)
QUESTION = st.one_of(
    st.lists(st.sampled_from(WORDS + ["when", "who", "where", "how many", "what", "why", "the", "?"]),
             min_size=1, max_size=8).map(" ".join),
    st.text(ANY_CHAR, max_size=40),
)


@settings(max_examples=500 if THOROUGH else 40)
@given(docs=st.lists(CORPUS_DOC, min_size=1, max_size=3), questions=st.lists(QUESTION, min_size=1, max_size=4),
       threshold=st.sampled_from([0.0, 0.5]), chunking=CHUNKING, top_k=st.integers(1, 6))
def test_composer_contract_for_any_corpus_and_question(docs, questions, threshold, chunking, top_k):
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for i, text in enumerate(docs):
            (corpus / f"d{i}.txt").write_text(text, encoding="utf-8", newline="")
        s = load_settings(corpus_dir=corpus, index_dir=Path(tmp) / "index", abstain_threshold=threshold,
                          chunk_chars=chunking.target_chars, chunk_overlap=chunking.overlap)
        qa = QA(s, embedder=FakeEmbedder())
        try:
            qa.warm_up()
        except CorpusError:  # nothing indexable (e.g. only headings or whitespace): a clear error
            assume(False)
        files = {p.name: p.read_bytes().decode("utf-8") for p in corpus.iterdir()}
        for q in questions:
            try:
                answer = qa.ask(q, top_k=top_k)
            except BadQuestionError:
                assert not " ".join(q.split()) or len(q) > s.max_question_chars or re.search(r"^[\W_]*$", q) \
                    or any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f for c in q)
                continue
            d = answer.to_dict()
            assert 0.0 <= d["score"] <= 1.0
            assert len(d["citations"]) <= top_k
            assert [c["n"] for c in d["citations"]] == list(range(1, len(d["citations"]) + 1))
            for c in d["citations"]:
                assert files[c["doc"]][c["start"]:c["end"]] == c["text"], c
                assert c["text"].strip()
                if c["highlight_start"] is not None:
                    assert c["start"] <= c["highlight_start"] < c["highlight_end"] <= c["end"]
            if d["abstained"]:
                assert d["answer"] is None and d["answer_citation"] is None and d["message"]
            else:
                assert d["answer"] and d["answer"].strip()
                cited = d["citations"][d["answer_citation"] - 1]
                assert d["answer"] in cited["text"]
                doc_text = files[cited["doc"]]
                assert doc_text[d["answer_start"]:d["answer_end"]] == d["answer"]
                assert cited["start"] <= d["answer_start"] <= d["answer_end"] <= cited["end"]
                sections = parse_document(cited["doc"], doc_text).sections
                assert any(sec.start <= d["answer_start"] and d["answer_end"] <= sec.end for sec in sections), \
                    "the answer runs across a heading"
            assert_safe_html(to_html(view(answer)))


def test_list_answer_never_spans_a_heading(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = "= Doc =\n\n==Goals==\nThe goals are:\n- Lower tariffs\n- Shared ports\n==Goals==\n- Joint research\n"
    (corpus / "a.txt").write_text(text, encoding="utf-8")
    qa = QA(load_settings(corpus_dir=corpus, index_dir=tmp_path / "index", abstain_threshold=0.0),
            embedder=FakeEmbedder())
    answer = qa.ask("What are the goals?")
    assert not answer.abstained and "==Goals==" not in answer.text, answer.text
