"""From a question to an answer: question analysis, retrieval and fusion, reading the best
passages with the reader, composing the cited answer and its confidence, follow-ups, and
``pipeline.QA``, the one entry point every surface calls."""
