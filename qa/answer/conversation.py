"""Follow-up questions: carry the topic of earlier turns into the retrieval query.

"Who chaired it?" after "When was the first summit?" has nothing to search for on its own.
Without an LLM, the robust move is to append the content words of the previous user turn
(and of the answer it got) when the new question looks dependent: it uses a pronoun or a
demonstrative, or it has fewer than three content words. The question type still comes from
the new question alone, so "Who" stays a who-question.
"""

from __future__ import annotations

import html
import re

from qa.core.text import STOPWORDS, fold, words
from qa.core.types import Turn

_DEPENDENT = re.compile(
    r"\b(it|its|they|them|their|this|that|these|those|there|he|him|his|she|her|then|the same|"
    r"that meeting|this meeting|the meeting|the event|the summit|the dialogue|the initiative)\b",
    re.IGNORECASE,
)


def needs_context(question: str) -> bool:
    content = [w for w in words(question) if w not in STOPWORDS]
    return bool(_DEPENDENT.search(fold(question))) or len(content) < 3


def rewrite(question: str, history: list[Turn] | None, source_text=None) -> str:
    """The query to retrieve with: the question, plus earlier context when it needs some.

    The context is the previous question and answer, and -- when the answer says where it came
    from (``Turn.source``, resolved to text by ``source_text``) -- the sentence it was copied
    from: "Who attended it?" after "When was the dialogue declared?" is about the declaration
    that sentence describes, not about whatever else mentions the dialogue."""
    if not history or not needs_context(question):
        return question
    last_user = next((t.content for t in reversed(history) if t.role == "user" and t.content.strip()), "")
    answer = next((t for t in reversed(history) if t.role == "assistant" and t.content.strip()), None)
    # Only the first line of the previous answer (the answer itself, not its sources).
    last_answer = answer.content.strip().splitlines()[0] if answer else ""
    if answer is not None and answer.source is not None and source_text is not None:
        last_answer = f"{last_answer} {source_text(answer.source)}"
    context = " ".join(dict.fromkeys(w for w in words(f"{last_user} {last_answer}") if w not in STOPWORDS))
    return f"{question} {context}".strip() if context else question


_CARD_SOURCE = re.compile(r'data-qa-source="([^"]*)"')
_CARD_HEADLINE = re.compile(r'<p class="qa-headline[^"]*">(.*?)(?:<a |</p>)', re.S)
_TAG = re.compile(r"<[^>]+>")


def from_card(content: str) -> tuple[str, tuple[str, int, int] | None]:
    """An answer as the chat shows it (qa/surfaces/render.py ``to_html``): its headline as text, and the
    source it records. Other text is returned as it is."""
    if 'class="qa-answer' not in content:
        return content, None
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
