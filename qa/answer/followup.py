"""Follow-up chains: which earlier exchange a follow-up is about, and its pronouns spelt out.

A chain starts at the latest question that stands on its own ("When did the 4th meeting take
place?"); the follow-ups after it ("Who attended it?", then "Where was it held?") are about
the event that question named, however the turns in between went. So the chain's *anchor* is
the source of its first answered turn, not merely the previous turn: a declined middle turn
must not lose the event, nor a middle answer from a neighbouring sentence move it.

The reader was trained on questions that name what they ask about; "Who attended it?" read
beside the right passage still finds nothing. So a follow-up's pronouns are replaced by what
they stand for before it is read:

- he / she / his / her: the person the chain answered with (a who-question's answer), else a
  name in the chain's questions ("According to Almas Dissyukov, ..." -> "Almas Dissyukov");
- it / its: the answer when it is a name ("Silk Road diplomacy", "Turkmenistan"), else the
  noun phrase the chain's first question asked about ("the 4th meeting");
- they / their: that noun phrase when it is plural ("the countries");
- there: "in <the place>" after a where-question, else "at <the noun phrase>".

A fragment ("And Kazakhstan's?") is the chain's question with its name of the same shape
swapped ("Who was Kazakhstan's foreign minister at the 4th meeting?"). Rules, not a model:
they read only the conversation and the anchor sentence, so they work on any documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.answer.question import analyse
from qa.core.text import STOPWORDS, fold, terms, words
from qa.core.types import Turn

#: Answers that are not answers: the messages of a declined turn (qa/answer/compose.py), an
#: overview (overview.py) or a question in another language (language.py), as a client may send them.
_DECLINED = re.compile(r"^(?:The documents do not say|The question has no words|Not sure: |No single answer"
                       r"|Your question (?:looks like|is not in English))")
_DEPENDENT = re.compile(
    r"\b(it|its|they|them|their|this|that|these|those|there|he|him|his|she|her|then|the same|"
    r"that meeting|this meeting|the meeting|the event|the summit|the dialogue|the initiative)\b",
    re.IGNORECASE,
)


def needs_context(question: str) -> bool:
    """A question that leans on earlier turns: a pronoun or demonstrative, or under three content words."""
    content = [w for w in words(question) if w not in STOPWORDS]
    return bool(_DEPENDENT.search(fold(question))) or len(content) < 3


@dataclass(frozen=True)
class Exchange:
    question: str
    answer: str | None  # None: declined or missing
    source: tuple[str, int, int] | None = None


@dataclass(frozen=True)
class Chain:
    """The exchanges since the latest stand-alone question, oldest first."""

    exchanges: tuple[Exchange, ...]

    @property
    def start(self) -> Exchange:
        return self.exchanges[0]

    @property
    def anchor(self) -> tuple[str, int, int] | None:
        """The source of the chain's first answered turn (None when no turn names one)."""
        return next((e.source for e in self.exchanges if e.source is not None), None)


def exchanges(turns: list[Turn]) -> list[Exchange]:
    """User questions paired with the answer that followed each (None when there was none)."""
    out: list[Exchange] = []
    for t in turns:
        if t.role == "user" and t.content.strip():
            out.append(Exchange(t.content.strip(), None))
        elif t.role == "assistant" and out and out[-1].answer is None and out[-1].source is None:
            text = t.content.strip().splitlines()[0].strip() if t.content.strip() else ""
            answered = bool(text) and not _DECLINED.match(text)
            out[-1] = Exchange(out[-1].question, text if answered else None, t.source if answered else None)
    return out


def chain(turns: list[Turn] | None) -> Chain | None:
    """The current chain: from the latest question that stands alone to the end (None: no history)."""
    ex = exchanges(turns or [])
    if not ex:
        return None
    start = max((i for i, e in enumerate(ex) if not needs_context(e.question)), default=0)
    return Chain(tuple(ex[start:]))


# --- what the pronouns stand for ---------------------------------------------------------------

_TOKEN = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*'?")
_AUX = frozenset("is are was were do does did has have had will would can could".split())
_DETERMINERS = frozenset("the a an this that these those its their".split())


def _question_type(question: str) -> str:
    return analyse(question).qtype


def _names(question: str) -> list[str]:
    """Runs of capitalised words after the first word ("Almas Dissyukov"), longest first."""
    toks = _TOKEN.findall(question)
    runs, cur = [], []
    for n, tok in enumerate(toks):
        if n > 0 and tok[:1].isupper():
            cur.append(tok.rstrip("'"))
        else:
            if cur:
                runs.append(" ".join(cur))
            cur = []
    if cur:
        runs.append(" ".join(cur))
    return sorted(runs, key=lambda r: -len(r.split()))


