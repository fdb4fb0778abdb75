"""A cited PDF page as an image (pypdfium2) and the boxes of the cited passage on it, so the
document view shows the page itself with the passage marked where it stands.

The boxes are exact: a table cell's box was kept when the table was read (``Table.cells``); a
sentence is found among the page's own characters (pdfplumber), word by word, and marked line by
line. A scanned page has no characters to find: its image is shown without marks.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from qa.core.types import Document

#: Rendering scale: 1.5 x 72 dpi, an A4 page about 890 pixels wide (sharp beside the text).
SCALE = 1.5
#: The longest side of a rendered page in pixels: a PDF may declare a page of any size.
MAX_PIXELS_SIDE = 2000
#: Words of a sentence looked for on the page: enough to be unique, few enough to stay quick.
MAX_WORDS = 60

Box = tuple[float, float, float, float]  # x0, top, x1, bottom as fractions of the page


def render_png(path: Path, page: int) -> bytes | None:
    """Page ``page`` (1-based) of the PDF at ``path`` as PNG bytes; None when there is no such page."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except Exception:  # the file changed into something unreadable since it was indexed
        return None
    try:
        if not 1 <= page <= len(pdf):
            return None
        sheet = pdf[page - 1]
        scale = min(SCALE, MAX_PIXELS_SIDE / max(1.0, *sheet.get_size()))
        image = sheet.render(scale=scale).to_pil()
    except Exception:
        return None
    finally:
        pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def passage_boxes(path: Path, doc: Document, page: int, start: int, end: int) -> list[Box]:
    """Where ``doc.text[start:end]`` stands on ``page``: its table cells' boxes, else one box per
    line of the characters that spell it (only the part of it on that page)."""
    cells = [tuple(c[4:8]) for t in doc.tables if t.page == page for c in t.cells
             if c[2] < end and start < c[3] and c[6] > c[4]]
    if cells:
        return cells
    lo = max(start, doc.pages[page - 1]) if page - 1 < len(doc.pages) else start
    hi = min(end, doc.pages[page]) if page < len(doc.pages) else end
    words = doc.text[lo:hi].split()[:MAX_WORDS]
    if not words:
        return []
    import pdfplumber

    # between words any white space, or none where a line ended in a hyphen that joined them
    pattern = r"\s*".join(re.escape(w) for w in words)
    try:
        with pdfplumber.open(path) as pdf:
            if not 1 <= page <= len(pdf.pages):
                return []
            p = pdf.pages[page - 1]
            found = p.search(pattern, regex=True, case=True, return_chars=True)
            width, height = float(p.width), float(p.height)
    except Exception:  # an unreadable file: the page is shown without marks
        return []
    if not found:
        return []
    lines: dict[int, list[float]] = {}
    for ch in found[0]["chars"]:
        key = round(ch["top"])
        box = lines.setdefault(key, [ch["x0"], ch["top"], ch["x1"], ch["bottom"]])
        box[0], box[1] = min(box[0], ch["x0"]), min(box[1], ch["top"])
        box[2], box[3] = max(box[2], ch["x1"]), max(box[3], ch["bottom"])
    return [(round(x0 / width, 4), round(top / height, 4), round(x1 / width, 4), round(bottom / height, 4))
            for x0, top, x1, bottom in lines.values()]
