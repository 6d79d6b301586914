"""The straightforward baseline the design card suggests: rank-bm25 plus an exact FAISS flat index.

It uses fraga's analyzer (the same tokens) and fraga's RRF, so the benchmark compares
engines and index layouts, not tokenisation. rank-bm25 has no file format of its own;
the baseline is saved with pickle (fraga's index never is), which is what a quick
implementation would do.
"""

from __future__ import annotations

import logging
import pickle
import time
from pathlib import Path

import numpy as np

from fraga.search.fusion import rrf, top
from fraga.index.lexical import Analyzer, AnalyzerSettings

logger = logging.getLogger(__name__)

DEPTH = 50  # candidates per retriever before fusion, as fraga's Retriever


class Baseline:
    """rank_bm25.BM25Okapi over the analyzer's tokens and a faiss.IndexFlatIP over the vectors."""

    def __init__(self, bm25, flat, analyzer: Analyzer) -> None:
        self.bm25 = bm25
        self.flat = flat
        self.analyzer = analyzer

    @classmethod
    def build(cls, texts: list[str], vectors: np.ndarray) -> tuple[Baseline, dict[str, float]]:
        """The baseline over ``texts`` and their ``vectors``, and seconds per stage."""
        import faiss
        from rank_bm25 import BM25Okapi

        t0 = time.perf_counter()
        analyzer = Analyzer(AnalyzerSettings())
        tokens = [analyzer.tokens(t) or [""] for t in texts]
        t1 = time.perf_counter()
        bm25 = BM25Okapi(tokens)
        del tokens
        t2 = time.perf_counter()
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
        t3 = time.perf_counter()
        return cls(bm25, flat, analyzer), {"tokenize": t1 - t0, "bm25": t2 - t1, "faiss": t3 - t2, "total": t3 - t0}

    def save(self, folder: Path) -> None:
        import faiss

        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "bm25.pkl", "wb") as f:
            pickle.dump(self.bm25, f, protocol=pickle.HIGHEST_PROTOCOL)
        faiss.write_index(self.flat, str(folder / "flat.faiss"))

    @classmethod
    def load(cls, folder: Path) -> Baseline:
        import faiss

        with open(folder / "bm25.pkl", "rb") as f:
            bm25 = pickle.load(f)  # noqa: S301 - the benchmark's own file
        return cls(bm25, faiss.read_index(str(folder / "flat.faiss")), Analyzer(AnalyzerSettings()))

    # Search ------------------------------------------------------------------
    def search_bm25(self, query: str, k: int = DEPTH) -> dict[str, float]:
        scores = self.bm25.get_scores(self.analyzer.tokens(query))
        k = min(k, len(scores))
        rows = np.argpartition(-scores, k - 1)[:k]
        return {str(int(r)): float(scores[r]) for r in rows if scores[r] > 0}

    def search_dense(self, vector: np.ndarray, k: int = DEPTH) -> dict[str, float]:
        scores, rows = self.flat.search(vector.reshape(1, -1).astype(np.float32), k)
        return {str(int(r)): float(s) for s, r in zip(scores[0], rows[0]) if r >= 0}

    def search_hybrid(self, query: str, vector: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
        return top(rrf([self.search_bm25(query), self.search_dense(vector)]), k)

    def exact_neighbours(self, queries: np.ndarray, k: int = 10) -> np.ndarray:
        """Rows of the exact top ``k`` for each query (the ground truth for recall)."""
        _, rows = self.flat.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return rows
