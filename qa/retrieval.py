"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates, scored per sentence and fused.

Sentences are the unit of ranking because an answer is a sentence or a span inside one; chunks
are the unit of citation because a reader wants the surrounding context. Each candidate
sentence gets these signals, all in [0, 1]:

  dense        cosine of the question and the sentence (embedded with its title/section)
  chunk_dense  best cosine of the question and a chunk holding the sentence (context)
  lexical      BM25 of the question over "section + sentence", divided by the best BM25
  coverage     share of the question's content terms found in the sentence or its section
               (for a follow-up, its own terms: the borrowed topic may sit one sentence back)
  window       share of all query terms over the previous sentence too ("During this
               meeting, ..." needs it)
  entity       share of the question's names and numbers found in that window
  type_match   1 when the sentence holds a span of the kind asked for (a date for "when")
               that the question does not already contain
  novelty      share of the sentence's own terms that the question does not already use: a
               sentence that only restates the question ("On 5 June 2006 a meeting was held
               in Tokyo.") carries no answer, while the next one ("There, ... agreed") does
  cue          1 for a "why" question and a sentence with a reason cue ("because", "due to",
               "in order to", ...), or a "list" question and a list item / list introduction

``fusion="weighted"`` ranks by the weighted sum (weights in Settings.fusion_weights, chosen
on the dev set with ``qa eval --tune-fusion``); ``fusion="rrf"`` ranks by reciprocal rank
fusion of the dense and lexical rankings only, the classic baseline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .config import Settings
from .index import Index
from .question import QuestionAnalysis
from .spans import find_spans
from .text import fold, prefix_match, terms, words

SIGNALS = ("dense", "chunk_dense", "lexical", "coverage", "window", "entity", "type_match", "novelty", "cue")
_REASON = re.compile(
    r"\b(because|due to|owing to|thanks to|since|as a result|so that|in order to|with the aim|aim of|"
    r"the goal|to help|to promote|to encourage|maintaining|given|reasons?|why|for the projects)\b",
    re.IGNORECASE,
)


@dataclass
class Scored:
    sentence: int  # id into Index.sentences
    score: float
    signals: dict[str, float]


@dataclass
class Retrieved:
    ranked: list[Scored]  # best first
    oov: float  # share of the question's content terms that occur nowhere in the corpus
    head_oov: float  # 1.0 when the question's first content term occurs nowhere in the corpus
    dense_top: int | None  # best sentence by dense score alone
    lexical_top: int | None  # best sentence by BM25 alone
    chunk_scores: dict[int, float] = field(default_factory=dict)


def _share(wanted, have: set[str]) -> float:
    wanted = list(wanted)
    if not wanted:
        return 0.0
    return sum(1 for t in wanted if prefix_match(t, have)) / len(wanted)


def type_match(text: str, expected: str | None, question_words: set[str]) -> float:
    """1.0 when ``text`` holds a span of the ``expected`` kind not already in the question."""
    if expected in (None, "reason", "list"):
        return 0.0
    for span in find_spans(text, expected):
        span_words = set(words(text[span.start:span.end]))
        if span_words and not span_words <= question_words:
            return 1.0
    return 0.0


def _novelty(sentence_terms: set[str], question_terms: set[str]) -> float:
    if not sentence_terms:
        return 0.0
    return sum(1 for t in sentence_terms if not prefix_match(t, question_terms)) / len(sentence_terms)


def _cue(index: Index, i: int, qtype: str) -> float:
    sent = index.sentences[i]
    if qtype == "why":
        return 1.0 if _REASON.search(fold(sent.text)) else 0.0
    if qtype == "list":
        return 1.0 if sent.is_list_item or sent.text.rstrip().endswith(":") else 0.0
    return 0.0


def retrieve(index: Index, qvec: np.ndarray, analysis: QuestionAnalysis, settings: Settings) -> Retrieved:
    n_sent = len(index.sentences)
    k = min(settings.candidates, n_sent)
    qterms = list(analysis.terms)
    qwords = set(words(analysis.text))
    q = qvec.reshape(-1)

    d_scores, d_ids = index.sentence_vectors.search(qvec, k)
    dense = {int(i): float(s) for s, i in zip(d_scores, d_ids) if i >= 0}
    c_scores, c_ids = index.chunk_vectors.search(qvec, min(settings.candidates, len(index.chunks)))
    chunk_dense = {int(i): float(s) for s, i in zip(c_scores, c_ids) if i >= 0}

    bm25 = index.lexical.scores(qterms)
    if len(bm25) > k:  # partial sort: O(n) instead of sorting every sentence
        top = np.argpartition(-bm25, k - 1)[:k]
        top = top[np.lexsort((top, -bm25[top]))]
    else:
        top = np.argsort(-bm25, kind="stable")
    lex_order = [int(i) for i in top[:k] if bm25[i] > 0]

    cands: dict[int, None] = dict.fromkeys(list(dense) + lex_order)
    for ci in list(chunk_dense)[:5]:  # sentences of the best chunks, for context-only matches
        first, last = index.chunk_sentences[ci]
        cands.update(dict.fromkeys(range(first, last)))

    max_bm25 = float(bm25.max()) if len(bm25) else 0.0
    dense_rank = {i: r for r, i in enumerate(dense)}
    lex_rank = {i: r for r, i in enumerate(lex_order)}
    weights = settings.fusion_weights
    qset = set(qterms)
    focus = list(analysis.focus_terms)
    sent_terms = index.sentence_terms

    ranked = []
    for i in cands:
        sent = index.sentences[i]
        if i not in dense:
            dense[i] = float(index.sentence_vectors.reconstruct(i) @ q)
        cd = 0.0
        for ci in index.sentence_chunks[i]:
            if ci not in chunk_dense:
                chunk_dense[ci] = float(index.chunk_vectors.reconstruct(ci) @ q)
            cd = max(cd, chunk_dense[ci])
        own = sent_terms(i)
        prev = i - 1 if i > 0 and index.sentences[i - 1].doc_id == sent.doc_id else None
        window = own | sent_terms(prev) if prev is not None else own
        sig = {
            "dense": max(0.0, dense[i]),
            "chunk_dense": max(0.0, cd),
            "lexical": float(bm25[i]) / max_bm25 if max_bm25 > 0 else 0.0,
            "coverage": _share(focus, own),
            "window": _share(qterms, window),
            "entity": _share(analysis.entities, window) if analysis.entities else 1.0,
            "type_match": type_match(sent.text, analysis.expected_span, qwords),
            "novelty": _novelty(sent_terms(i, with_section=False), qset),
            "cue": _cue(index, i, analysis.qtype),
        }
        if settings.fusion == "rrf":
            score = sum(1.0 / (settings.rrf_k + 1 + r[i]) for r in (dense_rank, lex_rank) if i in r)
        else:
            score = sum(weights.get(name, 0.0) * value for name, value in sig.items())
        ranked.append(Scored(i, score, sig))
    ranked.sort(key=lambda s: (-s.score, s.sentence))

    oov = sum(1 for t in set(qterms) if not index.lexical.knows(t)) / len(set(qterms)) if qterms else 1.0
    head = next(iter(analysis.focus_terms), None)
    return Retrieved(
        ranked=ranked,
        oov=oov,
        head_oov=1.0 if head is not None and not index.lexical.knows(head) else 0.0,
        dense_top=next(iter(dense_rank), None),
        lexical_top=lex_order[0] if lex_order else None,
        chunk_scores=chunk_dense,
    )
