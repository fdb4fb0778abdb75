"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates, scored per sentence and fused.

Sentences are the unit of ranking because an answer is a sentence or a span inside one; chunks
are the unit of citation because a reader wants the surrounding context. Each candidate
sentence gets these signals, all in [0, 1]:

  dense        cosine of the question and the sentence (embedded with its title/section)
  chunk_dense  best cosine of the question and a chunk holding the sentence (context)
  lexical      BM25 of the question over "section + sentence", divided by the best BM25
  coverage     share of the question's content terms found in the sentence or its section
  type_match   1 when the sentence holds a span of the kind the question asks for

``fusion="weighted"`` ranks by the weighted sum (weights in Settings.fusion_weights, chosen
on the dev set with ``qa eval``); ``fusion="rrf"`` ranks by reciprocal rank fusion of the
dense and lexical rankings only, the classic baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import Settings
from .index import Index
from .question import QuestionAnalysis
from .spans import find_spans
from .text import terms

SIGNALS = ("dense", "chunk_dense", "lexical", "coverage", "type_match")


@dataclass
class Scored:
    sentence: int  # id into Index.sentences
    score: float
    signals: dict[str, float]


@dataclass
class Retrieved:
    ranked: list[Scored]  # best first
    oov: float  # share of the question's content terms that occur nowhere in the corpus
    dense_top: int | None  # best sentence by dense score alone
    lexical_top: int | None  # best sentence by BM25 alone
    chunk_scores: dict[int, float] = field(default_factory=dict)


def _has_type(text: str, expected: str | None) -> float:
    if expected in (None, "reason", "list"):
        return 0.0
    return 1.0 if find_spans(text, expected) else 0.0


def retrieve(index: Index, qvec: np.ndarray, analysis: QuestionAnalysis, settings: Settings) -> Retrieved:
    n_sent = len(index.sentences)
    k = min(settings.candidates, n_sent)
    qterms = list(analysis.terms)

    d_scores, d_ids = index.sentence_vectors.search(qvec, k)
    dense = {int(i): float(s) for s, i in zip(d_scores, d_ids) if i >= 0}
    c_scores, c_ids = index.chunk_vectors.search(qvec, min(settings.candidates, len(index.chunks)))
    chunk_dense = {int(i): float(s) for s, i in zip(c_scores, c_ids) if i >= 0}

    bm25 = index.lexical.scores(qterms)
    lex_order = np.argsort(-bm25, kind="stable")[:k]
    lex_order = [int(i) for i in lex_order if bm25[i] > 0]

    cands: dict[int, None] = dict.fromkeys(list(dense) + lex_order)
    for ci in list(chunk_dense)[:5]:  # sentences of the best chunks, for context-only matches
        first, last = index.chunk_sentences[ci]
        cands.update(dict.fromkeys(range(first, last)))

    max_bm25 = float(bm25.max()) if len(bm25) else 0.0
    qset = set(qterms)
    dense_rank = {i: r for r, i in enumerate(dense)}
    lex_rank = {i: r for r, i in enumerate(lex_order)}
    weights = settings.fusion_weights
    ranked = []
    for i in cands:
        sent = index.sentences[i]
        if i not in dense:
            dense[i] = float(index.sentence_vectors.reconstruct(i) @ qvec.reshape(-1))
        cd = 0.0
        for ci in index.sentence_chunks[i]:
            if ci not in chunk_dense:
                chunk_dense[ci] = float(index.chunk_vectors.reconstruct(ci) @ qvec.reshape(-1))
            cd = max(cd, chunk_dense[ci])
        sig = {
            "dense": max(0.0, dense[i]),
            "chunk_dense": max(0.0, cd),
            "lexical": float(bm25[i]) / max_bm25 if max_bm25 > 0 else 0.0,
            "coverage": len(qset & set(terms(f"{sent.section} {sent.text}"))) / len(qset) if qset else 0.0,
            "type_match": _has_type(sent.text, analysis.expected_span),
        }
        if settings.fusion == "rrf":
            score = sum(1.0 / (settings.rrf_k + 1 + r[i]) for r in (dense_rank, lex_rank) if i in r)
        else:
            score = sum(weights.get(name, 0.0) * value for name, value in sig.items())
        ranked.append(Scored(i, score, sig))
    ranked.sort(key=lambda s: (-s.score, s.sentence))

    vocab = index.vocab
    oov = sum(1 for t in qset if t not in vocab) / len(qset) if qset else 1.0
    return Retrieved(
        ranked=ranked,
        oov=oov,
        dense_top=next(iter(dense_rank), None),
        lexical_top=lex_order[0] if lex_order else None,
        chunk_scores=chunk_dense,
    )
