"""End to end on a real text corpus of >= 20k chunks built from documentation installed on this
machine (benchmarks/corpusgen.py): index build time, index size, memory, warm ask latency.

The corpus and its index live in a cache folder outside the repo (``QA_BENCH_CACHE``, default
``$TMPDIR/qa-bench``); a fresh index there is reused unless ``fresh=True`` (its build time then
comes from its manifest and the row says ``cached``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from .common import PY, rss_mb, run_json, seed_onnx_cache, stats_ms

QUESTIONS = [
    "How do I parse command line arguments?",
    "What does os.path.join do?",
    "How can I compute a SHA-256 hash of a file?",
    "Which function returns the current working directory?",
    "How do I read a CSV file?",
    "What is a context manager?",
    "How do I start a thread?",
    "How are regular expression groups named?",
    "What does the json module's dumps function return?",
    "How do I create a temporary directory?",
    "What is the default encoding for open()?",
    "How do I compress data with gzip?",
]


def cache_root() -> Path:
    return Path(os.environ.get("QA_BENCH_CACHE") or Path(tempfile.gettempdir()) / "qa-bench")


def make_corpus(folder: Path, chars: int) -> dict:
    meta = folder / ".corpusgen.json"
    if meta.is_file():
        info = json.loads(meta.read_text())
        if info.get("requested_chars") == chars:
            return info
    if folder.exists():
        shutil.rmtree(folder)
    t0 = time.perf_counter()
    info = run_json([PY, "-m", "benchmarks.corpusgen", str(folder), "--chars", str(chars)], timeout=900)
    if "error" in info:
        raise RuntimeError(f"corpus generation failed: {info['error']}")
    info["requested_chars"] = chars
    info["generate_s"] = round(time.perf_counter() - t0, 1)
    meta.write_text(json.dumps(info))
    return info


def e2e(target_chunks: int = 20_000, chars_per_chunk: int = 560, rounds: int = 3, fresh: bool = False,
        root: Path | None = None, onnx_cache_from: Path | None = None, backend: str = "auto",
        corpus: Path | None = None, embedder=None, questions: list[str] = QUESTIONS) -> dict:
    """``corpus``/``embedder`` override the generated corpus and the real model (smoke tests)."""
    from qa import QA, load_settings

    root = Path(root or cache_root())
    if corpus is None:
        corpus = root / f"docs-{target_chunks}"
        info = make_corpus(corpus, target_chunks * chars_per_chunk)
    else:
        info = {"source": str(corpus), "chars": sum(p.stat().st_size for p in Path(corpus).glob("*.*"))}
    index = root / f"{Path(corpus).name}-index-{backend}"
    if onnx_cache_from:
        seed_onnx_cache(onnx_cache_from, index)
    qa = QA(load_settings(corpus_dir=corpus, index_dir=index, embedding_backend=backend), embedder=embedder)
    reasons = qa.stale_reasons()
    cached = not reasons and not fresh
    if cached:
        qa.warm_up(build_if_needed=False)
        manifest = qa.index.manifest
        build_s = manifest.get("build_seconds")
    else:
        t0 = time.perf_counter()
        manifest = qa.build(progress=False)
        build_s = round(time.perf_counter() - t0, 1)
    counts = manifest["counts"]
    load_t0 = time.perf_counter()
    fresh_qa = QA(load_settings(corpus_dir=corpus, index_dir=index, embedding_backend=backend), embedder=embedder)
    rss0 = rss_mb()
    fresh_qa.warm_up(build_if_needed=False)
    load_s = time.perf_counter() - load_t0
    rss_loaded = rss_mb()
    del qa
    for q in questions[:3]:
        fresh_qa.ask(q)
    times = []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            fresh_qa.ask(q)
            times.append(time.perf_counter() - t)
    folder = fresh_qa.index.folder
    disk = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())
    s = stats_ms(times)
    texts = counts["sentences"] + counts["chunks"]
    return {
        "corpus": info.get("source"),
        "files": counts["documents"],
        "corpus_chars": info.get("chars"),
        "chunks": counts["chunks"],
        "sentences": counts["sentences"],
        "embedder": fresh_qa.embedder.name,
        "documents_embedded_by": manifest.get("documents_embedded_by", fresh_qa.embedder.name),
        "index_kinds": {"sentences": fresh_qa.index.search.vector_index("sentence").kind, "chunks": fresh_qa.index.search.vector_index("chunk").kind},
        "build_s": build_s,
        "build_cached": cached,
        "chunks_per_s": round(counts["chunks"] / build_s, 1) if build_s else None,
        "embedded_texts_per_s": round(texts / build_s, 1) if build_s else None,
        "index_disk_mb": round(disk / 2**20, 1),
        "load_s": round(load_s, 2),
        "rss_index_loaded_mb": round(rss_loaded - rss0, 1),
        "ask_median_ms": s["median_ms"],
        "ask_p95_ms": s["p95_ms"],
        "asks": s["n"],
    }
