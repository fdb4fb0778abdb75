"""Evaluation metrics as pure functions over plain values (no model, no index, no I/O).

Shapes used throughout (ids are strings):

- a *prediction* is the text shown to the user, or ``None`` when the bot abstained;
- *golds* is a list of acceptable answers; ``[]`` means the question is unanswerable;
- an *evidence rank* is the 1-based position of the first citation holding the evidence,
  or ``None`` when no citation holds it.

Functions that score a set take ``{id: value}`` dicts and return ``(aggregate, per_question)``,
like beir's ``EvaluateRetrieval.evaluate`` and Haystack's ``DocumentMRREvaluator``: the aggregate
is a dict of floats (``None`` when undefined, e.g. a precision with nothing predicted) and the
per-question dict holds the value each question contributed, so the aggregate can always be
recomputed from it.

Answer metrics follow the official SQuAD v2.0 script: answers are normalised (lower case,
ASCII punctuation removed, articles a/an/the removed, whitespace collapsed); EM and token F1
take the maximum over the gold answers; for an unanswerable question the only gold answer is
the empty string, so EM = F1 = 1 exactly when the bot abstained.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from qa.core.text import fold

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)


# ---------------------------------------------------------------------------------------------
# Answers (SQuAD)


def normalize_answer(s: str) -> str:
    """The official SQuAD normalisation: lower case, drop punctuation, drop a/an/the, collapse spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _golds(golds: Sequence[str]) -> list[str]:
    # SQuAD 2.0: an unanswerable question has the single gold answer "".
    return [g for g in golds if normalize_answer(g)] or [""]


