"""The trained reader: its input encoding and span decoding, the training examples, the article
split, the passages the pipeline reads, and (marked integration) the shipped int8 model."""

import hashlib
import json
import random

import numpy as np
import pytest

from qa.embed.model import model_path
from qa.reader.encoding import MAX_LENGTH, MAX_QUESTION_TOKENS, best_spans, encode_pairs, load_tokenizer, token_targets
from qa.reader.examples import _negated, _norm, _removed, make_examples, sentence_spans, unanswerable_examples
from qa.reader.windows import grow
from qa.answer.read import dated_ranges
from qa.reader.squad import Article, Paragraph, Question, heldout_titles, split


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(model_path())


def test_pairs_are_cls_question_sep_passage_sep_with_offsets(tok):
    enc = encode_pairs(tok, ["When was it signed?"], ["The treaty was signed on 3 May 1999."])
    ids = enc.input_ids[0][: int(enc.attention_mask[0].sum())]
    assert ids[0] == tok.token_to_id("[CLS]") and ids[-1] == tok.token_to_id("[SEP]")
    first = int(np.argmax(enc.token_type_ids[0]))
    assert ids[first - 1] == tok.token_to_id("[SEP]")
    start, end = token_targets(enc, 0, 25, 35)  # "3 May 1999"
    assert enc.offsets[0][start][0] == 25 and enc.offsets[0][end][1] == 35
    assert (enc.offsets[0][:first] == -1).all()  # [CLS] and the question have no passage offsets


def test_long_inputs_are_cut_question_first_then_passage(tok):
    enc = encode_pairs(tok, ["word " * 200], ["text " * 500])
    assert enc.input_ids.shape[1] == MAX_LENGTH
    assert int((enc.token_type_ids[0] == 0).sum()) == MAX_QUESTION_TOKENS + 2  # [CLS] q [SEP]
    assert token_targets(enc, 0, 2000, 2004) is None  # an answer cut off is reported, not misplaced


def _logits(enc, spans):
    """Start/end logits that favour the given (start token, end token, value) pairs; [CLS] = 1."""
    start = np.full(enc.input_ids.shape, -5.0, dtype=np.float32)
    end = start.copy()
    start[:, 0] = end[:, 0] = 0.5
    for row, (s, e, v) in enumerate(spans):
        start[row, s] += v
        end[row, e] += v
    return start, end


def test_best_span_and_no_answer_score(tok):
    enc = encode_pairs(tok, ["q?", "q?"], ["alpha beta gamma delta", "alpha beta"])
    first = int(np.argmax(enc.token_type_ids[0]))
    start, end = _logits(enc, [(first + 1, first + 2, 9.0), (0, 0, 0.0)])
    one, two = best_spans(enc, start, end)
    assert "alpha beta gamma delta"[one.start:one.end] == "beta gamma"
    assert one.margin > 0 and two.margin < 0  # the second passage's best span loses to "no answer"


def test_widen_takes_the_longest_span_around_the_best_within_the_margin(tok):
    enc = encode_pairs(tok, ["q?"], ["alpha beta gamma delta epsilon"])
    first = int(np.argmax(enc.token_type_ids[0]))
    start, end = _logits(enc, [(first + 2, first + 2, 9.0)])
    start[0, first + 1] += 8.5  # "beta gamma" scores 0.5 below "gamma"
    text = "alpha beta gamma delta epsilon"
    (tight,) = best_spans(enc, start, end)
    (wide,) = best_spans(enc, start, end, widen=1.0)
    assert text[tight.start:tight.end] == "gamma" and text[wide.start:wide.end] == "beta gamma"
    assert wide.score == tight.score


def test_grow_keeps_whole_sentences_within_the_budget():
    text = "One two. Three four five. Six. Seven eight nine ten."
    spans = sentence_spans(text)
    assert len(spans) == 4
    lo, hi = grow(spans, 2, 2, budget=30)
    assert spans[hi][1] - spans[lo][0] <= 30 and lo <= 2 <= hi
    assert grow(spans, 1, 1, budget=1) == (1, 1)  # the sentence itself always stays
    lo, hi = grow(spans, 1, 1, budget=10_000, rng=random.Random(0))
    assert (lo, hi) == (0, 3)


