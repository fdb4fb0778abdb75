"""Running a test set (qa/eval/datasets.py): ``run(qa, items)`` asks every question through ``QA.ask`` (the chat's entry point) and returns
one plain-dict record per question; ``summarize(records)`` computes every aggregate from those
records alone (see ``qa/eval/metrics.py``), so a saved report can always be re-checked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence

from qa.eval import metrics as M
from qa.core.errors import BadQuestionError
from qa.eval.datasets import TestItem, TestSet

#: Citations requested per question: the hit@k curve and MRR@10 need ten. The citations a user
#: sees (the first ``top_k``) are a prefix of these, and the answer does not depend on the depth.
RETRIEVAL_DEPTH = 10
HIT_KS = (1, 3, 5)

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Running


def record_for(item: TestItem, answer, latency_ms: float, top_k: int, threshold: float | None = None) -> dict:
    """The per-question record of a report (plain JSON values only).

    With ``threshold``, ``answer`` came from a run with the abstain threshold at 0 (so the answer
    a lower threshold would show is known, for the best-threshold figures) and the record shows
    what the threshold makes of it: the same as asking with it, since confidence does not depend
    on the threshold."""
    texts = [c.text for c in answer.citations]
    candidate = None if answer.abstained else answer.text
    pred = candidate if threshold is None or answer.score >= threshold else None
    # The highlighted (best) sentence of each citation: a sharper, sentence-level evidence match.
    marked = [c.text[c.highlight_start - c.start:c.highlight_end - c.start] if c.highlight_start is not None else ""
              for c in answer.citations]
    rank = M.evidence_rank(texts, item.evidence, marked) if item.evidence else None
    sentence_rank = M.evidence_rank(marked, item.evidence) if item.evidence else None
    return {
        "id": item.id,
        "question": item.question,
        "kind": item.kind,
        "answers": list(item.answers),
        "answerable": item.answerable,
        "has_evidence": item.evidence is not None,
        "evidence": item.evidence,
        "prediction": pred,
        "candidate": candidate,  # the answer a threshold of 0 shows
        "candidate_em": M.exact_match(candidate, item.answers),
        "candidate_f1": round(M.token_f1(candidate, item.answers), 4),
        "abstained": pred is None,
        "uncertain": bool(answer.uncertain) and pred is not None,
        "confidence": round(float(answer.score), 4),
        "em": M.exact_match(pred, item.answers),
        "f1": round(M.token_f1(pred, item.answers), 4),
        "contained": M.answer_contained(pred, item.answers),
        "evidence_rank": rank,
        "evidence_sentence_rank": sentence_rank,
        "ndcg@10": M.ndcg_at_k(texts, item.relevance, 10) if item.relevance else None,
        "words": M.word_count(pred),
        "latency_ms": round(latency_ms, 2),
        "question_type": answer.question_type,
        "signals": {k: float(v) for k, v in answer.signals.items()},  # full precision: calibration recomputes scores
        "citations": [{"n": c.n, "doc": c.doc, "section": c.section, "start": c.start, "end": c.end}
                      for c in answer.citations[:top_k]],
        "top_citation": " ".join(answer.citations[0].text.split()) if answer.citations else None,
        "error": None,
    }


def error_record(item: TestItem, error: str) -> dict:
    """A question the library refused (e.g. too long): scored as an abstention, flagged by ``error``."""
    rec = {
        "id": item.id, "question": item.question, "kind": item.kind, "answers": list(item.answers),
        "answerable": item.answerable, "has_evidence": item.evidence is not None, "evidence": item.evidence,
        "prediction": None, "candidate": None, "candidate_em": M.exact_match(None, item.answers),
        "candidate_f1": M.token_f1(None, item.answers),
        "abstained": True, "uncertain": False, "confidence": 0.0, "em": M.exact_match(None, item.answers),
        "f1": M.token_f1(None, item.answers), "contained": M.answer_contained(None, item.answers),
        "evidence_rank": None, "evidence_sentence_rank": None, "ndcg@10": 0.0 if item.relevance else None,
        "words": None, "latency_ms": 0.0,
        "question_type": None, "signals": {}, "citations": [], "top_citation": None, "error": error,
    }
    return rec


def run(
    qa,
    items: Sequence[TestItem],
    top_k: int | None = None,
    progress: bool = False,
    on_item: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Ask every question with ``qa.ask(question, history=item.history)``; one record each.

    ``top_k``: citations a user is shown (default: the QA's setting); retrieval metrics look at
    the first ``RETRIEVAL_DEPTH`` citations. ``progress`` shows a tqdm bar on stderr;
    ``on_item(done, total)`` is called after each question (for the web UI).
    """
    qa.warm_up()
    threshold = qa.settings.abstain_threshold
    if threshold > 0:  # asked at 0, records keep what lower thresholds would show
        qa = qa.with_settings(abstain_threshold=0.0)
        qa.warm_up()
    top_k = top_k or qa.settings.top_k
    depth = max(top_k, RETRIEVAL_DEPTH)
    records = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), desc="Evaluating", unit="q", leave=False)
    try:
        for i, item in enumerate(items, start=1):
            t0 = time.perf_counter()
            try:
                answer = qa.ask(item.question, history=list(item.history), top_k=depth)
            except BadQuestionError as e:
                records.append(error_record(item, str(e)))
            else:
                records.append(record_for(item, answer, (time.perf_counter() - t0) * 1000.0, top_k, threshold))
            if bar is not None:
                bar.update(1)
            if on_item is not None:
                on_item(i, len(items))
    finally:
        if bar is not None:
            bar.close()
    return records


