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
import re
import shutil
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from qa.ingest.chunking import chunk_document
from qa.core.config import Settings
from qa.ingest.corpus import NO_FILES, Corpus, corpus_files, nothing_to_index, read_or_skip
from qa.ingest.sandbox import Limits, Sandbox
from qa.core.digest import sha256_file
from qa.embed.model import Embedder
from qa.embed.factory import bulk_embedder
from qa.core.errors import CorpusError, IndexStateError
from qa.index.backend import BM25_SCOPE, KINDS, Pieces, SearchBackend, collection_of
from qa.index.backend_factory import create_backend, open_backend
from qa.index.lexical import Vocabulary
from qa.core.types import Chunk, Document, Section, Sentence, Table

log = logging.getLogger(__name__)

# 2: hyphenated compounds split; 3: British -our folded; 4: "twenty-fourth" -> "24th";
# 5: PDF, HTML, DOCX (documents keep their kind and pages; "texts" hashes the extracted texts)
# 6: PDFs read by layout (qa/ingest/pdf.py: headings, paragraphs, table cells, OCR); documents keep their tables
# 7: PDF tables with horizontal rules only or none (columns of figures aligned by position) read as cells
FORMAT_VERSION = 7
CURRENT = "CURRENT"
LOCK = ".build.lock"
Progress = Callable[[str], None]


def file_hashes(corpus_dir: Path) -> dict[str, str]:
    """sha256 of every corpus file, keyed by its id (path relative to the corpus folder)."""
    out = {}
    for p in corpus_files(corpus_dir):
        out[p.relative_to(corpus_dir).as_posix()] = sha256_file(p)
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


@dataclass(eq=False)  # compared and hashed by identity: the answer layer caches by index
class Index:
    """A loaded index. Read-only after loading, so one instance serves many threads."""

    folder: Path
    manifest: dict
    documents: dict[str, Document]
    sentences: list[Sentence]
    chunks: list[Chunk]
    chunk_sentences: list[tuple[int, int]]  # [first, last) sentence ids of each chunk
    sentence_chunks: list[list[int]]  # chunk ids containing each sentence
    search: SearchBackend  # vectors of sentences and chunks, BM25 over "section + sentence"
    vocabulary: Vocabulary  # the terms of "section + sentence"
    # Structure looked up often, filled on first use and shared by all questions (a racing thread
    # at worst computes the same value twice). The term sets retrieval compares live with the
    # answer layer (qa/answer/terms.py).
    _lists: dict[int, tuple[int, int]] = field(default_factory=dict, repr=False)  # list item -> its run
    _section_of: dict[int, int] = field(default_factory=dict, repr=False)  # sentence -> section number
    _section_starts: dict[str, list[int]] = field(default_factory=dict, repr=False)  # doc -> section starts

    def list_span(self, i: int) -> tuple[int, int]:
        """(first, last) sentence ids of the run of list items, in one section, that list item
        ``i`` belongs to. Cached for every item of the run, so a long list is walked once. A
        sentence that is not a list item is a run of its own, ``(i, i)``, and is not cached
        (it must not claim the items around it)."""
        if not self.sentences[i].is_list_item:
            return i, i
        got = self._lists.get(i)
        if got is None:
            sents = self.sentences
            first = last = i
            while first > 0 and sents[first - 1].is_list_item and self.same_section(first - 1, first):
                first -= 1
            while last + 1 < len(sents) and sents[last + 1].is_list_item and self.same_section(last, last + 1):
                last += 1
            got = (first, last)
            for k in range(first, last + 1):
                self._lists[k] = got
        return got

    def introduced_list(self, i: int) -> tuple[int, int] | None:
        """The run of list items (``list_span``) that sentence ``i`` introduces: it ends with a
        colon and the next sentence, in the same section, is a list item. None otherwise."""
        sents = self.sentences
        if sents[i].introduces_list and i + 1 < len(sents) and sents[i + 1].is_list_item \
                and self.same_section(i, i + 1):
            return self.list_span(i + 1)
        return None

    def _section_number(self, i: int) -> int:
        """Which section of its document sentence ``i`` is in, by position (titles may repeat)."""
        got = self._section_of.get(i)
        if got is None:
            s = self.sentences[i]
            starts = self._section_starts.get(s.doc_id)
            if starts is None:
                starts = self._section_starts[s.doc_id] = [sec.start for sec in self.documents[s.doc_id].sections]
            got = self._section_of[i] = bisect_right(starts, s.start)
        return got

    def same_section(self, p: int, j: int) -> bool:
        """Whether sentences ``p`` and ``j`` sit in the same section of one document (not merely
        two sections with the same title): no heading lies between them."""
        return (self.sentences[p].doc_id == self.sentences[j].doc_id
                and self._section_number(p) == self._section_number(j))

    def same_paragraph(self, p: int, j: int) -> bool:
        """Sentences ``p`` < ``j`` share a section and no blank line (of any whitespace) lies between."""
        if not self.same_section(p, j):
            return False
        a, b = self.sentences[p], self.sentences[j]
        return not _BLANK_LINE.search(self.documents[a.doc_id].text, a.end, b.start)

    @property
    def vocab(self) -> frozenset[str]:
        return self.vocabulary.vocab

    @property
    def collections(self) -> dict[str, int]:
        """Documents per collection (the corpus's top-level folders; "." for the files at the top)."""
        out: dict[str, int] = {}
        for doc_id in self.documents:
            c = collection_of(doc_id)
            out[c] = out.get(c, 0) + 1
        return dict(sorted(out.items()))


