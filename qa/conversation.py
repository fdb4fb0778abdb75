"""Follow-up questions: carry the topic of earlier turns into the retrieval query.

"Who chaired it?" after "When was the first summit?" has nothing to search for on its own.
Without an LLM, the robust move is to append the content words of the previous user turn
(and of the answer it got) when the new question looks dependent: it uses a pronoun or a
demonstrative, or it has fewer than three content words. The question type still comes from
the new question alone, so "Who" stays a who-question.
"""

from __future__ import annotations

import re

from .text import STOPWORDS, fold, words
from .types import Turn

_DEPENDENT = re.compile(
    r"\b(it|its|they|them|their|this|that|these|those|there|he|him|his|she|her|then|the same|"
    r"that meeting|this meeting|the meeting|the event|the summit|the dialogue|the initiative)\b",
    re.IGNORECASE,
)


def needs_context(question: str) -> bool:
    content = [w for w in words(question) if w not in STOPWORDS]
    return bool(_DEPENDENT.search(fold(question))) or len(content) < 3


def rewrite(question: str, history: list[Turn] | None) -> str:
    """The query to retrieve with: the question, plus earlier context when it needs some."""
    if not history or not needs_context(question):
        return question
    last_user = next((t.content for t in reversed(history) if t.role == "user" and t.content.strip()), "")
    last_answer = next((t.content for t in reversed(history) if t.role == "assistant" and t.content.strip()), "")
    # Only the first line of the previous answer (the answer itself, not its sources).
    last_answer = last_answer.strip().splitlines()[0] if last_answer.strip() else ""
    context = " ".join(w for w in words(f"{last_user} {last_answer}") if w not in STOPWORDS)
    return f"{question} {context}".strip() if context else question


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
                turns.append(Turn(role, content))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            if isinstance(item[0], str):
                turns.append(Turn("user", item[0]))
            if isinstance(item[1], str):
                turns.append(Turn("assistant", item[1]))
    return turns
