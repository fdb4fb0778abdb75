"""Reading corpus files into ``Document`` objects with titles and section offsets.

A document is every text, Markdown, PDF, HTML or Word file under the corpus folder
(qa/ingest/formats.py reads each kind). A text file's text is its bytes decoded as UTF-8 with
nothing else changed (no newline translation, no quote folding), so offsets stay valid for
anyone who reads the same file; the other kinds are extracted into text with Markdown headings.
A link that leads out of the corpus folder is not followed.

Headings recognised:
  ``= Title =``           the article title (first line), MediaWiki style
  ``==Section==``         a section; deeper levels (``===Sub===``) too
  ``# Title`` / ``## S``  Markdown; the first level-1 heading is the title when there is no
                          MediaWiki title
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.core.errors import CorpusError
from qa.core.types import Document, Section
from qa.ingest.formats import MAX_FILE_BYTES, SUFFIXES as FORMAT_SUFFIXES, check_size, extract

log = logging.getLogger(__name__)

SUFFIXES = tuple(sorted(FORMAT_SUFFIXES))
# "\ufeff?": a file saved with a byte-order mark (Windows editors) still has its title found.
_WIKI_TITLE = re.compile(r"^\ufeff?[ \t]*=(?!=)[ \t]*(?P<t>[^=\n]+?)[ \t]*=[ \t]*$")
_WIKI_HEAD = re.compile(r"^\ufeff?[ \t]*(?P<eq>={2,6})[ \t]*(?P<t>[^=\n]+?)[ \t]*(?P=eq)[ \t]*$")
_MD_HEAD = re.compile(r"^\ufeff?(?P<hash>#{1,6})[ \t]+(?P<t>.+?)[ \t#]*$")


@dataclass
class Corpus:
    """The documents that loaded, plus the files that were skipped and why."""

    documents: list[Document]
    skipped: list[tuple[str, str]] = field(default_factory=list)


#: Why a folder without a single document file cannot be indexed.
NO_FILES = "it has no .txt, .md, .pdf, .html or .docx files"


def nothing_to_index(folder: Path, why: str = NO_FILES) -> CorpusError:
    """The error for a corpus folder that yields no document, saying ``why``."""
    return CorpusError(f"nothing to index in {folder}: {why}")


#: File names (without suffix, any case) the corpus reader leaves out: they describe the folder.
IGNORED_STEMS = frozenset({"SOURCE", "README", "LICENSE"})


def ignored_name(name: str) -> str | None:
    """Why a file called ``name`` would not be indexed, or None when it would be."""
    p = Path(name)
    if p.name.startswith("."):
        return "hidden files (names starting with a dot) are not indexed"
    if p.suffix.lower() not in SUFFIXES:
        return f"only {', '.join(SUFFIXES)} files are indexed"
    if p.stem.upper() in IGNORED_STEMS:
        return (f"files named {', '.join(sorted(IGNORED_STEMS))} are left out of the index (they describe the "
                "folder); rename it")
    return None


def corpus_files(folder: Path) -> list[Path]:
    """All document files (``SUFFIXES``) under ``folder``, sorted, hidden files and READMEs excluded."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(
            f"Corpus folder {folder} does not exist. Create it and put your documents in it, "
            "or point QA_CORPUS_DIR at the folder that holds your documents."
        )
    files = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        if ignored_name(p.name) is None:
            files.append(p)
    return files


def parse_document(doc_id: str, text: str) -> Document:
    """Find the title and section headings of ``text``; offsets are into ``text`` itself."""
    title = ""
    heads: list[tuple[str, int, int]] = []  # (title, line_start, line_end)
    pos = 0
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        start, end = pos, pos + len(bare)
        pos += len(line)
        if not bare.strip():
            continue
        m = _WIKI_HEAD.match(bare)
        if m:
            heads.append((m["t"].strip(), start, end))
            continue
        m = _WIKI_TITLE.match(bare)
        if m and not title and not heads:
            title = m["t"].strip()
            heads.append(("", start, end))  # the title line is not body text
            continue
        m = _MD_HEAD.match(bare)
        if m:
            if len(m["hash"]) == 1 and not title and not heads:
                title = m["t"].strip()
                heads.append(("", start, end))
            else:
                heads.append((m["t"].strip(), start, end))
    if not title:
        title = Path(doc_id).stem.replace("-", " ").replace("_", " ").strip().title() or doc_id

    sections: list[Section] = []
    body_start = 0
    current = ""
    for name, hstart, hend in heads:
        if hstart > body_start:
            sections.append(Section(current, body_start, hstart))
        current, body_start = name, hend
    if len(text) > body_start:
        sections.append(Section(current, body_start, len(text)))
    return Document(id=doc_id, title=title, text=text, sections=tuple(sections))


def read_document(path: Path, doc_id: str, root: Path | None = None, max_bytes: int = MAX_FILE_BYTES,
                  sandbox=None) -> Document:
    """Read one file (any kind of qa/ingest/formats.py); raises CorpusError naming the file and
    the reason when it cannot be indexed. With ``root``, a link leading outside it is refused.
    With ``sandbox`` (qa/ingest/sandbox.py), PDF, Word and HTML are read in its child process,
    under its time and memory limits; builds always pass one."""
    if root is not None:
        target = path.resolve()
        if not target.is_relative_to(Path(root).resolve()):
            raise CorpusError(f"{doc_id}: a link to a file outside the corpus folder; links out are not followed")
    check_size(doc_id, path.stat().st_size, max_bytes)  # before reading: a 200 MB file is never read
    data = path.read_bytes()
    got = sandbox.extract(data, doc_id) if sandbox is not None else extract(data, doc_id, max_bytes)
    return replace(parse_document(doc_id, got.text), pages=got.pages, kind=got.kind, tables=got.tables)


def read_or_skip(path: Path, doc_id: str, root: Path, max_bytes: int = MAX_FILE_BYTES, sandbox=None) -> Document | str:
    """The document read from ``path``, or the reason it is skipped (a build names it and goes on)."""
    try:
        doc = read_document(path, doc_id, root, max_bytes, sandbox)
    except CorpusError as e:
        log.warning("skipping %s", e)
        return str(e)
    except OSError as e:
        return f"{doc_id}: cannot be read ({e.strerror})"
    return doc if doc.text.strip() else f"{doc_id}: empty file"


def load_corpus(folder: Path, max_bytes: int = MAX_FILE_BYTES, limits=None) -> Corpus:
    """Load every document; files that cannot be read are skipped and reported, not fatal.
    PDF, Word and HTML are read in a child process under ``limits`` (qa/ingest/sandbox.py)."""
    from qa.ingest.sandbox import Limits, Sandbox

    folder = Path(folder)
    docs, skipped = [], []
    with Sandbox(limits or Limits(max_bytes=max_bytes)) as sandbox:
        for p in corpus_files(folder):
            doc_id = p.relative_to(folder).as_posix()
            got = read_or_skip(p, doc_id, folder, max_bytes, sandbox)
            if isinstance(got, str):
                skipped.append((doc_id, got))
            else:
                docs.append(got)
    return Corpus(docs, skipped)
