"""Serving the reader: the shipped int8 ONNX graph run with ONNX Runtime (no torch).

``Reader().read(question, passages)`` returns each passage's best answer span with its score
and the passage's no-answer score (``qa.reader.encoding.Span``). The model and tokenizer load
on first use; one instance serves concurrent questions (ONNX Runtime sessions are thread-safe).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from qa.core.errors import ModelUnavailableError
from qa.reader.encoding import MAX_LENGTH, Span, best_spans, encode_pairs, load_tokenizer

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
MODEL_FILE = MODELS_DIR / "reader-int8.onnx"
CARD_FILE = MODELS_DIR / "reader.json"  # what the shipped file was made from, and its figures


#: One ONNX Runtime session and tokenizer per model file and thread count, shared by every Reader
#: (a server's QA objects, an evaluation's sweeps): loading takes a few hundred milliseconds.
_LOADED: dict[tuple[str, int], tuple] = {}
_LOADING = threading.Lock()


class Reader:
    def __init__(self, path: Path | None = None, threads: int = 2, max_length: int = MAX_LENGTH):
        self.path = Path(path or MODEL_FILE)
        self.threads = threads
        self.max_length = max_length
        self._session = None
        self._tokenizer = None

    @property
    def name(self) -> str:
        try:
            meta = json.loads(CARD_FILE.read_text(encoding="utf-8")) if self.path == MODEL_FILE else {}
        except (OSError, ValueError):
            meta = {}
        return meta.get("name", self.path.stem)

    def warm_up(self) -> None:
        if self._session is not None:
            return
        with _LOADING:
            key = (str(self.path.resolve()), self.threads)
            if key not in _LOADED:
                _LOADED[key] = self._load()
            self._session, self._tokenizer = _LOADED[key]

    def _load(self):
        if not self.path.is_file():
            raise ModelUnavailableError(f"the reader model {self.path} is missing; reinstall the package, or "
                                        "train one with `qa train reader`")
        import onnxruntime as ort

        from qa.embed.model import force_offline, model_path

        force_offline()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # a damaged file: say which and what to do
            raise ModelUnavailableError(f"the reader model {self.path} cannot be loaded ({type(e).__name__}); "
                                        "reinstall the package") from None
        return session, load_tokenizer(Path(model_path()))

    def logits(self, questions: list[str], passages: list[str]):
        """(encoded batch, start logits, end logits) for pairs of questions and passages."""
        self.warm_up()
        enc = encode_pairs(self._tokenizer, questions, passages, self.max_length)
        start, end = self._session.run(None, enc.feed())
        return enc, np.asarray(start), np.asarray(end)

    def read(self, question: str, passages: list[str], widen: float = 0.0,
             allowed: list[list[tuple[int, int]] | None] | None = None) -> list[Span | None]:
        """The best span of each passage for ``question`` (None for an empty passage); ``widen`` and
        ``allowed``: see ``encoding.best_spans``."""
        if not passages:
            return []
        enc, start, end = self.logits([question] * len(passages), passages)
        return best_spans(enc, start, end, widen=widen, allowed=allowed)
