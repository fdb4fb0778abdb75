"""Documents in: reading corpus files into ``Document``s with titles and sections (``corpus``)
and splitting them into sentences and chunks with exact offsets (``chunking``)."""
