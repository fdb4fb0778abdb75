"""The on-disk index: building, checking and loading it (``store``), the search backends behind
one protocol (``backend``; FAISS + bm25s in ``faiss_backend`` over ``vectors`` and ``lexical``,
Milvus in ``milvus_backend``, chosen in ``backend_factory``), and building it in a child process
(``child``)."""
