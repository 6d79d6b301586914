"""fraga: extractive, cited answers over Swedish municipal replies.

``fraga.open(index_dir)`` returns a :class:`fraga.api.Fraga` with ``search``, ``ask``,
``prepare`` and ``add``. The names below are imported on first use, so ``import fraga``
stays light (no numpy, FAISS or encoder until they are needed).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from fraga.errors import FragaError  # noqa: E402
from fraga.records import Answer, Chunk, Citation, Document, Hit, Metadata  # noqa: E402

if TYPE_CHECKING:
    from fraga.api import Fraga, open
    from fraga.drafting.match import Preparation
    from fraga.search.retrieve import Filters, SearchResult

_LAZY = {
    "open": "fraga.api",
    "Fraga": "fraga.api",
    "Filters": "fraga.search.retrieve",
    "SearchResult": "fraga.search.retrieve",
    "Preparation": "fraga.drafting.match",
}

__all__ = [
    "__version__",
    "Answer",
    "Chunk",
    "Citation",
    "Document",
    "Filters",
    "Fraga",
    "FragaError",
    "Hit",
    "Metadata",
    "Preparation",
    "SearchResult",
    "open",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fraga' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
