"""Training examples for the reader: a question, a passage, and where in it the answer lies (or
that it does not lie there).

A passage is a window of whole sentences, like the ones the pipeline reads at serving time (the
sentence retrieval found, with its neighbours). Besides each question's own window, the reader
must learn that a passage does not answer, so some questions also get a negative:

- ``paragraph``: a window of the same paragraph that leaves the answer's sentences out;
- ``article``: the sentence of another paragraph of the same article that shares the most
  (IDF-weighted) words with the question, with its neighbours: the near misses retrieval makes;
- ``swap``: the question with one of its names or numbers that the passage states replaced by
  another of the same shape from the article, over the original window (the "looks answerable"
  questions of SQuAD 2.0);
- ``removed``: the question's own window with the answer (and a preposition or article just before
  it) cut out of its sentence: every other word the question shares with the passage stays, so
  only the missing answer tells it apart -- the hardest people-written kind, where the passage
  talks about exactly what is asked but never says it;
- ``negated``: the question with "not" after its verb ("What is not the largest city...") over a
  window that states no negation, SQuAD 2.0's negation kind.

The last three follow the kinds of unanswerable question Rajpurkar, Jia and Liang (2018) counted in
SQuAD 2.0 (entity swap, negation, and questions whose answer the passage lacks).

A negative window never contains the answer text. Everything is drawn from one seeded RNG, so a
seed gives the same examples.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass

from qa.ingest.chunking import split_paragraph
from qa.core.text import terms
from qa.reader.squad import Article
from qa.reader.windows import grow

KINDS = ("positive", "paragraph", "article", "swap", "removed", "negated", "unanswerable")


@dataclass(frozen=True)
class Example:
    question: str
    passage: str
    answer: tuple[int, int] | None  # character span in ``passage``; None: the passage does not answer
    kind: str


def sentence_spans(text: str) -> list[tuple[int, int]]:
    return list(split_paragraph(text, 0, len(text))) or [(0, len(text))]


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


_CAPS = re.compile(r"(?<![\w'])[A-Z][\w'’.-]*(?:\s+(?:of|the|de|du|von|van|der|and|y|la|le)?\s*[A-Z][\w'’-]*)*")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")


def _mentions(text: str) -> list[tuple[str, str]]:
    """(kind, surface) of the names and numbers in ``text``; a name at the very start of a
    question is usually just its first word, so it is skipped."""
    out = [("number", m.group()) for m in _NUMBER.finditer(text)]
    out += [("name", m.group().rstrip(".")) for m in _CAPS.finditer(text) if m.start() > 0]
    return out


@dataclass
class _ArticleIndex:
    """IDF-weighted term sets of an article's sentences, for the hard ``article`` negatives."""

    sentences: list[tuple[int, int, frozenset[str]]]  # (paragraph, sentence number, terms)
    idf: dict[str, float]
    names: list[str]
    numbers: list[str]

    @classmethod
    def of(cls, article: Article, spans: list[list[tuple[int, int]]]) -> "_ArticleIndex":
        sents, df = [], Counter()
        names, numbers = set(), set()
        for p, (para, sp) in enumerate(zip(article.paragraphs, spans)):
            for k, (s, e) in enumerate(sp):
                ts = frozenset(terms(para.context[s:e]))
                sents.append((p, k, ts))
                df.update(ts)
                for kind, surface in _mentions(para.context[s:e]):  # per sentence: not its first word
                    (names if kind == "name" else numbers).add(surface)
        n = len(sents)
        idf = {t: math.log(1 + n / c) for t, c in df.items()}
        return cls(sents, idf, sorted(names), sorted(numbers))

    def _overlap(self, question_terms: frozenset[str], sentence_terms: frozenset[str]) -> float:
        return sum(self.idf.get(t, 0.0) for t in question_terms & sentence_terms)

    def best_within(self, question_terms: frozenset[str], paragraph: int) -> int:
        """The sentence of ``paragraph`` with the best IDF overlap with the question (the first on a tie)."""
        scored = [(self._overlap(question_terms, ts), k) for p, k, ts in self.sentences if p == paragraph]
        return max(scored, key=lambda x: x[0])[1]

    def best_elsewhere(self, question_terms: frozenset[str], paragraph: int) -> list[tuple[int, int]]:
        """(paragraph, sentence) of other paragraphs, best IDF overlap with the question first."""
        scored = [(self._overlap(question_terms, ts), p, k) for p, k, ts in self.sentences if p != paragraph]
        scored.sort(key=lambda x: -x[0])
        return [(p, k) for score, p, k in scored[:5] if score > 0]


