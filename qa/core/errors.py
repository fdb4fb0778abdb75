"""Errors the library raises. Each message names the bad value and says what to do."""


class QAError(Exception):
    """Base class: anything a user can fix. Surfaces turn it into a readable message."""


class CorpusError(QAError):
    """The corpus folder is missing, empty, or unreadable."""


class IndexStateError(QAError):
    """The on-disk index is missing, stale, corrupt, locked or not writable."""

    def __init__(self, message: str = "", reason: str = ""):
        super().__init__(message)
        #: why, without the advice ("no index in DIR"): a server that builds the index itself
        #: says only this, not "Run `qa build`"
        self.reason = reason or message


class ModelUnavailableError(QAError):
    """The packaged embedding model (or an optional backend) is not installed."""


class BadQuestionError(QAError):
    """The question is empty, too long, or not text."""


class TestSetError(QAError):
    """A test-set file is malformed; the message names the line and field."""

    __test__ = False  # not a pytest test class
