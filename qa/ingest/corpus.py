"""Reading corpus files into ``Document`` objects with titles and section offsets.

A document is every ``.txt`` and ``.md`` file under the corpus folder. Its text is the file's
bytes decoded as UTF-8 with nothing else changed (no newline translation, no quote folding),
so offsets stay valid for anyone who reads the same file.

Headings recognised:
  ``= Title =``           the article title (first line), MediaWiki style
  ``==Section==``         a section; deeper levels (``===Sub===``) too
  ``# Title`` / ``## S``  Markdown; the first level-1 heading is the title when there is no
                          MediaWiki title
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from qa.core.errors import CorpusError
from qa.core.types import Document, Section

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md")
# "\ufeff?": a file saved with a byte-order mark (Windows editors) still has its title found.
_WIKI_TITLE = re.compile(r"^\ufeff?[ \t]*=(?!=)[ \t]*(?P<t>[^=\n]+?)[ \t]*=[ \t]*$")
_WIKI_HEAD = re.compile(r"^\ufeff?[ \t]*(?P<eq>={2,6})[ \t]*(?P<t>[^=\n]+?)[ \t]*(?P=eq)[ \t]*$")
_MD_HEAD = re.compile(r"^\ufeff?(?P<hash>#{1,6})[ \t]+(?P<t>.+?)[ \t#]*$")


@dataclass
class Corpus:
    """The documents that loaded, plus the files that were skipped and why."""

    documents: list[Document]
    skipped: list[tuple[str, str]] = field(default_factory=list)


#: Why a folder without a single .txt/.md file cannot be indexed.
NO_FILES = "it has no .txt or .md files"


def nothing_to_index(folder: Path, why: str = NO_FILES) -> CorpusError:
    """The error for a corpus folder that yields no document, saying ``why``."""
    return CorpusError(f"nothing to index in {folder}: {why}")


def corpus_files(folder: Path) -> list[Path]:
    """All ``.txt``/``.md`` files under ``folder``, sorted, hidden files and READMEs excluded."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(
            f"Corpus folder {folder} does not exist. Create it and put .txt or .md files in it, "
            "or point QA_CORPUS_DIR at the folder that holds your documents."
        )
    files = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        if p.suffix.lower() in SUFFIXES and p.stem.upper() not in {"SOURCE", "README", "LICENSE"}:
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


def read_document(path: Path, doc_id: str) -> Document:
    """Read one file; raises CorpusError naming the file when it is not UTF-8 text."""
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{doc_id}: looks binary (contains NUL bytes); only UTF-8 text is indexed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorpusError(
            f"{doc_id}: not valid UTF-8 at byte {e.start}; re-save the file as UTF-8"
        ) from None
    return parse_document(doc_id, text)


def load_corpus(folder: Path) -> Corpus:
    """Load every document; files that cannot be read are skipped and reported, not fatal."""
    folder = Path(folder)
    docs, skipped = [], []
    for p in corpus_files(folder):
        doc_id = p.relative_to(folder).as_posix()
        try:
            doc = read_document(p, doc_id)
        except CorpusError as e:
            log.warning("skipping %s", e)
            skipped.append((doc_id, str(e)))
            continue
        except OSError as e:
            skipped.append((doc_id, f"{doc_id}: cannot be read ({e.strerror})"))
            continue
        if not doc.text.strip():
            skipped.append((doc_id, f"{doc_id}: empty file"))
            continue
        docs.append(doc)
    return Corpus(docs, skipped)
