"""Retrieval-based question answering over a folder of documents, with cited excerpts.

Names are re-exported lazily (PEP 562) so that ``import qa.surfaces.cli`` -- and so ``qa --help`` --
does not pull in numpy, FAISS or a model.
"""

from importlib import import_module

_EXPORTS = {
    "QA": "qa.answer.pipeline",
    "Settings": "qa.core.config", "load_settings": "qa.core.config",
    "Answer": "qa.core.types", "Citation": "qa.core.types", "Chunk": "qa.core.types", "Document": "qa.core.types",
    "Section": "qa.core.types", "Sentence": "qa.core.types", "Turn": "qa.core.types",
    "QAError": "qa.core.errors", "CorpusError": "qa.core.errors", "IndexStateError": "qa.core.errors",
    "ModelUnavailableError": "qa.core.errors", "BadQuestionError": "qa.core.errors", "TestSetError": "qa.core.errors",
}
__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
