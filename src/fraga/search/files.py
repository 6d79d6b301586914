"""Ranking over a file index: BM25 from its memory-mapped score matrix, dense from FAISS,
filters as a boolean mask over passages (``fraga.search.sql`` does the same in PostgreSQL)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np

from fraga.index import dense as dense_mod
from fraga.index.generation import Index
from fraga.index.postings import top_rows
from fraga.search.filters import Filters

logger = logging.getLogger(__name__)


class FileSearch:
    """BM25 and dense top-k over a loaded file ``Index``, with cached filter masks."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._lock = threading.Lock()
        self._state: object = None
        self._doc_row = np.zeros(0, dtype=np.int32)
        self._masks: dict[tuple, np.ndarray] = {}

    def _sync(self) -> None:
        state = self.index.state
        if state is self._state:
            return
        with self._lock:
            self._doc_row = np.array(self.index.chunk_doc_rows, dtype=np.int32)  # each passage's document row
            self._masks = {}
            self._state = state

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Boolean mask over passages that pass ``filters`` (None: no filter)."""
        if filters.empty:
            return None
        self._sync()
        key = (filters.districts, filters.doc_types, filters.date_from, filters.date_to)
        cached = self._masks.get(key)
        if cached is not None:
            return cached
        docs = self.index.documents
        ok = np.array([filters.admits(docs[doc_id].metadata) for doc_id in self.index.doc_ids], dtype=bool)
        mask = ok[self._doc_row] if len(ok) else np.zeros(len(self._doc_row), dtype=bool)  # one vectorised step
        with self._lock:
            if len(self._masks) >= 16:  # a mask is one byte per passage: 1 MB at 1M passages
                self._masks.clear()
            self._masks[key] = mask
        return mask

    def scores(self, query: str, extra: dict[str, float] | None = None) -> np.ndarray:
        """BM25 score of every passage for ``query``, plus ``extra`` tokens times their weights
        (a query's expansions, ``fraga.search.expand``)."""
        scores = self.index.bm25.scores(query)
        if extra:
            self.index.bm25.add_weighted(scores, extra)
        return scores

    def bm25(self, query: str, depth: int, filters: Filters, extra: dict[str, float] | None = None) -> dict[str, float]:
        """chunk id -> BM25 score of the ``depth`` best passages (positive scores only)."""
        allowed = self.mask(filters)
        scores = self.scores(query, extra)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        chunks = self.index.chunks
        return {chunks[i].chunk_id: float(scores[i]) for i in top_rows(scores, depth)}

    def dense(self, vector: np.ndarray, depth: int, filters: Filters) -> dict[str, float]:
        """chunk id -> cosine of the ``depth`` nearest passages (those with a vector)."""
        allowed = self.mask(filters)
        no_vector = self.index.dense_missing
        if no_vector is not None:  # passages without a vector yet are not dense results
            allowed = ~no_vector if allowed is None else allowed & ~no_vector[: len(allowed)]
        scores, rows = dense_mod.search(self.index.faiss, vector, depth, allowed)
        chunks = self.index.chunks
        return {chunks[int(r)].chunk_id: float(s) for s, r in zip(scores, rows)}

    def bm25_of(self, query: str, chunk_ids: Sequence[str], extra: dict[str, float] | None = None) -> dict[str, float]:
        """The positive BM25 scores of the passages ``chunk_ids``."""
        rows = [self.index.row_of[c] for c in chunk_ids]
        scores = self.scores(query, extra)
        return {c: float(scores[r]) for c, r in zip(chunk_ids, rows) if scores[r] > 0}

    def dense_of(self, vector: np.ndarray, chunk_ids: Sequence[str]) -> dict[str, float]:
        """The cosines of the passages ``chunk_ids`` that have a vector."""
        rows = np.array([self.index.row_of[c] for c in chunk_ids], dtype=np.int64)
        allowed = np.zeros(len(self.index.chunks), dtype=bool)
        allowed[rows] = True
        if (no_vector := self.index.dense_missing) is not None:
            allowed &= ~no_vector[: len(allowed)]
        values, found = dense_mod.search(self.index.faiss, vector, len(rows), allowed)
        chunks = self.index.chunks
        return {chunks[int(r)].chunk_id: float(v) for v, r in zip(values, found) if r >= 0}

    def no_vector(self, chunk_ids: Sequence[str]) -> set[str]:
        """Those of ``chunk_ids`` without a dense vector yet (a BM25-first build)."""
        missing = self.index.dense_missing
        if missing is None:
            return set()
        rows = self.index.row_of
        return {c for c in chunk_ids if rows[c] < len(missing) and missing[rows[c]]}
