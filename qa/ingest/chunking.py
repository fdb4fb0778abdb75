"""Sentence-aware splitting and chunking with exact character offsets.

Rules (each has a test):
- Headings are never part of a chunk; they become the chunk's ``section``.
- A list item (a line starting with ``-``, ``*``, ``•`` or ``1.``/``1)``) is one unit of its
  own, without its bullet.
- Inside a paragraph a sentence ends at ``.``, ``!`` or ``?`` (plus closing quotes/brackets)
  followed by whitespace and an upper-case letter, digit or opening quote, unless the word
  before the stop is a known abbreviation ("Dr.", "e.g.") or an initial ("J. Smith").
- A chunk packs whole sentences of one section up to ``target_chars``; it is never cut
  mid-sentence. Consecutive chunks share ``overlap`` sentences. Only a pathological
  "sentence" longer than ``4 * target_chars`` (no punctuation at all) is split at spaces,
  so one unpunctuated blob cannot become an unbounded chunk.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from qa.core.config import ChunkSettings
from qa.core.types import Chunk, Document, Sentence

ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st jr sr vs etc e.g i.e cf al fig no nos vol pp ed eds rev gen col lt
    sgt capt cmdr adm gov sen rep pres hon inc ltd co corp bros dept est approx jan feb mar apr
    jun jul aug sep sept oct nov dec mt ft u.s u.k u.n e.u a.m p.m ca""".split()
)
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*•‣◦]|\d{1,3}[.)])[ \t]+(?=\S)")
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])")
_WORD_BEFORE = re.compile(r"([\w.]+)$")
_WORD_WINDOW = 32  # characters before a full stop examined by _is_abbreviation


def _is_abbreviation(text: str, stop: int) -> bool:
    # Look only at the last few characters: searching from 0 made splitting quadratic in the
    # document length (a 175 kB file took minutes). A word longer than the window cannot be
    # an abbreviation or an initial anyway.
    m = _WORD_BEFORE.search(text, max(0, stop - _WORD_WINDOW), stop)
    if not m:
        return False
    word = m.group(1).lower().rstrip(".")
    if len(word) == 1 and word.isalpha():  # an initial: "J. Smith", "Harry S. Truman"
        return True
    return word in ABBREVIATIONS


def split_paragraph(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of sentences in ``text[start:end]``, whitespace trimmed."""
    pos = start
    for m in _BOUNDARY.finditer(text, start, end):
        if text[m.start()] == "." and m.end() - m.start() == 1 and _is_abbreviation(text, m.start()):
            continue
        yield from _trimmed(text, pos, m.end())
        pos = m.end()
    yield from _trimmed(text, pos, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield start, end


def _blocks(text: str, start: int, end: int) -> Iterator[tuple[int, int, bool]]:
    """Paragraphs and list items of a section body: (start, end, is_list_item)."""
    para_start = None
    pos = start
    for line in text[start:end].splitlines(keepends=True):
        lstart, lend = pos, pos + len(line.rstrip("\r\n"))
        pos += len(line)
        m = _LIST_ITEM.match(text, lstart, lend)
        if m or not text[lstart:lend].strip():
            if para_start is not None:
                yield para_start, lstart, False
                para_start = None
            if m:
                yield m.end(), lend, True
        elif para_start is None:
            para_start = lstart
    if para_start is not None:
        yield para_start, end, False


def _hard_split(text: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        cut = cut if cut > start else start + limit
        yield from _trimmed(text, start, cut)
        start = cut
    yield from _trimmed(text, start, end)


def split_sentences(doc: Document, settings: ChunkSettings | None = None) -> list[Sentence]:
    """All sentences and list items of ``doc`` in order, each tagged with its section."""
    settings = settings or ChunkSettings()
    limit = 4 * settings.target_chars
    out: list[Sentence] = []
    for sec in doc.sections:
        for bstart, bend, is_item in _blocks(doc.text, sec.start, sec.end):
            spans = _trimmed(doc.text, bstart, bend) if is_item else split_paragraph(doc.text, bstart, bend)
            for s, e in spans:
                for s2, e2 in _hard_split(doc.text, s, e, limit):
                    out.append(Sentence(doc.id, sec.title, s2, e2, doc.text[s2:e2], is_item))
    return out


def chunk_sentences(doc: Document, sentences: list[Sentence], settings: ChunkSettings) -> list[Chunk]:
    """Pack consecutive sentences of the same section into chunks (see module docstring)."""
    chunks: list[Chunk] = []
    # Which section each sentence is in, by position: two sections may share a title (a preamble
    # and the body after "= Title =" are both ""; "==Notes==" twice), and a chunk must not run
    # across the heading between them.
    starts = [sec.start for sec in doc.sections]
    where = [bisect.bisect_right(starts, s.start) - 1 for s in sentences]
    i = 0
    n = len(sentences)
    while i < n:
        section = sentences[i].section
        j = i + 1
        while (
            j < n
            and where[j] == where[i]
            and sentences[j].end - sentences[i].start <= settings.target_chars
        ):
            j += 1
        s, e = sentences[i].start, sentences[j - 1].end
        chunks.append(Chunk(doc.id, section, s, e, doc.text[s:e]))
        if j >= n or where[j] != where[i]:
            i = j
        else:
            i = max(i + 1, j - settings.overlap)  # always advance, overlap or not
    return chunks


def chunk_document(doc: Document, settings: ChunkSettings | None = None) -> tuple[list[Sentence], list[Chunk]]:
    settings = settings or ChunkSettings()
    sentences = split_sentences(doc, settings)
    return sentences, chunk_sentences(doc, sentences, settings)