def is_correct(rec: dict) -> bool:
    """Right answer shown (gold contained) for an answerable question; abstained otherwise."""
    return bool(rec["contained"])


def sure_scores(records: Sequence[dict]) -> dict:
    """How far the "uncertain" mark can be trusted: the share of shown answers marked sure, and
    the share of right answers among the sure and among the uncertain ones (None when empty)."""
    shown = [r for r in records if not r["abstained"]]
    sure = [r for r in shown if not r.get("uncertain")]
    unsure = [r for r in shown if r.get("uncertain")]
    # a shown answer is right when it contains a gold answer (is_correct): for an unanswerable
    # question, any shown answer is wrong
    return {"sure_share": len(sure) / len(shown) if shown else None,
            "sure_precision": M.mean(float(is_correct(r)) for r in sure),
            "uncertain_precision": M.mean(float(is_correct(r)) for r in unsure)}


def summarize(records: Sequence[dict]) -> dict:
    """Every aggregate metric, computed from the per-question records only."""
    ids = [r["id"] for r in records]
    by_id = dict(zip(ids, records))
    squad, _ = M.squad_scores({q: r["prediction"] for q, r in by_id.items()},
                              {q: r["answers"] for q, r in by_id.items()})
    out: dict = {"questions": len(records), "errors": sum(1 for r in records if r.get("error"))}
    out.update(squad)
    out.update(M.best_threshold([(r["confidence"], r["answerable"], r.get("candidate") is not None,
                                  r.get("candidate_em", r["em"]), r.get("candidate_f1", r["f1"])) for r in records]))
    out.update(M.abstention_scores({q: r["abstained"] for q, r in by_id.items()},
                                   {q: r["answerable"] for q, r in by_id.items()}))
    ranks = {q: r["evidence_rank"] for q, r in by_id.items() if r["has_evidence"]}
    retrieval, _ = M.retrieval_scores(ranks, HIT_KS, mrr_at=10)
    out["evidence_total"] = len(ranks)
    out.update(retrieval)
    sentence, _ = M.retrieval_scores({q: by_id[q]["evidence_sentence_rank"] for q in ranks}, (1, 3), mrr_at=10)
    out["sentence_hit@1"], out["sentence_hit@3"] = sentence["hit@1"], sentence["hit@3"]
    out["hit_curve"] = {str(k): v for k, v in M.hit_curve(ranks.values(), RETRIEVAL_DEPTH).items()}
    out.update(sure_scores(records))
    ndcg = [r["ndcg@10"] for r in records if r.get("ndcg@10") is not None]
    out["ndcg@10"], out["ndcg_total"] = M.mean(ndcg), len(ndcg)
    words = M.distribution(r["words"] for r in records if r["words"] is not None)
    out["words_median"], out["words_mean"] = words["median"], words["mean"]
    lat = M.distribution(r["latency_ms"] for r in records if not r.get("error"))
    out["latency_median_ms"], out["latency_p95_ms"] = lat["median"], lat["p95"]
    kinds: dict[str, list[dict]] = {}
    for r in records:
        kinds.setdefault(r.get("kind") or "-", []).append(r)
    if set(kinds) != {"-"}:
        out["by_kind"] = {
            k: {"questions": len(rs), "contained": M.mean(float(r["contained"]) for r in rs),
                "exact_match": M.mean(r["em"] for r in rs), "f1": M.mean(r["f1"] for r in rs),
                "abstained": M.mean(float(r["abstained"]) for r in rs)}
            for k, rs in sorted(kinds.items())
        }
    return out


