"""Errors the library raises. Each message names the bad value and says what to do."""


class QAError(Exception):
    """Base class: anything a user can fix. Surfaces turn it into a readable message."""


class CorpusError(QAError):
    """The corpus folder is missing, empty, or unreadable."""


class IndexStateError(QAError):
    """The on-disk index is missing, stale, corrupt, locked or not writable."""


class ModelUnavailableError(QAError):
    """The packaged embedding model (or an optional backend) is not installed."""


class BadQuestionError(QAError):
    """The question is empty, too long, or not text."""


class TestSetError(QAError):
    """A test-set file is malformed; the message names the line and field."""

    __test__ = False  # not a pytest test class
