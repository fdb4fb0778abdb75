"""The document view (``GET /doc/<id>?start=&end=``): a whole indexed document, its cited passage
highlighted and scrolled to, so a reader can check a source in place. Every source card, the
widget's and the API's citations link here. The text comes from the index (never from a path
the request names), HTML-escaped, with its headings shown as headings and, for a PDF, where
each page starts; ``?original=1`` downloads the file it was extracted from."""

from __future__ import annotations

import html
from urllib.parse import quote

from qa.core.types import Document
from qa.surfaces.view import pages_label

_STYLE = """
body{margin:0;background:#f9fafb;color:#111827;font:16px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
main{max-width:760px;margin:0 auto;padding:20px 18px 80px;background:#fff;min-height:100vh}
h1{font-size:22px;line-height:1.3;margin:0 0 4px}
.meta{color:#6b7280;font-size:13px;margin:0 0 16px;overflow-wrap:anywhere}
.text{white-space:pre-wrap;overflow-wrap:anywhere}
.head{display:block;font-weight:700;font-size:18px;margin-top:8px}
.page{display:block;margin:12px 0 4px;color:#6b7280;font-size:12px;border-top:1px dashed #d1d5db;padding-top:4px}
.meta a{color:#1d4ed8}
mark{background:#fef08a;color:inherit;padding:2px 0;border-radius:2px;scroll-margin-top:30vh}
"""


def _shell(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
            f'<style>{_STYLE}</style></head><body><main>{body}</main></body></html>')


def message(text: str) -> str:
    return _shell("Document", f"<p>{html.escape(text)}</p>")


def page(doc: Document, start: int | None, end: int | None, token: str = "") -> str:
    text = doc.text
    if start is None or end is None or not 0 <= start < end <= len(text):
        start = end = None
    # heading lines (outside every section body) are shown as headings
    body_ranges = [(s.start, s.end) for s in doc.sections]
    pages = {p: n for n, p in enumerate(doc.pages, start=1)}
    cuts = sorted({0, len(text), *(p for r in body_ranges for p in r), *((start, end) if start is not None else ()),
                   *pages})
    parts = []
    for a, b in zip(cuts, cuts[1:]):
        if a in pages:
            parts.append(f'<span class="page" id="page-{pages[a]}">page {pages[a]}</span>')
        piece = html.escape(text[a:b])
        in_body = any(s <= a and b <= e for s, e in body_ranges)
        if not in_body and piece.strip():
            piece = f'<span class="head">{piece.strip()}</span>\n'
        if start is not None and start <= a and b <= end:
            piece = f"<mark>{piece}</mark>"
        parts.append(piece)
    html_text = "".join(parts)
    if start is not None:  # one anchor at the passage's first mark
        html_text = html_text.replace("<mark>", '<mark id="passage">', 1)
    pages_here = pages_label(*doc.page_span(start, end)) if start is not None else ""
    where = f" · {pages_here}" if pages_here else ""
    signed = f"&amp;t={quote(token)}" if token else ""  # the link's access token (qa/surfaces/access.py)
    original = (f' · <a href="/doc/{quote(doc.id)}?original=1{signed}">download the original</a>'
                if doc.kind != "text" else "")
    meta = html.escape(doc.id) + where + original
    return _shell(doc.title, f"<h1>{html.escape(doc.title)}</h1><p class=\"meta\">{meta}</p>"
                             f"<div class=\"text\">{html_text}</div>")
