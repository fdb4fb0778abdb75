"""Reading a PDF by its layout: headings, paragraphs, lists, tables and scanned pages.

PDFium (pypdfium2) reads every character with its box, font size and font name, quickly (in C);
pdfplumber, forty times slower, is opened only for a page that draws lines or boxes, to find
its ruled tables. From them:

- **lines** become paragraphs: a PDF's hard line breaks are joined, a paragraph ends at a wider
  gap than the document's usual line spacing; a paragraph cut by a page break goes on (so its
  sentence knows both pages); running heads, footers and page numbers (in the margin band, the
  same on half the pages) are left out;
- **headings** are lines in a larger font than the body text, or short lines wholly in bold, or
  lines the PDF's outline (pypdf) names on that page; they become Markdown headings, so a heading
  never glues onto the sentence after it and sections are found as for every other format;
- **the title** is the metadata's, unless that is junk (empty, "Microsoft Word - ...", a file
  name, an accession number): then the heading lines the first page starts with (a cover);
- **tables** (pdfplumber's ruled tables; and on a page whose lines end in figures, tables with
  horizontal rules only or none, found from where their words stand: qa/ingest/pdfcolumns.py)
  become one short paragraph per cell, with its row label
  and its column heading ("Adjusted EBITDA, Twelve months ended 30 June 2023: 12,018"), so the
  reader answers from a row that says what the number is; ``Table`` keeps the grid for the
  document view and each cell's box on its page;
- **scanned pages** (no characters) are rendered by PDFium and read with Tesseract OCR
  (pytesseract), whose line heights stand in for font sizes; without the engine the file is
  refused with the word to install it.
"""

from __future__ import annotations

import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass

from qa.core.errors import CorpusError
from qa.core.types import Table
from qa.ingest.pdfcolumns import CURRENCY, Word, is_figure
from qa.ingest.pdfcolumns import find as find_tables

#: A line this much larger than the body text is a heading.
HEADING_RATIO = 1.12
#: Headings are short: a line with more words is text, whatever its font.
HEADING_WORDS = 15
#: Running heads and footers stand in this share of the page at its top and bottom.
EDGE = 0.08
#: ... and repeat (numbers aside) on at least this share of the pages.
REPEATS = 0.5
#: Resolution scanned pages are rendered at for OCR (Tesseract reads 300 dpi best).
OCR_DPI = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
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
    edge: bool = False  # in the top or bottom margin band of its page (where running heads stand)


@dataclass
class _Grid:
    page: int
    top: float
    rows: list[list[str]]
    boxes: list[list[tuple[float, float, float, float] | None]]
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # in points
    head: int | None = None  # how many rows are headings; None: guessed from where figures start


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
    import pypdfium2 as pdfium
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
    pdf = pdfium.PdfDocument(data)
    plumber = None  # pdfplumber parses a page 40x slower than PDFium: only pages with ruled tables
    try:
        for n in range(1, len(pdf) + 1):
            page = pdf[n - 1]
            lines, words = _lines(page, n, outline)
            if not lines:
                scanned.append(n)
                items.extend(_ocr(page, n, doc_id))
                continue
            grids = []
            if _ruled(page):
                plumber = plumber or pdfplumber.open(io.BytesIO(data), password="")
                grids = _grids(plumber.pages[n - 1], n)
            if words:
                grids += _aligned(words, grids, n, page.get_width(), page.get_height())
            items.extend(_place(lines, grids))
    finally:
        pdf.close()
        if plumber is not None:
            plumber.close()
    if not any(isinstance(i, _Grid) or i.text.strip() for i in items):
        if scanned:
            raise CorpusError(f"{doc_id}: the PDF is a scan and OCR found no text on it; nothing to index")
        raise CorpusError(f"{doc_id}: the PDF holds no text")
    items = _without_running_heads(items)
    _mark_headings(items)
    if junk_title(title):
        title = _cover_title(items)
    _close_levels(items)
    return _compose(items, title)


