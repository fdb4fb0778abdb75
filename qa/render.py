"""Answers rendered for people: Markdown for the chat, with every piece of corpus or user
text escaped so that ``<script>`` or ``<img onerror=...>`` inside a document or a question
is shown as text and never runs. Only our own tags (``<mark>``) are emitted unescaped."""

from __future__ import annotations

import html
import re

from .types import Answer, Citation

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def escape(text: str) -> str:
    """Make arbitrary text inert in Markdown-with-HTML: HTML-escape, then escape Markdown."""
    # quote=False: quotes are harmless outside tags, and "&#x27;" would then be Markdown-escaped
    # into visible text ("parties&#x27; views").
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _excerpt(c: Citation, answer: Answer, is_answer_source: bool) -> str:
    """The citation text, whitespace collapsed, with the supporting sentence in <mark>."""
    text = c.text
    if c.highlight_start is None or not (c.start <= c.highlight_start < c.highlight_end <= c.end):
        return escape(" ".join(text.split()))
    hs, he = c.highlight_start - c.start, c.highlight_end - c.start
    before, mid, after = text[:hs], text[hs:he], text[he:]
    if is_answer_source and answer.answer_start is not None and c.start <= answer.answer_start and answer.answer_end <= c.end:
        # Bold the answer span inside the highlighted sentence.
        a0, a1 = answer.answer_start - c.start - hs, answer.answer_end - c.start - hs
        if 0 <= a0 < a1 <= len(mid) and (a1 - a0) < len(mid.strip()):
            mid_html = f"{escape(mid[:a0])}<strong>{escape(mid[a0:a1])}</strong>{escape(mid[a1:])}"
        else:
            mid_html = escape(mid)
    else:
        mid_html = escape(mid)
    squash = lambda s: " ".join(s.split())  # noqa: E731
    sep_b = " " if before[-1:].isspace() else ""
    sep_a = " " if after[:1].isspace() else ""
    return f"{escape(squash(before))}{sep_b}<mark>{' '.join(mid_html.split())}</mark>{sep_a}{escape(squash(after))}"


def to_markdown(answer: Answer) -> str:
    """The chat message: the answer (or the abstention), confidence, then numbered sources."""
    lines = []
    if answer.abstained:
        lines.append(f"**{escape(answer.message or 'The corpus does not say.')}**")
    else:
        lines.append(f"**{escape(' '.join(answer.text.split()))}**")
    note = ""
    if answer.uncertain and not answer.abstained:
        note = f" — {escape(answer.message or 'Not sure: check the sources below.')}"
    lines.append(f"\n*Confidence {answer.score:.0%}{note}*")
    if answer.citations:
        lines.append("\n**Sources**" if not answer.abstained else "\n**Closest passages**")
    for c in answer.citations:
        where = escape(c.title) + (f" › {escape(c.section)}" if c.section else "")
        is_src = not answer.abstained and answer.answer_citation == c.n
        lines.append(f"\n{c.n}\\. *{where}* — `{html.escape(c.doc)}` (score {c.score:.2f})\n")
        lines.append(f"> {_excerpt(c, answer, is_src)}")
    return "\n".join(lines)
