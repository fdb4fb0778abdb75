"""Reading a PDF by its layout: headings, paragraphs, lists, tables and scanned pages.

pdfplumber gives every character with its font, size and position. From them:

- **lines** become paragraphs: a PDF's hard line breaks are joined, a paragraph ends at a wider
  gap than the document's usual line spacing; a paragraph cut by a page break goes on (so its
  sentence knows both pages);
- **headings** are lines in a larger font than the body text, or short lines wholly in bold, or
  lines the PDF's outline (pypdf) names on that page; they become Markdown headings, so a heading
  never glues onto the sentence after it and sections are found as for every other format;
- **the title** is the metadata's, unless that is junk (empty, "Microsoft Word - ...", a file
  name, an accession number): then the heading lines the first page starts with (a cover);
- **tables** (pdfplumber's ruled tables) become one short paragraph per cell, with its row label
  and its column heading ("Adjusted EBITDA, Twelve months ended 30 June 2023: 12,018"), so the
  reader answers from a row that says what the number is; ``Table`` keeps the grid for the
  document view and each cell's box on its page;
- **scanned pages** (no characters) are read with Tesseract OCR (pytesseract); without the engine
  the file is refused with the word to install it.
"""

from __future__ import annotations

import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass

from qa.core.errors import CorpusError
from qa.core.types import Table

#: A line this much larger than the body text is a heading.
HEADING_RATIO = 1.12
#: Headings are short: a line with more words is text, whatever its font.
HEADING_WORDS = 15
#: Resolution scanned pages are rendered at for OCR (Tesseract reads 300 dpi best).
OCR_DPI = 300
_BULLET = re.compile(r"^(?:[•▪‣◦·●○■□–-]|\(?\d{1,3}[.)]|\([a-z]\))\s+")
_NUMBER = re.compile(r"^[(\-–−]?[£$€¥]?\s?\d[\d,. ]*%?\)?$")
_YEAR = re.compile(r"^(19|20)\d\d$")
_ACCESSION = re.compile(r"^[\d\s\-_./]+$")
_FILE_NAME = re.compile(r"\.(docx?|pdf|indd|rtf|odt|xlsx?|pptx?|txt|html?)$|^[\w.\-]+$", re.I)


@dataclass
class _Line:
    page: int
    top: float
    bottom: float
    x0: float
    x1: float
    text: str
    size: float
    bold: bool
    heading: int = 0  # 0: body; else the Markdown level


@dataclass
class _Grid:
    page: int
    top: float
    rows: list[list[str]]
    boxes: list[list[tuple[float, float, float, float] | None]]


def junk_title(title: str) -> bool:
    """Whether a PDF's metadata title says nothing (and the document's own should be used)."""
    t = " ".join((title or "").split())
    return (not t or t.lower().startswith(("microsoft word", "untitled", "microsoft powerpoint"))
            or bool(_ACCESSION.match(t)) or bool(_FILE_NAME.search(t)) and " " not in t
            or t.lower().endswith((".doc", ".docx", ".pdf", ".indd")))


def read(data: bytes, doc_id: str) -> tuple[str, tuple[int, ...], tuple[Table, ...]]:
    """The text of a PDF with Markdown headings, where each page starts in it, and its tables;
    raises CorpusError naming the file when it cannot be read."""
    import pdfplumber
    from pypdf import PdfReader

    meta = PdfReader(io.BytesIO(data))
    # An owner password only (permissions) still opens with the empty user password; AES needs the
    # cryptography package, whose absence formats.extract reports as such, not as encryption.
    if meta.is_encrypted and not meta.decrypt(""):
        raise CorpusError(f"{doc_id}: the PDF is encrypted with a password; save an unprotected copy to index it")
    try:
        title = (meta.metadata.title or "") if meta.metadata else ""
    except Exception:
        title = ""
    outline = _outline(meta)
    items: list[_Line | _Grid] = []
    scanned: list[int] = []
    with pdfplumber.open(io.BytesIO(data), password="") as pdf:
        for n, page in enumerate(pdf.pages, start=1):
            if not any(c["text"].strip() for c in page.chars):
                scanned.append(n)
                items.extend(_ocr(page, n, doc_id))
                continue
            items.extend(_page(page, n, outline))
    if not any(isinstance(i, _Grid) or i.text.strip() for i in items):
        if scanned:
            raise CorpusError(f"{doc_id}: the PDF is a scan and OCR found no text on it; nothing to index")
        raise CorpusError(f"{doc_id}: the PDF holds no text")
    _mark_headings(items)
    if junk_title(title):
        title = _cover_title(items)
    return _compose(items, title)


