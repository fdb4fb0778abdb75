"""What the answer layer needs of a reader, and which one the settings choose.

A reader takes a question and a few passages and gives, for each passage, its best answer span
with its margin over "no answer" (or None). The ONNX reader (qa/reader/onnx_reader.py) is the one
implementation; ``reader_model`` points it at another exported model, as ``embedding_backend``
chooses the embedder, so a retrained or bigger reader is a setting, not a code change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from qa.reader.encoding import Span


class SpanReader(Protocol):
    name: str

    def warm_up(self) -> None:
        """Load the model now (else on the first ``read``)."""

    def read(self, question: str, passages: list[str], widen: float = 0.0,
             allowed: list[list[tuple[int, int]] | None] | None = None) -> list[Span | None]:
        """The best span of each passage (offsets into it), None where it holds none; ``allowed``:
        per passage, the character ranges its span must lie in (None: anywhere)."""


def load_reader(model: str = "") -> SpanReader:
    """The reader of ``model`` (a path to an ONNX reader; "" for the shipped one), loaded lazily."""
    from qa.reader.onnx_reader import Reader

    return Reader(Path(model).expanduser() if model else None)
