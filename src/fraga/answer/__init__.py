"""Stage 4: extractive answers with citations, built on retrieval."""