_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
_BUILD_NAME = re.compile(r"build-[0-9A-Za-z-]+")


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
    except ValueError:  # not UTF-8: garbage, not a folder name
        raise IndexStateError(f"{pointer} is garbage (not a build folder name); run `qa build` to rebuild") from None
    folder = Path(index_dir) / name
    if not _BUILD_NAME.fullmatch(name) or not folder.is_dir():
        raise IndexStateError(f"{pointer} names a missing build {name[:80]!r}; run `qa build` to rebuild")
    return folder


def _read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexStateError(f"{folder / 'manifest.json'} is unreadable ({e}); run `qa build`") from None
    if not isinstance(manifest, dict):
        raise IndexStateError(f"{folder / 'manifest.json'} is not a manifest; run `qa build`")
    return manifest


def read_manifest(index_dir: Path) -> dict | None:
    folder = current_build(index_dir)
    if folder is None:
        return None
    return _read_manifest(folder)


def build_checksums(folder: Path) -> dict[str, list]:
    """[size, sha256] of every file of a build folder except the manifest, by relative path."""
    return {rel: [(folder / rel).stat().st_size, sha256_file(folder / rel)] for rel in build_checksums_names(folder)}


def build_checksums_names(folder: Path) -> list[str]:
    """The files ``build_checksums`` covers, by relative path (without hashing them)."""
    return [rel for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "manifest.json"
            and not (rel := p.relative_to(folder).as_posix()).startswith(UNCHECKED)]


#: A milvus-lite database in a build folder changes whenever it is opened (its write-ahead log),
#: so it is left out of the checksums; loading checks its counts against the store instead.
UNCHECKED = "milvus.db/"


def damage(folder: Path, manifest: dict) -> list[str]:
    """Files of the build that are missing, truncated, altered or unaccounted for since it was
    written. A manifest without checksums is damage too (deleting them must not switch the
    check off); every file of the folder must be listed."""
    want = manifest.get("checksums")
    if not isinstance(want, dict) or not want:
        return [f"the index in {folder} is damaged: manifest.json has no checksums of its files"]
    problems = [f"{rel} is not in the manifest's checksums" for rel in sorted(set(build_checksums_names(folder)) - set(want))]
    for rel, entry in sorted(want.items()):
        p = folder / rel
        try:
            size, digest = entry
            st = p.stat()
            if st.st_size != size:
                problems.append(f"{rel} is {'truncated' if st.st_size < size else 'altered'} "
                                f"({st.st_size} of {size} bytes)")
            elif sha256_file(p) != digest:
                problems.append(f"{rel} is altered (checksum differs)")
        except OSError:
            problems.append(f"{rel} is missing")
        except (TypeError, ValueError):
            problems.append(f"manifest.json has a malformed checksum for {rel}")
    return [f"the index in {folder} is damaged: {p}" for p in problems]