def _outline(reader) -> dict[tuple[int, str], int]:
    """(1-based page, folded title) -> depth of every outline entry."""
    out: dict[tuple[int, str], int] = {}

    def walk(entries, depth):
        for e in entries:
            if isinstance(e, list):
                walk(e, depth + 1)
                continue
            try:
                out[(reader.get_destination_page_number(e) + 1, _fold(e.title))] = depth
            except Exception:  # an entry pointing nowhere: no section from it
                continue

    try:
        walk(reader.outline, 0)
    except Exception:
        return {}
    return out


def _fold(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _page(page, n: int, outline: dict) -> list[_Line | _Grid]:
    tables = [t for t in page.find_tables() if len(t.rows) >= 2]
    boxes = [t.bbox for t in tables]

    def outside(obj) -> bool:
        if obj.get("object_type") != "char":
            return True
        cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)

    body = page.filter(outside) if boxes else page
    out: list[_Line | _Grid] = []
    for line in body.extract_text_lines(return_chars=True, strip=True):
        chars = [c for c in line["chars"] if c["text"].strip()]
        if not chars or not line["text"].strip():
            continue
        size = round(statistics.median(c["size"] for c in chars), 1)
        bold = all("bold" in (c.get("fontname") or "").lower() for c in chars)
        ln = _Line(n, line["top"], line["bottom"], line["x0"], line["x1"], " ".join(line["text"].split()), size, bold)
        depth = outline.get((n, _fold(ln.text)))
        if depth is not None:
            ln.heading = 2 + min(depth, 3)
        out.append(ln)
    for t in tables:
        rows = [[" ".join((c or "").split()) if c is not None else None for c in r] for r in t.extract()]
        cells = [list(r.cells) for r in t.rows]
        out.append(_Grid(n, t.bbox[1], rows, [[_frac(b, page) for b in r] for r in cells]))
    out.sort(key=lambda i: i.top)
    return out


def _frac(box, page) -> tuple[float, float, float, float] | None:
    if box is None:
        return None
    x0, top, x1, bottom = box
    w, h = float(page.width), float(page.height)
    return (round(x0 / w, 4), round(top / h, 4), round(x1 / w, 4), round(bottom / h, 4))


