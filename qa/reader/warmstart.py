"""Torch weights recovered from a shipped int8 reader, to go on training it (``qa train reader --init``).

The fp32 checkpoint of a run stays out of git and may not survive the machine it was trained on;
the int8 ONNX graph in ``qa/models/`` always does. Dequantising it gives the weights back to within
int8 rounding (the export measured that rounding at under a point of F1), which is a far better
start for more training than the untrained span head on the packaged MiniLM.

The graph is the one ``qa.reader.export`` writes: ONNX Runtime's BERT fusions (one QKV matrix per
layer, ``QAttention``; one ``QEmbedLayerNormalization``) and dynamic int8 MatMuls. Its MatMul
weights are stored as ``(in, out)``; torch's ``Linear`` holds ``(out, in)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _dequantized(inits: dict[str, np.ndarray], name: str) -> np.ndarray:
    q = inits[name + "_quantized"].astype(np.float32)
    zero = inits[name + "_zero_point"].astype(np.float32)
    return (q - zero) * inits[name + "_scale"].astype(np.float32)


def state_dict_from_onnx(path: Path, layers: int = 6) -> dict:
    """A ``SpanReader`` state dict (``qa.reader.train``) from the int8 reader at ``path``."""
    import onnx
    import torch
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    # The MatMuls outside attention, in graph order: per layer attention output, intermediate,
    # output; then the span head.
    matmuls = [n.input[1].removesuffix("_quantized") for n in model.graph.node if n.op_type == "MatMulInteger"]
    if len(matmuls) != 3 * layers + 1:
        raise ValueError(f"{path} is not a reader graph written by `qa train ship` "
                         f"({len(matmuls)} int8 MatMuls, expected {3 * layers + 1})")
    out: dict[str, np.ndarray] = {}
    emb = "bert.embeddings."
    for part in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        out[f"{emb}{part}.weight"] = _dequantized(inits, f"{emb}{part}.weight")
    for part in ("weight", "bias"):
        out[f"{emb}LayerNorm.{part}"] = _dequantized(inits, f"{emb}LayerNorm.{part}")
    for k in range(layers):
        pre = f"bert.encoder.layer.{k}."
        qkv = _dequantized(inits, f"Attention_{k}_qkv_weight")  # (in, 3 * hidden): q | k | v
        bias = inits[f"Attention_{k}_qkv_bias"]
        for j, name in enumerate(("query", "key", "value")):
            cols = slice(j * qkv.shape[0], (j + 1) * qkv.shape[0])
            out[f"{pre}attention.self.{name}.weight"] = qkv[:, cols].T
            out[f"{pre}attention.self.{name}.bias"] = bias[cols]
        for name, matmul in zip(("attention.output.dense", "intermediate.dense", "output.dense"), matmuls[3 * k:3 * k + 3]):
            out[f"{pre}{name}.weight"] = _dequantized(inits, matmul).T
            out[f"{pre}{name}.bias"] = inits[f"{pre}{name}.bias"]
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            out[f"{pre}{norm}.weight"] = inits[f"{pre}{norm}.weight"]
            out[f"{pre}{norm}.bias"] = inits[f"{pre}{norm}.bias"]
    out["span.weight"] = _dequantized(inits, matmuls[-1]).T
    out["span.bias"] = inits["span.bias"]
    return {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in out.items()}