def stale_reasons(settings: Settings, embedder_name: str, dim: int) -> list[str]:
    """Why the index cannot be used as it is (empty list: it is fresh)."""
    try:
        folder = current_build(settings.index_dir)
        if folder is None:
            return [f"no index in {settings.index_dir}"]
        return _stale_reasons(folder, _read_manifest(folder), settings, embedder_name, dim)
    except IndexStateError as e:
        return [str(e)]


def _stale_reasons(folder: Path, manifest: dict, settings: Settings, embedder_name: str, dim: int) -> list[str]:
    reasons = damage(folder, manifest)
    want = expected_settings(settings, embedder_name, dim)
    for key, value in want.items():
        if manifest.get(key) != value:
            reasons.append(f"{key} changed ({manifest.get(key)!r} -> {value!r})")
    backend = manifest.get("backend") or {"name": "faiss"}
    if backend.get("name") != settings.vector_backend:
        reasons.append(f"vector_backend changed ({backend.get('name')!r} -> {settings.vector_backend!r})")
    elif backend.get("bm25") != BM25_SCOPE:  # the next build keeps the vectors (nothing embedded again)
        reasons.append("BM25 statistics are now kept per collection (top-level folder)")
    try:
        now = file_hashes(settings.corpus_dir)
    except CorpusError as e:
        return reasons + [str(e)]
    before = manifest.get("files", {})
    if not isinstance(before, dict):
        return reasons + [f"{folder / 'manifest.json'} is malformed (no file list)"]
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
    lock_timeout: float | None = None,
    on_stage: Progress | None = None,
) -> dict:
    """Build the index for ``settings.corpus_dir`` and make it live; returns the manifest.

    Waits at most ``lock_timeout`` seconds (default ``settings.build_lock_timeout``) for another
    build of the same folder to finish, then raises IndexStateError.
    """
    index_dir = Path(settings.index_dir)
    _check_writable(index_dir)
    stage = on_stage or (lambda msg: log.info(msg))
    lock = _lock(index_dir, settings.build_lock_timeout if lock_timeout is None else lock_timeout)
    try:
        _remove_leftovers(index_dir, keep=None)  # .tmp-* of a build that was killed
        t0 = time.perf_counter()
        stage(f"Reading {settings.corpus_dir}")
        hashes = file_hashes(settings.corpus_dir)
        before = _previous(settings, embedder)
        try:
            corpus, sentences, chunks, vectors = _gather(settings, hashes, before, progress)
        finally:
            if before:  # a milvus-lite database stays locked while open
                before["backend"].close()
        if not corpus.documents:
            why = "; ".join(r for _, r in corpus.skipped) or NO_FILES
            raise nothing_to_index(settings.corpus_dir, why)
        if not sentences:
            raise nothing_to_index(settings.corpus_dir, "the documents hold headings but no text")
        # only what is new or changed is embedded; the rest keeps the vectors of the previous build
        sent_vecs, chunk_vecs = _rows(vectors["s"], embedder.dim), _rows(vectors["c"], embedder.dim)
        todo = [(sent_vecs, i, sentences[i]) for i, v in enumerate(vectors["s"]) if v is None] + \
               [(chunk_vecs, i, chunks[i]) for i, v in enumerate(vectors["c"]) if v is None]
        del vectors
        bulk = bulk_embedder(settings.build_precision, embedder, len(todo))
        reused = len(sentences) + len(chunks) - len(todo)
        stage(f"Embedding {len(todo)} texts with {bulk.name}" + (f" ({reused} unchanged kept)" if reused else ""))
        _embed(todo, {d.id: d.title for d in corpus.documents}, bulk, settings, progress)
        stage("Writing index")
        tmp = index_dir / f".tmp-{_stamp()}"
        try:
            manifest = _write_build(tmp, settings, embedder, corpus, sentences, chunks, sent_vecs, chunk_vecs,
                                    hashes, t0, documents_embedded_by=bulk.name,
                                    update={"embedded": len(todo), "kept": reused,
                                            "from": before["folder"].name if before else None})
            final = index_dir / f"build-{_stamp()}"
            tmp.rename(final)
            pointer_tmp = index_dir / f".tmp-{_stamp()}-CURRENT"
            pointer_tmp.write_text(final.name, encoding="utf-8")
            _fsync_file(pointer_tmp)
            os.replace(pointer_tmp, index_dir / CURRENT)  # the moment the new index goes live
            _fsync_dir(index_dir)
        except OSError as e:  # disk full, quota, permissions changed mid-build...
            _remove_leftovers(index_dir, keep=None)
            raise IndexStateError(
                f"could not write the index to {index_dir} ({e.strerror or e}); the previous index is "
                "unchanged. Free some space or fix the folder, then run `qa build` again"
            ) from None
        _remove_leftovers(index_dir, keep=final)
        return manifest
    finally:
        lock.release()


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _previous(settings: Settings, embedder: Embedder) -> dict | None:
    """What the live build can lend an update: its files' hashes, documents,
    sentences and chunks per document, and vectors -- when it is undamaged and was made with
    the same model, chunking and format (else None: everything is embedded again)."""
    try:
        folder = current_build(settings.index_dir)
        if folder is None:
            return None
        manifest = _read_manifest(folder)
        if damage(folder, manifest):
            return None
        want = expected_settings(settings, embedder.name, embedder.dim)
        if any(manifest.get(k) != v for k, v in want.items()):
            return None
        store = json.loads((folder / "store.json").read_text(encoding="utf-8"))
        backend = open_backend(settings, folder, manifest, _store_docs(store), texts=list)
        if backend.count("sentence") != len(store["sentences"]) or backend.count("chunk") != len(store["chunks"]):
            return None
        # 8-bit codes: lent vectors would drift with each update
        if any(getattr(backend, "vector_index", lambda k: None)(k) is not None
               and backend.vector_index(k).kind == "ivf-sq8" for k in KINDS):
            return None
        # a stored text is lent only when it is the one the manifest vouches for
        texts = manifest.get("texts", {})
        store["documents"] = [d for d in store["documents"] if texts.get(d["id"]) == _text_hash(d["text"])]
        return {"folder": folder, "files": manifest.get("files", {}), "store": store, "backend": backend}
    except Exception as e:  # noqa: BLE001 -- anything wrong with the old build: embed everything again
        log.info("the live build lends nothing to this update (%s)", e)
        return None