def _person(answer: str) -> str:
    """The name in an answer about a person, without the title before it: the last two words of
    its longest capitalised run, three with a middle initial ("Prime Minister Sanae Takaichi of
    Japan" -> "Sanae Takaichi", "Dr. Jane Q. Smith" -> "Jane Q. Smith"). A question naming the
    title ("What's her title?") is not answerable when the title is spelt out in it."""
    runs, cur = [], []
    for m in list(_TOKEN.finditer(answer)) + [None]:
        if m is not None and m.group()[:1].isupper():
            cur.append(m)
        else:
            if cur:
                runs.append(cur)
            cur = []
    if not runs:
        return answer
    best = max(runs, key=len)
    take = 3 if len(best) >= 3 and len(best[-2].group()) == 1 else 2
    name = best[-take:]
    return answer[name[0].start():name[-1].end()].rstrip("'")


def _is_name(answer: str) -> bool:
    """A short answer that names something: capitalised (after "the"), at most six words, no digits."""
    bare = re.sub(r"^the\s+", "", answer)
    return bool(bare) and bare[:1].isupper() and len(answer.split()) <= 6 and not re.search(r"\d", answer)


def noun_phrase(question: str, about: frozenset[str] | None = None) -> str | None:
    """The noun phrase a question asks about: its first determiner (or capitalised word after
    the first) with the words that follow, up to a function word other than "of", an adverb
    in -ly, a participle in -ed or -- given ``about``, the terms of the sentence that answered
    it -- a word that sentence lacks ("the 4th meeting" of "When did the 4th meeting take place?":
    "take" is not in "The 4th meeting took place ...")."""
    toks = _TOKEN.findall(fold(question))
    begin = next((n for n, tok in enumerate(toks[1:], start=1) if tok.lower() in _DETERMINERS), None)
    if begin is None:
        begin = next((n for n, tok in enumerate(toks[1:], start=1) if tok[:1].isupper() and tok.lower() not in _AUX),
                     None)
    if begin is None:
        return None
    phrase = [toks[begin]]
    for tok in toks[begin + 1:]:
        low = tok.lower()
        if low in STOPWORDS and low != "of":
            break
        if low != "of" and (low.endswith("ly") or low.endswith("ed")):
            break
        if low != "of" and about is not None and not set(terms(tok)) <= about:
            break
        phrase.append(tok)
    while phrase and phrase[-1].lower() == "of":
        phrase.pop()
    if not any(w.lower() not in STOPWORDS for w in phrase):
        return None
    if phrase[0].lower() in ("this", "that", "these", "those"):  # "that meeting" -> "the meeting"
        phrase[0] = "the"
    return " ".join(phrase)


MAX_REFERENT_WORDS = 8


@dataclass(frozen=True)
class Referents:
    person: str | None
    thing: str | None
    things: str | None  # plural: "they", "their"
    place: str | None  # what "there" becomes ("in Tashkent", "at the 4th meeting")
    where: str | None = None  # the place a where-question's answer named ("Astana, Kazakhstan")


def referents(ch: Chain, about: frozenset[str] | None = None) -> Referents:
    """What the pronouns of a follow-up in chain ``ch`` stand for (``about``: the terms of the
    anchor sentence, which bound the noun phrase)."""
    person = None
    for e in reversed(ch.exchanges):  # the latest person the chain answered with
        if e.answer and _question_type(e.question) == "who" and _names(e.answer):
            person = _person(e.answer)
            break
    if person is None:
        person = next((n for e in reversed(ch.exchanges) for n in _names(e.question)), None)
    start = ch.start
    kind = _question_type(start.question)
    phrase = noun_phrase(start.question, about)
    thing = start.answer if start.answer and kind in ("what", "which", "other") and _is_name(start.answer) \
        else phrase
    things = phrase if phrase and phrase.split()[-1].lower().endswith(("s", "s'")) else None
    where = start.answer if kind == "where" else None
    if where:
        place = f"in {where}"
    else:
        place = f"at {phrase}" if phrase else None
    # a referent is a name or a short phrase: a long one (a client's made-up history) stays unused
    refs = [r if r and len(r.split()) <= MAX_REFERENT_WORDS else None for r in (person, thing, things, place, where)]
    return Referents(*refs)


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


_PRONOUN = re.compile(r"\b(he|she|him|his|hers|her|it|its|they|them|their|there)\b(\s*[\w-]*)", re.IGNORECASE)
_EXISTENTIAL = re.compile(r"\b(?:is|are|was|were)\s+there\s+\w", re.IGNORECASE)


# "at that meeting", "with respect to that group's influence": a demonstrative after a preposition
_DEMONSTRATIVE = re.compile(r"\b(of|at|in|on|from|with|to|about|during|after|before|for) (?:that|this) "
                            r"(?!(?:is|was|are|were|the|a|an|one)\b)([a-z][\w-]*)\b", re.IGNORECASE)


