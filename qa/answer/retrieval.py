"""Hybrid retrieval: dense and lexical (BM25) candidates from the index's search backend, scored per sentence and fused.

Sentences are the unit of ranking because an answer lies in a sentence and the reader reads the
best ones with their neighbours (qa/answer/read.py); chunks are the unit of citation because a reader
wants the surrounding context. Each candidate sentence gets these signals, all in [0, 1]:

  dense        cosine of the question and the sentence (embedded with its title/section)
  chunk_dense  best cosine of the question and a chunk holding the sentence (context)
  lexical      BM25 of the question over "section + sentence", divided by the best BM25; the
               question's words that a document's title says count alike for all of its
               sentences (``_Lexical``)
  coverage     share of the question's content terms found in the sentence, its section or
               its document's title (for a follow-up, its own terms: the borrowed topic may sit
               one sentence back)
  entity       share of the question's names and numbers found in the sentence, the two
               before it ("During this meeting, ..." needs them: ``Terms.window``) or its
               document's title, less the years asked that they contradict (``_entity``)
  novelty      share of the sentence's own terms that the question does not already use: a
               sentence that only restates the question carries no answer

``fusion="weighted"`` ranks by the weighted sum (weights in Settings.fusion_weights);
``fusion="rrf"`` ranks by reciprocal rank fusion of the dense and lexical rankings only, the
classic baseline. The signals that looked for answer types, reasons, lists, additions and event
frames are gone: with the reader they did not earn their keep on held-out articles
(docs/quality.md, ablation).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from qa.core.config import Settings
from qa.answer.terms import Terms, terms_of
from qa.index.backend import Where, collection_of
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


#: At most this many sentences of titled documents are scored one by one per question (a question
#: whose words are in every title of a large corpus keeps the documents its words find first).
MAX_TITLED_SENTENCES = 20000


#: A year, as ``qa.core.text.terms`` leaves it ("2005").
YEAR = re.compile(r"1[0-9]{3}|20[0-9]{2}")


def _entity(entity_sets: list[frozenset[str]], window: frozenset[str], given: frozenset[str],
            years: list[str]) -> float:
    """Share of the question's names and numbers (as ``_share``) that the sentence's window or
    its document's title (``given``) holds, less the years asked that the window contradicts: a
    passage that dates itself to another year and not to the one asked ("How much did Japan
    pledge in 2005?" against the 2012 meeting's pledge) is about another event, however many of
    the other names it shares. (A year in the title dates no passage: a report of 2023 tells of
    2022 too.)"""
    have = window | given
    found = sum(1 for m in entity_sets if not m.isdisjoint(have))
    if years and any(YEAR.fullmatch(t) for t in window):
        found -= sum(1 for y in years if y not in have)
    return max(0.0, found / len(entity_sets))


def _titled(cached: Terms, q_sets: list[frozenset[str]], where: Where | None) -> dict[str, frozenset[str]]:
    """doc id -> its title's terms, for the documents (in ``where``) whose title the question names."""
    docs = frozenset().union(*(cached.titled(t) for t in frozenset().union(*q_sets)))
    if where is not None:
        docs = frozenset(d for d in docs if collection_of(d) in where.collections)
    return {d: cached.title(d) for d in sorted(docs)}


class _Lexical:
    """BM25 of the sentences for the question, with the question's words that a document's
    title says counted alike for all of that document's sentences.

    Every passage of a document is about its title, whether it repeats the title's words or not:
    "When was the Central Asia plus Japan dialogue declared?" must find "The dialogue was formally
    declared on 28 August 2004", not the 2025 summit's sentence because it spells out "Central
    Asia plus Japan" (and "declared" weighs little against four title words). So a sentence of
    such a document scores BM25 of the rest of the question plus the most any of its sentences
    gets from the title's words (BM25 is a sum over the query's terms). The titled documents'
    sentences are scored one by one through the backend's lexical search (``scores_of``), so
    every backend ranks alike and a titled document's best sentences are found even when other
    documents fill the search's hits.

    ``order``: the ``k`` best sentences, best first; ``scores``: the score of each sentence
    scored so far (``score`` adds more)."""

    def __init__(self, index: Index, qterms: list[str], q_sets: list[frozenset[str]], k: int,
                 where: Where | None, cached: Terms):
        search, sentences = index.search, index.sentences
        self._doc = lambda i: sentences[i].doc_id
        self.hits = search.lexical(qterms, k, where)
        titled = _titled(cached, q_sets, where)
        if sum(len(cached.rows(d)) for d in titled) > MAX_TITLED_SENTENCES:
            first, size = {}, 0
            for d in dict.fromkeys(self._doc(int(i)) for i in self.hits.ids):
                if d in titled and size + len(cached.rows(d)) <= MAX_TITLED_SENTENCES:
                    first[d], size = titled[d], size + len(cached.rows(d))
            titled = first
        self.scores: dict[int, float] = {}
        self._titled = frozenset(titled)
        groups: dict[tuple[int, ...], list[str]] = {}  # which question terms the title says -> docs
        for doc_id, title in titled.items():
            groups.setdefault(tuple(j for j, m in enumerate(q_sets) if not m.isdisjoint(title)), []).append(doc_id)
        pool = [int(i) for i in self.hits.ids if self._doc(int(i)) not in self._titled]
        for said, docs in groups.items():
            rows = np.concatenate([cached.rows(d) for d in docs])
            full = self.hits.scores_of(rows.tolist())
            rest_terms = [t for j, t in enumerate(qterms) if j not in said]
            rest = search.lexical(rest_terms, k, where).scores_of(rows.tolist()) if rest_terms else np.zeros_like(full)
            adjusted = np.empty(len(rows), np.float64)
            at = 0
            for d in docs:
                n = len(cached.rows(d))
                adjusted[at:at + n] = rest[at:at + n] + float(np.max(full[at:at + n] - rest[at:at + n]))
                at += n
            top = np.argsort(-adjusted, kind="stable")[:k]
            pool += [int(rows[j]) for j in top]
            self.scores.update(zip(rows.tolist(), adjusted.tolist()))
        self.score(pool)
        ranked = sorted(dict.fromkeys(pool), key=lambda i: (-self.scores[i], i))
        self.order = [i for i in ranked if self.scores[i] > 0][:k]

    def score(self, ids: Sequence[int]) -> None:
        """Score ``ids`` (into ``scores``); the titled documents' sentences already are."""
        want = [i for i in dict.fromkeys(ids) if i not in self.scores]
        known = dict(zip((int(i) for i in self.hits.ids), (float(v) for v in self.hits.scores)))
        unknown = [i for i in want if i not in known]
        known.update(zip(unknown, (float(v) for v in self.hits.scores_of(unknown))))
        self.scores.update((i, known[i]) for i in want)

    def titled(self, doc_id: str) -> bool:
        return doc_id in self._titled


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

    # Each question term becomes the set of corpus terms it matches (prefix forms included),
    # once per question; every per-sentence test below is then a set operation in C.
    matches = index.vocabulary.matches
    q_sets = [matches(t) for t in qterms]
    focus_sets = [matches(t) for t in analysis.focus_terms]
    entity_sets = [matches(t) for t in analysis.entities]
    years = [t for t in analysis.entities if YEAR.fullmatch(t)]
    q_union = frozenset().union(*q_sets)
    cached = terms_of(index)
    sent_terms = cached.sentence

    lexical = _Lexical(index, qterms, q_sets, k, where, cached)
    lex_order = lexical.order

    cands: dict[int, None] = dict.fromkeys(list(dense) + lex_order)
    for ci in list(chunk_dense)[:5]:  # sentences of the best chunks, for context-only matches
        first, last = index.chunk_sentences[ci]
        cands.update(dict.fromkeys(range(first, last)))

    lexical.score(list(cands))
    bm25 = lexical.scores
    max_bm25 = max((bm25[i] for i in cands), default=0.0)  # lex_order is among the candidates
    dense_rank = {i: r for r, i in enumerate(dense)}
    lex_rank = {i: r for r, i in enumerate(lex_order)}
    weights = settings.fusion_weights
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
        doc_id = index.sentences[i].doc_id
        given = cached.title(doc_id) if lexical.titled(doc_id) else frozenset()  # what its title already says
        sig = {
            "dense": max(0.0, dense[i]),
            "chunk_dense": max(0.0, cd),
            "lexical": float(bm25[i]) / max_bm25 if max_bm25 > 0 else 0.0,
            "coverage": _share(focus_sets, sent_terms(i) | given),
            "entity": _entity(entity_sets, cached.window(i, reach=2), given, years) if entity_sets else 1.0,
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
