"""Build, save, load and check the on-disk index.

Layout of ``index_dir``::

    CURRENT             name of the live build folder (replaced atomically with os.replace)
    build-<stamp>/      manifest.json, store.json, sentences.faiss, chunks.faiss, lexical/
    .tmp-<stamp>/       a build in progress (removed by the next build if it was interrupted)
    .build.lock         held while building, so two builds never interleave

A build writes everything into a temporary folder, renames it to ``build-<stamp>`` and only
then points ``CURRENT`` at it. Killing a build at any moment therefore leaves the previous
index loadable and unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from .chunking import chunk_document
from .config import Settings
from .corpus import Corpus, corpus_files, load_corpus
from .embedding import Embedder
from .errors import CorpusError, IndexStateError
from .lexical import LexicalIndex
from .types import Chunk, Document, Section, Sentence
from .vectors import VectorIndex

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = ".build.lock"
Progress = Callable[[str], None]


def file_hashes(corpus_dir: Path) -> dict[str, str]:
    """sha256 of every corpus file, keyed by its id (path relative to the corpus folder)."""
    out = {}
    for p in corpus_files(corpus_dir):
        out[p.relative_to(corpus_dir).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("faiss-cpu", "bm25s", "sentence-transformers", "torch", "onnxruntime", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def expected_settings(settings: Settings, embedder_name: str, dim: int) -> dict:
    """The part of the manifest that must match for an index to be usable."""
    return {
        "format": FORMAT_VERSION,
        "model": embedder_name,
        "dimension": dim,
        "chunking": asdict(settings.chunking),
        "context_prefix": settings.context_prefix,
    }


def embedding_text(title: str, section: str, body: str, with_context: bool) -> str:
    """What gets embedded: the body, prefixed by where it sits ("Title — Section: body")."""
    if not with_context:
        return body
    where = f"{title} — {section}" if section else title
    return f"{where}: {body}"


@dataclass
class Index:
    """A loaded index. Read-only after loading, so one instance serves many threads."""

    folder: Path
    manifest: dict
    documents: dict[str, Document]
    sentences: list[Sentence]
    chunks: list[Chunk]
    chunk_sentences: list[tuple[int, int]]  # [first, last) sentence ids of each chunk
    sentence_chunks: list[list[int]]  # chunk ids containing each sentence
    sentence_vectors: VectorIndex
    chunk_vectors: VectorIndex
    lexical: LexicalIndex  # over "section + sentence"

    @property
    def vocab(self) -> frozenset[str]:
        return self.lexical.vocab


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"


def current_build(index_dir: Path) -> Path | None:
    """The live build folder, or None when there is no complete index."""
    pointer = Path(index_dir) / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise IndexStateError(f"cannot read {pointer} ({e.strerror}); run `qa build`") from None
    folder = Path(index_dir) / name
    if not name or "/" in name or not folder.is_dir():
        raise IndexStateError(f"{pointer} names a missing build {name!r}; run `qa build` to rebuild")
    return folder


def read_manifest(index_dir: Path) -> dict | None:
    folder = current_build(index_dir)
    if folder is None:
        return None
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexStateError(f"{folder / 'manifest.json'} is unreadable ({e}); run `qa build`") from None


def stale_reasons(settings: Settings, embedder_name: str, dim: int) -> list[str]:
    """Why the index cannot be used as it is (empty list: it is fresh)."""
    try:
        manifest = read_manifest(settings.index_dir)
    except IndexStateError as e:
        return [str(e)]
    if manifest is None:
        return [f"no index in {settings.index_dir}"]
    reasons = []
    want = expected_settings(settings, embedder_name, dim)
    for key, value in want.items():
        if manifest.get(key) != value:
            reasons.append(f"{key} changed ({manifest.get(key)!r} -> {value!r})")
    try:
        now = file_hashes(settings.corpus_dir)
    except CorpusError as e:
        return reasons + [str(e)]
    before = manifest.get("files", {})
    for f in sorted(set(now) | set(before)):
        if f not in before:
            reasons.append(f"new file {f}")
        elif f not in now:
            reasons.append(f"removed file {f}")
        elif before[f] != now[f]:
            reasons.append(f"changed file {f}")
    return reasons


def _lock(index_dir: Path, timeout: float):
    from filelock import FileLock, Timeout

    lock = FileLock(str(index_dir / LOCK))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise IndexStateError(
            f"another `qa build` is running on {index_dir} (lock {index_dir / LOCK}); "
            "wait for it to finish, then try again"
        ) from None
    return lock


def _check_writable(index_dir: Path) -> None:
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        probe = index_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise IndexStateError(
            f"index folder {index_dir} is not writable ({e.strerror}); fix its permissions "
            "or set QA_INDEX_DIR to a writable folder"
        ) from None


def build_index(
    settings: Settings,
    embedder: Embedder,
    progress: bool = False,
    lock_timeout: float = 600.0,
    on_stage: Progress | None = None,
) -> dict:
    """Build the index for ``settings.corpus_dir`` and make it live; returns the manifest."""
    index_dir = Path(settings.index_dir)
    _check_writable(index_dir)
    stage = on_stage or (lambda msg: log.info(msg))
    lock = _lock(index_dir, lock_timeout)
    try:
        for stale in index_dir.glob(".tmp-*"):  # left by a build that was killed
            shutil.rmtree(stale, ignore_errors=True)
        t0 = time.perf_counter()
        stage(f"Reading {settings.corpus_dir}")
        hashes = file_hashes(settings.corpus_dir)
        corpus: Corpus = load_corpus(settings.corpus_dir)
        if not corpus.documents:
            why = "; ".join(r for _, r in corpus.skipped) or "it has no .txt or .md files"
            raise CorpusError(f"nothing to index in {settings.corpus_dir}: {why}")
        sentences: list[Sentence] = []
        chunks: list[Chunk] = []
        for doc in corpus.documents:
            s, c = chunk_document(doc, settings.chunking)
            sentences += s
            chunks += c
        docs = {d.id: d for d in corpus.documents}
        sent_texts = [
            embedding_text(docs[s.doc_id].title, s.section, s.text, settings.context_prefix) for s in sentences
        ]
        chunk_texts = [
            embedding_text(docs[c.doc_id].title, c.section, c.text, settings.context_prefix) for c in chunks
        ]
        stage(f"Embedding {len(sentences)} sentences and {len(chunks)} chunks with {embedder.name}")
        vecs = embedder.encode(sent_texts + chunk_texts, batch_size=settings.batch_size, progress=progress)
        sent_vecs, chunk_vecs = vecs[: len(sentences)], vecs[len(sentences):]
        stage("Writing index")
        tmp = index_dir / f".tmp-{_stamp()}"
        tmp.mkdir()
        VectorIndex.build(sent_vecs).save(tmp / "sentences.faiss")
        VectorIndex.build(chunk_vecs).save(tmp / "chunks.faiss")
        LexicalIndex.build([f"{s.section} {s.text}" for s in sentences]).save(tmp / "lexical")
        store = {
            "documents": [
                {"id": d.id, "title": d.title, "text": d.text, "sections": [asdict(s) for s in d.sections]}
                for d in corpus.documents
            ],
            "sentences": [[s.doc_id, s.section, s.start, s.end, s.is_list_item] for s in sentences],
            "chunks": [[c.doc_id, c.section, c.start, c.end] for c in chunks],
        }
        (tmp / "store.json").write_text(json.dumps(store, ensure_ascii=False), encoding="utf-8")
        manifest = {
            **expected_settings(settings, embedder.name, int(vecs.shape[1])),
            "files": hashes,
            "skipped": dict(corpus.skipped),
            "counts": {"documents": len(docs), "sentences": len(sentences), "chunks": len(chunks)},
            "versions": _versions(),
            "embedder": dict(getattr(embedder, "fingerprint", None) or {"backend": embedder.name}),  # e.g. ONNX model sha256
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(time.perf_counter() - t0, 3),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        _fsync_tree(tmp)
        final = index_dir / f"build-{_stamp()}"
        tmp.rename(final)
        pointer_tmp = index_dir / f".tmp-{_stamp()}-CURRENT"
        pointer_tmp.write_text(final.name, encoding="utf-8")
        _fsync_file(pointer_tmp)
        os.replace(pointer_tmp, index_dir / CURRENT)  # the moment the new index goes live
        for old in index_dir.glob("build-*"):
            if old != final:
                shutil.rmtree(old, ignore_errors=True)
        return manifest
    finally:
        lock.release()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            _fsync_file(p)


def load_index(settings: Settings, embedder_name: str, dim: int) -> Index:
    """Load the live index, refusing one that is stale or damaged (IndexStateError says why)."""
    reasons = stale_reasons(settings, embedder_name, dim)
    if reasons:
        raise IndexStateError(
            f"the index in {settings.index_dir} cannot be used: {'; '.join(reasons)}. Run `qa build`."
        )
    folder = current_build(settings.index_dir)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        store = json.loads((folder / "store.json").read_text(encoding="utf-8"))
        documents = {
            d["id"]: Document(d["id"], d["title"], d["text"], tuple(Section(**s) for s in d["sections"]))
            for d in store["documents"]
        }
        sentences = [
            Sentence(doc, sec, s, e, documents[doc].text[s:e], bool(item)) for doc, sec, s, e, item in store["sentences"]
        ]
        chunks = [Chunk(doc, sec, s, e, documents[doc].text[s:e]) for doc, sec, s, e in store["chunks"]]
        sentence_vectors = VectorIndex.load(folder / "sentences.faiss")
        chunk_vectors = VectorIndex.load(folder / "chunks.faiss")
        lexical = LexicalIndex.load(folder / "lexical")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
        raise IndexStateError(f"the index in {folder} is damaged ({type(e).__name__}: {e}); run `qa build`") from None
    counts = manifest.get("counts", {})
    if (
        sentence_vectors.size != len(sentences)
        or chunk_vectors.size != len(chunks)
        or counts.get("sentences") != len(sentences)
        or sentence_vectors.dim != dim
    ):
        raise IndexStateError(f"the index in {folder} is inconsistent (counts differ); run `qa build`")
    chunk_sentences, sentence_chunks = _link(sentences, chunks)
    return Index(folder, manifest, documents, sentences, chunks, chunk_sentences, sentence_chunks,
                 sentence_vectors, chunk_vectors, lexical)


def _link(sentences: list[Sentence], chunks: list[Chunk]) -> tuple[list[tuple[int, int]], list[list[int]]]:
    """Which sentences each chunk holds (chunks are runs of whole sentences, in order)."""
    by_doc_start = {(s.doc_id, s.start): i for i, s in enumerate(sentences)}
    chunk_sentences = []
    sentence_chunks: list[list[int]] = [[] for _ in sentences]
    for ci, c in enumerate(chunks):
        first = by_doc_start[(c.doc_id, c.start)]
        last = first
        while last < len(sentences) and sentences[last].doc_id == c.doc_id and sentences[last].end <= c.end:
            sentence_chunks[last].append(ci)
            last += 1
        chunk_sentences.append((first, last))
    return chunk_sentences, sentence_chunks
