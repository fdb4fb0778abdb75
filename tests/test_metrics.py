"""Every metric against values computed by hand (the arithmetic is in the comments)."""

import math

import pytest

from qa.eval import metrics as M


# ---- SQuAD normalisation, EM, F1, contained ---------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    ("The  Cat's hat!", "cats hat"),  # lower, punctuation out, "the" out, spaces collapsed
    ("An apple, a day.", "apple day"),
    ("  US $700 million ", "us 700 million"),
    ("Theatre", "theatre"),  # "the" only as a whole word
    ("a", ""),
])
def test_normalize_answer(raw, expected):
    assert M.normalize_answer(raw) == expected


def test_exact_match():
    assert M.exact_match("the Tokyo.", ["Tokyo"]) == 1.0
    assert M.exact_match("Tokyo, Japan", ["Tokyo"]) == 0.0
    assert M.exact_match("Astana", ["Tokyo", "astana"]) == 1.0  # max over golds
    assert M.exact_match(None, ["Tokyo"]) == 0.0  # abstained on an answerable question
    assert M.exact_match(None, []) == 1.0  # abstained on an unanswerable one
    assert M.exact_match("Tokyo", []) == 0.0  # answered an unanswerable one


def test_token_f1_by_hand():
    # pred [in, tokyo, japan], gold [tokyo]: 1 common; P = 1/3, R = 1 -> F1 = 2*(1/3)/(4/3) = 0.5
    assert M.token_f1("in Tokyo, Japan", ["Tokyo"]) == pytest.approx(0.5)
    # pred [us, 700, million], golds [700, million] -> P 2/3, R 1 -> 0.8 ; [us, 700, million] -> 1
    assert M.token_f1("US $700 million", ["$700 million"]) == pytest.approx(0.8)
    assert M.token_f1("US $700 million", ["$700 million", "US $700 million"]) == 1.0
    # repeated tokens count with multiplicity: pred [a1 a1 b], gold [a1 b b]: common {a1:1, b:1} = 2
    assert M.token_f1("x x y", ["x y y"]) == pytest.approx(2 / 3)
    assert M.token_f1("Delta", ["Gamma City"]) == 0.0
    assert M.token_f1(None, []) == 1.0 and M.token_f1("anything", []) == 0.0
    assert M.token_f1(None, ["Tokyo"]) == 0.0


def test_answer_contained():
    assert M.answer_contained("The treaty was signed on 3 May 1999 in Gamma City.", ["3 May 1999"]) == 1.0
    assert M.answer_contained("It was signed in TOKYO, Japan.", ["tokyo"]) == 1.0
    assert M.answer_contained("Japanese relations", ["Japan"]) == 0.0  # whole words only
    assert M.answer_contained("Tokyo", ["Tokyo, Japan"]) == 0.0  # gold inside answer, not the reverse
    assert M.answer_contained(None, ["Tokyo"]) == 0.0
    assert M.answer_contained(None, []) == 1.0 and M.answer_contained("Tokyo", []) == 0.0


def test_squad_scores_hasans_noans_breakdown():
    preds = {"a": "Tokyo", "b": "in Tokyo, Japan", "c": None, "u1": None, "u2": "Delta"}
    golds = {"a": ["Tokyo"], "b": ["Tokyo"], "c": ["Delta"], "u1": [], "u2": []}
    agg, per = M.squad_scores(preds, golds)
    assert per["a"] == {"em": 1.0, "f1": 1.0, "contained": 1.0}
    assert per["b"] == {"em": 0.0, "f1": pytest.approx(0.5), "contained": 1.0}
    assert per["c"] == {"em": 0.0, "f1": 0.0, "contained": 0.0}
    assert per["u1"] == {"em": 1.0, "f1": 1.0, "contained": 1.0}
    assert per["u2"] == {"em": 0.0, "f1": 0.0, "contained": 0.0}
    # HasAns: EM (1+0+0)/3, F1 (1+0.5+0)/3, contained 2/3; NoAns: 1/2 each; all: EM 2/5, F1 2.5/5, contained 3/5
    assert agg["HasAns_exact_match"] == pytest.approx(1 / 3)
    assert agg["HasAns_f1"] == pytest.approx(0.5)
    assert agg["HasAns_contained"] == pytest.approx(2 / 3)
    assert agg["NoAns_exact_match"] == agg["NoAns_f1"] == agg["NoAns_contained"] == 0.5
    assert agg["exact_match"] == pytest.approx(0.4) and agg["f1"] == pytest.approx(0.5)
    assert agg["contained"] == pytest.approx(0.6)
    assert (agg["HasAns_total"], agg["NoAns_total"]) == (3, 2)


def test_squad_scores_without_unanswerable():
    agg, _ = M.squad_scores({"a": "x"}, {"a": ["x"]})
    assert agg["NoAns_exact_match"] is None and agg["exact_match"] == 1.0


# ---- abstention -------------------------------------------------------------------------------


