"""Hybrid retrieval: dense and lexical (BM25) candidates from the index's search backend, scored per sentence and fused.

Sentences are the unit of ranking because an answer lies in a sentence and the reader reads the
best ones with their neighbours (qa/answer/read.py); chunks are the unit of citation because a reader
wants the surrounding context. Each candidate sentence gets these signals, all in [0, 1]:

  dense        cosine of the question and the sentence (embedded with its title/section)
  chunk_dense  best cosine of the question and a chunk holding the sentence (context)
  lexical      BM25 of the question over "section + sentence", divided by the best BM25
  coverage     share of the question's content terms found in the sentence or its section
               (for a follow-up, its own terms: the borrowed topic may sit one sentence back)
  entity       share of the question's names and numbers found in the sentence or the one
               before it ("During this meeting, ..." needs it)
  novelty      share of the sentence's own terms that the question does not already use: a
               sentence that only restates the question carries no answer

``fusion="weighted"`` ranks by the weighted sum (weights in Settings.fusion_weights);
``fusion="rrf"`` ranks by reciprocal rank fusion of the dense and lexical rankings only, the
classic baseline. The signals that looked for answer types, reasons, lists, additions and event
frames are gone: with the reader they did not earn their keep on held-out articles
(docs/quality.md, ablation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qa.core.config import Settings
from qa.answer.terms import terms_of
from qa.index.backend import Where
from qa.index.store import Index
from qa.answer.question import QuestionAnalysis

SIGNALS = ("dense", "chunk_dense", "lexical", "coverage", "entity", "novelty")


@dataclass
class Scored:
    sentence: int  # id into Index.sentences
    score: float
    signals: dict[str, float]


@dataclass
class Retrieved:
    ranked: list[Scored]  # best first
    chunk_scores: dict[int, float] = field(default_factory=dict)


def _share(expanded: list[frozenset[str]], have: frozenset[str]) -> float:
    """Share of the wanted terms (each given as its ``LexicalIndex.matches`` set) that ``have``
    matches: ``qa.core.text.prefix_match`` per term, as one set intersection test each."""
    if not expanded:
        return 0.0
    return sum(1 for m in expanded if not m.isdisjoint(have)) / len(expanded)


def retrieve(index: Index, qvec: np.ndarray, analysis: QuestionAnalysis, settings: Settings,
             where: Where | None = None) -> Retrieved:
    """Rank the sentences for a question; with ``where``, only those of its collections."""
    n_sent = len(index.sentences)
    k = min(settings.candidates, n_sent)
    qterms = list(analysis.terms)
    q = qvec.reshape(-1)
    search = index.search

    d_scores, d_ids = search.dense("sentence", qvec, k, where)
    dense = {int(i): float(s) for s, i in zip(d_scores, d_ids)}
    c_scores, c_ids = search.dense("chunk", qvec, min(settings.candidates, len(index.chunks)), where)
    chunk_dense = {int(i): float(s) for s, i in zip(c_scores, c_ids)}

    hits = search.lexical(qterms, k, where)
    lex_order = [int(i) for i in hits.ids]

    cands: dict[int, None] = dict.fromkeys(list(dense) + lex_order)
    for ci in list(chunk_dense)[:5]:  # sentences of the best chunks, for context-only matches
        first, last = index.chunk_sentences[ci]
        cands.update(dict.fromkeys(range(first, last)))

    bm25 = dict(zip(lex_order, hits.scores))
    others = [i for i in cands if i not in bm25]
    bm25.update(zip(others, hits.scores_of(others)))
    max_bm25 = float(hits.scores[0]) if len(hits.scores) else 0.0
    dense_rank = {i: r for r, i in enumerate(dense)}
    lex_rank = {i: r for r, i in enumerate(lex_order)}
    weights = settings.fusion_weights
    # Each question term becomes the set of corpus terms it matches (prefix forms included),
    # once per question; every per-sentence test below is then a set operation in C.
    matches = index.vocabulary.matches
    q_sets = [matches(t) for t in qterms]
    focus_sets = [matches(t) for t in analysis.focus_terms]
    entity_sets = [matches(t) for t in analysis.entities]
    q_union = frozenset().union(*q_sets)
    cached = terms_of(index)
    sent_terms = cached.sentence
    missing = [i for i in cands if i not in dense]
    if missing:
        for i, v in zip(missing, search.vectors("sentence", missing) @ q):
            dense[i] = float(v)
    # the chunks of the candidates that chunk search did not return, scored in one fetch
    unseen = list(dict.fromkeys(ci for i in cands for ci in index.sentence_chunks[i] if ci not in chunk_dense))
    for ci, v in zip(unseen, search.vectors("chunk", unseen)):
        chunk_dense[ci] = float(v @ q)

    ranked = []
    for i in cands:
        cd = 0.0
        for ci in index.sentence_chunks[i]:
            cd = max(cd, chunk_dense[ci])
        bare = sent_terms(i, with_section=False)
        sig = {
            "dense": max(0.0, dense[i]),
            "chunk_dense": max(0.0, cd),
            "lexical": float(bm25[i]) / max_bm25 if max_bm25 > 0 else 0.0,
            "coverage": _share(focus_sets, sent_terms(i)),
            "entity": _share(entity_sets, cached.window(i)) if entity_sets else 1.0,
            # share of the sentence's own terms that no question term matches
            "novelty": len(bare - q_union) / len(bare) if bare else 0.0,
        }
        if settings.fusion == "rrf":
            score = sum(1.0 / (settings.rrf_k + 1 + r[i]) for r in (dense_rank, lex_rank) if i in r)
        else:
            score = sum(weights.get(name, 0.0) * value for name, value in sig.items())
        ranked.append(Scored(i, score, sig))
    ranked.sort(key=lambda s: (-s.score, s.sentence))

    return Retrieved(ranked=ranked, chunk_scores=chunk_dense)
