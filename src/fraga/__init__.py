"""fraga: extractive, cited answers over Swedish municipal replies."""
from __future__ import annotations

__version__ = "0.1.0"

from fraga.errors import FragaError  # noqa: E402
from fraga.records import Answer, Chunk, Citation, Document, Hit  # noqa: E402

__all__ = [
    "__version__",
    "Answer",
    "Chunk",
    "Citation",
    "Document",
    "FragaError",
    "Hit",
]
