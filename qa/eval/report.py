"""Evaluation reports on disk, comparisons of two reports, and the quality gate.

A report folder holds

- ``report.json``: settings, model, index summary, aggregate ``metrics`` and one record per
  question (``records``); ``qa.eval.run.summarize(records)`` reproduces ``metrics``;
- ``report.md``: the same for people (summary, per-kind table, failures);
- ``failures.jsonl`` / ``failures.csv``: the questions answered wrongly, with the reason;
- ``confidence.png``: confidence of answerable vs unanswerable questions, threshold marked;
- ``hit_at_k.png``: share of questions whose evidence is among the first k citations, k = 1..10.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from qa.core.config import public_settings
from qa.core.errors import QAError
from qa.eval.run import RETRIEVAL_DEPTH, fmt, is_correct, summarize, summary_rows

REPORT_FORMAT = "qa-eval-report/1"


# ---------------------------------------------------------------------------------------------
# Building and writing


def index_summary(manifest: dict) -> dict:
    return {k: manifest.get(k) for k in ("model", "dimension", "chunking", "context_prefix", "counts", "built_at", "files")}


def build_report(qa, testset, records: list[dict], metrics: dict, top_k: int) -> dict:
    """The JSON report: what was run, on what, and the results."""
    return {
        "format": REPORT_FORMAT,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "testset": {"path": testset.path, "format": testset.format, "sha256": testset.sha256 or None,
                    "questions": len(records)},
        "model": qa.embedder.name,
        "index": index_summary(qa.index.manifest),
        "settings": public_settings(qa.settings),
        "top_k": top_k,
        "retrieval_depth": max(top_k, RETRIEVAL_DEPTH),
        "metrics": metrics,
        "records": records,
    }


def failure_reason(rec: dict) -> str:
    if rec.get("error"):
        return f"refused: {rec['error']}"
    if not rec["answerable"]:
        return "answered an unanswerable question"
    where = "evidence not cited" if rec["has_evidence"] and rec["evidence_rank"] is None else (
        f"evidence at citation {rec['evidence_rank']}" if rec["has_evidence"] else "no evidence given")
    if rec["abstained"]:
        return f"false abstention ({where})"
    return f"wrong answer ({where})"


def failures(records: list[dict]) -> list[dict]:
    out = []
    for r in records:
        if is_correct(r):
            continue
        out.append({
            "id": r["id"], "kind": r.get("kind"), "reason": failure_reason(r), "question": r["question"],
            "gold": r["answers"], "prediction": r["prediction"], "abstained": r["abstained"],
            "confidence": r["confidence"], "f1": r["f1"], "evidence_rank": r["evidence_rank"],
            "question_type": r.get("question_type"), "top_citation": r.get("top_citation"),
        })
    return out


def write_report(report: dict, folder: Path, plots: bool = True) -> dict[str, Path]:
    """Write every report file into ``folder``; returns {name: path}."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise QAError(f"cannot create report folder {folder} ({e.strerror})") from None
    paths = {}
    paths["json"] = _write(folder / "report.json", json.dumps(report, indent=1, ensure_ascii=False))
    fails = failures(report["records"])
    paths["failures.jsonl"] = _write(folder / "failures.jsonl",
                                     "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in fails))
    tmp = folder / "failures.csv.tmp"
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        cols = ["id", "kind", "reason", "question", "gold", "prediction", "abstained", "confidence", "f1",
                "evidence_rank", "question_type", "top_citation"]
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for f in fails:
            w.writerow({**f, "gold": " | ".join(f["gold"])})
    tmp.replace(folder / "failures.csv")
    paths["failures.csv"] = folder / "failures.csv"
    if plots:
        threshold = report.get("settings", {}).get("abstain_threshold")
        paths["confidence.png"] = plot_confidence(report["records"], threshold, folder / "confidence.png")
        paths["hit_at_k.png"] = plot_hit_curve(report["metrics"], folder / "hit_at_k.png")
    paths["md"] = _write(folder / "report.md", to_markdown(report, fails, plots=plots))
    return paths


def _write(path: Path, text: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def _md(text) -> str:
    s = "" if text is None else " ".join(str(text).split())
    return s.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def to_markdown(report: dict, fails: list[dict] | None = None, plots: bool = True) -> str:
    m = report["metrics"]
    fails = failures(report["records"]) if fails is None else fails
    s = report.get("settings", {})
    idx = report.get("index", {}) or {}
    lines = [
        f"# Evaluation: {Path(report['testset']['path']).name}",
        "",
        f"- test set: `{report['testset']['path']}` ({report['testset']['format']}, "
        f"{report['testset']['questions']} questions)",
        f"- model: `{report.get('model')}`; index built {idx.get('built_at')} "
        f"({(idx.get('counts') or {}).get('documents')} documents, {(idx.get('counts') or {}).get('chunks')} chunks)",
        f"- abstain threshold {s.get('abstain_threshold')}, sure threshold {s.get('sure_threshold')}, "
        f"fusion `{s.get('fusion')}`, top_k {report.get('top_k')}",
        f"- run at {report.get('created_at')}",
        "",
        "## Summary",
        "",
        "| metric | value |",
        "| --- | --- |",
    ]
    lines += [f"| {label} | {value} |" for label, value in summary_rows(m)]
    if m.get("by_kind"):
        lines += ["", "## By kind", "", "| kind | n | contained | EM | F1 | abstained |", "| --- | --- | --- | --- | --- | --- |"]
        for k, v in m["by_kind"].items():
            lines.append(f"| {_md(k)} | {v['questions']} | {fmt(v['contained'], '%')} | {fmt(v['exact_match'], '%')} | "
                         f"{fmt(v['f1'], '%')} | {fmt(v['abstained'], '%')} |")
    if plots:
        lines += ["", "## Plots", "", "![confidence](confidence.png)", "", "![hit@k](hit_at_k.png)"]
    lines += ["", f"## Failures ({len(fails)})", ""]
    if fails:
        lines += ["| id | reason | question | gold | shown answer | conf. |", "| --- | --- | --- | --- | --- | --- |"]
        for f in fails:
            shown = "*(abstained)*" if f["abstained"] else _md(f["prediction"])
            lines.append(f"| {_md(f['id'])} | {_md(f['reason'])} | {_md(f['question'])} | "
                         f"{_md(' / '.join(f['gold'])) or '*(unanswerable)*'} | {shown} | {f['confidence']:.2f} |")
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Plots (matplotlib, Agg backend: no display needed)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_confidence(records: list[dict], threshold: float | None, path: Path) -> Path:
    plt = _pyplot()
    ans = [r["confidence"] for r in records if r["answerable"] and not r.get("error")]
    una = [r["confidence"] for r in records if not r["answerable"] and not r.get("error")]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    bins = [i / 20 for i in range(21)]
    ax.hist(ans, bins=bins, alpha=0.6, color="#2b7bba", label=f"answerable ({len(ans)})", edgecolor="white")
    ax.hist(una, bins=bins, alpha=0.6, color="#e0703a", label=f"unanswerable ({len(una)})", edgecolor="white")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1.5, label=f"abstain threshold {threshold:.2f}")
    ax.set_xlim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("questions")
    ax.set_title("Confidence: answerable vs unanswerable questions")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_hit_curve(metrics: dict, path: Path) -> Path:
    plt = _pyplot()
    curve = {int(k): v for k, v in (metrics.get("hit_curve") or {}).items() if v is not None}
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    if curve:
        ks = sorted(curve)
        ax.plot(ks, [100 * curve[k] for k in ks], marker="o", color="#2b7bba")
        for k in ks:
            ax.annotate(f"{100 * curve[k]:.0f}", (k, 100 * curve[k]), textcoords="offset points", xytext=(0, 7),
                        ha="center", fontsize=8)
        ax.set_xticks(ks)
    else:
        ax.text(0.5, 0.5, "no question has evidence", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylim(0, 105)
    ax.set_xlabel("k (citations)")
    ax.set_ylabel("evidence in first k citations (%)")
    ax.set_title(f"Evidence hit@k ({metrics.get('evidence_total', 0)} questions with evidence)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------
# Reading, comparing, gating


def _read_json(path: Path, what: str, invalid: str):
    """JSON from ``path``; QAError "<what> <path> does not exist" or "<path> <invalid> (why)"."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QAError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise QAError(f"{path} {invalid} ({e})") from None


def load_report(path: str | Path) -> dict:
    path = Path(path)
    data = _read_json(path, "report", "is not a readable report.json")
    if not isinstance(data, dict) or "records" not in data or "metrics" not in data:
        raise QAError(f"{path} is not a report.json written by `qa eval` (no 'metrics'/'records')")
    return data


def _scalars(metrics: dict) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


#: Metrics where a smaller value is better (a rise is a regression).
LOWER_IS_BETTER = {"false_abstention_rate", "latency_median_ms", "latency_p95_ms", "errors", "words_median",
                   "words_mean"}
#: Metrics with no better direction: more answers marked sure, or uncertain answers that are more
#: often right, can mean a better system or a threshold that says less.
NEUTRAL = {"sure_share", "uncertain_precision"}
#: Metrics that are not shares of questions (shown as plain numbers, not percentage points).
NOT_SHARES = {"questions", "errors", "evidence_total", "ndcg_total", "HasAns_total", "NoAns_total", "words_median",
              "words_mean", "mrr@10", "ndcg@10"}


def compare(a: dict, b: dict, min_delta: float = 1e-9) -> dict:
    """What changed from report ``a`` to report ``b``: metric deltas and flipped questions."""
    ma, mb = _scalars(a["metrics"]), _scalars(b["metrics"])
    moved = []
    for k in ma:
        if k in mb and abs(mb[k] - ma[k]) > min_delta:
            better = None if k in NEUTRAL else (mb[k] < ma[k]) if k in LOWER_IS_BETTER else (mb[k] > ma[k])
            moved.append({"metric": k, "a": ma[k], "b": mb[k], "delta": mb[k] - ma[k], "better": better})
    ra = {r["id"]: r for r in a["records"]}
    rb = {r["id"]: r for r in b["records"]}
    flips = {"correct_to_wrong": [], "wrong_to_correct": [], "started_abstaining": [], "stopped_abstaining": []}
    for qid in ra:
        if qid not in rb:
            continue
        x, y = ra[qid], rb[qid]
        row = {"id": qid, "question": y["question"], "gold": y["answers"], "a": x["prediction"], "b": y["prediction"]}
        if is_correct(x) and not is_correct(y):
            flips["correct_to_wrong"].append(row)
        elif is_correct(y) and not is_correct(x):
            flips["wrong_to_correct"].append(row)
        if y["abstained"] and not x["abstained"]:
            flips["started_abstaining"].append(row)
        elif x["abstained"] and not y["abstained"]:
            flips["stopped_abstaining"].append(row)
    return {"moved": moved, "flips": flips,
            "only_in_a": sorted(set(ra) - set(rb)), "only_in_b": sorted(set(rb) - set(ra))}


def compare_text(diff: dict, name_a: str = "A", name_b: str = "B") -> str:
    lines = [f"Metrics that moved ({name_a} -> {name_b}):"]
    if not diff["moved"]:
        lines.append("  none")
    for m in diff["moved"]:
        pct = m["metric"] not in NOT_SHARES and not m["metric"].endswith("_ms")
        a, b, d = (100 * m["a"], 100 * m["b"], 100 * m["delta"]) if pct else (m["a"], m["b"], m["delta"])
        unit = " pts" if pct else ""
        sign = " " if m["better"] is None else "+" if m["better"] else "-"
        lines.append(f"  {sign} {m['metric']:<24} {a:9.2f} -> {b:9.2f}  ({d:+.2f}{unit})")
    labels = {"correct_to_wrong": "correct -> wrong", "wrong_to_correct": "wrong -> correct",
              "started_abstaining": "answered -> abstained", "stopped_abstaining": "abstained -> answered"}
    for key, label in labels.items():
        rows = diff["flips"][key]
        lines.append(f"\n{label} ({len(rows)}):")
        for r in rows:
            shown = lambda p: "(abstained)" if p is None else repr(" ".join(p.split())[:70])  # noqa: E731
            lines.append(f"  {r['id']}: {r['question'][:70]}  [{shown(r['a'])} -> {shown(r['b'])}]")
    if diff["only_in_a"] or diff["only_in_b"]:
        lines.append(f"\nids only in {name_a}: {len(diff['only_in_a'])}; only in {name_b}: {len(diff['only_in_b'])}")
    return "\n".join(lines)


def load_floors(path: str | Path) -> dict:
    """``{"min": {metric: floor}, "max": {metric: ceiling}}`` (other keys, e.g. "_note", ignored)."""
    path = Path(path)
    data = _read_json(path, "floors file", "is not valid JSON")
    if not isinstance(data, dict) or not any(k in data for k in ("min", "max")):
        raise QAError(f'{path}: expected {{"min": {{metric: floor}}, "max": {{metric: ceiling}}}}')
    for side in ("min", "max"):
        for k, v in data.get(side, {}).items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise QAError(f"{path}: {side}.{k} must be a number, got {v!r}")
    return data


def gate(metrics: dict, floors: dict) -> list[str]:
    """The metrics outside their bounds (empty list: the gate passes)."""
    bad = []
    for k, floor in floors.get("min", {}).items():
        v = metrics.get(k)
        if v is None:
            bad.append(f"{k}: not measured (floor {floor})")
        elif v < floor:
            bad.append(f"{k}: {v:.4f} is below the floor {floor}")
    for k, ceiling in floors.get("max", {}).items():
        v = metrics.get(k)
        if v is None:
            bad.append(f"{k}: not measured (ceiling {ceiling})")
        elif v > ceiling:
            bad.append(f"{k}: {v:.4f} is above the ceiling {ceiling}")
    return bad


def recompute_matches(report: dict, tol: float = 1e-9) -> list[str]:
    """Metrics of ``report`` that ``summarize(records)`` does not reproduce (empty: all match)."""
    again = json.loads(json.dumps(summarize(report["records"])))
    bad = []
    for k, v in report["metrics"].items():
        w = again.get(k)
        if isinstance(v, float) and isinstance(w, float):
            if abs(v - w) > tol:
                bad.append(k)
        elif v != w:
            bad.append(k)
    return bad