def _store_docs(store: dict) -> dict[str, list[str]]:
    """The document of every stored piece, by kind, in id order."""
    return {"sentence": [row[0] for row in store["sentences"]], "chunk": [row[0] for row in store["chunks"]]}


def _gather(settings: Settings, hashes: dict[str, str], before: dict | None, progress: bool):
    """(corpus, sentences, chunks, vectors) in corpus order. A file whose bytes are unchanged
    since ``before`` keeps its document, pieces and vectors; the others are read and chunked,
    their vectors left None for the caller to embed."""
    store = before["store"] if before else {"documents": [], "sentences": [], "chunks": []}
    kept_docs = {d["id"]: d for d in store["documents"]}
    kept_s, kept_c = {}, {}  # document id -> its rows in the stored sentences / chunks
    for kept, rows in ((kept_s, store["sentences"]), (kept_c, store["chunks"])):
        for i, row in enumerate(rows):
            kept.setdefault(row[0], []).append(i)
    documents, skipped, sentences, chunks = [], [], [], []
    vectors: dict[str, list] = {"s": [], "c": []}
    folder = Path(settings.corpus_dir)
    paths = corpus_files(folder)
    if progress and len(paths) > 50:
        from tqdm import tqdm

        paths = tqdm(paths, desc="Reading", unit="file")
    sandbox = Sandbox(Limits.of(settings))  # one reader process for the whole build (qa/ingest/sandbox.py)
    for path in paths:
        doc_id = path.relative_to(folder).as_posix()
        # a file skipped last time is read again: the reason may have been a limit since raised
        same = before is not None and before["files"].get(doc_id) == hashes.get(doc_id)
        if same and doc_id in kept_docs:
            rows_s, rows_c = kept_s.get(doc_id, []), kept_c.get(doc_id, [])
            vs = before["backend"].vectors("sentence", rows_s) if rows_s else np.zeros((0, 1), np.float32)
            vc = before["backend"].vectors("chunk", rows_c) if rows_c else np.zeros((0, 1), np.float32)
            if _sound(vs) and _sound(vc):  # else embed again: damaged vectors are never carried over
                doc = _stored_document(kept_docs[doc_id])
                sentences += [_stored_sentence(store["sentences"][i], doc) for i in rows_s]
                chunks += [_stored_chunk(store["chunks"][i], doc) for i in rows_c]
                vectors["s"] += list(vs)
                vectors["c"] += list(vc)
                documents.append(doc)
                continue
        doc = read_or_skip(path, doc_id, folder, settings.max_file_bytes, sandbox)
        if isinstance(doc, str):
            skipped.append((doc_id, doc))
            continue
        s, c = chunk_document(doc, settings.chunking)
        sentences += s
        chunks += c
        vectors["s"] += [None] * len(s)
        vectors["c"] += [None] * len(c)
        documents.append(doc)
    sandbox.close()
    return Corpus(documents, skipped), sentences, chunks, vectors


