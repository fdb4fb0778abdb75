"""Warm answer latency: the full ``QA.ask`` (embed, search, fuse, extract, cite) against a bare
sentence-transformers ``encode()`` of the same question, in the same process, in alternating
blocks (so neither side always runs second), after warm-up. Also our embedder's encode alone,
to show how the ``ask`` time splits between the model and the rest of the pipeline."""

from __future__ import annotations

import time
from pathlib import Path

from .common import copy_corpus, stats_ms, ratio


def _block(fn, items) -> list[float]:
    out = []
    for it in items:
        t0 = time.perf_counter()
        fn(it)
        out.append(time.perf_counter() - t0)
    return out


def load_st_model():
    from qa.embed.model import force_offline, model_path

    force_offline()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(model_path(), device="cpu", local_files_only=True)


def make_qa(workdir: Path, backend: str = "auto", corpus: Path | None = None):
    from qa import QA, load_settings

    corpus = corpus or copy_corpus(Path(workdir) / "corpus")
    qa = QA(load_settings(corpus_dir=corpus, index_dir=Path(workdir) / f"index-{backend}", embedding_backend=backend))
    qa.warm_up(build_if_needed=True)
    return qa


def warm_latency(workdir: Path, questions: list[dict], rounds: int = 3, backend: str = "auto",
                 st_model=None, qa=None, pause: float = 0.2) -> dict:
    qa = qa or make_qa(workdir, backend)
    st = st_model or load_st_model()
    texts = [q["question"] for q in questions]
    ask = lambda q: qa.ask(q["question"], history=q.get("history") or None)  # noqa: E731
    bare = lambda text: st.encode([text])  # noqa: E731 - "bare": sentence-transformers defaults
    ours = lambda text: qa.embedder.encode([text])  # noqa: E731
    for _ in range(2):  # warm-up: first calls allocate
        _block(ask, questions[:5])
        _block(bare, texts[:5])
        _block(ours, texts[:5])
    t_ask, t_st, t_enc = [], [], []
    for r in range(rounds):
        order = [("st", bare, texts), ("ask", ask, questions), ("enc", ours, texts)]
        if r % 2:
            order.reverse()
        for name, fn, items in order:
            time.sleep(pause)  # let the other runtime's worker threads go idle
            got = _block(fn, items)
            {"st": t_st, "ask": t_ask, "enc": t_enc}[name].extend(got)
    s_ask, s_st, s_enc = stats_ms(t_ask), stats_ms(t_st), stats_ms(t_enc)
    return {
        "embedder": qa.embedder.name,
        "questions": len(questions),
        "rounds": rounds,
        "ask": s_ask,
        "st_encode": s_st,
        "our_encode": s_enc,
        "ratio_ask_vs_st_median": ratio(s_ask["median_ms"], s_st["median_ms"]),
        "ratio_ask_vs_st_p95": ratio(s_ask["p95_ms"], s_st["p95_ms"]),
        "ratio_our_encode_vs_st_median": ratio(s_enc["median_ms"], s_st["median_ms"]),
        "pipeline_without_encode_ms": round(s_ask["median_ms"] - s_enc["median_ms"], 3),
    }