def _swap(question: str, passage: str, index: _ArticleIndex, rng: random.Random) -> str | None:
    """The question with a name or number that the passage states replaced by another one of the
    article that the passage does not state; None when there is none to swap."""
    mentions = [(k, s) for k, s in _mentions(question) if s in passage]
    if not mentions:
        return None
    kind, surface = rng.choice(mentions)
    if kind == "number":
        pool = [n for n in index.numbers if n not in passage and len(n) == len(surface) and n != surface]
        if not pool and surface.isdigit():
            value = int(surface) + rng.choice([-1, 1]) * rng.randint(1, 30)
            pool = [str(value)] if value > 0 and str(value) not in passage else []
    else:
        words = len(surface.split())
        pool = [n for n in index.names if n not in passage and len(n.split()) == words and n.lower() != surface.lower()
                and n.lower() not in question.lower()]
    if not pool:
        return None
    return question.replace(surface, rng.choice(pool), 1)


_BEFORE = re.compile(r"(?:\b(?:in|on|at|by|of|from|to|for|with|about|as|the|a|an)\s+)+$", re.I)
_NEGATION = re.compile(r"\b(?:not|no|never|none|neither|nor|without)\b|n't", re.I)
# a question whose wh-word is its subject, followed by "be"/"have"/a modal and a determiner or a
# lower-case word: "not" after the verb negates it ("Who was the first..." -> "Who was not the first...")
_NEGATABLE = re.compile(r"^((?:who|what|which(?:\s+[a-z]+)?)\s+(?:is|was|are|were|has|had|have|can|could|will|would))"
                        r"\s+(?=(?:the|a|an|one|[a-z]+ed)\b)")


def _removed(passage: str, span: tuple[int, int], answer_text: str) -> str | None:
    """``passage`` with the answer at ``span`` (and a preposition or article just before it) cut out;
    None when the answer is stated again elsewhere or too little of its sentence would remain."""
    start, end = span
    before = _BEFORE.search(passage[:start])
    cut = before.start() if before else start
    text = (passage[:cut].rstrip() + " " + passage[end:].lstrip()).strip()
    text = re.sub(r"\s*\(\s*[,;]?\s*\)", "", text)  # brackets the answer filled alone
    text = re.sub(r"\s+([,.;:)]|'s\b)", r"\1", text)
    wanted = _norm(answer_text)
    if not wanted or wanted in _norm(text) or len(text) < 0.6 * len(passage):
        return None
    return text


def _negated(question: str, passage: str) -> str | None:
    """The question negated after its verb, or None when its form is not one that is safe to negate
    or the passage negates anything (it might then answer the negated question)."""
    if _NEGATION.search(question) or _NEGATION.search(passage):
        return None
    found = _NEGATABLE.match(question[0].lower() + question[1:])
    if not found:
        return None
    return question[:found.end(1)] + " not " + question[found.end():]


def make_examples(articles: list[Article], seed: int = 13, negative_rate: float = 0.55,
                  budget: tuple[int, int] = (200, 650), progress: bool = False) -> list[Example]:
    """Every answerable question's own window, plus one negative for a ``negative_rate`` share
    of them (its kind drawn by ``NEGATIVE_MIX``, falling back to another kind where one cannot be
    made)."""
    rng = random.Random(seed)
    out: list[Example] = []
    arts = articles
    if progress:
        from tqdm import tqdm

        arts = tqdm(articles, desc="Making examples", unit="article")
    for art in arts:
        spans = [sentence_spans(p.context) for p in art.paragraphs]
        index = _ArticleIndex.of(art, spans)
        for p, para in enumerate(art.paragraphs):
            sp = spans[p]
            for q in para.questions:
                if not q.answers:
                    continue
                text, a_start = q.answers[0]
                a_end = a_start + len(text)
                lo = next(k for k, (s, e) in enumerate(sp) if e > a_start)
                hi = next((k for k, (s, e) in enumerate(sp) if e >= a_end), len(sp) - 1)
                w_lo, w_hi = grow(sp, lo, hi, rng.randint(*budget), rng)
                w_start, w_end = sp[w_lo][0], sp[w_hi][1]
                passage = para.context[w_start:w_end]
                out.append(Example(q.text, passage, (a_start - w_start, a_end - w_start), "positive"))
                if rng.random() < negative_rate:
                    neg = _negative(art, spans, index, p, (lo, hi), q.text, text, passage,
                                    (a_start - w_start, a_end - w_start), budget, rng)
                    if neg is not None:
                        out.append(neg)
    rng.shuffle(out)
    return out


