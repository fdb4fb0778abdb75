"""From ranked sentences to what the user reads: a short extractive answer, numbered
citations with exact offsets, a confidence, and an honest abstention when support is weak.

The answer is always a slice of a corpus document: a typed span (date, amount, count,
person, place) when the question asks for one and the best sentence holds exactly such a
span, the list when the question asks for a list, the introduction and its list when the best
sentence introduces one ("Aso gave four reasons ...:" answers "Why does Japan care?" with the
reasons, "What post had Aso held?" with the introduction), otherwise the best sentence itself.
"""

from __future__ import annotations

from .config import Settings
from .checks import Slot, mismatch
from .confidence import confidence, features
from .index import Index
from .question import QuestionAnalysis
from .retrieval import Retrieved
from .spans import best_span
from .text import prefix_match
from .types import Answer, Citation

SPAN_KINDS = {"date", "money", "count", "duration", "person", "place"}
ABSTAIN_MESSAGE = "The corpus does not say. The closest passages are listed below."
UNCERTAIN_MESSAGE = "Not sure: this answer may be wrong. Check it against the sources below."
NO_TERMS_MESSAGE = "The question has no words to search for; ask about a person, a place, a date or a topic."


def _list_region(index: Index, i: int) -> tuple[int, int] | None:
    """The contiguous list that sentence ``i`` belongs to or introduces (``...:`` + items)."""
    return index.list_span(i) if index.sentences[i].is_list_item else index.introduced_list(i)


def _citations(index: Index, retrieved: Retrieved, top_k: int) -> list[tuple[int, int]]:
    """(chunk id, best sentence id) for up to ``top_k`` distinct chunks, best first.

    Each ranked sentence is cited through the chunk around it that matches the question best;
    a sentence already visible in a cited chunk does not earn another citation.
    """
    cited: list[tuple[int, int]] = []
    for scored in retrieved.ranked:
        i = scored.sentence
        holders = index.sentence_chunks[i]
        if any(ci in holders for ci, _ in cited):
            continue
        ci = max(holders, key=lambda c: retrieved.chunk_scores.get(c, -1.0))
        cited.append((ci, i))
        if len(cited) >= top_k:
            break
    return cited


def compose(
    index: Index,
    retrieved: Retrieved,
    analysis: QuestionAnalysis,
    settings: Settings,
    question: str,
    query: str,
    top_k: int,
) -> Answer:
    answer = Answer(question=question, abstained=True, text=None, answer_citation=None, score=0.0,
                    question_type=analysis.qtype, retrieval_query=query)
    if not retrieved.ranked:
        answer.message = NO_TERMS_MESSAGE if not analysis.terms else ABSTAIN_MESSAGE
        return answer

    best = retrieved.ranked[0]
    sent = index.sentences[best.sentence]
    doc = index.documents[sent.doc_id]

    # Where the answer comes from, as absolute offsets into the document.
    a_start, a_end = sent.start, sent.end
    kind = analysis.expected_span
    if kind == "list" or (kind in (None, "reason") and sent.introduces_list):
        region = _list_region(index, best.sentence)
        if region:
            # A list question gets the items; any other question whose best sentence introduces
            # a list ("Former foreign minister Taro Aso gave four reasons ...:") keeps that
            # sentence too: it may be the answer ("What post had Aso held?").
            first = best.sentence if kind != "list" and best.sentence < region[0] else region[0]
            a_start, a_end = index.sentences[first].start, index.sentences[region[1]].end
    elif settings.extract_spans and kind in SPAN_KINDS:
        span = best_span(sent.text, kind, query)
        if span is not None:
            a_start, a_end = sent.start + span.start, sent.start + span.end

    # Confidence from several signals (qa/confidence.py); coverage is judged on the chunk
    # around the best sentence, so a fact split over two sentences still counts as covered.
    chunk_terms = frozenset().union(*(index.chunk_terms(ci) for ci in index.sentence_chunks[best.sentence]))
    qset = set(analysis.terms)
    feats = features(
        dense=best.signals["dense"],
        coverage=sum(1 for t in qset if prefix_match(t, chunk_terms)) / len(qset) if qset else 0.0,
        window=best.signals["window"],
        entity=best.signals["entity"],
        oov=retrieved.oov,
        head_oov=retrieved.head_oov,
        name_oov=retrieved.name_oov,
        agreement=1.0 if retrieved.dense_top is not None and retrieved.dense_top == retrieved.lexical_top else 0.0,
        type_match=best.signals["type_match"] if kind in SPAN_KINDS else 1.0,
        mismatch=mismatch(Slot(question=query, qtype=analysis.qtype, expected_span=kind,
                               question_terms=analysis.focus_terms, sentence=sent.text,
                               type_match=best.signals["type_match"], passage_terms=chunk_terms,
                               answer_terms=index.window_terms(best.sentence))),
    )
    answer.score = confidence(feats, settings.confidence_weights)
    answer.signals = feats

    for n, (ci, si) in enumerate(_citations(index, retrieved, top_k), start=1):
        chunk = index.chunks[ci]
        start, end = chunk.start, chunk.end
        hs, he = index.sentences[si].start, index.sentences[si].end
        if n == 1 and si == best.sentence:
            # The answer (e.g. a whole list) may reach past the chunk: widen this citation.
            start, end = min(start, a_start), max(end, a_end)
            hs, he = min(hs, a_start), max(he, a_end)
        cdoc = index.documents[chunk.doc_id]
        scored = next(s for s in retrieved.ranked if s.sentence == si)
        answer.citations.append(Citation(
            n=n, doc=chunk.doc_id, title=cdoc.title, section=chunk.section, start=start, end=end,
            text=cdoc.text[start:end], score=round(float(scored.score), 4), highlight_start=hs, highlight_end=he,
        ))

    if answer.score < settings.abstain_threshold or not qset:
        answer.message = ABSTAIN_MESSAGE if qset else NO_TERMS_MESSAGE
        return answer
    answer.abstained = False
    answer.text = doc.text[a_start:a_end]
    answer.answer_start, answer.answer_end = a_start, a_end
    answer.answer_citation = 1
    if answer.score < settings.sure_threshold:
        answer.uncertain = True
        answer.message = UNCERTAIN_MESSAGE
    return answer
