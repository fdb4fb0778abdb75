"""Calibration (fit on recorded signals, threshold sweep) and fusion tuning."""

import pytest

from qa.eval import calibrate as C
from qa.answer.confidence import FEATURES, SIGNS, confidence
from qa.core.config import Settings
from qa.core.errors import QAError


def rec(qid, answerable, right, dense, forced=False):
    """A record from a threshold-0 run: answered unless ``forced``; ``right`` = gold in the answer."""
    signals = {f: 0.5 for f in FEATURES}
    signals["dense"] = dense
    pred = None if forced else ("gold here" if right else "something else")
    return {"id": qid, "answers": ["gold"] if answerable else [], "answerable": answerable,
            "prediction": pred, "abstained": forced, "contained": float(right if answerable else forced),
            "em": 0.0, "f1": 0.0, "words": None if forced else 2, "signals": {} if forced else signals,
            "has_evidence": False, "evidence_rank": None, "evidence_sentence_rank": None, "ndcg@10": None,
            "latency_ms": 1.0, "error": None, "kind": None}


def dataset():
    rs = []
    for i in range(12):  # right answers: high dense
        rs.append(rec(f"r{i}", True, True, 0.7 + 0.02 * i))
    for i in range(6):  # answerable, wrong top answer: low dense
        rs.append(rec(f"w{i}", True, False, 0.2 + 0.03 * i))
    for i in range(6):  # unanswerable: low dense
        rs.append(rec(f"u{i}", False, False, 0.1 + 0.05 * i))
    rs.append(rec("forced", False, False, 0.0, forced=True))
    return rs


def test_labels_target_right_answers_only():
    rs = [rec("a", True, True, 0.9), rec("b", True, False, 0.9), rec("c", False, False, 0.9)]
    assert C.labels(rs) == [1, 0, 0]


def test_rescore_and_utility_by_hand():
    w = {"bias": -5.0, "dense": 10.0}
    rs = [rec("a", True, True, 0.9), rec("b", True, False, 0.6), rec("c", False, False, 0.2),
          rec("d", True, True, 0.3), rec("e", False, False, 0.0, forced=True)]
    # scores: sigmoid(4) = .982, sigmoid(1) = .731, sigmoid(-3) = .047, sigmoid(-2) = .119
    out = C.rescore(rs, w, 0.5)
    assert [r["abstained"] for r in out] == [False, False, True, True, True]
    assert out[0]["confidence"] == pytest.approx(confidence({**rs[0]["signals"]}, w), abs=1e-4)
    assert out[3]["prediction"] is None and out[3]["contained"] == 0.0 and out[3]["words"] is None
    assert out[2]["contained"] == 1.0  # declined an unanswerable question: right
    # right a, wrong b, right abstentions c and e, false abstention d -> (1 + 2 - 1) / 5
    assert C.outcome_counts(out) == {"right_answer": 1, "right_abstention": 2, "wrong_answer": 1, "false_abstention": 1}
    assert C.utility(out) == pytest.approx(2 / 5)
    assert C.utility(out, wrong_cost=0.5) == pytest.approx(2.5 / 5)


def test_choose_takes_the_middle_of_the_widest_best_run():
    rows = [(0.1, 0.2, True), (0.2, 0.5, True), (0.3, 0.5, True), (0.4, 0.4, True),
            (0.5, 0.5, True), (0.6, 0.5, True), (0.7, 0.5, True), (0.8, 0.1, True)]
    assert C._choose(rows) == 0.6  # run 0.5..0.7 beats 0.2..0.3
    assert C._choose([(0.1, 0.9, False), (0.2, 0.3, True)]) == 0.2  # constrained
    with pytest.raises(QAError, match="false-abstention"):
        C._choose([(0.1, 0.9, False)])