#: The metrics of the summary table, in order: (key, label, format).
SUMMARY_ROWS: list[tuple[str, str, str]] = [
    ("questions", "questions", "n"),
    ("contained", "answer contained (all)", "%"),
    ("HasAns_contained", "answer contained (answerable)", "%"),
    ("exact_match", "exact match (all)", "%"),
    ("f1", "token F1 (all)", "%"),
    ("HasAns_exact_match", "exact match (answerable)", "%"),
    ("HasAns_f1", "token F1 (answerable)", "%"),
    ("best_f1", "token F1 at the best threshold (all)", "%"),
    ("best_f1_threshold", "best threshold for F1", "f"),
    ("NoAns_exact_match", "abstained (unanswerable)", "%"),
    ("abstention_precision", "abstention precision", "%"),
    ("abstention_recall", "abstention recall", "%"),
    ("abstention_f1", "abstention F1", "%"),
    ("false_abstention_rate", "false-abstention rate", "%"),
    ("hit@1", "evidence hit@1", "%"),
    ("hit@3", "evidence hit@3", "%"),
    ("hit@5", "evidence hit@5", "%"),
    ("mrr@10", "evidence MRR@10", "f"),
    ("sentence_hit@1", "evidence sentence hit@1", "%"),
    ("sentence_hit@3", "evidence sentence hit@3", "%"),
    ("ndcg@10", "nDCG@10 (graded)", "f"),
    ("sure_share", "answers shown as sure", "%"),
    ("sure_precision", "right among sure answers", "%"),
    ("uncertain_precision", "right among uncertain answers", "%"),
    ("words_median", "answer words (median)", "f1"),
    ("words_mean", "answer words (mean)", "f1"),
    ("latency_median_ms", "latency median (ms)", "f1"),
    ("latency_p95_ms", "latency p95 (ms)", "f1"),
    ("errors", "questions refused", "n"),
]


def fmt(value, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "%":
        return f"{100 * value:.1f}%"
    if kind == "n":
        return str(int(value))
    if kind == "f1":
        return f"{value:.1f}"
    return f"{value:.3f}"


def summary_rows(metrics: dict) -> list[tuple[str, str]]:
    rows = []
    for key, label, kind in SUMMARY_ROWS:
        if key == "ndcg@10" and not metrics.get("ndcg_total"):
            continue
        if key in ("HasAns_contained", "HasAns_exact_match", "HasAns_f1") and not metrics.get("HasAns_total"):
            continue
        if key == "NoAns_exact_match" and not metrics.get("NoAns_total"):
            continue
        value = metrics.get(key)
        if key == "questions":
            rows.append((label, f"{value} ({metrics.get('HasAns_total', 0)} answerable, "
                                f"{metrics.get('NoAns_total', 0)} unanswerable, {metrics.get('evidence_total', 0)} with evidence)"))
        else:
            rows.append((label, fmt(value, kind)))
    return rows


def summary_table(metrics: dict) -> str:
    rows = summary_rows(metrics)
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    if metrics.get("by_kind"):
        lines += ["", f"{'kind':<14}{'n':>5}{'contained':>11}{'EM':>8}{'F1':>8}{'abstained':>11}"]
        for k, m in metrics["by_kind"].items():
            lines.append(f"{k:<14}{m['questions']:>5}{fmt(m['contained'], '%'):>11}{fmt(m['exact_match'], '%'):>8}"
                         f"{fmt(m['f1'], '%'):>8}{fmt(m['abstained'], '%'):>11}")
    return "\n".join(lines)


def evaluate(qa, testset: TestSet | Iterable[TestItem], top_k: int | None = None, progress: bool = False,
             on_item=None) -> tuple[list[dict], dict]:
    """``run`` + ``summarize``: (records, metrics)."""
    items = testset.items if isinstance(testset, TestSet) else list(testset)
    records = run(qa, items, top_k=top_k, progress=progress, on_item=on_item)
    return records, summarize(records)
