"""Retrieval-based question answering over a folder of documents, with cited excerpts.

Names are re-exported lazily (PEP 562) so that ``import qa.cli`` -- and so ``qa --help`` --
does not pull in numpy, FAISS or a model.
"""

from importlib import import_module

_EXPORTS = {
    "QA": "qa.pipeline",
    "Settings": "qa.config", "load_settings": "qa.config",
    "Answer": "qa.types", "Citation": "qa.types", "Chunk": "qa.types", "Document": "qa.types",
    "Section": "qa.types", "Sentence": "qa.types", "Turn": "qa.types",
    "QAError": "qa.errors", "CorpusError": "qa.errors", "IndexStateError": "qa.errors",
    "ModelUnavailableError": "qa.errors", "BadQuestionError": "qa.errors", "TestSetError": "qa.errors",
}
__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
