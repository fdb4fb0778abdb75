"""The one renderer of an answer: ``to_html(view)`` for every web surface (the Gradio chat at
``/``, its iframe and web-component embeds, and the floating widget, which gets it from the
API), ``to_text(view)`` for the terminal. Both draw the same ``qa.surfaces.view.AnswerView``; the styles
are ``qa/surfaces/static/answer.css``, loaded by the chat page and inside the widget's shadow root.

Every piece of corpus or user text is HTML-escaped, and none of it becomes a link, script or
markup: the only tags and attributes are our own, the only links point at this server's
document view (``/doc/...``) and at the answer's own source card.
"""

from __future__ import annotations

import hashlib
import html
import re

from qa.surfaces.view import AnswerView, Segment, SourceView, display_headline

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>:@])")
_MD_ESCAPED = re.compile(r"\\" + _MD_SPECIAL.pattern)


def escape(text: str) -> str:
    """Make arbitrary text inert in Markdown-with-HTML (the few Markdown places left: the chat's
    description, the admin pages): HTML-escape, then escape Markdown, ":" and "@" included so
    that GFM does not autolink "https://..." or "name@example.com"."""
    # quote=False: quotes are harmless outside tags, and "&#x27;" would then be Markdown-escaped
    # into visible text ("parties&#x27; views").
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def unescape(text: str) -> str:
    """The inverse of ``escape``."""
    return html.unescape(_MD_ESCAPED.sub(r"\1", text))


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _segments(segments: tuple[Segment, ...]) -> str:
    out = []
    for s in segments:
        if s.kind == "answer":
            out.append(f"<mark><strong>{_e(s.text)}</strong></mark>")
        elif s.kind == "support":
            out.append(f"<mark>{_e(s.text)}</mark>")
        else:
            out.append(_e(s.text))
    return "".join(out).replace("</mark><mark>", "")


def _card(src: SourceView, uid: str, open_passage: bool) -> str:
    where = _e(src.title) + (f" <span class=\"qa-sep\">›</span> {_e(src.section)}" if src.section else "")
    page = f" · {src.pages}" if src.pages else ""
    longer = src.passage != src.sentence
    passage = (f'<details class="qa-more"{" open" if open_passage else ""}><summary>Whole passage</summary>'
               f'<blockquote class="qa-passage">{_segments(src.passage)}</blockquote></details>') if longer else ""
    return (f'<li id="qa-{uid}-{src.n}" class="qa-card{" qa-supports" if src.supports else ""}">'
            f'<div class="qa-where"><span class="qa-n" aria-label="Source {src.n}">{src.n}</span>'
            f'<span class="qa-title">{where}</span></div>'
            f'<blockquote class="qa-sentence">{_segments(src.sentence)}</blockquote>{passage}'
            f'<div class="qa-foot"><a class="qa-open" href="{_e(src.link)}">Open in the document</a>'
            f'<span class="qa-doc">{_e(src.doc)}{page}</span></div></li>')


def to_html(v: AnswerView, uid: str | None = None, source: tuple[str, int, int] | None = None) -> str:
    """The answer card. ``uid`` keeps the ids of several answers on one page apart; ``source``
    (doc, start, end of the supporting sentence) is recorded for follow-up questions."""
    # ids from the content, so the same answer renders the same (a test can compare it, a cache keep it)
    uid = uid or hashlib.blake2b(f"{v.headline}|{[s.link for s in v.sources]}".encode(), digest_size=4).hexdigest()
    src_attr = f' data-qa-source="{_e(f"{source[0]}|{source[1]}|{source[2]}")}"' if source else ""
    parts = [f'<div class="qa-answer is-{v.kind}"{src_attr}>']
    if v.read_as:
        parts.append(f'<p class="qa-read-as">Read as: <span class="qa-read-as-text">{_e(v.read_as)}</span></p>')
    if v.kind == "overview":
        parts.append(f'<p class="qa-headline qa-overview-label">{_e(v.headline)}</p>')
        parts.append(f'<p class="qa-confidence"><span class="qa-note">{_e(v.note)}</span></p>')
        cited = {s.n for s in v.sources}
        for p in v.points:
            ref = (f'<a class="qa-ref" href="#qa-{uid}-{p.cite}" aria-label="Go to source {p.cite}">[{p.cite}]</a>'
                   if p.cite in cited else "")
            parts.append(f'<p class="qa-point">{_e(p.text)}{ref}</p>')
    elif v.kind == "answer":
        ref = (f'<a class="qa-ref" href="#qa-{uid}-{v.cite}" aria-label="Go to source {v.cite}">[{v.cite}]</a>'
               if v.cite is not None and any(s.n == v.cite for s in v.sources) else "")
        cap = " qa-cap" if v.capitalise else ""  # a capital by style: the text stays as copied
        parts.append(f'<p class="qa-headline{cap}">{_e(v.headline)}{ref}</p>')
        cls = "qa-unsure" if v.confidence_label != "Likely" else "qa-likely"
        note = f' <span class="qa-note">{_e(v.note)}</span>' if v.note else ""
        parts.append(f'<p class="qa-confidence {cls}"><span class="qa-label" title="Confidence '
                     f'{v.confidence_percent}%">{_e(v.confidence_label)}</span>{note}</p>')
    else:
        parts.append(f'<p class="qa-headline qa-declined-text">{_e(v.headline)}</p>')
        if v.note:
            parts.append(f'<p class="qa-confidence qa-unsure"><span class="qa-note">{_e(v.note)}</span></p>')
    if v.sources:
        parts.append(f'<p class="qa-sources-label">{_e(v.sources_label)}</p><ol class="qa-sources">')
        parts += [_card(s, uid, False) for s in v.sources]
        parts.append("</ol>")
    parts.append("</div>")
    return "".join(parts)


def message_html(text: str, kind: str = "notice") -> str:
    """A plain message in the answer's place (still indexing, a question too long, an error)."""
    return f'<div class="qa-answer is-{kind}"><p class="qa-headline qa-message">{_e(text)}</p></div>'


def to_text(v: AnswerView) -> str:
    """The answer for a terminal: the same parts, in lines."""
    lines = [f"(read as: {v.read_as})"] if v.read_as else []
    if v.kind == "overview":
        lines.append(f"{v.headline}: {v.note}")
        lines += [f"- {p.text} [{p.cite}]" for p in v.points]
    elif v.kind == "answer":
        ref = f" [{v.cite}]" if v.cite is not None else ""
        lines.append(f"{display_headline(v)}{ref}")
        lines.append(f"({v.confidence_label}, {v.confidence_percent}%{'; ' + v.note if v.note else ''})")
    else:
        lines.append(v.headline + (f" {v.note}" if v.note else ""))
    if v.sources:
        lines.append("")
        lines.append(f"{v.sources_label}:")
    for s in v.sources:
        where = s.title + (f" › {s.section}" if s.section else "")
        lines.append(f"[{s.n}] {where} ({s.doc}{f', {s.pages}' if s.pages else ''})")
        lines.append("    " + "".join(seg.text for seg in s.sentence))
    return "\n".join(lines)
