"""The on-disk index: building, checking and loading it (``store``), its FAISS vectors
(``vectors``) and BM25 terms (``lexical``), and building it in a child process (``child``)."""