def test_calibrate_records_separates_right_from_wrong():
    rs = dataset()
    c = C.calibrate_records(rs, {"bias": 0.0}, 0.0)
    assert c.weights["dense"] > 0 and set(c.weights) == {"bias", *FEATURES}
    assert (c.positives, c.negatives) == (12, 12)  # the forced abstention is not a training row
    # everything right: 12 right answers, 7 right abstentions (6 + forced), 6 wrong answers declined
    assert c.outcomes == {"right_answer": 12, "right_abstention": 7, "wrong_answer": 0, "false_abstention": 6}
    assert c.utility == pytest.approx(19 / 25)
    # current weights (bias 0 -> confidence 0.5 >= threshold 0): answers all 24 -> 12 right, 12 wrong
    assert c.current_utility == pytest.approx((12 + 1 - 12) / 25)
    assert c.metrics["contained"] == pytest.approx(19 / 25)
    assert c.cv_utility is not None and c.cv_utility > c.current_utility
    assert len(c.sweep) == 101 and 0 < c.threshold < 1
    text = C.calibration_text(c)
    assert "Threshold:" in text and "calibrated" in text and "dense=" in text


def test_max_false_abstention_constraint():
    rs = dataset()
    c = C.calibrate_records(rs, {"bias": 0.0}, 0.0, max_false_abstention=0.0)
    assert c.metrics["false_abstention_rate"] == 0.0  # answers every answerable question


def test_calibration_needs_both_classes():
    with pytest.raises(QAError, match="both right and wrong"):
        C.fit_weights([rec("a", True, True, 0.9), rec("b", True, True, 0.8)])


def test_calibrate_and_tune_fusion_on_tiny_corpus(tiny_settings, fake_embedder):
    from qa.eval.datasets import TestItem
    from qa.answer.pipeline import QA

    qa = QA(tiny_settings, embedder=fake_embedder)
    items = [
        TestItem("a", "When was the treaty signed?", ("3 May 1999",), "The treaty was signed on 3 May 1999 in Gamma City."),
        TestItem("b", "Who chaired the signing?", ("Jane Q. Smith",), "Dr. Jane Q. Smith chaired the signing."),
        TestItem("c", "Where did the parties meet in 2001?", ("Delta",)),
        TestItem("d", "Who won the football world cup?", ()),
        TestItem("e", "What is the price of tea in Zanzibar?", ()),
    ]
    result, records = C.calibrate(qa, items)
    assert len(records) == 5 and all(r["prediction"] is not None for r in records if r["signals"])
    assert 0.0 <= result.threshold <= 1.0 and qa.settings.abstain_threshold == Settings().abstain_threshold  # qa itself untouched

    grid = [("current", {"fusion": "weighted", "fusion_weights": dict(qa.settings.fusion_weights)}),
            ("rrf", {"fusion": "rrf", "fusion_weights": dict(qa.settings.fusion_weights)})]
    rows = C.tune_fusion(qa, items, grid)
    assert {r["name"] for r in rows} == {"current", "rrf"}
    for r in rows:
        assert 0 <= r["hit@1"] <= r["hit@3"] <= 1 and r["top_contained"] is not None
    assert "setting" in C.fusion_text(rows)
    names = [n for n, _ in C.default_grid(qa.settings)]
    assert names[:2] == ["current", "rrf"] and len(names) <= 10


def test_weights_stay_on_their_features_side():
    # On these records a *lower* entity share goes with right answers (an accident of the sample):
    # an unconstrained fit would give it a negative weight; the calibration keeps it at 0.
    rs = dataset()
    for r in rs:
        if r["signals"]:
            r["signals"]["entity"] = 0.0 if r["id"].startswith("r") else 1.0
    w = C.fit_weights(rs)
    assert w["entity"] == 0.0
    assert w["dense"] > 0.0


def test_fit_matches_scikit_learn_when_no_bound_is_reached():
    sklearn = pytest.importorskip("sklearn.linear_model")
    rs = dataset()
    w = C.fit_weights(rs, features=("dense",))
    model = sklearn.LogisticRegression(C=1.0, max_iter=5000).fit(
        [[r["signals"]["dense"]] for r in rs if r["signals"]], C.labels([r for r in rs if r["signals"]]))
    assert w["dense"] == pytest.approx(float(model.coef_[0][0]), abs=1e-3)
    assert w["bias"] == pytest.approx(float(model.intercept_[0]), abs=1e-3)


def test_every_feature_has_a_sign():
    assert set(SIGNS) == set(FEATURES) and set(SIGNS.values()) <= {-1, 1}


