"""The vocabulary every layer shares: typed values (``types``), errors, settings (``config``),
text normalisation (``text``) and file digests. Imports nothing else of ``qa``."""