def _without_running_heads(items: list) -> list:
    """Leave out page numbers and the running heads and footers printed on every page: in the
    margin band, the same words (numbers aside) on at least half the pages, or a bare page number.
    Left in, they would split a sentence that goes on over the page break."""
    pages = {i.page for i in items}

    def key(ln: _Line) -> str:
        return re.sub(r"\d+", "#", ln.text.casefold())

    edges = [i for i in items if isinstance(i, _Line) and i.edge]
    seen = Counter()
    for k, p in {(key(ln), ln.page) for ln in edges}:
        seen[k] += 1
    running = {k for k, c in seen.items() if c >= max(2, REPEATS * len(pages))}
    bare = re.compile(r"^(page\s*)?(#|(?=[ivxlc])c{0,3}(xc|xl|l?x{0,3})(ix|iv|v?i{0,3}))(\s*(of|/)\s*#)?$")
    return [i for i in items if not (isinstance(i, _Line) and i.edge and (key(i) in running or bare.match(key(i))))]


def _close_levels(items: list) -> None:
    """Heading levels without gaps (## then ###), whatever font sizes the cover used up."""
    used = sorted({i.heading for i in items if isinstance(i, _Line) and i.heading > 1})
    level = {old: 2 + k for k, old in enumerate(used)}
    for i in items:
        if isinstance(i, _Line) and i.heading > 1:
            i.heading = min(6, level[i.heading])


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


