"""Ablation table for docs/quality.md: each technique switched off in turn, measured with the
evaluation harness (qa.evaluation) on a test set.

    .venv/bin/python scripts/ablation.py testsets/dev.jsonl [testsets/heldout.jsonl ...]

Answer quality is reported with abstention switched off (threshold 0), so a technique's effect
on ranking and extraction is not mixed up with the confidence threshold; the last columns give
the abstention behaviour at the configured (calibrated) threshold.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from qa.config import load_settings
from qa.evaluation import evaluate, load_testset
from qa.pipeline import QA


def variants(base):
    w = dict(base.fusion_weights)
    yield "full system", {}
    yield "fusion = plain RRF (dense + BM25)", {"fusion": "rrf"}
    yield "dense only (sentences)", {"fusion_weights": {"dense": 1.0}}
    yield "BM25 only", {"fusion_weights": {"lexical": 1.0}}
    for name in ("chunk_dense", "lexical", "coverage", "entity", "type_match", "novelty"):
        if w.get(name):
            yield f"without {name} signal", {"fusion_weights": {**w, name: 0.0}}
    yield "without span extraction", {"extract_spans": False}
    yield "without follow-up rewriting", {"history_rewrite": False}
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


if __name__ == "__main__":
    main(sys.argv[1:] or ["testsets/dev.jsonl"])