#: Texts embedded per block: a block's texts are made, embedded and dropped before the next, so a
#: big corpus never holds all its embedding texts at once (longest-first sorting works per block).
EMBED_BLOCK = 2048


def _rows(rows: list, dim: int) -> np.ndarray:
    """One float32 matrix of ``rows`` (vectors, or None where a row is still to be embedded)."""
    out = np.zeros((len(rows), dim), np.float32)
    for i, v in enumerate(rows):
        if v is not None:
            out[i] = v
    return out


def _embed(todo: list, titles: dict[str, str], bulk: Embedder, settings: Settings, progress: bool) -> None:
    """Embed each (matrix, row, piece) of ``todo`` into its row, block by block."""
    bar = None
    if progress and todo:
        from tqdm import tqdm

        # Load the model first: its own progress bars, drawn inside ours, left a stray cursor-up
        # escape and a second "Embedding 100%" line in the terminal.
        bulk.warm_up()
        bar = tqdm(total=len(todo), desc="Embedding", unit="text")
    for b in range(0, len(todo), EMBED_BLOCK):
        block = todo[b:b + EMBED_BLOCK]
        texts = [embedding_text(titles[p.doc_id], p.section, p.text, settings.context_prefix) for _, _, p in block]
        for (matrix, i, _), v in zip(block, bulk.encode(texts, batch_size=settings.batch_size)):
            matrix[i] = v
        if bar is not None:
            bar.update(len(block))
    if bar is not None:
        bar.close()


def _sound(vectors: np.ndarray) -> bool:
    """Every row finite and of length ~1 (8-bit IVF codes move a length by well under 0.1)."""
    with np.errstate(over="ignore", invalid="ignore"):
        norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
    return bool(np.all(np.isfinite(norms)) and np.all(np.abs(norms - 1.0) < 0.1))


