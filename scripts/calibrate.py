"""Fit the confidence weights and thresholds on several test sets at once, each over its own
corpus, and optionally write them to qa.toml: the seed dev set and the held-out tune articles
together, so the confidence means the same on the seed and on documents it was not fitted to.

    python scripts/calibrate.py testsets/dev.jsonl:corpus \\
        /tmp/heldout-tune/questions.json:/tmp/heldout-tune/corpus \\
        /tmp/dev19-calib/questions.json:/tmp/dev19-calib/corpus --balance --max-false-abstention 0.08 --write

Each ``TESTSET:CORPUS`` pair is run with the abstain threshold at 0 (the index is built next to
the corpus, in ``<corpus>/../index``, when missing); the records are pooled and fitted as
``qa eval --calibrate`` does (qa/eval/calibrate.py). Each set's figures at the fitted point are
printed after the fit, and ``--reliability PNG`` draws a reliability diagram with one curve per
set (each set is a domain: the seed article, held-out SQuAD articles, SQuAD 2.0 dev articles).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa import QA, load_settings  # noqa: E402
from qa.eval.calibrate import calibrate_records, calibration_text, rescore  # noqa: E402
from qa.core.config import write_settings  # noqa: E402
from qa.eval.datasets import load_testset  # noqa: E402
from qa.eval.report import plot_reliability  # noqa: E402
from qa.eval.run import run, summarize  # noqa: E402


def pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def open_pair(pair: str, base):
    """``TESTSET:CORPUS`` -> (test set, a QA over that corpus with the abstain threshold at 0);
    the index lies next to the corpus (``<corpus>/../index``), or is the configured one."""
    testset, _, corpus = pair.partition(":")
    corpus = Path(corpus or base.corpus_dir)
    index = base.index_dir if corpus.resolve() == base.corpus_dir.resolve() else corpus.parent / "index"
    qa = QA(base.replace(corpus_dir=corpus, index_dir=index, abstain_threshold=0.0))
    qa.warm_up(progress=True)
    return load_testset(testset), qa


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pairs", nargs="*", metavar="TESTSET:CORPUS")
    ap.add_argument("--max-false-abstention", type=float, default=None)
    ap.add_argument("--wrong-cost", type=float, default=1.0)
    ap.add_argument("--records", type=Path, help="also write each set's records here (JSON)")
    ap.add_argument("--from-records", type=Path, help="fit on records an earlier --records wrote, asking nothing")
    ap.add_argument("--balance", action="store_true",
                    help="weigh the sets alike in the fit and the threshold (each set's records repeated up to "
                         "the largest set's size), so a large set of one kind does not decide alone")
    ap.add_argument("--reliability", type=Path, help="write a reliability diagram (PNG), one curve per set")
    ap.add_argument("--write", action="store_true", help="store the weights and thresholds in qa.toml")
    args = ap.parse_args(argv)
    if bool(args.pairs) == bool(args.from_records):
        ap.error("give TESTSET:CORPUS pairs or --from-records, one of the two")
    base = load_settings()
    domains: dict[str, list[dict]] = {}
    if args.from_records:
        domains = json.loads(args.from_records.read_text(encoding="utf-8"))["sets"]
    for pair in args.pairs:
        testset, qa = open_pair(pair, base)
        part = run(qa, testset.items, progress=True)
        name = str(testset.path)  # the path as given: two sets may share a file name
        for r in part:
            r["id"] = f"{name}:{r['id']}"
        print(f"{name}: {len(part)} questions", file=sys.stderr)
        domains[name] = part
    if args.records:
        args.records.write_text(json.dumps({"sets": domains}), encoding="utf-8")
    largest = max(len(part) for part in domains.values())
    records = [r for part in domains.values()
               for r in part * (max(1, round(largest / len(part))) if args.balance else 1)]
    c = calibrate_records(records, base.confidence_weights, base.abstain_threshold, wrong_cost=args.wrong_cost,
                          max_false_abstention=args.max_false_abstention, current_sure=base.sure_threshold)
    print(calibration_text(c))
    print("\nper set at the fitted point: F1 / unanswerable declined / answerable declined / sure right (share)")
    fitted = {name: rescore(part, c.weights, c.threshold, c.sure_threshold) for name, part in domains.items()}
    for name, part in fitted.items():
        m = summarize(part)
        print(f"  {name}: {pct(m['f1'])} / {pct(m['NoAns_exact_match'])} / {pct(m['false_abstention_rate'])} / "
              f"{pct(m['sure_precision'])} ({pct(m['sure_share'])})")
    if args.reliability:
        print(f"reliability diagram: {plot_reliability(fitted, args.reliability)}")
    if args.write:
        path = write_settings({"abstain_threshold": c.threshold, "sure_threshold": c.sure_threshold,
                               "confidence_weights": c.weights})
        print(f"written to {path}")


if __name__ == "__main__":
    main()