def exact_match(prediction: str | None, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer (abstaining = "")."""
    pred = normalize_answer(prediction or "")
    return float(any(pred == normalize_answer(g) for g in _golds(golds)))


def _f1(pred: str, gold: str) -> float:
    p, g = normalize_answer(pred).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(p == g)  # SQuAD: both empty -> 1, one empty -> 0
    common = Counter(p) & Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str | None, golds: Sequence[str]) -> float:
    """Token-overlap F1 of the normalised prediction, maximised over the gold answers."""
    return max(_f1(prediction or "", g) for g in _golds(golds))


def answer_contained(prediction: str | None, golds: Sequence[str]) -> float:
    """1.0 when a normalised gold answer appears, as whole words, inside the normalised prediction.

    This is the product's notion of "right": the bot shows a sentence or a span copied from the
    corpus, and it is right when the expected fact is in it. For an unanswerable question it is
    1.0 exactly when the bot abstained (as EM and F1 in SQuAD 2.0).
    """
    real = [g for g in golds if normalize_answer(g)]
    if not real:
        return float(prediction is None)
    if prediction is None:
        return 0.0
    pred = f" {normalize_answer(prediction)} "
    return float(any(f" {normalize_answer(g)} " in pred for g in real))


def squad_scores(
    predictions: Mapping[str, str | None], golds: Mapping[str, Sequence[str]]
) -> tuple[dict[str, float | None], dict[str, dict[str, float]]]:
    """EM, F1 and "contained", overall and split into HasAns / NoAns as in SQuAD 2.0.

    ``predictions``: ``{id: shown answer or None}``; ``golds``: ``{id: [gold, ...]}`` (``[]`` =
    unanswerable). Every id of ``golds`` must be in ``predictions``. Returns
    ``({"exact_match", "f1", "contained", "HasAns_exact_match", ..., "NoAns_f1", ...}, {id: {"em", "f1", "contained"}})``.
    """
    per = {}
    for qid, gold in golds.items():
        pred = predictions[qid]
        per[qid] = {"em": exact_match(pred, gold), "f1": token_f1(pred, gold), "contained": answer_contained(pred, gold)}
    has = [q for q, g in golds.items() if any(normalize_answer(x) for x in g)]
    no = [q for q in golds if q not in set(has)]
    agg: dict[str, float | None] = {}
    for prefix, ids in (("", list(golds)), ("HasAns_", has), ("NoAns_", no)):
        for name, key in (("exact_match", "em"), ("f1", "f1"), ("contained", "contained")):
            agg[prefix + name] = mean(per[q][key] for q in ids)
    agg["HasAns_total"], agg["NoAns_total"] = len(has), len(no)
    return agg, per


def best_threshold(rows: Sequence[tuple[float, bool, bool, float, float]]) -> dict[str, float | None]:
    """The SQuAD 2.0 script's best-threshold EM and F1: the scores had the abstain threshold
    been set where they are highest. ``rows``: (confidence, answerable, has a candidate answer,
    that answer's EM, its F1) per question. Returns best_exact_match, best_f1, best_f1_threshold."""
    if not rows:
        return {"best_exact_match": None, "best_f1": None, "best_f1_threshold": None}
    out = {}
    for name, col in (("exact_match", 3), ("f1", 4)):
        score = best = float(sum(1 for r in rows if not r[1]))  # everything declined
        cut = 1.0
        for conf, answerable, shown, em, f1 in sorted(rows, key=lambda r: -r[0]):
            if not shown:
                continue
            score += (em if col == 3 else f1) if answerable else -1.0
            if score > best:
                best, cut = score, conf
        out[f"best_{name}"] = best / len(rows)
        if name == "f1":
            out["best_f1_threshold"] = cut
    return out


# ---------------------------------------------------------------------------------------------
# Abstention


def ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def abstention_scores(
    abstained: Mapping[str, bool], answerable: Mapping[str, bool]
) -> dict[str, float | None]:
    """Declining as a classifier whose positive class is "this question is unanswerable".

    precision  = declined unanswerable / declined
    recall     = declined unanswerable / unanswerable
    f1         = harmonic mean of the two (None when either is undefined)
    false_abstention_rate = declined answerable / answerable
    answered_rate = share of all questions that got an answer
    """
    tp = sum(1 for q, a in abstained.items() if a and not answerable[q])
    fp = sum(1 for q, a in abstained.items() if a and answerable[q])
    n_unans = sum(1 for q in abstained if not answerable[q])
    n_ans = len(abstained) - n_unans
    p, r = ratio(tp, tp + fp), ratio(tp, n_unans)
    f1 = None if p is None or r is None else (0.0 if p + r == 0 else 2 * p * r / (p + r))
    return {
        "abstention_precision": p,
        "abstention_recall": r,
        "abstention_f1": f1,
        "false_abstention_rate": ratio(fp, n_ans),
        "answered_rate": ratio(len(abstained) - tp - fp, len(abstained)),
    }


# ---------------------------------------------------------------------------------------------
# Retrieval


def match_text(text: str) -> str:
    """Text as compared for evidence: Unicode/quote/dash folding, whitespace collapsed, case kept."""
    return " ".join(fold(text).split())


def evidence_rank(citations: Sequence[str], evidence: str, highlights: Sequence[str] | None = None) -> int | None:
    """1-based rank of the first citation that holds ``evidence``; None when none does.

    A citation holds it when its text contains the evidence, or lies wholly inside it, or (when
    ``highlights`` gives each citation's supporting sentence) that sentence lies inside it. The
    last two serve paragraph-sized evidence such as a SQuAD context, which a chunk boundary may cut.
    """
    ev = match_text(evidence)
    if not ev:
        return None
    for rank, text in enumerate(citations, start=1):
        c = match_text(text)
        h = match_text(highlights[rank - 1]) if highlights and rank <= len(highlights) else ""
        if c and (ev in c or c in ev or (h and h in ev)):
            return rank
    return None


def retrieval_scores(
    ranks: Mapping[str, int | None], ks: Iterable[int] = (1, 3, 5), mrr_at: int = 10
) -> tuple[dict[str, float | None], dict[str, dict[str, float]]]:
    """hit@k (share of questions whose evidence is in the first k citations) and MRR@``mrr_at``.

    ``ranks``: ``{id: evidence rank or None}`` for the questions that *have* evidence only.
    Returns ``({"hit@1", ..., "mrr@10"}, {id: {"hit@1", ..., "rr"}})``.
    """
    ks = list(ks)
    per = {}
    for qid, r in ranks.items():
        row = {f"hit@{k}": float(r is not None and r <= k) for k in ks}
        row["rr"] = 1.0 / r if r is not None and r <= mrr_at else 0.0
        per[qid] = row
    agg = {f"hit@{k}": mean(per[q][f"hit@{k}"] for q in per) for k in ks}
    agg[f"mrr@{mrr_at}"] = mean(per[q]["rr"] for q in per)
    return agg, per


def hit_curve(ranks: Iterable[int | None], max_k: int = 10) -> dict[int, float | None]:
    """``{k: hit@k}`` for k = 1..max_k (for the plot)."""
    ranks = list(ranks)
    return {k: mean(float(r is not None and r <= k) for r in ranks) for k in range(1, max_k + 1)}


def ndcg_at_k(citations: Sequence[str], relevance: Mapping[str, float], k: int = 10) -> float | None:
    """nDCG@k with graded relevance (linear gain, log2 discount, as trec_eval).

    ``relevance``: ``{passage text: grade}``. A citation's gain is the highest grade among the
    relevant passages it holds (matched as in ``evidence_rank``) that no earlier citation already
    got credit for; the ideal ranking puts the grades in decreasing order, one per position.
    None when no passage has a positive grade.
    """
    grades = {match_text(t): float(g) for t, g in relevance.items() if float(g) > 0 and match_text(t)}
    if not grades:
        return None
    credited: set[str] = set()
    dcg = 0.0
    for pos, text in enumerate(citations[:k], start=1):
        c = match_text(text)
        held = [t for t in grades if t not in credited and c and (t in c or c in t)]
        if held:
            dcg += max(grades[t] for t in held) / math.log2(pos + 1)
            credited.update(held)
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(pos + 1) for pos, g in enumerate(ideal, start=1))
    return dcg / idcg


# ---------------------------------------------------------------------------------------------
# Distributions (brevity, latency)


def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def word_count(text: str | None) -> int | None:
    """Words in a shown answer (whitespace-separated); None for an abstention."""
    return None if text is None else len(text.split())


def distribution(values: Iterable[float]) -> dict[str, float | None]:
    xs = list(values)
    return {"median": percentile(xs, 50), "mean": mean(xs), "p95": percentile(xs, 95)}
