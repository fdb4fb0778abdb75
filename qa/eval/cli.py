"""What ``qa eval`` does, kept out of qa/surfaces/cli.py so ``qa --help`` stays instant.

Library errors propagate as ``QAError`` (the CLI turns them into messages); the return value
is the process exit status (1 when the gate fails).
"""

from __future__ import annotations

import json
from pathlib import Path

from qa.core.config import PROJECT_ROOT, write_settings
from qa.core.errors import QAError


def default_report_dir(testset: str | Path) -> Path:
    return PROJECT_ROOT / "reports" / Path(testset).stem


def run_eval_command(settings, testset, report_dir=None, as_json=False, top_k=None, calibrate=False,
                     tune_fusion=False, write=False, max_false_abstention=None, wrong_cost=1.0, compare=None, floors=None,
                     plots=True, progress=True, echo=print, on_stage=None) -> int:
    from qa.eval import report as R

    if compare:
        a, b = (R.load_report(p) for p in compare)
        diff = R.compare(a, b)
        echo(json.dumps(diff, ensure_ascii=False, indent=1) if as_json
             else R.compare_text(diff, str(compare[0]), str(compare[1])))
        return 0
    if not testset:
        raise QAError("give a TESTSET file (or --compare A.json B.json); see `qa eval --help`")
    if calibrate and tune_fusion:
        raise QAError("use --calibrate and --tune-fusion one at a time (tune fusion first, then calibrate)")
    if write and not (calibrate or tune_fusion):
        raise QAError("--write needs --calibrate or --tune-fusion")
    floors_data = R.load_floors(floors) if floors else None  # fail before the slow part

    from qa.eval.datasets import load_testset
    from qa.eval.run import evaluate, summary_table
    from qa.answer.pipeline import QA

    ts = load_testset(testset)  # a bad file fails here, before the model loads
    qa = QA(settings)
    qa.warm_up(progress=False, on_stage=on_stage)

    if tune_fusion:
        from qa.eval.calibrate import fusion_text, tune_fusion as tune

        rows = tune(qa, ts.items, progress=progress)
        echo(json.dumps(rows, indent=1) if as_json else fusion_text(rows))
        if write:
            best = rows[0]["overrides"]
            path = write_settings({"fusion": best["fusion"], "fusion_weights": best["fusion_weights"]})
            on_stage and on_stage(f"Wrote fusion={best['fusion']} and its weights ({rows[0]['name']}) to {path}; "
                                  "now re-run --calibrate")
        return 0

    if calibrate:
        from qa.eval.calibrate import calibrate as fit, calibration_text

        result, _ = fit(qa, ts.items, progress=progress, max_false_abstention=max_false_abstention,
                        wrong_cost=wrong_cost)
        if as_json:
            echo(json.dumps({"weights": result.weights, "threshold": result.threshold,
                             "sure_threshold": result.sure_threshold, "utility": result.utility,
                             "cv_utility": result.cv_utility, "outcomes": result.outcomes, "metrics": result.metrics,
                             "current": {"utility": result.current_utility, "outcomes": result.current_outcomes,
                                         "metrics": result.current}}, indent=1))
        else:
            echo(calibration_text(result))
        if write:
            path = write_settings({"confidence_weights": result.weights, "abstain_threshold": result.threshold,
                                   "sure_threshold": result.sure_threshold})
            on_stage and on_stage(f"Wrote confidence_weights, abstain_threshold={result.threshold} and "
                                  f"sure_threshold={result.sure_threshold} to {path}")
        return 0

    top_k = top_k or qa.settings.top_k
    records, metrics = evaluate(qa, ts, top_k=top_k, progress=progress)
    report = R.build_report(qa, ts, records, metrics, top_k)
    folder = Path(report_dir) if report_dir else default_report_dir(testset)
    paths = R.write_report(report, folder, plots=plots)
    failures = R.gate(metrics, floors_data) if floors_data else []
    if as_json:
        echo(json.dumps({"testset": ts.path, "format": ts.format, "metrics": metrics, "report_dir": str(folder),
                         "gate": None if floors_data is None else {"passed": not failures, "failures": failures}},
                        ensure_ascii=False, indent=1))
    else:
        echo(f"{ts.path} ({ts.format}, {len(ts.items)} questions) with {qa.embedder.name}\n")
        echo(summary_table(metrics))
        echo(f"\nReport: {paths['md']}  (failures: {paths['failures.jsonl'].name}, "
             f"{len(R.failures(records))} questions)")
    if floors_data is not None:
        if failures:
            (on_stage or echo)("GATE FAILED: " + "; ".join(failures))
            return 1
        (on_stage or echo)(f"Gate passed ({len(floors_data.get('min', {})) + len(floors_data.get('max', {}))} bounds).")
    return 0
