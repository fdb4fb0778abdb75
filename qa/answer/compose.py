"""From the reader's spans to what the user reads: a short answer copied from the text, numbered
citations with exact offsets, a calibrated confidence, and an honest "the documents do not say"
when support is weak.

The answer is the span, among the passages' best ones (qa/answer/read.py), that the calibrated
confidence trusts most, a slice of a corpus document; a list question whose span lies in a list
gets the whole list.
Its confidence is a logistic model over the reader's margin and a few retrieval signals
(qa/answer/confidence.py), fitted by ``scripts/calibrate.py``.
"""

from __future__ import annotations

from qa.core.config import Settings
from qa.answer.confidence import confidence, features
from qa.index.store import Index
from qa.answer.question import QuestionAnalysis
from qa.answer.read import Reading
from qa.answer.retrieval import Retrieved
from qa.core.types import Answer, Citation

ABSTAIN_MESSAGE = "The documents do not say. The closest passages are listed below."
UNCERTAIN_MESSAGE = "Not sure: this answer may be wrong. Check it against the sources below."
NO_TERMS_MESSAGE = "The question has no words to search for; ask about a person, a place, a date or a topic."


def _list_region(index: Index, i: int) -> tuple[int, int] | None:
    """The contiguous list that sentence ``i`` belongs to or introduces (``...:`` + items)."""
    return index.list_span(i) if index.sentences[i].is_list_item else index.introduced_list(i)


def _citations(index: Index, retrieved: Retrieved, top_k: int, first: int | None = None) -> list[tuple[int, int]]:
    """(chunk id, best sentence id) for up to ``top_k`` distinct chunks, best first.

    Each ranked sentence is cited through the chunk around it that matches the question best;
    a sentence already visible in a cited chunk does not earn another citation.
    """
    cited: list[tuple[int, int]] = []
    order = [s.sentence for s in retrieved.ranked]
    if first is not None:  # the sentence the reader answered from leads
        order = [first] + [i for i in order if i != first]
    for i in order:
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
    readings: list[Reading],
) -> Answer:
    """The answer: the reader's best span over the passages read (``readings``), its citations
    and its calibrated confidence; declined below the abstain threshold."""
    answer = Answer(question=question, abstained=True, text=None, answer_citation=None, score=0.0,
                    question_type=analysis.qtype, retrieval_query=query)
    if not retrieved.ranked or not readings:
        answer.message = NO_TERMS_MESSAGE if not analysis.terms else ABSTAIN_MESSAGE
        return answer
    best_sentence, a_start, a_end, feats, answer.score = _from_reader(index, retrieved, analysis, readings,
                                                                      settings.confidence_weights)
    answer.signals = feats
    sent = index.sentences[best_sentence]
    doc = index.documents[sent.doc_id]
    scores = {s.sentence: s.score for s in retrieved.ranked}

    for n, (ci, si) in enumerate(_citations(index, retrieved, top_k, first=best_sentence), start=1):
        chunk = index.chunks[ci]
        start, end = chunk.start, chunk.end
        hs, he = index.sentences[si].start, index.sentences[si].end
        if n == 1 and si == best_sentence:
            # The answer (e.g. a whole list) may reach past the chunk: widen this citation.
            start, end = min(start, a_start), max(end, a_end)
            hs, he = min(hs, a_start), max(he, a_end)
        cdoc = index.documents[chunk.doc_id]
        # the pages of the supporting sentence, not of the whole excerpt ("page 2", or "pages 2–3"
        # for a sentence a page break cuts)
        page, page_end = cdoc.page_span(hs, he)
        answer.citations.append(Citation(
            n=n, doc=chunk.doc_id, title=cdoc.title, section=chunk.section, start=start, end=end,
            text=cdoc.text[start:end], score=round(float(scores.get(si, 0.0)), 4), highlight_start=hs, highlight_end=he,
            page=page, page_end=page_end,
        ))

    qset = set(analysis.terms)
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


def _from_reader(index: Index, retrieved: Retrieved, analysis: QuestionAnalysis, readings: list[Reading],
                 weights: dict):
    """The span the calibrated confidence trusts most (a follow-up's own passage first, when it
    answers there), the sentence it lies in, its features and its confidence.

    Each passage's span is scored with all the confidence's features, not by the reader's margin
    alone: the margin compares a span with "no answer" in its own passage only, while the
    passage's retrieval rank, its similarity to the question and the question's names found
    around it say which passage is about the question (docs/quality.md: the evidence is the
    first citation more often, and answers are right more often)."""
    signals = {s.sentence: s.signals for s in retrieved.ranked}
    scored = []
    for reading in readings:
        p = reading.passage
        sentence = next((k for k in range(p.first, p.last + 1) if index.sentences[k].end > reading.span.start),
                        p.sentence)
        sig = signals.get(sentence, {})
        feats = features(reader=reading.span.margin / 10.0, rank=1.0 / (1.0 + p.rank), dense=sig.get("dense", 0.0),
                         entity=sig.get("entity", 1.0))
        scored.append(((reading.follows_up, confidence(feats, weights)), reading, sentence, feats))
    (_, score), best, sentence, feats = max(scored, key=lambda t: t[0])
    a_start, a_end = best.span.start, best.span.end
    if analysis.expected_span == "list":
        # A list question whose answer lies in a list (an item, or the line introducing one) gets
        # the whole list: the reader's spans are at most a phrase long.
        region = _list_region(index, sentence)
        if region:
            a_start = min(a_start, index.sentences[region[0]].start)
            a_end = max(a_end, index.sentences[region[1]].end)
    return sentence, a_start, a_end, feats, score
