"""Which search backend (qa/index/backend.py): ``vector_backend`` chooses it for a new build, the
build's manifest for an existing one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from qa.index.backend import SearchBackend


def create_backend(settings, folder: Path, dim: int, name: str) -> SearchBackend:
    """An empty backend of the configured kind for a new build in ``folder`` (named ``name``)."""
    if settings.vector_backend == "milvus":
        from qa.index.milvus_backend import MilvusBackend

        return MilvusBackend.create(settings.milvus_uri, folder, name, dim)
    from qa.index.faiss_backend import FaissBackend

    return FaissBackend(dim)


def open_backend(settings, folder: Path, manifest: dict, docs: dict[str, Sequence[str]],
                 texts: Callable[[], list[str]]) -> SearchBackend:
    """The backend a build was written with (its manifest says which), opened for searching.
    ``docs``: the document of every piece by kind, in id order, from the store; ``texts``: the
    sentences' lexical texts, asked for only if the backend needs them (an update of FAISS)."""
    info = manifest.get("backend") or {"name": "faiss"}
    if info.get("name") == "milvus":
        from qa.index.milvus_backend import MilvusBackend

        return MilvusBackend.open(settings.milvus_uri, folder, info)
    from qa.index.faiss_backend import FaissBackend

    return FaissBackend.load(folder, docs, texts)
