"""The document view (``GET /doc/<id>?start=&end=``): a whole indexed document rendered as a
document -- headings, paragraphs, lists and tables as such, where each PDF page starts -- with
the cited sentence highlighted and scrolled to, so a reader can check a source in place. Every
source card, the widget's and the API's citations link here. For a PDF it also shows the cited
page itself as an image with the passage marked on it (qa/surfaces/pdfpage.py).

The text comes from the index (never from a path the request names) and every piece of it is
HTML-escaped: a document's markup is shown as text, never run. ``?original=1`` downloads the
file it was extracted from; ``?image=N`` is page N of a PDF as a PNG."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from qa.core.types import Document, Table
from qa.ingest.chunking import _blocks
from qa.surfaces.view import pages_label

_STYLE = """
body{margin:0;background:#f9fafb;color:#111827;font:16px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
main{max-width:760px;margin:0 auto;padding:20px 18px 80px;background:#fff;min-height:100vh}
main.with-page{max-width:1480px;display:grid;grid-template-columns:minmax(0,760px) minmax(0,1fr);gap:28px;align-items:start}
@media (max-width:1100px){main.with-page{display:block;max-width:760px}}
h1{font-size:22px;line-height:1.3;margin:0 0 4px}
h2{font-size:19px;margin:22px 0 6px}h3{font-size:17px;margin:18px 0 4px}h4,h5,h6{font-size:16px;margin:14px 0 4px}
.meta{color:#6b7280;font-size:13px;margin:0 0 16px;overflow-wrap:anywhere}
.meta a{color:#1d4ed8}
.text p,.text li{overflow-wrap:anywhere}
.page{display:block;margin:14px 0 4px;color:#6b7280;font-size:12px;border-top:1px dashed #d1d5db;padding-top:4px}
span.page{display:inline;border:0;margin:0 4px;padding:0 4px;background:#f3f4f6;border-radius:3px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:14px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:right;vertical-align:top}
thead th{background:#f3f4f6}
tbody th{text-align:left;font-weight:600}
.scroll{overflow-x:auto}
mark{background:#fef08a;color:inherit;padding:2px 0;border-radius:2px;scroll-margin-top:30vh}
td.hit{background:#fef08a}
figure{margin:0;position:sticky;top:12px}
figcaption{color:#6b7280;font-size:13px;margin:0 0 6px}
.sheet{position:relative;border:1px solid #d1d5db;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.sheet img{display:block;width:100%;height:auto}
.sheet .box{position:absolute;background:rgba(250,204,21,.35);outline:2px solid #ca8a04;border-radius:2px}
"""

_HEAD_MARKS = re.compile(r"^\ufeff?\s*(#{1,6}|={1,6})\s*(.*?)\s*(?:=*|#*)\s*$")


def _shell(title: str, body: str, wide: bool = False) -> str:
    main = '<main class="with-page">' if wide else "<main>"
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
            f'<style>{_STYLE}</style></head><body>{main}{body}</main></body></html>')


def message(text: str) -> str:
    return _shell("Document", f"<p>{html.escape(text)}</p>")


class _Writer:
    """The document's text as HTML, cut where pages start and where the highlight begins and ends."""

    def __init__(self, doc: Document, start: int | None, end: int | None):
        self.doc, self.start, self.end = doc, start, end
        self.pages = list(enumerate(doc.pages, start=1))
        self.next_page = 0  # index into self.pages of the next page mark to write
        self.marked = False
        self.out: list[str] = []

    def pages_before(self, pos: int) -> None:
        """Page marks for every page that starts at or before ``pos`` (between blocks)."""
        while self.next_page < len(self.pages) and self.pages[self.next_page][1] <= pos:
            n = self.pages[self.next_page][0]
            self.out.append(f'<div class="page" id="page-{n}">page {n}</div>')
            self.next_page += 1

    def inline(self, a: int, b: int) -> str:
        """``text[a:b]`` escaped, a page that starts inside it marked in place, the highlight marked."""
        cuts = {a, b}
        cuts.update(p for _, p in self.pages[self.next_page:] if a < p < b)
        if self.start is not None:
            cuts.update(x for x in (self.start, self.end) if a < x < b)
        cuts = sorted(cuts)
        parts = []
        for x, y in zip(cuts, cuts[1:]):
            while self.next_page < len(self.pages) and self.pages[self.next_page][1] <= x:
                n = self.pages[self.next_page][0]
                parts.append(f'<span class="page" id="page-{n}">page {n}</span>')
                self.next_page += 1
            piece = html.escape(" ".join(self.doc.text[x:y].split("\n")))
            parts.append(self.mark(piece) if self.hit(x, y) else piece)
        return "".join(parts)

    def hit(self, a: int, b: int) -> bool:
        return self.start is not None and self.start <= a and b <= self.end

    def mark(self, piece: str) -> str:
        if not piece.strip():
            return piece
        first = not self.marked
        self.marked = True
        return f'<mark id="passage">{piece}</mark>' if first else f"<mark>{piece}</mark>"

    def heading(self, a: int, b: int) -> None:
        for line in self.doc.text[a:b].splitlines():
            m = _HEAD_MARKS.match(line)
            if not line.strip() or not m:
                continue
            title = m.group(2).strip("=# ").strip()
            level = len(m.group(1))
            if level == 1 and title == self.doc.title:
                continue  # the title is the page's <h1>
            self.out.append(f"<h{min(6, max(2, level))}>{html.escape(title)}</h{min(6, max(2, level))}>")

    def table(self, t: Table) -> None:
        hits = {(c[0], c[1]) for c in t.cells if self.start is not None and c[2] < self.end and self.start < c[3]}
        rows = ["<thead><tr>" + "".join(f'<th scope="col">{html.escape(h)}</th>' for h in t.columns) + "</tr></thead>"]
        body = []
        for i, row in enumerate(t.rows):
            cells = [f'<th scope="row">{html.escape(row[0] if row else "")}</th>']
            for j, value in enumerate(row[1:], start=1):
                shown = html.escape(value)
                if (i, j) in hits:
                    cells.append(f'<td class="hit">{self.mark(shown)}</td>')
                else:
                    cells.append(f"<td>{shown}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        rows.append("<tbody>" + "".join(body) + "</tbody>")
        self.out.append(f'<div class="scroll"><table>{"".join(rows)}</table></div>')

    def body(self) -> str:
        doc = self.doc
        tables = sorted(doc.tables, key=lambda t: t.start)
        done: set[int] = set()
        prev = 0
        for sec in doc.sections:
            if sec.start > prev:
                self.pages_before(prev)
                self.heading(prev, sec.start)
            items: list[str] = []
            for bstart, bend, is_item in _blocks(doc.text, sec.start, sec.end):
                t = next((k for k, t in enumerate(tables) if t.start <= bstart < t.end), None)
                if not is_item and items:
                    self.out.append("<ul>" + "".join(items) + "</ul>")
                    items = []
                self.pages_before(bstart)
                if t is not None:
                    if t not in done:
                        done.add(t)
                        self.table(tables[t])
                    continue
                if is_item:
                    items.append(f"<li>{self.inline(bstart, bend)}</li>")
                elif doc.text[bstart:bend].strip():
                    self.out.append(f"<p>{self.inline(bstart, bend)}</p>")
            if items:
                self.out.append("<ul>" + "".join(items) + "</ul>")
            prev = sec.end
        self.pages_before(len(doc.text))
        return "".join(self.out)


def figure(doc: Document, page_no: int, boxes: list, token: str = "") -> str:
    """The cited page as an image, the passage's boxes laid over it (fractions of the page)."""
    marks = "".join(
        f'<span class="box" style="left:{100 * x0:.2f}%;top:{100 * top:.2f}%;'
        f'width:{100 * (x1 - x0):.2f}%;height:{100 * (bottom - top):.2f}%"></span>'
        for x0, top, x1, bottom in boxes)
    said = "the passage marked" if boxes else "the passage could not be placed on the image"
    return (f'<figure class="pdfpage" aria-label="page {page_no} of the PDF"><figcaption>Page {page_no} as printed, '
            f'{said}</figcaption><div class="sheet"><img src="/doc/{quote(doc.id)}?image={page_no}{_signed(token)}" '
            f'alt="page {page_no} of {html.escape(doc.title)}" loading="lazy">{marks}</div></figure>')


def _signed(token: str) -> str:
    """The access token a link of this page carries on (qa/surfaces/access.py), HTML-escaped."""
    return f"&amp;t={quote(token)}" if token else ""


def page(doc: Document, start: int | None, end: int | None, pdf_page: tuple[int, list] | None = None,
         token: str = "") -> str:
    """The document view; ``pdf_page`` (page number, passage boxes) adds the cited page's image;
    ``token``: the access token its own links (original, page image) need."""
    if start is None or end is None or not 0 <= start < end <= len(doc.text):
        start = end = None
    text_html = _Writer(doc, start, end).body()
    pages_here = pages_label(*doc.page_span(start, end)) if start is not None else ""
    where = f" · {pages_here}" if pages_here else ""
    original = (f' · <a href="/doc/{quote(doc.id)}?original=1{_signed(token)}">download the original</a>'
                if doc.kind != "text" else "")
    meta = html.escape(doc.id) + where + original
    article = (f"<article><h1>{html.escape(doc.title)}</h1><p class=\"meta\">{meta}</p>"
               f"<div class=\"text\">{text_html}</div></article>")
    if pdf_page is None:
        return _shell(doc.title, article)
    return _shell(doc.title, article + figure(doc, *pdf_page, token=token), wide=True)
