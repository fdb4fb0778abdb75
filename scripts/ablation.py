"""Ablation table for docs/quality.md: each technique switched off in turn, measured with the
evaluation harness (qa.evaluation) on a test set.

    .venv/bin/python scripts/ablation.py testsets/dev.jsonl [testsets/heldout.jsonl ...]

Answer quality is reported with abstention switched off (threshold 0), so a technique's effect
on ranking and extraction is not mixed up with the confidence threshold; the last columns give
the abstention behaviour at the configured (calibrated) threshold.

A second table ablates the confidence features (qa/confidence.py): for each row the confidence
is refitted on the first test set (dev) without that feature, the way ``qa eval --calibrate
--max-false-abstention 0.05`` fits it, and the fitted weights and threshold are applied to every
test set: answerable questions answered right, unanswerable ones declined, answerable ones
declined.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from qa import checks
from qa import metrics as M
from qa.calibrate import calibrate_records, derive, rescore
from qa.confidence import FEATURES
from qa.config import load_settings
from qa.evaluation import evaluate, load_testset, run
from qa.pipeline import QA

#: Confidence features whose contribution the second table measures.
CONFIDENCE_ABLATIONS = ("mismatch", "name_oov")
#: Answer-slot checks inside the ``mismatch`` feature (qa/checks.py) switched off one at a time:
#: the answers are recomputed without the check and the confidence refitted.
CHECK_ABLATIONS = ("missing_attribute", "number_conflict", "missing_kind", "missing_name_part", "missing_person")


def variants(base):
    w = dict(base.fusion_weights)
    yield "full system", {}
    yield "fusion = plain RRF (dense + BM25)", {"fusion": "rrf"}
    yield "dense only (sentences)", {"fusion_weights": {"dense": 1.0}}
    yield "BM25 only", {"fusion_weights": {"lexical": 1.0}}
    for name in ("chunk_dense", "lexical", "coverage", "entity", "type_match", "novelty", "listing", "additive"):
        if w.get(name):
            yield f"without {name} signal", {"fusion_weights": {**w, name: 0.0}}
    yield "without span extraction", {"extract_spans": False}
    yield "without follow-up rewriting", {"history_rewrite": False}
    yield "without event frames", {"event_frames": False}
    yield "without title/section context in embeddings", {"context_prefix": False}


def row(qa, testset):
    _, m = evaluate(qa, testset)
    return m


def main(paths):
    base = load_settings()
    first = QA(base)
    first.warm_up()
    tmp = Path(tempfile.mkdtemp(prefix="qa-ablation-"))
    sets = [load_testset(p) for p in paths]
    header = "| variant | " + " | ".join(
        f"{Path(p).stem}: contained / hit@1 / hit@3 / words" for p in paths) + " |"
    print(header)
    print("|" + "---|" * (1 + len(paths)))
    for label, overrides in variants(base):
        settings = base.replace(abstain_threshold=0.0, **overrides)
        if "context_prefix" in overrides:  # needs its own index
            settings = settings.replace(index_dir=tmp / "index")
        qa = first.with_settings(**{k: getattr(settings, k) for k in ("abstain_threshold", "index_dir", *overrides)})
        qa.warm_up()
        cells = []
        for ts in sets:
            m = row(qa, ts)
            cells.append(f"{m['HasAns_contained']:.1%} / {m['hit@1']:.1%} / {m['hit@3']:.1%} / "
                         f"{m['words_median']:.0f}")
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    print()
    print("At the configured threshold:")
    for p, ts in zip(paths, sets):
        _, m = evaluate(first, ts)
        print(f"- {Path(p).stem}: contained (answerable) {m['HasAns_contained']:.1%}, "
              f"unanswerable declined {m['NoAns_exact_match']:.1%}, "
              f"false abstention {m['false_abstention_rate']:.1%}")
    print()
    confidence_table(first, paths, sets)


def confidence_table(qa, paths, sets, max_false_abstention=0.05):
    """Refit the confidence on the first set without each feature of CONFIDENCE_ABLATIONS, and
    with each check of CHECK_ABLATIONS switched off inside ``mismatch``."""
    probe = derive(qa, abstain_threshold=0.0)
    records = [run(probe, ts.items, top_k=qa.settings.top_k) for ts in sets]
    print("| confidence variant (fitted on " + Path(paths[0]).stem + ") | " + " | ".join(
        f"{Path(p).stem}: contained / unanswerable declined / answerable declined" for p in paths) + " |")
    print("|" + "---|" * (1 + len(paths)))
    rows = [("all features", FEATURES, records)] + [
        (f"without {f}", tuple(x for x in FEATURES if x != f), records) for f in CONFIDENCE_ABLATIONS]
    for check in CHECK_ABLATIONS:
        original = getattr(checks, check)
        setattr(checks, check, lambda *args, **kwargs: False)
        try:
            rows.append((f"mismatch without {check}", FEATURES,
                         [run(probe, ts.items, top_k=qa.settings.top_k) for ts in sets]))
        finally:
            setattr(checks, check, original)
    for label, feats, recs_by_set in rows:
        cal = calibrate_records(recs_by_set[0], qa.settings.confidence_weights, qa.settings.abstain_threshold,
                                max_false_abstention=max_false_abstention, features=feats)
        cells = []
        for recs in recs_by_set:
            rs = rescore(recs, cal.weights, cal.threshold)
            ans = [r for r in rs if r["answerable"]]
            una = [r for r in rs if not r["answerable"]]
            far = M.abstention_scores({r["id"]: r["abstained"] for r in rs}, {r["id"]: r["answerable"] for r in rs})
            cells.append(f"{sum(bool(r['contained']) for r in ans) / len(ans):.1%} / "
                         f"{sum(r['abstained'] for r in una) / max(1, len(una)):.1%} / "
                         f"{far['false_abstention_rate']:.1%}")
        print(f"| {label} (threshold {cal.threshold:.2f}) | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["testsets/dev.jsonl"])
