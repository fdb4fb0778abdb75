"""Fit the abstention confidence on a test set, and compare fusion settings.

Calibration (``qa eval --calibrate``)
-------------------------------------
The confidence (qa/answer/confidence.py) is a logistic model over the signals in ``Answer.signals``.
It does not change the ranking, so one pass is enough: every question is asked once with the
abstain threshold at 0 (so the bot shows its would-be answer), and any other weights and
threshold are then simulated by recomputing the score from the recorded signals.

Target. A question is *positive* when it is answerable **and** the would-be answer contains a
gold answer. Unanswerable questions and answerable questions with a wrong top answer are both
negative: for the user, "I don't know" beats a confident wrong answer whatever the reason the
answer is wrong, so the confidence should estimate "the shown answer is right", not "the corpus
covers this". (Training on "answerable" alone would teach the model to answer questions whose
top answer it gets wrong.)

Objective. For each threshold t in 0.00, 0.01, ..., 1.00::

    utility(t) = (right answers + right abstentions - wrong answers) / questions

A right answer or a right abstention earns 1, a wrong answer shown (including any answer to an
unanswerable question) costs ``wrong_cost`` (default 1), declining an answerable question earns
nothing. Optionally the false-abstention rate must stay <= ``max_false_abstention``. Among the
best thresholds the middle of the widest run of equally good ones is taken, so the point is not
perched on the edge of a cliff. Weights are fitted by L2-regularised logistic regression (C=1, as
scikit-learn's LogisticRegression) with each weight kept on its feature's side (confidence.SIGNS);
a 5-fold cross-validated utility at the chosen threshold is reported as an honest estimate.

Fusion tuning (``qa eval --tune-fusion``)
-----------------------------------------
``tune_fusion(qa, items, grid)`` runs the test set once per candidate ``fusion`` /
``fusion_weights`` setting (sharing the loaded embedder) and reports evidence hit@1/@3, MRR and
"top answer contained" (answerable questions, abstention ignored). Tune fusion first, then
calibrate: the confidence depends on which sentence ranks first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from qa.eval import metrics as M
from qa.answer.confidence import FEATURES, SIGNS, confidence
from qa.core.errors import QAError
from qa.eval.datasets import TestItem
from qa.eval.run import run, summarize

GRID = [round(i / 100, 2) for i in range(101)]


def derive(qa, **overrides):
    """A QA with some settings changed, sharing ``qa``'s model and loaded index."""
    other = qa.with_settings(**overrides)
    other.warm_up(build_if_needed=False)
    return other


# ---------------------------------------------------------------------------------------------
# Re-scoring recorded answers


def rescore(records: Sequence[dict], weights: dict, threshold: float, sure_threshold: float = 0.0) -> list[dict]:
    """Records as they would be with confidence ``weights``, ``threshold`` and ``sure_threshold``
    (an answer below it is marked uncertain; the default 0 marks none).

    ``records`` must come from a run with ``abstain_threshold=0`` (every possible answer shown);
    a record that abstained even then (no searchable words, nothing retrieved) stays abstained.
    """
    out = []
    for r in records:
        forced = r["abstained"]
        conf = confidence(r["signals"], weights) if r["signals"] else 0.0
        abstain = forced or conf < threshold
        pred = None if abstain else r["prediction"]
        out.append({**r, "confidence": round(conf, 4), "abstained": abstain, "prediction": pred,
                    "uncertain": not abstain and conf < sure_threshold,
                    "em": M.exact_match(pred, r["answers"]), "f1": round(M.token_f1(pred, r["answers"]), 4),
                    "contained": M.answer_contained(pred, r["answers"]), "words": M.word_count(pred)})
    return out


def outcome_counts(records: Sequence[dict]) -> dict[str, int]:
    c = {"right_answer": 0, "right_abstention": 0, "wrong_answer": 0, "false_abstention": 0}
    for r in records:
        if r["abstained"]:
            c["false_abstention" if r["answerable"] else "right_abstention"] += 1
        else:
            c["right_answer" if r["contained"] else "wrong_answer"] += 1
    return c


def utility(records: Sequence[dict], wrong_cost: float = 1.0) -> float:
    """(right answers + right abstentions - wrong_cost * wrong answers) / questions."""
    c = outcome_counts(records)
    return (c["right_answer"] + c["right_abstention"] - wrong_cost * c["wrong_answer"]) / max(1, len(records))


