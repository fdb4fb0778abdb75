"""The corpus folder as a managed library: add a file, remove one, and say where each file stands
against the live index (indexed, skipped and why, new, changed, deleted). The admin page's
Documents tab (qa/surfaces/documents_tab.py) is a thin layer over these.

Removing moves the file to a hidden ``.trash`` folder, from where it can be put back by hand.
Adding is careful because the bytes come from a browser: the file's kind is taken from its
content (qa/ingest/formats.py) and the file must read as that kind before it is stored; the name
is reduced to a plain file name with the suffix of its kind; it is written to a hidden temporary
file and renamed into place, so a build that runs meanwhile sees the old file or the new one,
never half of one.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from qa.core.digest import sha256_file
from qa.core.errors import CorpusError
from qa.ingest.corpus import corpus_files, ignored_name
from qa.ingest.formats import sniff
from qa.ingest.sandbox import Limits, Sandbox

#: One uploaded file may be at most this big (PDFs of a few hundred pages fit).
MAX_UPLOAD_FILE_BYTES = 20_000_000
#: At most this many files per upload, and the bytes of one upload request in all.
MAX_FILES_PER_UPLOAD = 20
MAX_UPLOAD_REQUEST_BYTES = 50_000_000
#: The library stops accepting uploads at this many files (the build is sized for it).
MAX_LIBRARY_FILES = 10_000

_SUFFIX = {"pdf": ".pdf", "docx": ".docx", "html": ".html"}
_TEXT_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class FileStatus:
    doc_id: str
    kind: str  # "pdf" | "docx" | "html" | "text" | "" (a file no longer there)
    size: int
    status: str  # "indexed" | "skipped" | "new" | "changed" | "deleted"
    detail: str  # the reason a file is skipped, or what re-indexing will do


def safe_name(name: str, kind: str) -> str:
    """A plain file name for an upload: no folders, no leading dot, letters, digits and
    ``-_. ()`` only, with the suffix of its kind (a PDF called ``notes.txt`` becomes ``notes.pdf``)."""
    base = unicodedata.normalize("NFKC", Path(str(name).replace("\\", "/")).name)
    stem, suffix = os.path.splitext(base)
    stem = re.sub(r"[^\w\-. ()]+", "_", stem).strip(" ._")[:120] or "document"
    if kind in _SUFFIX:
        suffix = _SUFFIX[kind]
    elif suffix.lower() not in _TEXT_SUFFIXES:
        suffix = ".txt"
    return stem + suffix.lower()


def check_upload_size(shown: str, size: int, max_bytes: int = MAX_UPLOAD_FILE_BYTES) -> None:
    """CorpusError naming the upload when ``size`` is over the upload limit."""
    if size > max_bytes:
        raise CorpusError(f"{shown}: {size:,} bytes is over the upload limit of {max_bytes:,} bytes")


def _same_name(name: str) -> str:
    """What two names that look alike share: NFKC (fullwidth letters, ligatures) and case folded."""
    return unicodedata.normalize("NFKC", name).casefold()


def add_file(folder: Path, name: str, data: bytes, max_bytes: int = MAX_UPLOAD_FILE_BYTES,
             sandbox: Sandbox | None = None) -> tuple[str, bool]:
    """Store ``data`` in the library under a safe form of ``name``; returns (doc_id, replaced).

    Raises CorpusError naming the file when it is empty or too big, its name is one the index
    leaves out, or looks like another file's without being it, the library is full, or the
    content cannot be read as a document (encrypted, scanned, damaged, a ZIP bomb, over the
    extraction limits ...): nothing is stored. A file is replaced only by an upload of exactly
    its name. The content is read through ``sandbox`` (a fresh one with the default limits when
    not given), as a build reads it.
    """
    folder = Path(folder)
    shown = Path(str(name).replace("\\", "/")).name or "the file"
    if not data:
        raise CorpusError(f"{shown}: the file is empty (0 bytes); there is nothing to index")
    kind = sniff(data)
    doc_id = safe_name(name, kind)
    ignored = ignored_name(doc_id)
    if ignored:
        raise CorpusError(f"{shown}: {ignored}")
    check_upload_size(shown, len(data), max_bytes)
    existing = {_same_name(p.relative_to(folder).as_posix()): p.relative_to(folder).as_posix()
                for p in corpus_files(folder)}
    twin = existing.get(_same_name(doc_id))
    # "ｃentral.txt" (fullwidth c) or "Central.txt" must not silently replace "central.txt"
    if twin is not None and (twin != doc_id or os.path.splitext(shown)[0] + os.path.splitext(shown)[1].lower() != doc_id):
        raise CorpusError(f"{shown}: the library already has {twin}, whose name differs only in case or in look-alike "
                          f"characters; upload it as {twin} to replace that file, or give it a distinct name")
    if sandbox is None:
        with Sandbox(Limits(max_bytes=max_bytes)) as own:
            got = own.extract(data, shown)
    else:
        got = sandbox.extract(data, shown)  # refuses what the build would skip, with the same reason
    if not got.text.strip():
        raise CorpusError(f"{shown}: holds no text; there is nothing to index")
    target = folder / doc_id
    replaced = target.exists()
    if not replaced and len(corpus_files(folder)) >= MAX_LIBRARY_FILES:
        raise CorpusError(f"{shown}: the library already holds {MAX_LIBRARY_FILES:,} files; delete some first")
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return doc_id, replaced


def _library_file(folder: Path, doc_id: str) -> Path:
    """The library file called ``doc_id``, or CorpusError: only names the library lists qualify."""
    for p in corpus_files(folder):
        if p.relative_to(folder).as_posix() == doc_id:
            return p
    raise CorpusError(f"{doc_id}: no such file in the library")


TRASH = ".trash"


def remove_file(folder: Path, doc_id: str) -> Path:
    """Take ``doc_id`` out of the library. The file is moved to the hidden ``.trash`` folder
    inside it (never indexed), not destroyed: a wrong click loses nothing. Returns where it went."""
    folder = Path(folder)
    path = _library_file(folder, doc_id)
    trash = folder / TRASH
    trash.mkdir(exist_ok=True)
    target = trash / f"{time.strftime('%Y%m%d-%H%M%S')}-{path.name}"
    os.replace(path, target)
    return target


def statuses(folder: Path, manifest: dict | None) -> list[FileStatus]:
    """Every library file and every indexed file gone from the folder, against ``manifest`` (the
    live build's, or None when there is no index)."""
    folder = Path(folder)
    manifest = manifest or {}
    indexed, skipped = manifest.get("files", {}), manifest.get("skipped", {})
    out = []
    for p in corpus_files(folder):
        doc_id = p.relative_to(folder).as_posix()
        size = p.stat().st_size
        with open(p, "rb") as f:
            kind = sniff(f.read(2048))
        if doc_id not in indexed:
            out.append(FileStatus(doc_id, kind, size, "new", "re-index to add it"))
        elif sha256_file(p) != indexed[doc_id]:
            out.append(FileStatus(doc_id, kind, size, "changed", "re-index to update it"))
        elif doc_id in skipped:
            out.append(FileStatus(doc_id, kind, size, "skipped", skipped[doc_id].removeprefix(f"{doc_id}: ")))
        else:
            out.append(FileStatus(doc_id, kind, size, "indexed", ""))
    present = {s.doc_id for s in out}
    out += [FileStatus(d, "", 0, "deleted", "re-index to remove it from answers")
            for d in sorted(indexed) if d not in present]
    return out