#: How often each kind of negative is drawn (falling back to the others where it cannot be made).
NEGATIVE_MIX = {"paragraph": 25, "article": 30, "swap": 15, "removed": 20, "negated": 10}


def _negative(art, spans, index, p, answer_sentences, question, answer_text, passage, answer_span, budget,
              rng) -> Example | None:
    wanted = _norm(answer_text)
    first = rng.choices(list(NEGATIVE_MIX), weights=list(NEGATIVE_MIX.values()))[0]
    for kind in [first] + [k for k in ("article", "paragraph", "removed", "swap", "negated") if k != first]:
        if kind == "removed":
            text = _removed(passage, answer_span, answer_text)
            if text is not None:
                return Example(question, text, None, "removed")
            continue
        if kind == "negated":
            negated = _negated(question, passage)
            if negated is not None:
                return Example(negated, passage, None, "negated")
            continue
        if kind == "swap":
            swapped = _swap(question, passage, index, rng)
            if swapped is not None:
                return Example(swapped, passage, None, "swap")
            continue
        if kind == "paragraph":
            sp = spans[p]
            lo, hi = answer_sentences
            # a window entirely before or entirely after the answer's sentences
            sides = [(0, lo - 1)] if lo > 0 else []
            sides += [(hi + 1, len(sp) - 1)] if hi < len(sp) - 1 else []
            if not sides:
                continue
            a, b = rng.choice(sides)
            k = rng.randint(a, b)
            w_lo, w_hi = grow(sp[a:b + 1], k - a, k - a, rng.randint(*budget), rng)
            text = art.paragraphs[p].context[sp[a + w_lo][0]:sp[a + w_hi][1]]
        else:
            found = index.best_elsewhere(frozenset(terms(question)), p)
            if not found:
                continue
            op, k = found[0] if rng.random() < 0.7 else rng.choice(found)
            sp = spans[op]
            w_lo, w_hi = grow(sp, k, k, rng.randint(*budget), rng)
            text = art.paragraphs[op].context[sp[w_lo][0]:sp[w_hi][1]]
        if wanted and wanted in _norm(text):
            continue
        return Example(question, text, None, kind)
    return None


def unanswerable_examples(articles: list[Article], seed: int = 13, budget: tuple[int, int] = (200, 650)) -> list[Example]:
    """Examples from questions that people wrote to look answerable while their paragraph does not
    answer them (SQuAD 2.0's ``is_impossible``): each over two windows of its paragraph, the one
    around the sentence sharing the most (IDF-weighted) words with the question (the one retrieval
    would serve) and one drawn at random, both pointing at "no answer"."""
    rng = random.Random(seed)
    out: list[Example] = []
    for art in articles:
        spans = [sentence_spans(p.context) for p in art.paragraphs]
        index = _ArticleIndex.of(art, spans)
        for p, para in enumerate(art.paragraphs):
            sp = spans[p]
            for q in para.questions:
                if q.answers:
                    continue
                closest = index.best_within(frozenset(terms(q.text)), p)
                for k in dict.fromkeys([closest, rng.randrange(len(sp))]):
                    lo, hi = grow(sp, k, k, rng.randint(*budget), rng)
                    out.append(Example(q.text, para.context[sp[lo][0]:sp[hi][1]], None, "unanswerable"))
    rng.shuffle(out)
    return out
