"""Open questions ("tell me about Aso", "describe the dialogue", "what is the SCO?"): a short
cited overview instead of a decline.

The reader answers with a span, and an open question has none to find: it used to get "the
documents do not say" above the very passages about its topic. The overview is the best-ranked
sentences that name the whole topic -- at most ``MAX_POINTS``, one per paragraph, each cited --
marked as an overview, not as an answer. An explicit request ("tell me about", "describe",
"explain", "overview of") always gets one; a definition ("what is X?") or a bare topic ("Aso?")
only where the reader declines.

Only when retrieval is sure the passages are about the topic: every content term of the topic
("aso"; "silk road diplomacy") occurs in the sentence or the one before it, and such a sentence
is among the ``WITHIN`` best ranked. Otherwise the question is declined as before.
"""

from __future__ import annotations

import re

from qa.answer.retrieval import Retrieved
from qa.answer.terms import terms_of
from qa.core.text import QUESTION_WORDS, STOPWORDS, fold, terms, words
from qa.core.types import Answer, Citation, OverviewPoint
from qa.index.store import Index

MAX_POINTS = 3
WITHIN = 3  # a sentence about the topic must rank among the best three
OVERVIEW_MESSAGE = "No single answer: here is what the documents say about it."

_OPEN = re.compile(
    r"^(?:(?:please|can you|could you|would you)\s+)*(?:"
    r"(?:tell|talk|teach)\s+(?:me|us)\s+(?:(?:a\s+(?:bit|little)\s+)?more\s+|something\s+|all\s+|everything\s+)?about"
    r"|what\s+(?:do|does|can)\s+(?:you|the\s+documents?|it)\s+(?:know|say|tell\s+(?:me|us))\s+about"
    r"|(?:describe|explain|summari[sz]e|outline|introduce)"
    r"|(?:give|show)\s+(?:me|us)\s+(?:an?\s+)?(?:overview|summary|description|introduction|outline)\s+(?:of|on|about)"
    r"|(?:an?\s+)?(?:overview|summary|description)\s+(?:of|on|about)"
    r"|(?:info|information|background|more)\s+(?:on|about)"
    r")\s+(?P<topic>.+?)\s*[?.!]*$",
    re.IGNORECASE,
)
# "What is the SCO?", "Who was Aso?": a definition -- but not "What is the capital of Mongolia?",
# "What is Tokayev's role?" or "What was reaffirmed ...": those ask for one thing
# (words are separated by spaces: a pattern that may split one long word in several ways
# backtracks exponentially on hostile input)
_DEFINITION = re.compile(r"^(?:what|who)\s+(?:is|are|was|were)\s+(?P<topic>[^\s']+(?:\s+(?!of\b)[^\s']+){0,3})"
                         r"\s*[?.!]*$", re.IGNORECASE)
MAX_TOPIC_WORDS = 6  # a longer topic asks something specific, not for an overview
_POINTERS = frozenset("he she it its they them their him her his this that these those now then".split())


def open_topic(question: str, bare: bool = True) -> tuple[str, bool] | None:
    """(topic, explicit) of an open question, or None: ("Aso", True) for "tell me about Aso";
    ("the SCO", False) for "What is the SCO?"; with ``bare``, a lone name or phrase without a
    question word ("Aso?") too. An explicit request gets an overview even where the reader found
    a span ("Tell me about the 4th meeting" is not answered by "Tokyo"); the others only
    instead of a decline."""
    q = " ".join(fold(question).split())
    m = _OPEN.match(q)
    explicit = m is not None
    if not m:
        m = _DEFINITION.match(q)
    if m:
        topic = m.group("topic")
    elif bare and 0 < len(q.rstrip("?!. ").split()) <= 4 and not set(words(q)) & QUESTION_WORDS:
        topic = q.rstrip("?!. ")
    else:
        return None
    if not explicit and re.search(r"\w(?:ed|en)$", topic.strip()):  # "What was reaffirmed", "... chosen"
        return None
    topic = re.sub(r"^(?:the|a|an)\s+", "", topic.strip(" \"'?!."), flags=re.IGNORECASE)
    content = [w for w in words(topic) if w not in STOPWORDS]
    if not content or len(topic.split()) > MAX_TOPIC_WORDS or set(words(topic)) & _POINTERS:
        return None  # "What is he now?" asks about someone earlier, not for an overview of "he"
    return topic, explicit


def overview(index: Index, retrieved: Retrieved, topic: str, answer: Answer) -> Answer | None:
    """``answer`` (a decline) turned into an overview of ``topic``, or None when retrieval is not
    sure its best passages are about it."""
    wanted = set(terms(topic))
    if not wanted:
        return None
    cached = terms_of(index)
    about = [s for s in retrieved.ranked if wanted <= cached.window(s.sentence)]
    if not about or retrieved.ranked.index(about[0]) >= WITHIN:
        return None
    # The sentences that name the topic themselves first: where the topic is a document's title,
    # retrieval counts its words for every sentence of that document, so one that only follows
    # such a sentence ("Dr. Smith chaired the signing.") may rank above it.
    about.sort(key=lambda s: not wanted <= cached.sentence(s.sentence))
    picked, paragraphs = [], []
    for s in about:
        if any(index.same_paragraph(min(p, s.sentence), max(p, s.sentence)) for p in paragraphs):
            continue
        picked.append(s)
        paragraphs.append(s.sentence)
        if len(picked) >= MAX_POINTS:
            break
    answer.kind = "overview"
    answer.message = OVERVIEW_MESSAGE
    answer.abstained, answer.text, answer.answer_citation = True, None, None  # not an answer
    answer.answer_start = answer.answer_end = None
    answer.uncertain = False
    answer.citations = []
    answer.overview = []
    for n, s in enumerate(picked, start=1):
        sent = index.sentences[s.sentence]
        ci = max(index.sentence_chunks[s.sentence], key=lambda c: retrieved.chunk_scores.get(c, -1.0))
        chunk, doc = index.chunks[ci], index.documents[sent.doc_id]
        start, end = min(chunk.start, sent.start), max(chunk.end, sent.end)
        page, page_end = doc.page_span(start, end)
        answer.citations.append(Citation(
            n=n, doc=sent.doc_id, title=doc.title, section=chunk.section, start=start, end=end,
            text=doc.text[start:end], score=round(float(s.score), 4), highlight_start=sent.start,
            highlight_end=sent.end, page=page, page_end=page_end))
        answer.overview.append(OverviewPoint(sent.text.strip(), n))
    return answer
