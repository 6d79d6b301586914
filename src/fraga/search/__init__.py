"""Stage 3: retrieval over an index: BM25, dense, fusion, filters."""
