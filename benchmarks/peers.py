"""Side by side with what users would otherwise pick, each in its own process (so peak memory is
its own): our pipeline, a plain LangChain pipeline (RecursiveCharacterTextSplitter 1000/200,
FAISS, HuggingFaceEmbeddings on the same model path) and plain sentence-transformers + FAISS.
The peers are optional (``pip install -e '.[bench]'``); a missing one is skipped with a message.

Quality: "contained" is whether a gold answer appears in what is shown as the answer (ours: the
extracted sentence or span; a peer: its top passage, ~1000 characters, which makes containment
much easier), "evidence hit@3" whether the gold evidence sentence is inside one of the first
three passages.

Child mode: ``python -m benchmarks.peers NAME CORPUS INDEX_DIR QUESTIONS_JSON`` prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from .common import PY, peak_rss_mb, quality, run_json, stats_ms

PEERS = ("ours", "st-faiss", "langchain")
REQUIRES = {"langchain": ("langchain_text_splitters", "langchain_community"), "st-faiss": (), "ours": ()}


def available(name: str) -> str | None:
    """None when the peer can run, else why not."""
    import importlib.util

    missing = [m for m in REQUIRES[name] if importlib.util.find_spec(m) is None]
    if missing:
        return f"not installed ({', '.join(missing)}): pip install -e '.[bench]'"
    return None


def _read_docs(corpus: Path) -> list[tuple[str, str]]:
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(Path(corpus).glob("*.txt")) + sorted(Path(corpus).glob("*.md"))]


def _windows(text: str, size: int = 1000, overlap: int = 200) -> list[str]:
    step = size - overlap
    return [text[i:i + size] for i in range(0, max(1, len(text) - overlap), step)]


def _child(name: str, corpus: Path, index_dir: Path, questions: list[dict]) -> dict:
    from qa.embed.model import force_offline, model_path

    force_offline()
    t0 = time.perf_counter()
    if name == "ours":
        from qa import QA, load_settings

        qa = QA(load_settings(corpus_dir=corpus, index_dir=index_dir))
        qa.build(progress=False)
        qa.warm_up()
        chunks = qa.index.manifest["counts"]["chunks"]

        def answer(q):
            a = qa.ask(q["question"], history=q.get("history") or None, top_k=5)
            return (None if a.abstained else a.text), [c.text for c in a.citations]
    elif name == "st-faiss":
        import faiss
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(model_path(), device="cpu", local_files_only=True)
        passages = [w for _, text in _read_docs(corpus) for w in _windows(text)]
        vecs = model.encode(passages, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        index = faiss.IndexFlatIP(vecs.shape[1])
        index.add(vecs)
        chunks = len(passages)

        def answer(q):
            v = model.encode([q["question"]], normalize_embeddings=True, convert_to_numpy=True)
            _, ids = index.search(v, 5)
            texts = [passages[i] for i in ids[0] if i >= 0]
            return (texts[0] if texts else None), texts
    elif name == "langchain":
        import warnings

        warnings.simplefilter("ignore")
        from langchain_community.embeddings import HuggingFaceEmbeddings
        from langchain_community.vectorstores import FAISS
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        emb = HuggingFaceEmbeddings(model_name=model_path(), model_kwargs={"device": "cpu", "local_files_only": True},
                                    encode_kwargs={"normalize_embeddings": True})
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        docs = splitter.split_documents([Document(page_content=t, metadata={"source": n}) for n, t in _read_docs(corpus)])
        store = FAISS.from_documents(docs, emb)
        chunks = len(docs)

        def answer(q):
            hits = store.similarity_search(q["question"], k=5)
            texts = [d.page_content for d in hits]
            return (texts[0] if texts else None), texts
    else:
        raise SystemExit(f"unknown peer {name!r}")
    build_s = time.perf_counter() - t0
    for q in questions[:3]:
        answer(q)
    rows, times = [], []
    for q in questions:
        t = time.perf_counter()
        pred, texts = answer(q)
        times.append(time.perf_counter() - t)
        rows.append({"prediction": pred, "answers": q.get("answers", []), "evidence": q.get("evidence"), "texts": texts})
    s = stats_ms(times)
    return {"peer": name, "chunks": chunks, "build_s": round(build_s, 2), "latency_median_ms": s["median_ms"],
            "latency_p95_ms": s["p95_ms"], "peak_rss_mb": peak_rss_mb(), **quality(rows),
            "torch_imported": "torch" in sys.modules}


def compare(corpus: Path, questions: list[dict], onnx_cache_from: Path | None = None, peers=PEERS,
            timeout: float = 600) -> list[dict]:
    from .common import seed_onnx_cache

    rows = []
    with tempfile.TemporaryDirectory(prefix="qa-peers-") as tmp:
        qfile = Path(tmp) / "questions.json"
        qfile.write_text(json.dumps(questions))
        for name in peers:
            why = available(name)
            if why:
                rows.append({"peer": name, "skipped": why})
                continue
            index_dir = Path(tmp) / f"index-{name}"
            if name == "ours" and onnx_cache_from:
                seed_onnx_cache(onnx_cache_from, index_dir)
            rows.append(run_json([PY, "-m", "benchmarks.peers", name, str(corpus), str(index_dir), str(qfile)],
                                 timeout=timeout) | {"peer": name})
    return rows


if __name__ == "__main__":
    name, corpus, index_dir, qfile = sys.argv[1:5]
    print(json.dumps(_child(name, Path(corpus), Path(index_dir), json.loads(Path(qfile).read_text()))))
