"""Conversation history as the surfaces send it, and the retrieval query of a follow-up.

"Who chaired it?" after "When was the first summit?" has nothing to search for on its own.
Without an LLM, the robust move is to spell out its pronouns and append the content words of
its chain's turns (qa/answer/followup.py) when the new question looks dependent: it uses a
pronoun or a demonstrative, or it has fewer than three content words. The question type still
comes from the new question alone, so "Who" stays a who-question.
"""

from __future__ import annotations

import html
import re

from qa.answer.followup import needs_context, resolve  # noqa: F401 (needs_context: re-exported)
from qa.core.types import Turn


def rewrite(question: str, history: list[Turn] | None, source_text=None) -> str:
    """The query to retrieve with: the question with its pronouns spelt out, plus the words of
    its chain (qa/answer/followup.py) when it needs context.

    The context is the chain's first question and answer, the last one, and -- when an answer
    says where it came from (``Turn.source``, resolved to text by ``source_text``) -- the
    sentence the chain's first answer was copied from: "Who attended it?" after "When was the
    dialogue declared?" is about the declaration that sentence describes, not about whatever
    else mentions the dialogue."""
    r = resolve(question, history, source_text)
    return f"{r.question} {r.context}".strip() if r.context else r.question


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
