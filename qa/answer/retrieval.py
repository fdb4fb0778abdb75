"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates, scored per sentence and fused.

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


def _titled_docs(index: Index, q_sets: list[frozenset[str]], cached) -> dict[str, frozenset[str]]:
    """doc id -> its title's terms, for the documents whose title the question names."""
    wanted = frozenset().union(*q_sets)
    out = {}
    for doc_id in index.documents:
        title = cached.title(doc_id)
        if not title.isdisjoint(wanted):
            out[doc_id] = title
    return out


def _lexical(index: Index, qterms: list[str], q_sets: list[frozenset[str]], titled: dict[str, frozenset[str]],
             cached) -> np.ndarray:
    """BM25 of every sentence, with the question's words that a document's title says counted
    alike for all of that document's sentences.

    Every passage of a document is about its title, whether it repeats the title's words or not:
    "When was the Central Asia plus Japan dialogue declared?" must find "The dialogue was formally
    declared on 28 August 2004", not the 2025 summit's sentence because it spells out "Central
    Asia plus Japan" (and "declared" weighs little against four title words). So a sentence of
    such a document scores BM25 of the rest of the question plus the most any of its sentences
    gets from the title's words."""
    bm25 = index.lexical.scores(qterms)
    by_rest: dict[tuple[str, ...], list[str]] = {}
    for doc_id, title in titled.items():
        rest = tuple(t for t, m in zip(qterms, q_sets) if m.isdisjoint(title))
        by_rest.setdefault(rest, []).append(doc_id)
    if not by_rest:
        return bm25
    out = bm25.copy()
    for rest, docs in by_rest.items():
        reduced = index.lexical.scores(list(rest))
        for doc_id in docs:
            rows = cached.rows(doc_id)
            if len(rows):
                out[rows] = reduced[rows] + float(np.max(bm25[rows] - reduced[rows]))
    return out


def retrieve(index: Index, qvec: np.ndarray, analysis: QuestionAnalysis, settings: Settings) -> Retrieved:
    n_sent = len(index.sentences)
    k = min(settings.candidates, n_sent)
    qterms = list(analysis.terms)
    q = qvec.reshape(-1)

    d_scores, d_ids = index.sentence_vectors.search(qvec, k)
    dense = {int(i): float(s) for s, i in zip(d_scores, d_ids) if i >= 0}
    c_scores, c_ids = index.chunk_vectors.search(qvec, min(settings.candidates, len(index.chunks)))
    chunk_dense = {int(i): float(s) for s, i in zip(c_scores, c_ids) if i >= 0}

    matches = index.lexical.matches
    q_sets = [matches(t) for t in qterms]
    cached = terms_of(index)
    titled = _titled_docs(index, q_sets, cached)
    bm25 = _lexical(index, qterms, q_sets, titled, cached)
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
    # Each question term becomes the set of corpus terms it matches (prefix forms included),
    # once per question; every per-sentence test below is then a set operation in C.
    focus_sets = [matches(t) for t in analysis.focus_terms]
    entity_sets = [matches(t) for t in analysis.entities]
    q_union = frozenset().union(*q_sets)
    sent_terms = cached.sentence
    missing = [i for i in cands if i not in dense]
    if missing:
        for i, v in zip(missing, index.sentence_vectors.reconstruct_batch(missing) @ q):
            dense[i] = float(v)

    ranked = []
    for i in cands:
        cd = 0.0
        for ci in index.sentence_chunks[i]:
            if ci not in chunk_dense:
                chunk_dense[ci] = float(index.chunk_vectors.reconstruct(ci) @ q)
            cd = max(cd, chunk_dense[ci])
        bare = sent_terms(i, with_section=False)
        given = titled.get(index.sentences[i].doc_id, frozenset())  # what its title already says
        sig = {
            "dense": max(0.0, dense[i]),
            "chunk_dense": max(0.0, cd),
            "lexical": float(bm25[i]) / max_bm25 if max_bm25 > 0 else 0.0,
            "coverage": _share(focus_sets, sent_terms(i) | given),
            "entity": _share(entity_sets, cached.window(i) | given) if entity_sets else 1.0,
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
