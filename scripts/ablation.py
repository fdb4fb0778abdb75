"""Ablation table for docs/quality.md: each technique switched off in turn, measured with the
evaluation harness (qa.evaluation) on test sets, each over its own corpus.

    .venv/bin/python scripts/ablation.py testsets/dev.jsonl:corpus \\
        /tmp/heldout-tune/questions.json:/tmp/heldout-tune/corpus --limit 600

Answer quality (token F1, exact match and "contains a gold answer" on answerable questions,
evidence hit@1) is measured with abstention off (threshold 0), so a technique's effect on
retrieval and reading is not mixed up with the threshold. A second table refits the confidence
on all the sets together without each feature (as scripts/calibrate.py fits it) and reports
SQuAD F1 over all questions, unanswerable declined and answerable declined.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import qa.answer.read as reading  # noqa: E402
from qa.eval.calibrate import calibrate_records, rescore  # noqa: E402
from qa.answer.confidence import FEATURES  # noqa: E402
from qa.core.config import load_settings  # noqa: E402
from qa.eval.run import run, summarize  # noqa: E402
from calibrate import open_pair  # noqa: E402  (scripts/calibrate.py)


def variants(base):
    w = dict(base.fusion_weights)
    yield "full system", {}, None
    yield "fusion = plain RRF (dense + BM25)", {"fusion": "rrf"}, None
    yield "dense only (sentences)", {"fusion_weights": {"dense": 1.0}}, None
    yield "BM25 only", {"fusion_weights": {"lexical": 1.0}}, None
    for name in ("chunk_dense", "lexical", "coverage", "entity", "novelty"):
        if w.get(name):
            yield f"without the {name} signal", {"fusion_weights": {**w, name: 0.0}}, None
    yield "without follow-up rewriting", {"history_rewrite": False}, None
    yield "follow-up bonus 0", {}, ("FOLLOW_UP_BONUS", 0.0)
    yield "reader reads 1 passage", {"reader_passages": 1}, None
    yield "reader reads 2 passages", {"reader_passages": 2}, None
    yield "reader reads 6 passages", {"reader_passages": 6}, None
    yield "no answer widening (reader_widen 0)", {"reader_widen": 0.0}, None


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pairs", nargs="+", metavar="TESTSET:CORPUS")
    ap.add_argument("--limit", type=int, default=0, help="a fixed random sample of this many questions per set")
    ap.add_argument("--max-false-abstention", type=float, default=0.08)
    args = ap.parse_args(argv)
    base = load_settings()
    sets = []
    for pair in args.pairs:
        testset, qa = open_pair(pair, base)
        items = testset.items
        if args.limit and len(items) > args.limit:
            items = random.Random(0).sample(items, args.limit)
        sets.append((Path(testset.path).stem, qa, items))
    print("| variant | " + " | ".join(f"{n}: F1 / EM / contained / hit@1" for n, _, _ in sets) + " |")
    print("|" + "---|" * (1 + len(sets)))
    full = None
    for label, overrides, patch in variants(base):
        old = getattr(reading, patch[0]) if patch else None
        if patch:
            setattr(reading, patch[0], patch[1])
        try:
            cells, recs = [], []
            for _, qa, items in sets:
                rs = run(qa.with_settings(**overrides) if overrides else qa, items)
                m = summarize(rs)
                recs.append(rs)
                cells.append(f"{m['HasAns_f1']:.1%} / {m['HasAns_exact_match']:.1%} / {m['HasAns_contained']:.1%} / "
                             f"{m['hit@1']:.1%}")
        finally:
            if patch:
                setattr(reading, patch[0], old)
        full = full or recs
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    print()
    confidence_table(full, [n for n, _, _ in sets], args.max_false_abstention)


def confidence_table(records_by_set, names, max_false_abstention):
    pooled = [r for rs in records_by_set for r in rs]
    print("| confidence (refitted on all sets) | " + " | ".join(
        f"{n}: F1 all / unanswerable declined / answerable declined" for n in names) + " |")
    print("|" + "---|" * (1 + len(names)))
    for label, feats in [("all features", FEATURES)] + [(f"without {f}", tuple(x for x in FEATURES if x != f))
                                                       for f in FEATURES]:
        cal = calibrate_records(pooled, {}, 0.0, max_false_abstention=max_false_abstention, features=feats)
        cells = []
        for rs in records_by_set:
            m = summarize(rescore(rs, cal.weights, cal.threshold))
            cells.append(f"{m['f1']:.1%} / {m['NoAns_exact_match'] or 0:.1%} / {m['false_abstention_rate'] or 0:.1%}")
        print(f"| {label} (threshold {cal.threshold:.2f}) | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