def labels(records: Sequence[dict]) -> list[int]:
    """1 when the question is answerable and the would-be answer contains a gold answer."""
    return [int(r["answerable"] and r["prediction"] is not None and bool(r["contained"])) for r in records]


def _choose(scores: list[tuple[float, float, bool]]) -> float:
    """(threshold, utility, allowed) rows in threshold order -> middle of the widest best run."""
    allowed = [row for row in scores if row[2]]
    if not allowed:
        raise QAError("no threshold keeps the false-abstention rate within the limit; raise the limit")
    best = max(u for _, u, _ in allowed)
    runs, current = [], []
    for t, u, ok in scores:
        if ok and abs(u - best) < 1e-12:
            current.append(t)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    widest = max(runs, key=len)
    return widest[len(widest) // 2]


#: The share of right answers the dev set must show at and above the sure threshold, and how
#: many answers at least that share must rest on (a handful of lucky answers is no evidence).
SURE_PRECISION = 0.85
SURE_MIN_ANSWERS = 10


def sure_threshold(records: Sequence[dict], weights: dict, threshold: float,
                   precision: float = SURE_PRECISION, min_answers: int = SURE_MIN_ANSWERS) -> float:
    """The lowest confidence t >= ``threshold`` (on GRID) such that at least ``min_answers``
    answers score t or more and at least ``precision`` of them are right; 1.0 when no such t
    exists. Answers below it are shown as uncertain. Computed from threshold-0 ``records`` like
    the rest of calibration."""
    shown = [r for r in records if r["signals"] and not r["abstained"]]
    scored = [(confidence(r["signals"], weights), ok) for r, ok in zip(shown, labels(shown))]
    for t in GRID:
        if t < threshold:
            continue
        above = [ok for conf, ok in scored if conf >= t]
        if len(above) < max(1, min_answers):
            break  # t only rises from here, and so the count only falls
        if sum(above) / len(above) >= precision:
            return t
    return 1.0


@dataclass
class Calibration:
    weights: dict[str, float]
    threshold: float
    sure_threshold: float  # answers below it are shown as uncertain (see sure_threshold())
    utility: float
    metrics: dict  # summarize() at the chosen point
    outcomes: dict[str, int]
    current: dict  # the same for the current weights and threshold
    current_utility: float
    current_outcomes: dict[str, int]
    cv_utility: float | None
    positives: int
    negatives: int
    wrong_cost: float = 1.0
    max_false_abstention: float | None = None
    sweep: list[dict] = field(default_factory=list)


def fit_weights(records: Sequence[dict], C: float = 1.0, features: Sequence[str] = FEATURES) -> dict[str, float]:
    """Logistic regression of ``labels(records)`` on the ``features`` (default: all FEATURES) of
    ``records[i]["signals"]``; a feature left out gets no weight (an ablation).

    The objective is scikit-learn's ``LogisticRegression(C=C)`` (L2 on the weights, none on the
    bias), minimised with each weight held on the side ``SIGNS`` gives its feature (SciPy's
    L-BFGS-B with bounds). A feature missing from ``SIGNS`` is left free."""
    import numpy as np

    try:
        from scipy.optimize import minimize
        from scipy.special import expit
    except ImportError:
        raise QAError("calibration needs SciPy: pip install scipy") from None
    rows = [r for r in records if r["signals"]]
    y = labels(rows)
    if len(set(y)) < 2:
        raise QAError(
            f"calibration needs both right and wrong (or unanswerable) questions; all {len(y)} usable "
            f"questions are {'right' if y and y[0] else 'wrong or unanswerable'}"
        )
    X = np.array([[float(r["signals"][f]) for f in features] for r in rows])
    t = np.array(y, dtype=float)

    def loss(p):
        z = p[0] + X @ p[1:]
        residual = expit(z) - t  # d(log loss)/dz; expit does not overflow for large |z|
        value = 0.5 * p[1:] @ p[1:] + C * float(np.sum(np.logaddexp(0.0, z) - t * z))
        return value, np.concatenate([[C * residual.sum()], p[1:] + C * (X.T @ residual)])

    bounds = [(None, None)] + [(0.0, None) if SIGNS.get(f, 0) > 0 else (None, 0.0) if SIGNS.get(f, 0) < 0
                               else (None, None) for f in features]
    fit = minimize(loss, np.zeros(len(features) + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 5000, "ftol": 1e-12, "gtol": 1e-9})
    if not fit.success:
        raise QAError(f"the confidence fit did not converge ({fit.message}); check the test set's signals")
    weights = {"bias": round(float(fit.x[0]), 4)}
    weights.update({f: round(float(w), 4) + 0.0 for f, w in zip(features, fit.x[1:])})  # + 0.0: no "-0.0"
    return weights


def _cv_utility(records: Sequence[dict], threshold: float, wrong_cost: float, C: float, folds: int = 5,
                features: Sequence[str] = FEATURES) -> float | None:
    """Utility at ``threshold`` with each question scored by weights fitted without it."""
    from sklearn.model_selection import StratifiedKFold

    rows = list(records)
    usable = [i for i, r in enumerate(rows) if r["signals"]]
    y = labels([rows[i] for i in usable])
    if min(y.count(0), y.count(1)) < folds:
        return None
    out = list(rows)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(usable, y):
        w = fit_weights([rows[usable[i]] for i in train], C=C, features=features)
        for i in test:
            out[usable[i]] = rescore([rows[usable[i]]], w, threshold)[0]
    return utility(out, wrong_cost)


def calibrate_records(
    records: Sequence[dict],
    current_weights: dict,
    current_threshold: float,
    wrong_cost: float = 1.0,
    max_false_abstention: float | None = None,
    C: float = 1.0,
    features: Sequence[str] = FEATURES,
    *,
    current_sure: float = 0.0,
) -> Calibration:
    """Fit weights and pick a threshold from threshold-0 ``records`` (see module docstring)."""
    weights = fit_weights(records, C=C, features=features)
    sweep, scores = [], []
    for t in GRID:
        rs = rescore(records, weights, t)
        u = utility(rs, wrong_cost)
        far = M.abstention_scores({r["id"]: r["abstained"] for r in rs}, {r["id"]: r["answerable"] for r in rs})
        ok = max_false_abstention is None or (far["false_abstention_rate"] or 0.0) <= max_false_abstention
        scores.append((t, u, ok))
        sweep.append({"threshold": t, "utility": u, **outcome_counts(rs),
                      "false_abstention_rate": far["false_abstention_rate"]})
    t = _choose(scores)
    sure = sure_threshold(records, weights, t)
    chosen = rescore(records, weights, t, sure)
    now = rescore(records, current_weights, current_threshold, current_sure)
    y = labels([r for r in records if r["signals"]])
    return Calibration(
        weights=weights, threshold=t, sure_threshold=sure, utility=utility(chosen, wrong_cost), metrics=summarize(chosen),
        outcomes=outcome_counts(chosen), current=summarize(now), current_utility=utility(now, wrong_cost),
        current_outcomes=outcome_counts(now), cv_utility=_cv_utility(records, t, wrong_cost, C, features=features),
        positives=sum(y), negatives=len(y) - sum(y), wrong_cost=wrong_cost,
        max_false_abstention=max_false_abstention, sweep=sweep,
    )


def calibrate(qa, items: Sequence[TestItem], progress: bool = False, **kw) -> tuple[Calibration, list[dict]]:
    """Run ``items`` once with the threshold at 0, then ``calibrate_records``. Returns (result, records)."""
    qa.warm_up()
    probe = derive(qa, abstain_threshold=0.0)
    records = run(probe, items, top_k=qa.settings.top_k, progress=progress)
    return calibrate_records(records, qa.settings.confidence_weights, qa.settings.abstain_threshold,
                             current_sure=qa.settings.sure_threshold, **kw), records


def calibration_text(c: Calibration) -> str:
    def row(name, m, u, o):
        return (f"{name:<11}{u:>8.3f}{o['right_answer']:>7}{o['right_abstention']:>10}{o['wrong_answer']:>7}"
                f"{o['false_abstention']:>12}{M_fmt(m.get('contained')):>11}{M_fmt(m.get('abstention_f1')):>9}"
                f"{M_fmt(m.get('false_abstention_rate')):>8}")

    lines = [
        f"Fitted on {c.positives} right and {c.negatives} wrong/unanswerable would-be answers "
        f"(positive = answerable and the top answer contains gold).",
        "Weights: " + ", ".join(f"{k}={v:+.3f}" for k, v in c.weights.items()),
        f"Threshold: {c.threshold:.2f} (maximises utility = (right answers + right abstentions - "
        f"{c.wrong_cost:g} x wrong answers) / questions"
        + (f", false-abstention rate <= {c.max_false_abstention:g}" if c.max_false_abstention is not None else "") + ")",
        f"Sure threshold: {c.sure_threshold:.2f} (answers below it are shown as uncertain; at or above it "
        f"{M_fmt(c.metrics.get('sure_precision'))} of answers are right, goal >= {SURE_PRECISION:.0%})",
        "",
        f"{'':<11}{'utility':>8}{'right':>7}{'abst. ok':>10}{'wrong':>7}{'false abst.':>12}{'contained':>11}"
        f"{'abst.F1':>9}{'FAR':>8}",
        row("current", c.current, c.current_utility, c.current_outcomes),
        row("calibrated", c.metrics, c.utility, c.outcomes),
    ]
    if c.cv_utility is not None:
        lines.append(f"5-fold cross-validated utility at {c.threshold:.2f}: {c.cv_utility:.3f} "
                     "(expect about this on new questions)")
    return "\n".join(lines)


def M_fmt(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


# ---------------------------------------------------------------------------------------------
# Fusion tuning


def default_grid(settings) -> list[tuple[str, dict]]:
    """A small grid around the current weights: one change at a time, plus plain RRF."""
    base = dict(settings.fusion_weights)
    grid: list[tuple[str, dict]] = [("current", {"fusion": settings.fusion, "fusion_weights": base}),
                                    ("rrf", {"fusion": "rrf", "fusion_weights": base})]
    for name, value in (("lexical", 0.3), ("chunk_dense", 0.4), ("chunk_dense", 1.0), ("novelty", 0.0),
                        ("coverage", 0.3), ("entity", 0.5)):
        if abs(base.get(name, 0.0) - value) > 1e-9:
            grid.append((f"{name}={value}", {"fusion": "weighted", "fusion_weights": {**base, name: value}}))
    return grid


def tune_fusion(qa, items: Sequence[TestItem], grid: Sequence[tuple[str, dict]] | None = None,
                progress: bool = False) -> list[dict]:
    """Evaluate each ``(name, overrides)`` of ``grid``; rows sorted best first.

    Each row: name, overrides, hit@1, hit@3, mrr@10 (questions with evidence) and
    ``top_contained`` (answerable questions whose top answer holds gold, abstention ignored).
    """
    qa.warm_up()
    grid = list(grid or default_grid(qa.settings))
    rows = []
    for name, overrides in grid:
        probe = derive(qa, abstain_threshold=0.0, **overrides)
        records = run(probe, items, top_k=qa.settings.top_k, progress=progress)
        m = summarize(records)
        rows.append({"name": name, "overrides": overrides, "hit@1": m["hit@1"], "hit@3": m["hit@3"],
                     "mrr@10": m["mrr@10"], "sentence_hit@1": m["sentence_hit@1"],
                     "top_contained": m["HasAns_contained"]})
    rows.sort(key=lambda r: tuple(-(r[k] or 0.0) for k in ("top_contained", "sentence_hit@1", "hit@1", "hit@3")))
    return rows


def fusion_text(rows: Sequence[dict]) -> str:
    lines = [f"{'setting':<20}{'hit@1':>8}{'hit@3':>8}{'MRR@10':>8}{'sent.hit@1':>12}{'top answer contained':>22}"]
    for r in rows:
        lines.append(f"{r['name']:<20}{M_fmt(r['hit@1']):>8}{M_fmt(r['hit@3']):>8}{(r['mrr@10'] or 0):>8.3f}"
                     f"{M_fmt(r['sentence_hit@1']):>12}{M_fmt(r['top_contained']):>22}")
    lines.append("(best first; hit@k: evidence in the first k citations; sent.hit@1: the first citation's "
                 "highlighted sentence is the evidence; top answer contained: answerable questions, abstention ignored)")
    return "\n".join(lines)
