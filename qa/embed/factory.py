"""Which embedder: ``load_embedder`` for questions (and small builds), ``bulk_embedder`` for
building an index."""

from __future__ import annotations

from qa.core.errors import ModelUnavailableError
from qa.embed.model import Embedder, cpu_has_amx, cpu_has_bf16_matmul
from qa.embed.torch import TorchEmbedder


def load_embedder(backend: str = "auto", cache_dir=None) -> Embedder:
    """The embedder for ``backend``: "torch", "onnx" (fp32), "onnx-int8", or "auto" (ONNX fp32
    when onnxruntime is installed, else torch). ``cache_dir`` is where the ONNX backend keeps its
    exported model (qa/embed/onnx.py)."""
    if backend in ("onnx", "onnx-int8", "auto"):
        try:
            from qa.embed.onnx import OnnxEmbedder, onnx_available
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


def bulk_embedder(precision: str, query_embedder: Embedder, n_texts: int) -> Embedder:
    """The embedder for building an index of ``n_texts`` texts (``build_precision`` setting).

    "fp32": the query embedder itself. "bf16": the same model in bfloat16 on torch, about 2.4x
    faster in batches on a CPU with bf16 matrix units, vectors within cosine ~0.9999 of fp32
    (docs/performance.md); questions are still embedded in fp32, so only the stored vectors
    change, by rounding. "auto": bf16 when the build is big enough to pay for loading torch, the
    CPU has AMX and torch is installed; fp32 (ONNX Runtime) otherwise. AVX512-BF16 without AMX
    is not enough for "auto": measured side by side, torch-bf16 there lost to ONNX fp32 by a
    wide margin once other jobs shared the cores (``python -m benchmarks.build_speed backends``).
    """
    if precision == "fp32":
        return query_embedder
    if precision == "auto":
        if n_texts < BF16_MIN_TEXTS or not cpu_has_amx():
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
