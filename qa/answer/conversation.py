"""Conversation history as the surfaces send it: dicts, ``Turn`` objects, (user, assistant)
pairs or the chat's rendered answer cards, read into ``Turn`` objects with the source each
answer came from. What a follow-up makes of them is qa/answer/followup.py.
"""

from __future__ import annotations

import html
import re

from qa.core.types import Turn

_CARD_SOURCE = re.compile(r'data-qa-source="([^"]*)"')
_CARD_HEADLINE = re.compile(r'<p class="qa-headline[^"]*">(.*?)(?:<a |</p>)', re.S)
_TAG = re.compile(r"<[^>]+>")


def from_card(content: str) -> tuple[str, tuple[str, int, int] | None]:
    """An answer as the chat shows it (qa/surfaces/render.py ``to_html``): its headline as text, and the
    source it records. Other text is returned as it is."""
    if 'class="qa-answer' not in content:
        return content, None
    if 'class="qa-answer is-overview' in content or 'class="qa-answer is-language' in content:
        return "", None  # no answer to refer back to
    m = _CARD_HEADLINE.search(content)
    text = html.unescape(_TAG.sub("", m.group(1))).strip() if m else ""
    source = None
    s = _CARD_SOURCE.search(content)
    if s:
        doc, _, rest = html.unescape(s.group(1)).rpartition("|")
        doc, _, start = doc.rpartition("|")
        if doc and start.isdigit() and rest.isdigit():
            source = (doc, int(start), int(rest))
    return text, source


def parse_history(raw) -> list[Turn]:
    """Accept [{"role", "content"}] dicts, Turn objects or (user, assistant) pairs."""
    turns: list[Turn] = []
    for item in raw or []:
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, dict):
            role = item.get("role")
            content = item.get("content")
            if isinstance(content, list):  # gradio may send [{"type": "text", "text": ...}]
                content = " ".join(str(c.get("text", "")) if isinstance(c, dict) else str(c) for c in content)
            if role in ("user", "assistant") and isinstance(content, str):
                source = _source_field(item.get("source")) if role == "assistant" else None
                if role == "assistant":
                    content, carded = from_card(content)
                    source = source or carded
                turns.append(Turn(role, content, source))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            if isinstance(item[0], str):
                turns.append(Turn("user", item[0]))
            if isinstance(item[1], str):
                turns.append(Turn("assistant", item[1]))
    return turns


def _source_field(raw) -> tuple[str, int, int] | None:
    """``{"doc", "start", "end"}`` of an API history turn, when well formed."""
    if isinstance(raw, dict) and isinstance(raw.get("doc"), str):
        start, end = raw.get("start"), raw.get("end")
        if isinstance(start, int) and isinstance(end, int) and not isinstance(start, bool):
            return raw["doc"], start, end
    return None