def _ocr(page, n: int, doc_id: str) -> list[_Line]:
    """A scanned page's lines read by Tesseract, with their positions and heights in points, so
    paragraphs and headings are found as on a page with text."""
    try:
        import pytesseract
    except ImportError:
        raise CorpusError(_NO_OCR.format(doc_id=doc_id, n=n)) from None
    try:
        data = pytesseract.image_to_data(_render(page), lang="eng", output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractNotFoundError:
        raise CorpusError(_NO_OCR.format(doc_id=doc_id, n=n)) from None
    except pytesseract.TesseractError as e:
        raise CorpusError(f"{doc_id}: OCR of scanned page {n} failed ({e.message or e.status})") from None
    scale = 72 / OCR_DPI
    lines: dict[tuple[int, int, int], list[int]] = {}
    for k, word in enumerate(data["text"]):
        if word.strip() and float(data["conf"][k]) >= 0:
            lines.setdefault((data["block_num"][k], data["par_num"][k], data["line_num"][k]), []).append(k)
    out = []
    for ks in lines.values():
        top = min(data["top"][k] for k in ks) * scale
        bottom = max(data["top"][k] + data["height"][k] for k in ks) * scale
        # the height of a line's capitals and ascenders stands in for its font size
        size = round(statistics.median(data["height"][k] for k in ks) * scale)
        out.append(_Line(n, top, bottom, min(data["left"][k] for k in ks) * scale,
                         max(data["left"][k] + data["width"][k] for k in ks) * scale,
                         " ".join(data["text"][k].strip() for k in ks), float(size), False))
    out.sort(key=lambda ln: (ln.top, ln.x0))
    return out


_NO_OCR = ("{doc_id}: page {n} is a scanned image without text, and OCR is not available; install tesseract "
           "(Debian: apt-get install tesseract-ocr tesseract-ocr-eng) to read scanned pages")


def _render(page):
    """The page as a greyscale image at ``OCR_DPI`` (pypdfium2, which pdfplumber renders with)."""
    return page.to_image(resolution=OCR_DPI).original.convert("L")


def _mark_headings(items: list) -> None:
    """Decide which lines are headings and at what level, from the fonts of the whole document."""
    lines = [i for i in items if isinstance(i, _Line) and i.size > 0]
    if not lines:
        return
    weight = Counter()
    for ln in lines:
        weight[ln.size] += len(ln.text)
    body = weight.most_common(1)[0][0]
    big = sorted({ln.size for ln in lines if ln.size >= body * HEADING_RATIO}, reverse=True)
    level = {s: 2 + min(i, 2) for i, s in enumerate(big)}
    for ln in lines:
        if ln.heading or len(ln.text.split()) > HEADING_WORDS:
            continue
        if ln.size in level:
            ln.heading = level[ln.size]
        elif ln.bold and ln.size >= body and not ln.text.endswith((".", ",", ";", ":")):
            ln.heading = 2 + min(len(big), 3)


def _cover_title(items: list) -> str:
    """The heading lines the first page starts with, joined ("Company plc – Annual Report 2023")."""
    first = [i for i in items if isinstance(i, _Line) and i.page == 1]
    parts = []
    for ln in first:
        if not ln.heading:
            break
        parts.append(ln)
    for ln in parts:
        ln.heading = 1  # consumed as the title
    return " – ".join(ln.text for ln in parts[:3])


def _compose(items: list, title: str) -> tuple[str, tuple[int, ...], tuple[Table, ...]]:
    """The text: ``# title``, headings, paragraphs (a page break inside one joins with a space),
    list items and table cell rows, each block separated by a blank line."""
    parts: list[str] = []
    size = 0
    pages: list[int] = []
    tables: list[Table] = []

    def add(piece: str) -> int:
        nonlocal size
        at = size
        parts.append(piece)
        size += len(piece)
        return at

    if title.strip():
        add(f"# {' '.join(title.split())}\n\n")
    para: list[_Line] = []
    gaps = [b.top - a.bottom for a, b in zip(items, items[1:])
            if isinstance(a, _Line) and isinstance(b, _Line) and a.page == b.page and a.size and b.size
            and not a.heading and not b.heading and b.top > a.bottom]
    usual = statistics.median(gaps) if gaps else 0.0
    current_page = 0

    def flush():
        if para:
            add(_join(para) + "\n\n")
            para.clear()

    for item in items:
        if item.page != current_page:
            current_page = item.page
            ends = not para or para[-1].text.endswith((".", "!", "?", ":", '"', "”"))
            if ends or isinstance(item, _Grid) or item.heading or _BULLET.match(item.text):
                flush()
                pages.append(size)
            else:  # a sentence goes on across the page break: the new page starts where its text does
                pages.append(size + len(_join(para)) + 1)
        if isinstance(item, _Grid):
            flush()
            t = _table(item, add)
            if t:
                tables.append(t)
            continue
        if item.heading == 1:
            continue  # the cover's title lines, already the title
        if item.heading:
            flush()
            add(f"{'#' * item.heading} {item.text}\n\n")
            continue
        if para and _new_paragraph(para[-1], item, usual):
            flush()
        para.append(item)
    flush()
    return "".join(parts), tuple(pages), tuple(tables)


def _new_paragraph(prev: _Line, line: _Line, usual: float) -> bool:
    if _BULLET.match(line.text):
        return True
    if prev.page != line.page:
        return False  # decided at the page break
    gap = line.top - prev.bottom
    return gap > max(usual * 1.6, usual + 0.25 * prev.size) or abs(line.size - prev.size) > 0.5


def _join(lines: list[_Line]) -> str:
    text = ""
    for ln in lines:
        if text.endswith("-") and ln.text[:1].islower() and text[-2:-1].isalpha():
            text += ln.text  # a word broken at the line end ("pro-" "ving") stays one word
        else:
            text = f"{text} {ln.text}" if text else ln.text
    m = _BULLET.match(text)
    return f"- {text[m.end():]}" if m else text


def _table(grid: _Grid, add) -> Table | None:
    """One paragraph per cell: "<row label>, <column heading>: <value>"; the grid kept as a Table."""
    rows = [r for r in grid.rows if any(c for c in r)]
    boxes = [b for r, b in zip(grid.rows, grid.boxes) if any(c for c in r)]
    if not rows:
        return None
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]
    head = 0
    while head < len(rows) - 1 and not any(c and _NUMBER.match(c) and not _YEAR.match(c) for c in rows[head][1:]):
        head += 1
    columns = []
    for j in range(width):
        pieces = []
        for r in rows[:head]:
            k = j
            while k > 0 and r[k] is None:  # a heading spanning several columns
                k -= 1
            if r[k] and (k == j or j > 0):
                pieces.append(r[k])
        columns.append(" ".join(pieces))
    start = None
    cells = []
    body = []
    for i, (r, b) in enumerate(zip(rows[head:], boxes[head:])):
        label = r[0] or ""
        body.append(tuple(c or "" for c in r))
        for j in range(1, width):
            value = r[j]
            if not value:
                continue
            name = ", ".join(x for x in (label, columns[j]) if x)
            piece = f"{name}: {value}" if name else value
            at = add(piece + "\n\n")
            start = at if start is None else start
            box = b[j] if j < len(b) and b[j] else (0.0, 0.0, 0.0, 0.0)
            cells.append((i, j, at, at + len(piece), *box))
    if start is None:
        return None
    return Table(page=grid.page, start=start, end=cells[-1][3], columns=tuple(columns), rows=tuple(body),
                 cells=tuple(cells))