def _article(title="Test", n=6):
    paras = []
    for p in range(n):
        ctx = (f"Paragraph {p} is about Gamma City. The treaty number {p} was signed in {1990 + p} by Jane Smith. "
               f"Delta Port opened later.")
        at = ctx.index(str(1990 + p))
        paras.append(Paragraph(ctx, (Question(f"{title}-{p}", f"When was treaty number {p} signed by Jane Smith?",
                                              ((str(1990 + p), at),)),)))
    return Article(title, tuple(paras))


def test_examples_are_seeded_and_negatives_never_hold_the_answer():
    arts = [_article("A"), _article("B")]
    ex = make_examples(arts, seed=3, negative_rate=1.0)
    assert ex == make_examples(arts, seed=3, negative_rate=1.0)
    positives = [e for e in ex if e.answer]
    assert len(positives) == 12 and all(e.passage[e.answer[0]:e.answer[1]].isdigit() for e in positives)
    negatives = [e for e in ex if e.answer is None]
    assert negatives and {e.kind for e in negatives} <= {"paragraph", "article", "swap", "removed", "negated"}
    assert "removed" in {e.kind for e in negatives}
    golds = {q.text: q.answers[0][0] for a in arts for p in a.paragraphs for q in p.questions}
    for e in negatives:
        if e.kind == "negated":
            assert " not " in e.question and e.question.replace(" not", "") in golds
        elif e.kind != "swap":
            assert _norm(golds[e.question]) not in _norm(e.passage)
        else:  # a name or number of the passage's own question was swapped
            own = next(q for q, g in golds.items() if g in e.passage)
            assert e.question != own and len(e.question.split()) == len(own.split())


def test_an_answer_cut_out_leaves_the_rest_of_its_sentence():
    p = "Societies followed: the Society of Madrid (1865), and the Society of Vienna in 1870 with others."
    at = p.index("1865")
    assert _removed(p, (at, at + 4), "1865") == ("Societies followed: the Society of Madrid, and the Society of "
                                                 "Vienna in 1870 with others.")
    at = p.index("1870")  # the preposition before it goes with it
    assert _removed(p, (at, at + 4), "1870") == ("Societies followed: the Society of Madrid (1865), and the "
                                                 "Society of Vienna with others.")
    q = "It was 1865, and again 1865 later on in the year."
    assert _removed(q, (7, 11), "1865") is None  # stated twice: the passage still answers
    assert _removed("Paris is big.", (0, 5), "Paris") is None  # too little left to be a passage


def test_only_questions_safe_to_negate_are_negated():
    plain = "The FDNY is the second largest fire department in the world."
    assert _negated("What is the second largest fire department?", plain) == \
        "What is not the second largest fire department?"
    assert _negated("Who was elected mayor in 1990?", plain) == "Who was not elected mayor in 1990?"
    assert _negated("When was the FDNY founded?", plain) is None  # the wh-word is not its subject
    assert _negated("What is the second largest fire department?", "It is not the largest.") is None
    assert _negated("What is not the largest department?", plain) is None


def test_unanswerable_questions_train_no_answer_over_the_window_retrieval_would_serve():
    ctx = ("Gamma City lies on a river. The treaty was signed in 1990 by Jane Smith. Delta Port opened in 1995. "
           "Rain falls in spring. The mayor is Tom Brown.")
    art = Article("U", (Paragraph(ctx, (Question("u1", "When did Delta Port close?", ()),
                                        Question("a1", "When was the treaty signed?", (("1990", ctx.index("1990")),)))),))
    ex = unanswerable_examples([art], seed=1, budget=(10, 10))  # one sentence a window
    assert ex == unanswerable_examples([art], seed=1, budget=(10, 10))
    assert {e.question for e in ex} == {"When did Delta Port close?"}  # answerable questions are not here
    assert all(e.answer is None and e.kind == "unanswerable" and e.passage in ctx for e in ex)
    assert "Delta Port opened in 1995." in [e.passage for e in ex]  # the closest sentence is always one


