"""The reference backend: sentence-transformers on PyTorch (imported on first use)."""

from __future__ import annotations

import logging
import threading

import numpy as np

from qa.core.errors import ModelUnavailableError
from qa.embed.model import DIMENSION, MODEL_NAME, force_offline, model_path

log = logging.getLogger(__name__)


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
