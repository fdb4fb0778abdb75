"""``python -m benchmarks`` (or ``make bench``): every benchmark of issue 7 in one run.

    python -m benchmarks                 # full run (sizes of docs/performance.md)
    python -m benchmarks --quick         # small sizes, ~2 minutes
    python -m benchmarks --only latency,scale --out /tmp/r.json

Prints Markdown tables (pasteable into docs/performance.md) and writes everything as JSON to
benchmarks/results/bench-<time>.json. Timings are medians; comparisons are ratios measured side
by side in this one run (this machine is shared and noisy: compare ratios, not absolute times
across runs).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import common
from .common import table

SECTIONS = ("latency", "throughput", "backends", "startup", "scale", "bm25", "e2e", "peers")
FULL = {"questions": None, "rounds": 2, "throughput_texts": 300, "vector_sizes": (10_000, 100_000, 1_000_000),
        "bm25_sizes": (10_000, 100_000, 1_000_000), "e2e_chunks": 20_000, "app_runs": 2}
QUICK = {"questions": 40, "rounds": 2, "throughput_texts": 200, "vector_sizes": (10_000, 100_000),
         "bm25_sizes": (10_000, 100_000), "e2e_chunks": 2_000, "app_runs": 1}
SMOKE = {**QUICK, "questions": 5, "rounds": 1, "throughput_texts": 20, "vector_sizes": (1_000,), "bm25_sizes": (500,),
         "e2e_chunks": 100}


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (a couple of minutes)")
    ap.add_argument("--only", help=f"comma-separated subset of: {', '.join(SECTIONS)}")
    ap.add_argument("--skip", help="comma-separated sections to leave out")
    ap.add_argument("--out", type=Path, help="JSON file to write (default benchmarks/results/bench-<time>.json)")
    ap.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)  # tiny sizes, for tests
    ap.add_argument("--e2e-backend", default="auto", choices=("auto", "onnx", "onnx-int8", "torch"),
                    help="embedding backend of the e2e corpus build (int8 embeds ~2-3x faster on long texts)")
    ap.add_argument("--fresh-e2e", action="store_true", help="rebuild the e2e corpus index even if cached")
    args = ap.parse_args(argv)
    cfg = dict(SMOKE if args.smoke else QUICK if args.quick else FULL)
    wanted = [s for s in (args.only.split(",") if args.only else SECTIONS) if s]
    wanted = [s for s in wanted if s not in set((args.skip or "").split(","))]
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    logging.basicConfig(level=logging.WARNING)
    from qa.embed.model import force_offline

    force_offline()
    results: dict = {"machine": common.machine(), "config": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
                     "quick": args.quick, "sections": {}}
    say(f"machine: {results['machine']['cpu']}, {results['machine']['logical_cores']} cores, "
        f"{results['machine']['ram_gib']} GiB, load {results['machine']['loadavg_at_start']}")
    t_start = time.perf_counter()
    out_tables: list[str] = []
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        work = Path(tmp)
        results["settings_file"] = freeze_settings(work)
        ctx = Context(work, cfg, args)
        for name in wanted:
            say(f"== {name} ==")
            t0 = time.perf_counter()
            try:
                res = getattr(ctx, name)()
            except Exception as e:  # one failing section must not lose the others
                traceback.print_exc()
                res = {"error": f"{type(e).__name__}: {e}"}
            res_seconds = round(time.perf_counter() - t0, 1)
            results["sections"][name] = {"seconds": res_seconds, "result": res}
            text = render(name, res)
            out_tables.append(text)
            print(text + f"\n\n_{name}: {res_seconds} s_\n", flush=True)
    results["total_seconds"] = round(time.perf_counter() - t_start, 1)
    results["machine"]["loadavg_at_end"] = common.loadavg()
    print(render_machine(results))
    out = args.out or common.REPO / "benchmarks" / "results" / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    say(f"wrote {out} ({results['total_seconds']} s)")
    return results


def freeze_settings(work: Path) -> str | None:
    """Copy qa.toml (the calibrated weights users get) into the work folder and point QA_CONFIG at
    the copy, so every QA in this run and in its child processes uses the same settings even if
    someone recalibrates meanwhile."""
    import os
    import shutil

    from qa.core.config import config_path

    src = config_path()
    dst = work / "qa.toml"
    if src.is_file():
        shutil.copyfile(src, dst)
    os.environ["QA_CONFIG"] = str(dst)
    return str(src) if src.is_file() else None


class Context:
    """Runs the sections, sharing the expensive bits (the loaded models, a warm index)."""

    def __init__(self, work: Path, cfg: dict, args):
        self.work, self.cfg, self.args = work, cfg, args
        self.questions = common.load_questions(limit=cfg["questions"])
        self.corpus = common.copy_corpus(work / "corpus")
        self._st = None
        self._qas: dict = {}

    def st(self):
        if self._st is None:
            from .latency import load_st_model

            self._st = load_st_model()
        return self._st

    def qa(self, backend: str = "auto"):
        if backend not in self._qas:
            from .latency import make_qa

            if backend != "auto" and "auto" in self._qas:
                common.seed_onnx_cache(self.work / "index-auto", self.work / f"index-{backend}")
            self._qas[backend] = make_qa(self.work, backend, corpus=self.corpus)
        return self._qas[backend]

    def latency(self):
        from .latency import warm_latency

        return warm_latency(self.work, self.questions, rounds=self.cfg["rounds"], qa=self.qa(), st_model=self.st())

    def throughput(self):
        from .e2e import cache_root, make_corpus
        from .throughput import embedding_texts, indexing_throughput

        docs = cache_root() / "throughput-corpus"
        make_corpus(docs, 2_000_000)
        texts = embedding_texts(docs, self.cfg["throughput_texts"])
        embedders = {"onnx-fp32 (ours, default)": self.qa().embedder, "onnx-int8": self.qa("onnx-int8").embedder}
        from qa.embed.torch import TorchEmbedder
        from qa.embed.model import cpu_has_bf16_matmul

        if cpu_has_bf16_matmul():  # what `qa build` uses for big corpora on this CPU (build_precision=auto)
            embedders["torch-bf16 (ours, big builds here)"] = TorchEmbedder(bf16=True)
        from qa.core.config import Settings

        return indexing_throughput(texts, embedders, self.st(), batch_size=Settings().batch_size,
                                   rounds=1 if self.args.quick else 2)

    def backends(self):
        from .throughput import backend_quality

        return backend_quality({"torch": self.qa("torch"), "onnx": self.qa(), "onnx-int8": self.qa("onnx-int8")},
                               self.questions)

    def startup(self):
        from .startup import app_first_answer, cli_help

        self.qa()  # warm index + ONNX cache for the app
        runs = [app_first_answer(self.corpus, self.work / "index-auto") for _ in range(self.cfg["app_runs"])]
        return {"qa_help": cli_help(), "app": runs}

    def scale(self):
        from .scale import vector_scale

        return vector_scale(self.cfg["vector_sizes"])

    def bm25(self):
        from .scale import bm25_scale

        return bm25_scale(self.cfg["bm25_sizes"])

    def e2e(self):
        from .e2e import e2e

        self.qa()
        if self.args.e2e_backend == "onnx-int8":
            self.qa("onnx-int8")  # exports the int8 model into index-onnx-int8/onnx
            common.seed_onnx_cache(self.work / "index-onnx-int8", self.work / "index-auto")
        return e2e(self.cfg["e2e_chunks"], fresh=self.args.fresh_e2e, onnx_cache_from=self.work / "index-auto",
                   backend=self.args.e2e_backend)

    def peers(self):
        from .peers import compare

        self.qa()
        return compare(self.corpus, self.questions, onnx_cache_from=self.work / "index-auto")


def render(name: str, res) -> str:
    if isinstance(res, dict) and "error" in res and len(res) == 1:
        return f"### {name}\n\nFAILED: {res['error']}"
    if name == "latency":
        rows = [{"what": "QA.ask (full pipeline, ours)", **_lat(res["ask"])},
                {"what": "sentence-transformers encode() of the question", **_lat(res["st_encode"])},
                {"what": f"our embedder encode() ({res['embedder']})", **_lat(res["our_encode"])}]
        t = table(rows, title="Warm answer latency (seed corpus, dev questions)")
        return t + (f"\n\nratio ask/ST-encode: median **{res['ratio_ask_vs_st_median']}**, p95 {res['ratio_ask_vs_st_p95']}; "
                    f"our encode/ST-encode median {res['ratio_our_encode_vs_st_median']}; pipeline without encode "
                    f"{res['pipeline_without_encode_ms']} ms")
    if name == "throughput":
        return table(res["rows"], title=f"Indexing throughput (embedding, batch {res['batch_size']}, model loaded)")
    if name == "backends":
        lines = ["### Backends: same answers?", ""]
        if "fp32_vs_torch" in res:
            f = res["fp32_vs_torch"]
            lines.append(f"- fp32 ONNX vs torch: identical top-3 citations {f['identical_top3']:.1%}, identical answers "
                         f"{f['identical_answer']:.1%} ({res['questions']} questions); cosine {res.get('fp32_vs_torch_cosine')}")
        if "int8_vs_fp32_cosine" in res:
            lines.append(f"- int8 vs fp32 cosine of question vectors: {res['int8_vs_fp32_cosine']}; largest metric change "
                         f"{res.get('int8_max_abs_delta_points')} points")
        metrics = res.get("metrics", {})
        keys = [k for k in next(iter(metrics.values()), {}) if all(k in m for m in metrics.values())]
        rows = [{"metric": k, **{b: m[k] for b, m in metrics.items()},
                 "int8-fp32 (pts)": res.get("int8_minus_fp32_points", {}).get(k)} for k in keys]
        return "\n".join(lines) + "\n\n" + table(rows)
    if name == "startup":
        rows = [{"what": f"`{res['qa_help']['command']}`", "median_s": _s(res["qa_help"]["median_ms"]),
                 "p95_s": _s(res["qa_help"]["p95_ms"])}]
        for i, r in enumerate(res["app"], 1):
            rows.append({"what": f"`python app.py` run {i}: listening / first answer",
                         "median_s": r.get("listening_s"), "p95_s": r.get("first_answer_s"),
                         "notes": r.get("error") or f"via {r.get('asked_via')}; torch loaded: {r.get('torch_loaded_in_server')}"})
        return table(rows, ["what", "median_s", "p95_s", "notes"], title="Start-up (seconds)")
    if name == "scale":
        return table(res, title="Dense index vs size (synthetic clustered 384-d unit vectors)")
    if name == "bm25":
        return table(res, title="Lexical (BM25, bm25s) vs size (synthetic Zipf text, 24 words/doc)")
    if name == "e2e":
        return table([res], title="End to end, real text (documentation on this machine)")
    if name == "peers":
        cols = ["peer", "chunks", "build_s", "latency_median_ms", "latency_p95_ms", "peak_rss_mb", "contained",
                "contained_answerable", "evidence_hit@3", "answer_chars", "torch_imported", "skipped", "error"]
        return table(res, [c for c in cols if any(c in r for r in res)], title="Side by side (seed corpus, dev questions)")
    return json.dumps(res, indent=2, default=str)


def _lat(s: dict) -> dict:
    return {"median_ms": s["median_ms"], "p95_ms": s["p95_ms"], "n": s["n"]}


def _s(ms):
    return round(ms / 1000.0, 3) if ms is not None else None


def render_machine(results: dict) -> str:
    m = results["machine"]
    v = ", ".join(f"{k} {val}" for k, val in m["versions"].items())
    return (f"Machine: {m['cpu']}, {m['logical_cores']} logical cores, {m['ram_gib']} GiB RAM, {m['platform']}; "
            f"load average {m['loadavg_at_start']} at start, {m.get('loadavg_at_end')} at end.\nVersions: {v}.\n"
            f"Total: {results.get('total_seconds')} s.")


if __name__ == "__main__":
    main()
