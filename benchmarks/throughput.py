"""Indexing throughput (texts embedded per second, model loaded) of our embedders against a bare
sentence-transformers ``encode()`` of the same texts, and what the backend does to answers:
fp32 ONNX vs torch (identical top-3 citations?) and int8 vs fp32 (metric deltas)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .common import ratio


def embedding_texts(corpus_dir: Path, limit: int, seed: int = 0) -> list[str]:
    """What ``qa build`` embeds (sentences and chunks with their title/section prefix), sampled
    evenly from ``corpus_dir``."""
    from qa.ingest.chunking import chunk_document
    from qa.core.config import Settings
    from qa.ingest.corpus import load_corpus
    from qa.index.store import embedding_text

    s = Settings()
    texts = []
    for doc in load_corpus(Path(corpus_dir)).documents:
        sents, chunks = chunk_document(doc, s.chunking)
        texts += [embedding_text(doc.title, x.section, x.text, s.context_prefix) for x in sents + chunks]
    if len(texts) > limit:
        idx = np.linspace(0, len(texts) - 1, limit).astype(int)
        texts = [texts[i] for i in idx]
    return texts


ST = "sentence-transformers"
ST_DEFAULT = "sentence-transformers (its default batch 32)"


def indexing_throughput(texts: list[str], embedders: dict, st_model, batch_size: int = 64, rounds: int = 1) -> dict:
    """``embedders``: {label: Embedder}; each encodes the same ``texts``, alternating with the
    bare sentence-transformers encode, at ``batch_size`` and at its own default batch size.
    ``vs_st`` compares with ST at the same batch size, ``vs_st_default`` with a bare ``encode()``."""
    for e in embedders.values():
        e.warm_up()
        e.encode(texts[:8])
    st_model.encode(texts[:8])
    secs: dict[str, list[float]] = {ST: [], ST_DEFAULT: []}
    for r in range(rounds):
        names = list(embedders) + [ST, ST_DEFAULT]
        if r % 2:
            names.reverse()
        for name in names:
            time.sleep(0.2)
            t0 = time.perf_counter()
            if name == ST:
                st_model.encode(texts, batch_size=batch_size)
            elif name == ST_DEFAULT:
                st_model.encode(texts)
            else:
                embedders[name].encode(texts, batch_size=batch_size)
            secs.setdefault(name, []).append(time.perf_counter() - t0)
    chars = sum(len(t) for t in texts)
    rows = []
    base = len(texts) / float(np.median(secs[ST]))
    base_default = len(texts) / float(np.median(secs[ST_DEFAULT]))
    for name, s in secs.items():
        rate = len(texts) / float(np.median(s))
        rows.append({"embedder": name, "texts": len(texts), "avg_chars": round(chars / len(texts)),
                     "seconds": round(float(np.median(s)), 2), "texts_per_s": round(rate, 1),
                     "vs_st": ratio(rate, base), "vs_st_default": ratio(rate, base_default)})
    return {"rows": rows, "batch_size": batch_size, "rounds": rounds}


def _answers(qa, questions: list[dict], depth: int = 5) -> list[dict]:
    out = []
    for q in questions:
        a = qa.ask(q["question"], history=q.get("history") or None, top_k=depth)
        out.append({
            "id": q.get("id"),
            "prediction": None if a.abstained else a.text,
            "answers": q.get("answers", []),
            "evidence": q.get("evidence"),
            "texts": [c.text for c in a.citations],
            "top3": [(c.doc, c.start, c.end) for c in a.citations[:3]],
        })
    return out


def _metrics(qa, questions: list[dict]) -> dict:
    """The `qa eval` metrics (numeric top-level ones)."""
    import json

    from qa.eval.datasets import parse_jsonl
    from qa.eval.run import run, summarize

    items = parse_jsonl("\n".join(json.dumps(q) for q in questions), "bench")
    metrics = summarize(run(qa, items))
    return {k: round(float(v), 4) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.endswith("_total")
            and "latency" not in k}


def backend_quality(qas: dict, questions: list[dict]) -> dict:
    """``qas``: {"torch": QA, "onnx": QA, "onnx-int8": QA} (any subset with "onnx")."""
    answers = {name: _answers(qa, questions) for name, qa in qas.items()}
    out: dict = {"questions": len(questions)}
    if "torch" in answers and "onnx" in answers:
        same3 = [a["top3"] == b["top3"] for a, b in zip(answers["torch"], answers["onnx"])]
        same_ans = [a["prediction"] == b["prediction"] for a, b in zip(answers["torch"], answers["onnx"])]
        out["fp32_vs_torch"] = {
            "identical_top3": round(float(np.mean(same3)), 4),
            "identical_answer": round(float(np.mean(same_ans)), 4),
            "differing_ids": [a["id"] for a, s in zip(answers["torch"], same3) if not s],
        }
    metrics = {name: _metrics(qa, questions) for name, qa in qas.items()}
    out["metrics"] = metrics
    if "onnx" in metrics and "onnx-int8" in metrics:
        base, q8 = metrics["onnx"], metrics["onnx-int8"]
        deltas = {k: round((q8[k] - base[k]) * 100, 2) for k in base
                  if k in q8 and base[k] is not None and q8[k] is not None and abs(base[k]) <= 1.0 and abs(q8[k]) <= 1.0}
        out["int8_minus_fp32_points"] = deltas
        out["int8_max_abs_delta_points"] = max((abs(v) for v in deltas.values()), default=None)
    if "onnx" in qas and "onnx-int8" in qas:
        texts = [q["question"] for q in questions]
        a = qas["onnx"].embedder.encode(texts)
        b = qas["onnx-int8"].embedder.encode(texts)
        cos = (a * b).sum(1)
        out["int8_vs_fp32_cosine"] = {"mean": round(float(cos.mean()), 4), "min": round(float(cos.min()), 4)}
    if "onnx" in qas and "torch" in qas:
        texts = [q["question"] for q in questions]
        cos = (qas["onnx"].embedder.encode(texts) * qas["torch"].embedder.encode(texts)).sum(1)
        out["fp32_vs_torch_cosine"] = {"mean": round(float(cos.mean()), 7), "min": round(float(cos.min()), 7)}
    return out
