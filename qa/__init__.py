"""Retrieval-based question answering over a folder of documents, with cited excerpts."""

from .config import Settings, load_settings
from .errors import (BadQuestionError, CorpusError, IndexStateError, ModelUnavailableError, QAError,
                     TestSetError)
from .pipeline import QA
from .types import Answer, Chunk, Citation, Document, Section, Sentence, Turn

__all__ = [
    "QA", "Settings", "load_settings", "Answer", "Citation", "Chunk", "Document", "Section", "Sentence", "Turn",
    "QAError", "CorpusError", "IndexStateError", "ModelUnavailableError", "BadQuestionError", "TestSetError",
]
__version__ = "0.1.0"