def spell_out(question: str, refs: Referents) -> str:
    """``question`` with its pronouns replaced by their referents (those without one stay); a
    demonstrative ("that meeting") becomes the event: "the meeting in Astana" after a
    where-question, else the thing the chain named."""
    def demonstrative(m: re.Match) -> str:
        if refs.where:
            return f"{m.group(1)} the {m.group(2)} in {refs.where}"
        return f"{m.group(1)} {refs.thing}" if refs.thing else m.group(0)

    question = _DEMONSTRATIVE.sub(demonstrative, question)
    existential = _EXISTENTIAL.search(question)

    def sub(m: re.Match) -> str:
        word, rest = m.group(1).lower(), m.group(2)
        followed = bool(rest.strip())
        if word in ("he", "she", "him", "hers") or (word == "her" and not followed):
            new = refs.person
        elif word in ("his", "her"):
            new = refs.person and _possessive(refs.person)
        elif word == "it":
            new = refs.thing
        elif word == "its":
            new = refs.thing and _possessive(refs.thing)
        elif word in ("they", "them"):
            new = refs.things
        elif word == "their":
            new = refs.things and _possessive(refs.things)
        else:  # there: not the existential "was there a guest"
            new = None if existential else refs.place
        return f"{new}{rest}" if new else m.group(0)

    return _PRONOUN.sub(sub, question)


#: "And who came for Turkmenistan?": the reader was trained on questions that open with the question.
_CONNECTIVE = re.compile(r"^\s*(?:and|so|but|also|ok|okay|then)\b[,\s]*(?=\w)", re.IGNORECASE)
_BARE = re.compile(r"^\s*(?:and\s+)?(why|how|when|where)\s*\??\s*$", re.IGNORECASE)
_WH_PHRASE = re.compile(r"^\s*(?:(?:which|what)\s+[\w-]+|who)\s+", re.IGNORECASE)
_FRAGMENT = re.compile(r"^\s*(?:and|what about|how about)\s+(.+?)\s*\??\s*$", re.IGNORECASE)


def _shape(tok: str) -> str | None:
    if re.search(r"\d", tok):
        return "number"
    if tok[:1].isupper():
        return "possessive" if re.search(r"['\u2019]s?$", tok) else "name"
    return None


def fill_fragment(question: str, ch: Chain) -> str:
    """"And Kazakhstan's?" after "Who was Turkmenistan's foreign minister ...?": the chain's
    question with its word of the same shape (a possessive name, a name, a number) swapped; a
    bare "Why?" asks about the chain's question told as a statement with its answer."""
    bare = _BARE.match(question)
    start = ch.start
    if bare and start.answer and _is_name(start.answer):
        # "Why?" after "Which country participates only as an observer?" (Turkmenistan):
        # "Why Turkmenistan participates only as an observer?"
        told, n = _WH_PHRASE.subn(f"{start.answer} ", start.question, count=1)
        if n:
            return f"{bare.group(1).capitalize()} {told}"
    m = _FRAGMENT.match(question)
    if not m:
        return question
    frag = _TOKEN.findall(m.group(1))
    if not frag or len(frag) > 3 or any(_shape(t) is None for t in frag):
        return question
    shape = _shape(frag[-1])
    base = ch.start.question
    toks = list(_TOKEN.finditer(base))
    for tok in toks[1:]:
        if _shape(tok.group()) == shape:
            return base[:tok.start()] + " ".join(frag) + base[tok.end():]
    return question


@dataclass(frozen=True)
class Resolved:
    question: str  # the follow-up with its pronouns spelt out (the question itself when none)
    anchor: tuple[str, int, int] | None  # where the chain's event is told
    context: str  # the chain's words, added to the retrieval query


def resolve(question: str, turns: list[Turn] | None, source_text=None) -> Resolved:
    """How a follow-up is read: spelt out, anchored to its chain's first answered turn, with the
    chain's words for retrieval. A question that stands alone (or has no history) is left as it is.

    ``source_text`` turns a source (doc, start, end) into the sentence it points at."""
    ch = chain(turns)
    if ch is None or not needs_context(question):
        return Resolved(question, None, "")
    anchor = ch.anchor
    anchor_text = source_text(anchor) if anchor is not None and source_text is not None else ""
    about = frozenset(terms(anchor_text)) if anchor_text else None
    spelt = fill_fragment(question, ch)
    if spelt == question:
        spelt = _CONNECTIVE.sub("", spell_out(question, referents(ch, about)))
        spelt = spelt[:1].upper() + spelt[1:]
    last = ch.exchanges[-1]
    said = " ".join(dict.fromkeys(
        [ch.start.question, ch.start.answer or "", anchor_text, last.question, last.answer or ""]))
    context = " ".join(dict.fromkeys(w for w in words(said) if w not in STOPWORDS))
    return Resolved(spelt, anchor, context)