def _lines(page, n: int, outline: dict) -> tuple[list[_Line], list[Word]]:
    """The text lines of a page, in the order PDFium reads them, with their box, font size and
    whether they are wholly bold (a PDFium page: its characters are read in C, quickly). A line's
    box and size come from a few of its characters (its first, middle and last): a call per
    character into PDFium cost more than all the rest of the reading. On a page whose lines read
    like table rows (where a table without rules may stand) also every word with its box."""
    import pypdfium2.raw as raw

    tp = page.get_textpage()
    height = page.get_height()
    out: list[_Line] = []
    spans: list[tuple[int, int]] = []
    try:
        count = tp.count_chars()
        text = tp.get_text_range(0, count) if count else ""
        if len(text) != count:  # characters beyond 16 bits: one code point per index, the slow way
            text = "".join(chr(min(raw.FPDFText_GetUnicode(tp.raw, i), 0x10FFFF)) for i in range(count))
        text = _CONTROL.sub(" ", text)  # one for one: indices stay those of PDFium's characters
        for m in re.finditer(r"[^\r\n]+", text):  # PDFium ends each line it reads with a line break
            seg = m.group()
            words = seg.split()
            if not words:
                continue
            first = m.start() + len(seg) - len(seg.lstrip())
            last = m.end() - 1 - (len(seg) - len(seg.rstrip()))
            line = " ".join(words)
            probe = sorted({first, (first + last) // 2, last})
            probe = [i for i in probe if not text[i].isspace()] or [first]
            boxes = [tp.get_charbox(i, loose=True) for i in (first, last)]
            size = round(statistics.median(raw.FPDFText_GetFontSize(tp.raw, i) for i in probe), 1)
            top, bottom = height - max(b[3] for b in boxes), height - min(b[1] for b in boxes)
            bold = len(words) <= HEADING_WORDS and all(_bold(raw, tp, i) for i in probe)
            ln = _Line(n, top, bottom, min(b[0] for b in boxes), max(b[2] for b in boxes), line, size, bold,
                       edge=top < EDGE * height or bottom > (1 - EDGE) * height)
            depth = outline.get((n, _fold(line)))
            if depth is not None:
                ln.heading = 2 + min(depth, 3)
            out.append(ln)
            spans.append((m.start(), m.end()))
        words = _words(tp, text, spans, height) if _figures(out) else []
    finally:
        tp.close()
    return out, words


def _figures(lines: list[_Line]) -> bool:
    """Whether two lines at least read like a table's row: ending in two figures, or figures
    only (cells read one per line). Prose with a figure here and there costs no word boxes."""
    rows = 0
    for ln in lines:
        tokens = [t for t in ln.text.split() if t not in CURRENCY]  # "$ 94,930 $ 89,498"
        trailing = next((k for k, t in enumerate(reversed(tokens)) if not is_figure(t)), len(tokens))
        rows += trailing >= 2 or trailing == len(tokens)
        if rows >= 2:
            return True
    return False


def _words(tp, text: str, spans: list[tuple[int, int]], height: float) -> list[Word]:
    """Every word of the page's lines with its box (points from the top), from the boxes of its
    first and last characters."""
    out = []
    for a, b in spans:
        for m in re.finditer(r"\S+", text[a:b]):
            first, last = a + m.start(), a + m.end() - 1
            l0, b0, r0, t0 = tp.get_charbox(first, loose=True)
            l1, b1, r1, t1 = tp.get_charbox(last, loose=True)
            out.append(Word(min(l0, l1), height - max(t0, t1), max(r0, r1), height - min(b0, b1), m.group()))
    return out


def _bold(raw, tp, i: int) -> bool:
    import ctypes

    name = ctypes.create_string_buffer(128)
    flags = ctypes.c_int(0)
    raw.FPDFText_GetFontInfo(tp.raw, i, name, len(name), ctypes.byref(flags))
    return b"bold" in name.value.lower() or b"black" in name.value.lower() or bool(flags.value & 0x40000)


def _ruled(page) -> bool:
    """Whether a page draws enough lines or boxes to hold a ruled table."""
    import pypdfium2.raw as raw

    paths = 0
    for _ in page.get_objects(filter=(raw.FPDF_PAGEOBJ_PATH,), max_depth=2):
        paths += 1
        if paths >= 4:
            return True
    return False


def _grids(page, n: int) -> list[_Grid]:
    """pdfplumber's ruled tables of a page (two rows at least), their cells' boxes kept."""
    out = []
    for t in page.find_tables():
        if len(t.rows) < 2:
            continue
        rows = [[" ".join((c or "").split()) if c is not None else None for c in r] for r in t.extract()]
        cells = [list(r.cells) for r in t.rows]
        boxes = [[_frac(b, float(page.width), float(page.height)) for b in r] for r in cells]
        out.append(_Grid(n, t.bbox[1], rows, boxes, t.bbox))
    return out


def _aligned(words: list[Word], ruled: list[_Grid], n: int, width: float, height: float) -> list[_Grid]:
    """The page's tables of aligned figure columns (qa/ingest/pdfcolumns.py) outside its ruled
    tables, their boxes as fractions of the page."""
    return [_Grid(n, t.bbox[1], t.rows, [[_frac(b, width, height) for b in r] for r in t.boxes], t.bbox, t.head)
            for t in find_tables([w for w in words if not _within(w, ruled)])]


def _within(box: _Line | Word, grids: list[_Grid]) -> bool:
    """Whether the middle of a line or word lies in one of the tables."""
    cx, cy = (box.x0 + box.x1) / 2, (box.top + box.bottom) / 2
    return any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in (g.bbox for g in grids))


def _place(lines: list[_Line], grids: list[_Grid]) -> list[_Line | _Grid]:
    """The lines outside every table, each table put before the first line below its top."""
    if not grids:
        return list(lines)

    out: list[_Line | _Grid] = [ln for ln in lines if not _within(ln, grids)]
    for g in sorted(grids, key=lambda g: g.top):
        at = next((k for k, i in enumerate(out) if isinstance(i, _Line) and i.top >= g.top), len(out))
        out.insert(at, g)
    return out


def _frac(box, w: float, h: float) -> tuple[float, float, float, float] | None:
    """A box in points as fractions of the page's width and height."""
    if box is None:
        return None
    x0, top, x1, bottom = box
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
    """The page as a greyscale image at ``OCR_DPI`` (PDFium)."""
    return page.render(scale=OCR_DPI / 72, grayscale=True).to_pil()


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
    head = grid.head
    if head is None:  # a ruled table: its headings are the rows above the first with figures
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
