"""Reading the formats people bring: PDF, HTML, Word (DOCX), Markdown and plain text.

The type comes from the content, never from the name: ``%PDF-`` is a PDF, a ZIP holding
``word/document.xml`` is a Word document, a page that starts like HTML is HTML, the rest must
be UTF-8 text (Markdown or plain). Each reader turns its file into one text with Markdown
headings (``# Title``, ``## Section``), so sections are found the same way for every format
(qa/ingest/corpus.py ``parse_document``), and records where pages start. Citations are slices of
this extracted text; the index keeps it, and the document view serves it beside the original.

| format | library | why |
|---|---|---|
| PDF | pypdfium2 (characters, rendering, tables of aligned figures), pdfplumber (ruled tables), pypdf (encryption, outline), Tesseract via pytesseract (scanned pages) | characters with fonts and positions: headings, paragraphs and table cells (qa/ingest/pdf.py) |
| HTML | trafilatura | finds the main content and leaves out navigation, headers, footers and boilerplate; keeps headings |
| DOCX | python-docx | the paragraphs with their styles: "Heading N" becomes a section |
| Markdown, text | (ours) | UTF-8 as it is: headings are Markdown or MediaWiki |

A file that cannot be read (encrypted, scanned with no OCR engine installed, corrupt, a ZIP bomb, a
page with no main text, too big) raises ``CorpusError`` naming the file and the reason; the
build skips it and reports it.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from qa.core.errors import CorpusError

#: Files larger than this are skipped (settings.max_file_bytes overrides it per build).
MAX_FILE_BYTES = 50_000_000
#: A DOCX may unpack to at most this many bytes, and at most this many times its own size.
#: Measured on documents python-docx writes: 10 pages unpack to 0.8 MB (21x, mostly the style
#: sheets), 1,000 pages of prose to 2.2 MB (35x), 300 pages with a table each to 2.9 MB (17x);
#: Word's own markup is a few times heavier, so 64 MB leaves room for books of thousands of
#: pages, while a 2 MB upload that unpacked to 190 MB of XML (memory 0.7 -> 2.2 GB) is refused.
MAX_UNPACKED_BYTES = 64_000_000
MAX_UNPACK_RATIO = 100
KINDS = ("pdf", "html", "docx", "text")
#: A page's main text needs a line of at least this many words (menus are one or two per link).
MIN_PROSE_WORDS = 4
#: Names the corpus folder picks up; the kind is still decided by the content.
SUFFIXES = {".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".docx"}


@dataclass(frozen=True)
class Extracted:
    text: str
    kind: str
    pages: tuple[int, ...] = ()  # character offset where each page starts (PDF); empty: no pages
    tables: tuple = ()  # PDF: qa.core.types.Table, each cell a paragraph of ``text``


def sniff(data: bytes) -> str:
    """The kind of a file from its first bytes."""
    head = data[:2048]
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "docx"
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in lowered[:512]:
        return "html"
    return "text"


def check_size(doc_id: str, size: int, max_bytes: int = MAX_FILE_BYTES) -> None:
    """CorpusError naming the file when ``size`` is over ``max_bytes`` (``settings.max_file_bytes``)."""
    if size > max_bytes:
        raise CorpusError(f"{doc_id}: {size:,} bytes is over the limit of {max_bytes:,} bytes (max_file_bytes)")


def extract(data: bytes, doc_id: str, max_bytes: int = MAX_FILE_BYTES) -> Extracted:
    check_size(doc_id, len(data), max_bytes)
    kind = sniff(data)
    try:
        if kind == "pdf":
            return _pdf(data, doc_id)
        if kind == "docx":
            return _docx(data, doc_id)
        if kind == "html":
            return _html(data, doc_id)
    except (CorpusError, MemoryError):  # MemoryError: the sandbox names its limit (qa/ingest/sandbox.py)
        raise
    except ImportError as e:  # a reader's own dependency is missing: the install, not the file, is at fault
        raise CorpusError(f"{doc_id}: reading {kind.upper()} files needs {_missing(e)}") from None
    except Exception as e:  # a library's own error on a damaged file: say so, skip the file
        if type(e).__name__ == "DependencyError":  # pypdf: "cryptography>=3.1 is required for AES algorithm"
            raise CorpusError(f"{doc_id}: reading {kind.upper()} files needs {_missing(e)}") from None
        raise CorpusError(f"{doc_id}: the {kind.upper()} file is damaged or unreadable ({type(e).__name__})") from None
    return _text(data, doc_id)


#: Python modules the readers import, and the package that provides each (pyproject.toml declares them).
_PACKAGES = {"pypdf": "pypdf", "cryptography": "cryptography", "docx": "python-docx", "trafilatura": "trafilatura",
             "lxml_html_clean": "lxml_html_clean", "lxml": "lxml", "lxml.html.clean": "lxml_html_clean"}


def _missing(e: Exception) -> str:
    """'the package X; install it with: pip install X' for a reader's missing dependency."""
    name = getattr(e, "name", None) or ""
    text = str(e)
    package = _PACKAGES.get(name) or _PACKAGES.get(name.split(".")[0]) or next(
        (pkg for mod, pkg in sorted(_PACKAGES.items(), key=lambda kv: -len(kv[0])) if mod in text), name or "")
    if not package:
        return f"a Python package that is not installed ({' '.join(text.split())[:200]})"
    return f"the Python package {package}, which is not installed; install it with: pip install {package}"