def _remove_leftovers(index_dir: Path, keep: Path | None) -> None:
    """Delete what interrupted builds leave (``.tmp-*`` folders and pointer files) and, when
    ``keep`` is given, every ``build-*`` folder other than it. Only call with the lock held."""
    for p in index_dir.glob(".tmp-*"):
        _remove(p)
    if keep is not None:
        for old in index_dir.glob("build-*"):
            if old != keep:
                _remove(old)


def _remove(p: Path) -> None:
    try:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    except OSError as e:
        log.warning("could not remove %s (%s)", p, e.strerror)


def _stored_document(d: dict) -> Document:
    """A document as ``_write_build`` stores it in ``store.json``."""
    return Document(d["id"], d["title"], d["text"], tuple(Section(**x) for x in d["sections"]),
                    tuple(d.get("pages", ())), d.get("kind", "text"),
                    tuple(Table.from_dict(t) for t in d.get("tables", ())))


def _stored_sentence(row: list, doc: Document) -> Sentence:
    doc_id, section, start, end, item = row
    return Sentence(doc_id, section, start, end, doc.text[start:end], bool(item))


def _stored_chunk(row: list, doc: Document) -> Chunk:
    doc_id, section, start, end = row
    return Chunk(doc_id, section, start, end, doc.text[start:end])


