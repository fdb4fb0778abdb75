"""Shared helpers: statistics, the machine description, dev questions, quality metrics, tables."""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SEED_CORPUS = REPO / "corpus"
DEV_SET = REPO / "testsets" / "dev.jsonl"
PY = sys.executable

#: Used when testsets/dev.jsonl is missing: questions about the seed article.
FALLBACK_QUESTIONS = [
    {"id": "f1", "question": "When was the Central Asia plus Japan dialogue formally declared?",
     "answers": ["28 August 2004"], "evidence": None, "kind": "factual"},
    {"id": "f2", "question": "Where was the dialogue declared?", "answers": ["Astana"], "evidence": None,
     "kind": "factual"},
    {"id": "f3", "question": "Who chaired the first leaders' summit?", "answers": [], "evidence": None, "kind": "factual"},
    {"id": "f4", "question": "Why does Turkmenistan participate only as an observer?", "answers": [], "evidence": None,
     "kind": "why"},
]


def stats_ms(seconds: list[float]) -> dict:
    a = np.asarray(seconds, dtype=np.float64) * 1000.0
    if not len(a):
        return {"n": 0, "median_ms": None, "p95_ms": None, "mean_ms": None}
    return {"n": int(len(a)), "median_ms": round(float(np.median(a)), 3),
            "p95_ms": round(float(np.percentile(a, 95)), 3), "mean_ms": round(float(a.mean()), 3)}


def ratio(a, b) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def load_questions(path: Path = DEV_SET, limit: int | None = None) -> list[dict]:
    """Dev questions as dicts (id, question, answers, evidence, kind, history)."""
    items = []
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                items.append(json.loads(line))
    except (OSError, ValueError):
        items = [dict(q) for q in FALLBACK_QUESTIONS]
    for it in items:
        it.setdefault("history", [])
        it.setdefault("answers", [])
        it.setdefault("evidence", None)
    return items[:limit] if limit else items


def contained(prediction: str | None, golds: list[str]) -> float:
    try:
        from qa.eval.metrics import answer_contained
    except ImportError:  # the evaluation module is optional here
        real = [g for g in golds if g.strip()]
        if not real:
            return float(prediction is None)
        return float(prediction is not None and any(g.lower() in prediction.lower() for g in real))
    return answer_contained(prediction, golds)


def evidence_rank(texts: list[str], evidence: str | None) -> int | None:
    if not evidence:
        return None
    try:
        from qa.eval.metrics import evidence_rank as rank
    except ImportError:
        ev = " ".join(evidence.split())
        for i, t in enumerate(texts, 1):
            if ev in " ".join(t.split()):
                return i
        return None
    return rank(texts, evidence)


def quality(rows: list[dict]) -> dict:
    """rows: {"prediction", "answers", "texts" (ranked passages), "evidence"} -> aggregate metrics."""
    answerable = [r for r in rows if r["answers"]]
    with_ev = [r for r in rows if r.get("evidence")]
    ranks = [evidence_rank(r["texts"], r["evidence"]) for r in with_ev]
    return {
        "questions": len(rows),
        "contained": _mean(contained(r["prediction"], r["answers"]) for r in rows),
        "contained_answerable": _mean(contained(r["prediction"], r["answers"]) for r in answerable),
        "evidence_hit@3": _mean(float(k is not None and k <= 3) for k in ranks),
        "answer_chars": _mean(len(r["prediction"] or "") for r in rows),
    }


def _mean(values) -> float | None:
    v = list(values)
    return round(float(np.mean(v)), 4) if v else None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far: VmHWM (reset by exec, unlike ru_maxrss, which
    a child started with fork+exec inherits from its parent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except OSError:
        return float("nan")


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = None
    versions = {"python": platform.python_version()}
    for pkg in ("numpy", "torch", "sentence-transformers", "transformers", "onnxruntime", "tokenizers",
                "faiss-cpu", "bm25s", "gradio", "langchain-core", "langchain-community"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "ram_gib": round(mem, 1) if mem else None,
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def table(rows: list[dict], columns: list[str] | None = None, title: str | None = None) -> str:
    """A GitHub-flavoured Markdown table (pasteable into docs/performance.md)."""
    if not rows:
        return f"{title}\n(no rows)" if title else "(no rows)"
    columns = columns or list(rows[0])
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    out = [f"### {title}", ""] if title else []
    out.append("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |")
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out += ["| " + " | ".join(v.ljust(w) for v, w in zip(row, widths)) + " |" for row in cells]
    return "\n".join(out)


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v != v:
            return "nan"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def copy_corpus(dst: Path, src: Path = SEED_CORPUS) -> Path:
    if not dst.exists():
        shutil.copytree(src, dst)
    return dst


def seed_onnx_cache(src_index_dir: Path, dst_index_dir: Path) -> None:
    """Hard-link (or copy) an exported ONNX cache into another index folder, so a fresh index
    there does not re-export (which would import torch)."""
    src = Path(src_index_dir) / "onnx"
    if not src.is_dir():
        return
    dst = Path(dst_index_dir) / "onnx"
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.name.startswith("."):
            continue
        target = dst / f.name
        if target.exists():
            continue
        try:
            os.link(f, target)
        except OSError:
            shutil.copy2(f, target)


def run_json(args: list[str], timeout: float, env: dict | None = None) -> dict:
    """Run a helper process that prints one JSON object as its last stdout line."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    return json.loads(lines[-1])


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