def test_fit_matches_scikit_learn_on_all_features_when_no_bound_is_reached():
    sklearn = pytest.importorskip("sklearn.linear_model")
    import random

    rng = random.Random(0)
    rs = []
    for n in range(200):  # each feature pulls the label its own sign's way, plus noise
        signals = {f: rng.random() for f in FEATURES}
        z = sum(SIGNS[f] * (signals[f] - 0.5) for f in FEATURES) * 3 + rng.gauss(0, 1)
        r = rec(f"q{n}", True, z > 0, 0.5)
        r["signals"] = signals
        rs.append(r)
    w = C.fit_weights(rs)
    assert all(SIGNS[f] * w[f] > 0 for f in FEATURES)  # no bound reached
    X = [[r["signals"][f] for f in FEATURES] for r in rs]
    model = sklearn.LogisticRegression(C=1.0, max_iter=5000, tol=1e-10).fit(X, C.labels(rs))  # an exact reference
    for f, coef in zip(FEATURES, model.coef_[0]):
        assert w[f] == pytest.approx(float(coef), abs=2e-3)


def test_sure_threshold_is_the_lowest_confidence_above_which_answers_are_mostly_right():
    w = {"bias": -5.0, "dense": 10.0}  # confidence = sigmoid(10 * dense - 5)
    # confidences: .99 right, .95 right, .88 wrong, .73 right, .50 wrong, .27 wrong; one forced abstention
    rs = [rec("a", True, True, 0.96), rec("b", True, True, 0.8), rec("c", False, False, 0.7),
          rec("d", True, True, 0.6), rec("e", True, False, 0.5), rec("f", True, False, 0.4),
          rec("g", False, False, 0.0, forced=True)]
    # at >= .89 two of two are right; at >= .74 (.88 included) only 2 of 3 -- below 85%
    assert C.sure_threshold(rs, w, threshold=0.0, min_answers=2) == 0.89
    assert C.sure_threshold(rs, w, threshold=0.0, precision=0.7, min_answers=2) == 0.51  # 3 of 4 at >= .51 (.50 left out)
    assert C.sure_threshold(rs, w, threshold=0.95, min_answers=2) == 0.95  # never below the abstain threshold
    assert C.sure_threshold([rec("x", True, False, 0.9)], w, threshold=0.0, min_answers=1) == 1.0  # none is sure
    assert C.sure_threshold(rs, w, threshold=0.0, min_answers=3) == 1.0  # .89 rests on 2 answers: too few
    marked = C.rescore(rs, w, 0.3, sure_threshold=0.89)
    assert [r["uncertain"] for r in marked] == [False, False, True, True, True, False, False]  # f, g abstain


def test_calibration_reports_and_stores_the_sure_threshold():
    c = C.calibrate_records(dataset(), {"bias": 0.0}, 0.0)
    assert c.threshold <= c.sure_threshold <= 1.0
    assert c.metrics["sure_precision"] >= C.SURE_PRECISION
    assert f"Sure threshold: {c.sure_threshold:.2f}" in C.calibration_text(c)


def test_calibrate_script_refits_from_records_and_balances_the_sets(tmp_path, capsys):
    """scripts/calibrate.py --from-records fits without asking; --balance repeats the smaller set's
    records up to the larger's size, so both weigh alike."""
    import json
    import sys

    from conftest import REPO

    sys.path.insert(0, str(REPO / "scripts"))
    import calibrate as script

    small = [rec(f"s{i}", True, True, 0.8) for i in range(3)] + [rec(f"t{i}", False, False, 0.2) for i in range(3)]
    records = tmp_path / "records.json"
    records.write_text(json.dumps({"sets": {"big.jsonl": dataset() * 2, "small.jsonl": small}}), encoding="utf-8")
    script.main(["--from-records", str(records)])
    plain = capsys.readouterr().out
    script.main(["--from-records", str(records), "--balance"])
    balanced = capsys.readouterr().out
    # records with signals: big 24 right + 24 not, small 3 + 3 (a forced abstention has none)
    assert "Fitted on 27 right and 27 wrong" in plain
    assert "Fitted on 48 right and 48 wrong" in balanced  # the small set's records repeated round(50 / 6) = 8 times
    assert "small.jsonl:" in balanced and "big.jsonl:" in balanced
    with pytest.raises(SystemExit):
        script.main([])  # neither pairs nor records
