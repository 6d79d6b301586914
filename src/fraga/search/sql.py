"""Ranking in PostgreSQL (``fraga.index.postgres``): BM25 summed in SQL, dense by pgvector.

BM25 is the file index's Lucene BM25 (bm25s), term by term: for each query token (counted as
often as the query holds it) and each passage holding it,
``idf * tf / (k1 * (1 - b + b * dl / avgdl) + tf)`` with ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``.
The file index computes these products at build time; the store keeps ``tf``, ``dl`` and
``df`` and computes them per query, from statistics read in the same snapshot as the
postings, so scores stay exact while documents come and go. Dense search orders by
pgvector's inner product (HNSW index; iterative scans keep filtered searches full).
Filters are SQL conditions inside both searches.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from fraga.search.filters import Filters

logger = logging.getLogger(__name__)

_STATS = (
    "s AS (SELECT num_passages::float8 AS n, greatest(total_len, 1)::float8 / greatest(num_passages, 1) AS avgdl "
    "FROM fraga_stats WHERE id = 1), "
    "q AS MATERIALIZED (SELECT t.term, q.qtf, ln(1 + (s.n - t.df + 0.5) / (t.df + 0.5)) AS idf "
    "FROM unnest(%(terms)s::text[], %(qtf)s::float8[]) AS q(term, qtf) JOIN fraga_terms t USING (term), s)"
)
_SCORE = "sum(q.qtf * q.idf * po.tf / (%(k1)s * (1 - %(b)s + %(b)s * po.dl / s.avgdl) + po.tf))"


def where(filters: Filters, alias: str = "p") -> tuple[str, dict[str, Any]]:
    """SQL conditions (joined by AND, "TRUE" when none) and their parameters for ``filters``."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    if filters.districts:
        parts.append(f"{alias}.district = ANY(%(districts)s)")
        params["districts"] = list(filters.districts)
    if filters.doc_types:
        parts.append(f"{alias}.doc_type = ANY(%(doc_types)s)")
        params["doc_types"] = list(filters.doc_types)
    if filters.date_from:
        parts.append(f"{alias}.date <> '' AND {alias}.date >= %(date_from)s")
        params["date_from"] = filters.date_from
    if filters.date_to:
        parts.append(f"{alias}.date <> '' AND {alias}.date <= %(date_to)s")
        params["date_to"] = filters.date_to
    return (" AND ".join(parts) or "TRUE"), params


class SqlSearch:
    """BM25 and dense top-k over a ``PgIndex``."""

    def __init__(self, index) -> None:
        self.index = index

    def _terms(self, query: str, extra: dict[str, float] | None = None) -> dict[str, Any]:
        counts: dict[str, float] = dict(Counter(self.index.bm25.analyzer.tokens(query)))
        for token, weight in (extra or {}).items():
            counts[token] = counts.get(token, 0.0) + weight
        return {
            "terms": list(counts),
            "qtf": [float(v) for v in counts.values()],
            "k1": self.index.bm25.k1,
            "b": self.index.bm25.b,
        }

    def bm25(self, query: str, depth: int, filters: Filters, extra: dict[str, float] | None = None) -> dict[str, float]:
        """chunk id -> BM25 score of the ``depth`` best passages (positive scores only); ``extra``:
        more tokens with their weights (a query's expansions)."""
        params = self._terms(query, extra)
        if not params["terms"]:
            return {}
        cond, extra = where(filters)
        join = "" if filters.empty else "JOIN fraga_passages p ON p.id = po.passage"
        sql = (
            f"WITH {_STATS}, top AS (SELECT po.passage, {_SCORE} AS score FROM q JOIN fraga_postings po USING (term) "
            f"{join}, s WHERE {cond} GROUP BY po.passage ORDER BY score DESC LIMIT %(depth)s) "
            "SELECT p.chunk_id, top.score FROM top JOIN fraga_passages p ON p.id = top.passage"
        )
        rows = self.index.query(sql, {**params, **extra, "depth": depth})
        return {cid: float(score) for cid, score in rows if score > 0}

    def dense(self, vector: np.ndarray, depth: int, filters: Filters) -> dict[str, float]:
        """chunk id -> inner product (cosine) of the ``depth`` nearest passages."""
        from pgvector import Vector

        cond, extra = where(filters)
        rows = self.index.query(
            f"SELECT p.chunk_id, -(p.vector <#> %(v)s) FROM fraga_passages p WHERE {cond} "
            "ORDER BY p.vector <#> %(v)s LIMIT %(depth)s",
            {**extra, "v": Vector(np.asarray(vector, dtype=np.float32)), "depth": depth},
        )
        return {cid: float(score) for cid, score in rows}

    def bm25_of(self, query: str, chunk_ids: Sequence[str], extra: dict[str, float] | None = None) -> dict[str, float]:
        """The positive BM25 scores of the passages ``chunk_ids``."""
        params = self._terms(query, extra)
        if not params["terms"] or not chunk_ids:
            return {}
        rows = self.index.query(
            f"WITH {_STATS} SELECT p.chunk_id, {_SCORE} FROM q JOIN fraga_postings po USING (term) "
            "JOIN fraga_passages p ON p.id = po.passage, s WHERE p.chunk_id = ANY(%(ids)s) GROUP BY p.chunk_id",
            {**params, "ids": list(chunk_ids)},
        )
        return {cid: float(score) for cid, score in rows if score > 0}

    def dense_of(self, vector: np.ndarray, chunk_ids: Sequence[str]) -> dict[str, float]:
        """The cosines of the passages ``chunk_ids``."""
        from pgvector import Vector

        if not chunk_ids:
            return {}
        rows = self.index.query(
            "SELECT chunk_id, -(vector <#> %s) FROM fraga_passages WHERE chunk_id = ANY(%s)",
            (Vector(np.asarray(vector, dtype=np.float32)), list(chunk_ids)),
        )
        return {cid: float(score) for cid, score in rows}

    def no_vector(self, chunk_ids: Sequence[str]) -> set[str]:
        return set()  # every stored passage has its vector