def _text(data: bytes, doc_id: str) -> Extracted:
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{doc_id}: looks binary (contains NUL bytes); only UTF-8 text, PDF, HTML and DOCX are indexed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorpusError(f"{doc_id}: not valid UTF-8 at byte {e.start}; re-save the file as UTF-8") from None
    return Extracted(text, "text")


def _title_line(title: str) -> str:
    return f"# {' '.join(title.split())}\n\n" if title and title.strip() else ""


def _pdf(data: bytes, doc_id: str) -> Extracted:
    from qa.ingest import pdf

    text, pages, tables = pdf.read(data, doc_id)
    return Extracted(text, "pdf", pages, tables)


def _docx(data: bytes, doc_id: str) -> Extracted:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise CorpusError(f"{doc_id}: a damaged ZIP archive, not a readable Word document") from None
    with archive:
        names = set(archive.namelist())
        if "word/document.xml" not in names:
            raise CorpusError(f"{doc_id}: a ZIP archive but not a Word (.docx) document")
        unpacked = sum(i.file_size for i in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_UNPACK_RATIO * max(1, len(data)):
            raise CorpusError(f"{doc_id}: unpacks to {unpacked:,} bytes from {len(data):,} (a ZIP bomb?); not indexed")
    import docx

    document = docx.Document(io.BytesIO(data))
    title = (document.core_properties.title or "").strip()
    lines = []
    for para in document.paragraphs:
        text = " ".join(para.text.split())
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        if style == "Title":
            title = title or text
            continue
        if style.startswith("Heading"):
            level = style.removeprefix("Heading").strip()
            depth = int(level) if level.isdigit() else 1
            lines.append(f"{'#' * min(6, depth + 1)} {text}")
        elif style.startswith("List"):
            lines.append(f"- {text}")
        else:
            lines.append(text)
    body = "\n\n".join(lines)
    if not body.strip():
        raise CorpusError(f"{doc_id}: the Word document holds no text")
    return Extracted(_title_line(title) + body + "\n", "docx")


def _html(data: bytes, doc_id: str) -> Extracted:
    import trafilatura

    page = data.decode("utf-8", errors="replace")
    body = trafilatura.extract(page, output_format="markdown", include_links=False, include_images=False,
                               include_comments=False, include_tables=True, favor_recall=True) or ""
    # with no article found, trafilatura falls back to whatever text there is (menu links):
    # a page counts as having main text only when some line reads like prose
    if not any(len(line.split()) >= MIN_PROSE_WORDS for line in body.splitlines()):
        raise CorpusError(f"{doc_id}: the HTML page has no main text (only navigation or boilerplate)")
    meta = trafilatura.extract_metadata(page)
    title = (meta.title if meta and meta.title else "").strip()
    if title and body.lstrip().startswith("# "):  # the page's own first heading is its title
        title = ""
    return Extracted(_title_line(title) + body.strip() + "\n", "html")