def test_abstention_scores_by_hand():
    # 4 answerable (a1..a4), 2 unanswerable (u1, u2); declined: a1 (wrongly) and u1 (rightly)
    answerable = {"a1": True, "a2": True, "a3": True, "a4": True, "u1": False, "u2": False}
    abstained = {"a1": True, "a2": False, "a3": False, "a4": False, "u1": True, "u2": False}
    s = M.abstention_scores(abstained, answerable)
    # TP = 1 (u1), FP = 1 (a1): precision 1/2, recall 1/2, F1 1/2; false abstention 1/4; answered 4/6
    assert s["abstention_precision"] == 0.5
    assert s["abstention_recall"] == 0.5
    assert s["abstention_f1"] == 0.5
    assert s["false_abstention_rate"] == 0.25
    assert s["answered_rate"] == pytest.approx(4 / 6)


def test_abstention_scores_undefined_values_are_none():
    s = M.abstention_scores({"a": False, "u": False}, {"a": True, "u": False})
    assert s["abstention_precision"] is None  # nothing declined
    assert s["abstention_recall"] == 0.0 and s["abstention_f1"] is None
    s = M.abstention_scores({"a": True}, {"a": True})
    assert s["abstention_precision"] == 0.0 and s["abstention_recall"] is None
    assert s["false_abstention_rate"] == 1.0


# ---- retrieval --------------------------------------------------------------------------------


def test_evidence_rank_folds_quotes_and_whitespace():
    cites = ["Nothing here.", "It said “a new\n  framework” for the region’s future.", "a new framework"]
    assert M.evidence_rank(cites, 'said "a new framework" for the region\'s') == 2
    assert M.evidence_rank(cites, "absent sentence") is None
    assert M.evidence_rank([], "x") is None
    assert M.evidence_rank(["x"], "   ") is None


def test_evidence_rank_accepts_a_citation_inside_paragraph_evidence():
    paragraph = "First sentence. Second sentence is cited. Third sentence."
    assert M.evidence_rank(["Unrelated.", "Second sentence is cited."], paragraph) == 2
    # a chunk that straddles the paragraph's end: it counts when its supporting sentence is inside
    straddling = "Third sentence. Next paragraph starts."
    assert M.evidence_rank(["Unrelated.", straddling], paragraph) is None
    assert M.evidence_rank(["Unrelated.", straddling], paragraph, ["Unrelated.", "Third sentence."]) == 2
    assert M.evidence_rank(["Unrelated.", straddling], paragraph, ["", "Next paragraph starts."]) is None


def test_retrieval_scores_by_hand():
    ranks = {"a": 1, "b": 3, "c": None, "d": 7}
    agg, per = M.retrieval_scores(ranks, (1, 3, 5), mrr_at=10)
    assert agg["hit@1"] == 0.25  # a
    assert agg["hit@3"] == 0.5 and agg["hit@5"] == 0.5  # a, b
    assert agg["mrr@10"] == pytest.approx((1 + 1 / 3 + 0 + 1 / 7) / 4)
    assert per["d"] == {"hit@1": 0.0, "hit@3": 0.0, "hit@5": 0.0, "rr": pytest.approx(1 / 7)}
    agg, _ = M.retrieval_scores({"d": 7}, (1,), mrr_at=5)
    assert agg["mrr@5"] == 0.0  # beyond the cut-off
    assert M.retrieval_scores({}, (1,))[0]["hit@1"] is None


def test_hit_curve():
    curve = M.hit_curve([1, 3, None, 7], max_k=8)
    assert [curve[k] for k in range(1, 9)] == [0.25, 0.25, 0.5, 0.5, 0.5, 0.5, 0.75, 0.75]


def test_ndcg_by_hand():
    rel = {"passage A": 2, "passage B": 1}
    # citation 1 holds B (gain 1), citation 2 holds A (gain 2): DCG = 1/log2(2) + 2/log2(3)
    # ideal: A then B: IDCG = 2/log2(2) + 1/log2(3)
    cites = ["... passage B ...", "... passage A ...", "nothing"]
    dcg = 1 + 2 / math.log2(3)
    idcg = 2 + 1 / math.log2(3)
    assert M.ndcg_at_k(cites, rel, 10) == pytest.approx(dcg / idcg)  # = 0.8597
    assert M.ndcg_at_k(["passage A", "passage B"], rel, 10) == pytest.approx(1.0)
    assert M.ndcg_at_k(["nothing"], rel, 10) == 0.0
    # a passage is credited once: a second citation holding A again earns nothing
    assert M.ndcg_at_k(["passage A", "passage A again"], {"passage A": 1}, 10) == 1.0
    # cut-off: A at position 3 with k = 2 -> 0
    assert M.ndcg_at_k(["x", "y", "passage A"], {"passage A": 1}, 2) == 0.0
    assert M.ndcg_at_k(["x"], {"passage A": 0}, 10) is None


# ---- distributions ----------------------------------------------------------------------------


def test_percentile_and_distribution():
    assert M.percentile([4, 1, 3, 2], 50) == 2.5
    assert M.percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)  # pos 3*0.95 = 2.85 -> 3 + 0.85
    assert M.percentile([5], 95) == 5
    assert M.percentile([], 50) is None
    d = M.distribution([10, 20, 30, 100])
    assert d["median"] == 25 and d["mean"] == 40 and d["p95"] == pytest.approx(89.5)


def test_word_count():
    assert M.word_count("US $700 million") == 3
    assert M.word_count(None) is None