@pytest.mark.integration
def test_the_shipped_int8_reader_gives_back_weights_that_read_as_it_does():
    """qa train reader --init: the dequantised graph in torch scores spans as the int8 graph does."""
    import torch

    from qa.reader.onnx_reader import MODEL_FILE, Reader
    from qa.reader.train import SpanReader
    from qa.reader.warmstart import state_dict_from_onnx

    model = SpanReader.build(model_path())
    model.load_state_dict(state_dict_from_onnx(MODEL_FILE))  # strict: every weight accounted for
    model.eval()
    passage = "The Tiny Treaty was signed on 3 May 1999 in Gamma City. Dr. Jane Q. Smith chaired the signing."
    enc, start, end = Reader().logits(["When was the treaty signed?", "Who chaired it?"], [passage, passage])
    with torch.no_grad():
        t_start, t_end = model(*(torch.from_numpy(a) for a in (enc.input_ids, enc.attention_mask, enc.token_type_ids)))
    mask = enc.attention_mask.astype(bool)
    assert np.abs(t_start.numpy()[mask] - start[mask]).max() < 1.0  # int8 rounding, on logits up to ~10
    assert (t_start.numpy().argmax(1) == start.argmax(1)).all() and (t_end.numpy().argmax(1) == end.argmax(1)).all()


def test_heldout_articles_are_fixed_and_split_in_alternating_halves():
    held = heldout_titles()
    assert len(held) == 30 and held == sorted(held)
    arts = [Article(t, ()) for t in held + ["Not_held_out"]]
    train, tune, test = split(arts)
    assert [a.title for a in train] == ["Not_held_out"]
    assert [a.title for a in tune] == held[0::2] and [a.title for a in test] == held[1::2]


def test_passages_are_distinct_windows_around_ranked_sentences(tiny_qa):
    from qa.answer.read import passages
    from qa.answer.retrieval import retrieve

    index = tiny_qa.index
    _, query, analysis = tiny_qa.prepare("When was the treaty signed?")
    retrieved = retrieve(index, tiny_qa.embedder.encode([query])[0], analysis, tiny_qa.settings)
    found = passages(index, retrieved, 4, budget=200)
    assert found and len(found) <= 4
    seen = set()
    for p in found:
        assert p.first <= p.sentence <= p.last and index.sentences[p.first].start == p.start
        assert index.sentences[p.last].end == p.end and p.end - p.start <= max(200, index.sentences[p.sentence].end
                                                                             - index.sentences[p.sentence].start)
        held = set(range(p.first, p.last + 1))
        assert not held & seen
        seen |= held
    anchored = passages(index, retrieved, 4, anchor=len(index.sentences) - 1)
    assert anchored[0].anchor and anchored[0].sentence == len(index.sentences) - 1


@pytest.mark.integration
def test_the_shipped_reader_is_the_one_its_card_describes_and_reads():
    from qa.reader.onnx_reader import CARD_FILE, MODEL_FILE, Reader

    card = json.loads(CARD_FILE.read_text(encoding="utf-8"))
    data = MODEL_FILE.read_bytes()
    assert len(data) <= 30_000_000 and card["bytes"] == len(data)
    assert card["sha256"] == hashlib.sha256(data).hexdigest()
    fp32, int8 = card["tune_paragraph_reading"]["fp32"], card["tune_paragraph_reading"]["int8"]
    assert int8["f1"] >= fp32["f1"] - 1.0  # int8 within a point of fp32
    passage = "The Tiny Treaty was signed on 3 May 1999 in Gamma City. Dr. Jane Q. Smith chaired the signing."
    reader = Reader()
    when, who = reader.read("When was the treaty signed?", [passage])[0], reader.read("Who chaired the signing?",
                                                                                      [passage])[0]
    assert passage[when.start:when.end] == "3 May 1999" and when.margin > 0
    assert "Jane Q. Smith" in passage[who.start:who.end]
    (off,) = reader.read("What is the population of Mars?", [passage])
    assert off.margin < when.margin


def test_a_follow_up_answers_from_the_passage_it_is_about_when_that_passage_answers():
    """'Who attended it?' after 'When was the dialogue declared?': the span from the passage of the
    previous answer wins over a stronger one elsewhere, but only if it beats "no answer" there."""
    from qa.answer.read import Passage, Reading
    from qa.reader.encoding import Span

    anchor = Passage(3, 3, 4, 0, 100, 0, anchor=True)
    other = Passage(9, 9, 9, 200, 300, 0)
    elsewhere = Reading(other, Span(210, 230, score=9.0, null=4.0))  # margin 5
    weak_here = Reading(anchor, Span(10, 27, score=5.0, null=4.1))  # margin 0.9: it does answer
    assert weak_here.follows_up and not elsewhere.follows_up
    no_answer_here = Reading(anchor, Span(10, 27, score=3.0, null=4.0))  # "no answer" wins there
    assert not no_answer_here.follows_up


