"""The FAISS side of the index: choosing, building and searching the vector index."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import faiss

logger = logging.getLogger(__name__)

# Exact search below this many passages; HNSW (approximate) above.
EXACT_LIMIT = 200_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96


def choose_kind(n: int) -> str:
    """"flat" (exact inner product) for small collections, "hnsw" for large ones."""
    return "flat" if n < EXACT_LIMIT else "hnsw"


def build_faiss(vectors: np.ndarray, *, kind: str | None = None) -> faiss.Index:
    """A FAISS inner-product index over L2-normalised ``vectors`` (cosine similarity)."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    kind = kind or choose_kind(len(vectors))
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        raise ValueError(f"unknown FAISS index kind {kind!r}; use 'flat' or 'hnsw'")
    if len(vectors):
        index.add(vectors)
    return index


def save_faiss(index: faiss.Index, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load_faiss(path: Path, *, mmap: bool = False) -> faiss.Index:
    import faiss

    flags = faiss.IO_FLAG_MMAP if mmap else 0
    index = faiss.read_index(str(path), flags)
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def all_vectors(index: faiss.Index) -> np.ndarray:
    """Every stored vector, in row order (for reuse when re-indexing)."""
    if index.ntotal == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    return index.reconstruct_n(0, index.ntotal)


def search(index: faiss.Index, query: np.ndarray, k: int, allowed: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` rows for ``query``; ``allowed`` is a boolean mask of rows that may be returned.

    Returns:
        (scores, rows), best first, without the -1 padding FAISS uses for missing results.
    """
    import faiss

    n = index.ntotal
    if n == 0 or k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    k = min(k, n)
    q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    params = None
    if allowed is not None:
        ids = np.flatnonzero(allowed).astype(np.int64)
        if len(ids) == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        k = min(k, len(ids))
        selector = faiss.IDSelectorBatch(ids)
        if hasattr(index, "hnsw"):
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))
        else:
            params = faiss.SearchParameters(sel=selector)
    scores, rows = index.search(q, k, params=params) if params is not None else index.search(q, k)
    keep = rows[0] >= 0
    return scores[0][keep], rows[0][keep]