def _write_build(tmp: Path, settings: Settings, embedder: Embedder, corpus: Corpus, sentences: list[Sentence],
                 chunks: list[Chunk], sent_vecs: np.ndarray, chunk_vecs: np.ndarray, hashes: dict,
                 t0: float, documents_embedded_by: str | None = None, update: dict | None = None) -> dict:
    """Write a complete build into the new folder ``tmp`` and fsync it; returns its manifest."""
    docs = {d.id: d for d in corpus.documents}
    tmp.mkdir()
    backend = create_backend(settings, tmp, int(sent_vecs.shape[1]), tmp.name.removeprefix(".tmp-"))
    try:
        backend.upsert(Pieces("sentence", np.arange(len(sentences)), [s.doc_id for s in sentences], sent_vecs,
                              [f"{s.section} {s.text}" for s in sentences]))
        backend.upsert(Pieces("chunk", np.arange(len(chunks)), [c.doc_id for c in chunks], chunk_vecs))
        backend_info = backend.save(tmp)
    finally:
        backend.close()
    store = {
        "documents": [
            {"id": d.id, "title": d.title, "text": d.text, "sections": [asdict(s) for s in d.sections],
             "pages": list(d.pages), "kind": d.kind, "tables": [asdict(t) for t in d.tables]}
            for d in corpus.documents
        ],
        "sentences": [[s.doc_id, s.section, s.start, s.end, s.is_list_item] for s in sentences],
        "chunks": [[c.doc_id, c.section, c.start, c.end] for c in chunks],
    }
    (tmp / "store.json").write_text(json.dumps(store, ensure_ascii=False), encoding="utf-8")
    manifest = {
        **expected_settings(settings, embedder.name, int(sent_vecs.shape[1])),
        "files": hashes,  # of the files' bytes: a change rebuilds
        "texts": {d.id: _text_hash(d.text) for d in corpus.documents},  # of the extracted texts: checked on load
        "skipped": dict(corpus.skipped),
        "update": update or {},
        "backend": backend_info,
        "counts": {"documents": len(docs), "sentences": len(sentences), "chunks": len(chunks)},
        "versions": _versions(),
        "embedder": dict(getattr(embedder, "fingerprint", None) or {"backend": embedder.name}),  # e.g. ONNX model sha256
        # The stored vectors' embedder when not the question embedder (bf16 bulk builds).
        "documents_embedded_by": documents_embedded_by or embedder.name,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "build_seconds": round(time.perf_counter() - t0, 3),
        "checksums": build_checksums(tmp),
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    _fsync_tree(tmp)
    return manifest


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make renames inside ``folder`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            _fsync_file(p)


def load_index(settings: Settings, embedder_name: str, dim: int) -> Index:
    """Load the live index, refusing one that is stale or damaged (IndexStateError says why).

    The folder named by CURRENT is resolved once and checked and loaded as a unit. If a
    concurrent ``qa build`` switches CURRENT and deletes that folder while it is being read,
    the load starts over on the new build (a few times at most).
    """
    for attempt in range(3):
        folder = current_build(settings.index_dir)
        try:
            return _load_build(folder, settings, embedder_name, dim)
        except IndexStateError:
            try:
                moved = folder is not None and current_build(settings.index_dir) != folder
            except IndexStateError:
                moved = False
            if not moved or attempt == 2:
                raise
            log.info("the index was replaced while loading it; loading the new one")
    raise AssertionError("unreachable")


def _load_build(folder: Path | None, settings: Settings, embedder_name: str, dim: int) -> Index:
    if folder is None:
        reasons = [f"no index in {settings.index_dir}"]
    else:
        manifest = _read_manifest(folder)
        reasons = _stale_reasons(folder, manifest, settings, embedder_name, dim)
    if reasons:
        raise IndexStateError(
            f"the index in {settings.index_dir} cannot be used: {'; '.join(reasons)}. Run `qa build`.",
            reason="; ".join(reasons),
        )
    try:
        store = json.loads((folder / "store.json").read_text(encoding="utf-8"))
        documents = {d["id"]: _stored_document(d) for d in store["documents"]}
        sentences = [_stored_sentence(row, documents[row[0]]) for row in store["sentences"]]
        chunks = [_stored_chunk(row, documents[row[0]]) for row in store["chunks"]]
        del store
        search = open_backend(settings, folder, manifest,
                              {"sentence": [s.doc_id for s in sentences], "chunk": [c.doc_id for c in chunks]},
                              texts=lambda: [f"{s.section} {s.text}" for s in sentences])
        vocabulary = getattr(search, "vocabulary", None) or Vocabulary.of(f"{s.section} {s.text}" for s in sentences)
        chunk_sentences, sentence_chunks = _link(sentences, chunks)
    except IndexStateError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, IndexError) as e:
        # FAISS reports a bad file with a C++ stack in the message: log it, say it in words
        log.debug("loading %s failed: %r", folder, e)
        what = "a vector file" if isinstance(e, RuntimeError) else type(e).__name__
        raise IndexStateError(f"the index in {folder} is damaged ({what} cannot be read); run `qa build`") from None
    counts = manifest.get("counts", {})
    if (
        search.count("sentence") != len(sentences)
        or search.count("chunk") != len(chunks)
        or counts.get("sentences") != len(sentences)
        or search.dim != dim
    ):
        raise IndexStateError(f"the index in {folder} is inconsistent (counts differ); run `qa build`")
    for kind in KINDS:
        if not _unit_length(search, kind):
            raise IndexStateError(f"the index in {folder} is damaged (its vectors are not unit length); run `qa build`")
    # The stored texts must be the corpus files the manifest vouches for (offsets point into them).
    texts = manifest.get("texts", {})
    for doc_id, doc in documents.items():
        if texts.get(doc_id) != _text_hash(doc.text):
            raise IndexStateError(f"the index in {folder} is inconsistent (stored text of {doc_id} differs "
                                  "from the corpus file it was built from); run `qa build`")
    return Index(folder, manifest, documents, sentences, chunks, chunk_sentences, sentence_chunks,
                 search, vocabulary)


def _unit_length(search: SearchBackend, kind: str, sample: int = 256) -> bool:
    """Whether a spread sample of the stored vectors has length ~1, as every embedding does
    (8-bit IVF codes move a length by well under 0.1)."""
    size = search.count(kind)
    if size == 0:
        return True
    ids = np.unique(np.linspace(0, size - 1, min(sample, size)).astype(np.int64)).tolist()
    return _sound(search.vectors(kind, ids))


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