def test_the_answer_is_the_span_the_confidence_trusts_most_not_the_largest_margin(tiny_qa):
    """A slightly larger margin in a passage retrieval ranked low loses to the top passage's span
    when the confidence weighs the rank; with no weight on the rank, the margin decides."""
    from qa.answer.compose import _from_reader
    from qa.answer.read import Reading, passages
    from qa.answer.retrieval import retrieve
    from qa.reader.encoding import Span

    index = tiny_qa.index
    _, query, analysis = tiny_qa.prepare("When was the treaty signed?")
    retrieved = retrieve(index, tiny_qa.embedder.encode([query])[0], analysis, tiny_qa.settings)
    found = passages(index, retrieved, 4)
    top, low = found[0], found[-1]
    assert top.rank < low.rank
    readings = [Reading(low, Span(low.start, low.start + 5, score=6.0, null=1.0)),  # margin 5.0
                Reading(top, Span(top.start, top.start + 5, score=5.8, null=1.0))]  # margin 4.8
    by_rank = {"bias": 0.0, "reader": 1.0, "rank": 5.0, "dense": 0.0, "entity": 0.0}
    _, start, _, feats, _ = _from_reader(index, retrieved, analysis, readings, by_rank)
    assert start == top.start and feats["reader"] == 0.48
    _, start, _, feats, _ = _from_reader(index, retrieved, analysis, readings, dict(by_rank, rank=0.0))
    assert start == low.start and feats["reader"] == 0.5


def test_a_year_asked_keeps_the_answer_to_the_sentences_of_that_year():
    text = ("The dialogue began in Astana. On 4 March 2005 they met in Tashkent. On 5 June 2006 a meeting was "
            "held in Tokyo. There, they agreed to meet again. In 2005 and 2006 aid grew.")
    sentences = sentence_spans(text)
    spans = dated_ranges("Where was the 2005 meeting held?", sentences, text)
    kept = [text[a:b] for a, b in spans]
    # undated before the first date, then the 2005 sentence (adjacent ones joined), and the one naming both
    assert kept == ["The dialogue began in Astana. On 4 March 2005 they met in Tashkent.", "In 2005 and 2006 aid grew."]
    # "There, ..." takes the date of the sentence before it
    assert [text[a:b] for a, b in dated_ranges("What did they agree in 2006?", sentences, text)] == [
        "The dialogue began in Astana.",
        "On 5 June 2006 a meeting was held in Tokyo. There, they agreed to meet again. In 2005 and 2006 aid grew."]
    assert dated_ranges("Where did they meet?", sentences, text) is None
    assert dated_ranges("What happened in 1999?", sentences[1:3], text) == []  # all of it dated otherwise
    # a passage that starts after the paragraph's date takes it
    assert dated_ranges("What did they agree in 2005?", sentences[3:4], text, date={"2006"}) == []
    assert dated_ranges("What did they agree in 2006?", sentences[3:4], text, date={"2006"}) == [sentences[3]]


def test_a_span_is_found_only_where_it_is_allowed():
    passage = "Tashkent hosted it. Tokyo hosted it."
    tashkent, tokyo = (0, 19), (20, len(passage))
    enc = encode_pairs(load_tokenizer(model_path()), ["Where?"], [passage], 64)
    start = np.zeros((1, enc.input_ids.shape[1]), dtype=np.float32)
    end = np.zeros_like(start)
    tokyo_token = next(k for k, (a, b) in enumerate(enc.offsets[0]) if enc.token_type_ids[0, k] == 1 and a == 20)
    start[0, tokyo_token] = end[0, tokyo_token] = 5.0  # the reader prefers "Tokyo"
    best = best_spans(enc, start, end)[0]
    assert passage[best.start:best.end] == "Tokyo"
    only = best_spans(enc, start, end, allowed=[[tashkent]])[0]
    assert tashkent[0] <= only.start and only.end <= tashkent[1]
    assert best_spans(enc, start, end, allowed=[[]]) == [None]  # nowhere allowed: no span
    assert best_spans(enc, start, end, allowed=[[tokyo]])[0].start == 20
