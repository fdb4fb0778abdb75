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
  (coverage, window and entity also count the names and numbers of the sentence that
  introduced the event a sentence continues -- Index.frame_terms -- unless the question asks
  for a date, place or person, which that introduction states itself)
  type_match   1 when the sentence holds a span of the kind asked for (a date for "when")
               that the question does not already contain
  novelty      share of the sentence's own terms that the question does not already use: a
               sentence that only restates the question ("On 5 June 2006 a meeting was held
               in Tokyo.") carries no answer, while the next one ("There, ... agreed") does
  cue          1 for a "why" question and a sentence with a reason cue ("because", "due to",
               "in order to", ...), or a "list" question and a list item / list introduction
  listing      1 for a "list" question and a sentence that lists: a list item, a list
               introduction ("...:") or an enumeration (qa.spans.enumeration: "A, B, and C",
               "two goals: to X, and to Y"); a question for names ("which countries", "which
               heads of state") wants a series of names or a list item that is a name; 0 when
               the sentence and its predecessor miss a name or number of the question (entity < 1)
  additive     1 for a question asking for something besides what it names ("Besides the
               objectives, what else ...", "what other aim") and a sentence that adds
               ("also", "additionally", "as well as", "along with", ...)

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
from .spans import NUMBER_WORDS, SCALE_WORDS, find_spans, is_name_item
from .text import fold, words

SIGNALS = ("dense", "chunk_dense", "lexical", "coverage", "window", "entity", "type_match", "novelty", "cue", "listing",
           "additive")
_REASON = re.compile(
    r"\b(because|due to|owing to|thanks to|since|as a result|so that|in order to|with the aim|aim of|"
    r"the goal|to help|to promote|to encourage|maintaining|given|reasons?|why|for the projects)\b",
    re.IGNORECASE,
)

# "Besides the objectives, what else did the statement outline?" asks for something added to what
# it names, and the text adds it with "also" ("The joint statement also outlined ...", Index.adds).
_ADDITIVE_QUESTION = re.compile(r"\b(?:besides|apart from|aside from|other than|in addition to|else|what other|"
                                r"which other|(?<!one )another|(?<!see )also)\b")


@dataclass
class Scored:
    sentence: int  # id into Index.sentences
    score: float
    signals: dict[str, float]


@dataclass
class Retrieved:
    ranked: list[Scored]  # best first
    oov: float  # share of the question's content terms that occur nowhere in the corpus
    name_oov: float  # 1.0 when a name in the question (not a number) occurs nowhere in the corpus
    dense_top: int | None  # best sentence by dense score alone
    lexical_top: int | None  # best sentence by BM25 alone
    chunk_scores: dict[int, float] = field(default_factory=dict)


def _share(expanded: list[frozenset[str]], have: frozenset[str]) -> float:
    """Share of the wanted terms (each given as its ``LexicalIndex.matches`` set) that ``have``
    matches: ``qa.text.prefix_match`` per term, as one set intersection test each."""
    if not expanded:
        return 0.0
    return sum(1 for m in expanded if not m.isdisjoint(have)) / len(expanded)


def _new_span(span_words: tuple[frozenset[str], ...], question_words: set[str],
              asked_numbers: tuple[frozenset[str], ...] | None = None) -> float:
    """1.0 when one of a sentence's spans (given by their words) is not already in the question.
    For an amount or a count, ``asked_numbers`` holds the numbers of the question's own spans of
    that kind: a span with the same numbers is the question's own ("How much of the $700
    million ...?" over "US $700 million"), whatever its currency words."""
    for w in span_words:
        if asked_numbers is not None:
            n = _numbers(w)
            if n and any(n <= a for a in asked_numbers):
                continue
            if n:
                return 1.0
        if w and not w <= question_words:
            return 1.0
    return 0.0


#: Span kinds compared by their numbers, and the words that make up a number.
_NUMERIC_KINDS = frozenset({"money", "count"})
_NUMBER_PARTS = frozenset(NUMBER_WORDS) | frozenset(SCALE_WORDS)


def _numbers(span_words: frozenset[str]) -> frozenset[str]:
    return frozenset(w for w in span_words if w in _NUMBER_PARTS or any(ch.isdigit() for ch in w))


def _cue(index: Index, i: int, qtype: str) -> float:
    sent = index.sentences[i]
    if qtype == "why":
        return 1.0 if _REASON.search(fold(sent.text)) else 0.0
    if qtype == "list":
        return 1.0 if sent.is_list_item or sent.introduces_list else 0.0
    return 0.0


#: Span kinds an event's introducing sentence states itself ("On 5 June 2006 a meeting was held
#: in Tokyo."): a question for one of them is answered there, not by the sentences after it.
FRAME_OWN_KINDS = frozenset({"date", "place", "person"})

#: Sections that list links to other pages, not answers.
NAVIGATION_SECTIONS = frozenset({"see also", "references", "external links", "further reading", "notes",
                                 "bibliography", "sources"})


def _listing(index: Index, i: int, analysis: QuestionAnalysis) -> float:
    """1 when sentence ``i`` lists what a list question asks for (see ``listing`` above)."""
    if analysis.qtype != "list":
        return 0.0
    sent = index.sentences[i]
    if sent.section.strip().lower() in NAVIGATION_SECTIONS:
        return 0.0
    listed = index.enumeration(i)
    if analysis.list_of == "names":
        return 1.0 if listed == "names" or (sent.is_list_item and is_name_item(sent.text)) else 0.0
    return 1.0 if sent.is_list_item or sent.introduces_list or listed else 0.0


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
    # Each question term becomes the set of corpus terms it matches (prefix forms included),
    # once per question; every per-sentence test below is then a set operation in C.
    matches = index.lexical.matches
    q_sets = [matches(t) for t in qterms]
    focus_sets = [matches(t) for t in analysis.focus_terms]
    entity_sets = [matches(t) for t in analysis.entities]
    q_union = frozenset().union(*q_sets)
    kind = analysis.expected_span if analysis.expected_span not in ("reason", "list") else None
    sent_terms = index.sentence_terms
    # A sentence that continues an event ("There, the five countries agreed ...") counts the
    # names and numbers of the sentence that introduced it (Index.frame_terms) as its own,
    # unless the question asks for what that introduction itself says: its date, place or person.
    borrow_frame = settings.event_frames and analysis.expected_span not in FRAME_OWN_KINDS
    missing = [i for i in cands if i not in dense]
    if missing:
        for i, v in zip(missing, index.sentence_vectors.reconstruct_batch(missing) @ q):
            dense[i] = float(v)

    asked_numbers = (tuple(_numbers(frozenset(words(analysis.text[sp.start:sp.end])))
                           for sp in find_spans(analysis.text, kind)) if kind in _NUMERIC_KINDS else None)
    additive_q = bool(_ADDITIVE_QUESTION.search(fold(analysis.text).lower()))
    ranked = []
    for i in cands:
        cd = 0.0
        for ci in index.sentence_chunks[i]:
            if ci not in chunk_dense:
                chunk_dense[ci] = float(index.chunk_vectors.reconstruct(ci) @ q)
            cd = max(cd, chunk_dense[ci])
        own = sent_terms(i)
        window = index.window_terms(i)
        if borrow_frame:
            frame = index.frame_terms(i)
            own, window = own | frame, window | frame
        bare = sent_terms(i, with_section=False)
        sig = {
            "dense": max(0.0, dense[i]),
            "chunk_dense": max(0.0, cd),
            "lexical": float(bm25[i]) / max_bm25 if max_bm25 > 0 else 0.0,
            "coverage": _share(focus_sets, own),
            "window": _share(q_sets, window),
            "entity": _share(entity_sets, window) if entity_sets else 1.0,
            "type_match": _new_span(index.span_words(i, kind), qwords, asked_numbers) if kind else 0.0,
            # share of the sentence's own terms that no question term matches
            "novelty": len(bare - q_union) / len(bare) if bare else 0.0,
            "cue": _cue(index, i, analysis.qtype),
        }
        sig["additive"] = 1.0 if additive_q and index.adds(i) else 0.0
        # an enumeration answers a list question only where it is about everything the question
        # names ("the first Intellectual Dialogue": not a list about something else)
        sig["listing"] = _listing(index, i, analysis) if sig["entity"] >= 1.0 else 0.0
        if settings.fusion == "rrf":
            score = sum(1.0 / (settings.rrf_k + 1 + r[i]) for r in (dense_rank, lex_rank) if i in r)
        else:
            score = sum(weights.get(name, 0.0) * value for name, value in sig.items())
        ranked.append(Scored(i, score, sig))
    ranked.sort(key=lambda s: (-s.score, s.sentence))

    oov = sum(1 for m in q_sets if not m) / len(q_sets) if q_sets else 1.0
    return Retrieved(
        ranked=ranked,
        oov=oov,
        name_oov=1.0 if any(not m for t, m in zip(analysis.entities, entity_sets) if not t[:1].isdigit()) else 0.0,
        dense_top=next(iter(dense_rank), None),
        lexical_top=lex_order[0] if lex_order else None,
        chunk_scores=chunk_dense,
    )
