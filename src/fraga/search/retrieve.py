"""Retrieval: BM25, dense and hybrid (min-max normalised scores, weighted 0.3/0.7, or weighted RRF),
with filters and district detection."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from fraga.index import dense as dense_mod
from fraga.districts import KNOWN_DISTRICTS, DistrictMatcher, canonical_district
from fraga.errors import EmptyQueryError, QueryTooLongError, UnknownDistrictError
from fraga.search.expand import Expansion, ExpansionSettings, QueryExpander, default_settings
from fraga.search.fusion import convex, length_weight, rrf, top
from fraga.index.generation import Index
from fraga.index.lexical import top_rows
from fraga.records import Hit
from fraga.text import clean_invisible, normalize_space, words

logger = logging.getLogger(__name__)

MODES = ("bm25", "dense", "hybrid")
MAX_QUERY_CHARS = 2000
DEFAULT_K = 5


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrict retrieval to documents with these metadata values (empty = no restriction)."""

    districts: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    date_from: str = ""  # ISO date, inclusive
    date_to: str = ""

    @property
    def empty(self) -> bool:
        return not (self.districts or self.doc_types or self.date_from or self.date_to)

    def to_dict(self) -> dict[str, Any]:
        return {
            "districts": list(self.districts),
            "doc_types": list(self.doc_types),
            "date_from": self.date_from,
            "date_to": self.date_to,
        }


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Ranked passages for one query, and what the retriever read from the question."""

    query: str
    mode: str
    hits: tuple[Hit, ...]
    districts_in_query: tuple[str, ...] = ()  # districts named in the question that the index has
    missing_districts: tuple[str, ...] = ()  # districts named in the question without documents
    filters: Filters = field(default_factory=Filters)
    bm25_scores: dict[str, float] = field(default_factory=dict)  # chunk_id -> raw BM25 score
    dense_scores: dict[str, float] = field(default_factory=dict)  # chunk_id -> cosine similarity
    dense_coverage: float = 1.0  # share of passages with a dense vector (below 1 while a BM25-first build encodes)

    def to_dict(self) -> dict[str, Any]:
        """The query, how it was read and the hits (``Hit.to_dict``), as JSON-ready values
        (with ``dense_coverage`` when the dense index is incomplete)."""
        out: dict[str, Any] = {
            "query": self.query,
            "mode": self.mode,
            "districts_in_query": list(self.districts_in_query),
            "missing_districts": list(self.missing_districts),
            "hits": [h.to_dict() for h in self.hits],
        }
        if self.dense_coverage < 1.0:
            out["dense_coverage"] = round(self.dense_coverage, 4)
        return out


def check_query(query: str) -> str:
    """The query with white space normalised. Raises EmptyQueryError / QueryTooLongError."""
    if query is None or not str(query).strip():
        raise EmptyQueryError('Frågan är tom; skriv en fråga, t.ex. "Vem polisanmäler i Skarpnäck?"')
    if len(query) > MAX_QUERY_CHARS:
        raise QueryTooLongError(f"Frågan har {len(query)} tecken; gränsen är {MAX_QUERY_CHARS}. Korta ned frågan.")
    text = normalize_space(clean_invisible(str(query)))  # also drops lone surrogates and controls
    if not words(text):
        raise EmptyQueryError("Frågan innehåller inga ord att söka på; skriv en fråga med ord.")
    return text


class Retriever:
    """Searches an Index in one of three modes.

    Args:
        index: The loaded index.
        fusion: "convex" (weighted sum of min-max normalised scores) or "rrf"
            (weighted reciprocal rank fusion). Defaults to "convex".
        weights: Fixed (bm25, dense) weights for hybrid fusion. Defaults to None: weights that
            follow the query's length (``fusion.length_weight``; BM25 counts more for long questions).
        rrf_k: RRF constant, for fusion="rrf". Defaults to 60.
        candidates: How many passages each retriever contributes to fusion. Defaults to 50.
        expansion: How question words the index does not have are expanded with their
            neighbours in its vocabulary (``fraga.search.expand``). Defaults to
            ``expand.default_settings()`` ($FRAGA_EXPAND turns it on or off).
    """

    def __init__(
        self,
        index: Index,
        *,
        fusion: str = "convex",
        weights: tuple[float, float] | None = None,
        rrf_k: int = 60,
        candidates: int = 50,
        expansion: ExpansionSettings | None = None,
    ) -> None:
        if fusion not in ("convex", "rrf"):
            raise ValueError(f"unknown fusion {fusion!r}; use 'convex' or 'rrf'")
        self.index = index
        self.fusion = fusion
        self.rrf_k = rrf_k
        self.weights = weights
        self.candidates = candidates
        self.expansion = expansion or default_settings()
        self._expander: tuple[object, object, QueryExpander | None] = (None, None, None)
        self._vectors: dict[str, np.ndarray] = {}
        self._vectors_lock = threading.Lock()
        self._store: object = None
        self._known_districts: list[str]
        self._matcher: DistrictMatcher
        self._doc_ids: list[str]
        self._doc_row: np.ndarray
        self._masks: dict[tuple, np.ndarray]
        self._sync()

    def _sync(self) -> None:
        """Read the index's districts and passage-to-document rows again when its passages
        changed (``fraga.index.append.add_document`` attaches a new store); cached filter
        masks go with them."""
        store = self.index.columns
        if store is self._store:
            return
        with self._vectors_lock:
            if store is self._store:
                return
            self._known_districts = self.index.districts()
            self._matcher = DistrictMatcher(
                tuple(KNOWN_DISTRICTS) + tuple(self._known_districts), preferred=tuple(self._known_districts)
            )
            self._doc_ids = list(self.index.doc_ids)
            self._doc_row = np.array(self.index.chunk_doc_rows, dtype=np.int32)  # each passage's document row
            self._masks = {}
            self._store = store

    @property
    def known_districts(self) -> list[str]:
        """The districts the index has documents from."""
        self._sync()
        return self._known_districts

    @property
    def matcher(self) -> DistrictMatcher:
        """Finds district names in questions (Stockholm's and the index's)."""
        self._sync()
        return self._matcher

    # Filters -----------------------------------------------------------------
    def resolve_districts(self, names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
        """Canonical names of ``names`` among the index's districts. Raises UnknownDistrictError."""
        self._sync()
        out = []
        for name in names:
            canon = canonical_district(name, self.known_districts)
            if canon is None:
                known = ", ".join(self.known_districts) or "(inga)"
                raise UnknownDistrictError(f"Okänd stadsdel {name!r}; indexet har: {known}")
            out.append(canon)
        return tuple(dict.fromkeys(out))

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Boolean mask over passages that pass ``filters`` (None: no filter)."""
        if filters.empty:
            return None
        self._sync()
        key = (filters.districts, filters.doc_types, filters.date_from, filters.date_to)
        cached = self._masks.get(key)
        if cached is not None:
            return cached
        ok = np.zeros(len(self._doc_ids), dtype=bool)
        for n, doc_id in enumerate(self._doc_ids):
            doc = self.index.documents[doc_id]
            meta = doc.metadata
            if filters.districts and meta.district not in filters.districts:
                continue
            if filters.doc_types and meta.doc_type not in filters.doc_types:
                continue
            if filters.date_from and (not meta.date or meta.date < filters.date_from):
                continue
            if filters.date_to and (not meta.date or meta.date > filters.date_to):
                continue
            ok[n] = True
        mask = ok[self._doc_row]  # one vectorised step over all passages
        with self._vectors_lock:
            if len(self._masks) >= 64:
                self._masks.clear()
            self._masks[key] = mask
        return mask

    # Search ------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        k: int = DEFAULT_K,
        mode: str = "hybrid",
        filters: Filters | None = None,
        detect_districts: bool = True,
    ) -> SearchResult:
        """The ``k`` best passages for ``query``.

        A district named in the question narrows retrieval to it when no district
        filter is given; a named district without documents is reported in
        ``missing_districts``.
        """
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        query = check_query(query)
        self._sync()
        filters = filters or Filters()
        named = self.matcher.names(query) if detect_districts else []
        present = tuple(n for n in named if n in self.known_districts)
        missing = tuple(n for n in named if n not in self.known_districts)
        if present and not filters.districts:
            filters = Filters(present, filters.doc_types, filters.date_from, filters.date_to)
        allowed = self.mask(filters)
        n = len(self.index.chunks)
        k = max(1, min(k, n)) if n else 0
        depth = max(k, self.candidates)
        bm25_run: dict[str, float] = {}
        dense_run: dict[str, float] = {}
        if mode in ("bm25", "hybrid") and n:
            bm25_run = self._bm25(query, depth, allowed)
        if mode in ("dense", "hybrid") and n:
            dense_run = self._dense(query, depth, allowed)
        if mode == "bm25":
            fused = bm25_run
        elif mode == "dense":
            fused = dense_run
        elif self.fusion == "rrf":
            fused = rrf([bm25_run, dense_run], k=self.rrf_k, weights=self.fusion_weights(query))
        else:
            fused = convex([bm25_run, dense_run], weights=self.fusion_weights(query))
        no_vector = self.index.dense_missing
        if mode == "hybrid" and no_vector is not None:
            fused = self._bm25_alone(fused, bm25_run, no_vector, self.fusion_weights(query)[0])
        rows = self.index.row_of
        hits = tuple(
            Hit(self.index.chunks[rows[cid]], float(score), rank, mode)
            for rank, (cid, score) in enumerate(top(fused, k), start=1)
        )
        with_vectors, total = self.index.dense_coverage()
        return SearchResult(
            query, mode, hits, present, missing, filters, bm25_run, dense_run, with_vectors / total if total else 1.0
        )

    def _bm25_alone(
        self, fused: dict[str, float], bm25_run: dict[str, float], no_vector: np.ndarray, bm25_weight: float
    ) -> dict[str, float]:
        """``fused`` with the passages that have no dense vector yet scored by BM25 alone: their
        BM25 part of the fusion divided by BM25's weight (both fusions are linear in it)."""
        if bm25_weight <= 0:
            return fused
        rows = self.index.row_of
        out = dict(fused)
        for cid in bm25_run:
            row = rows[cid]
            if row < len(no_vector) and no_vector[row]:
                out[cid] = fused[cid] / bm25_weight
        return out

    def fusion_weights(self, query: str) -> tuple[float, float]:
        """The (bm25, dense) weights of a hybrid search for ``query``: the fixed ``weights`` when
        given, else by the query's length in words."""
        if self.weights is not None:
            return self.weights
        bm25 = length_weight(len(words(query)))
        return bm25, 1.0 - bm25

    @property
    def expander(self) -> QueryExpander | None:
        """The query expander over the index's vocabulary (None when the index has none),
        made again when the index's BM25 or vocabulary changed."""
        vocab, bm25 = self.index.vocabulary, self.index.bm25
        if vocab is None:
            return None
        held_vocab, held_bm25, expander = self._expander
        if held_vocab is not vocab or held_bm25 is not bm25 or expander is None:
            expander = QueryExpander(vocab, bm25, lambda ws: self.index.encoder.encode_passages(ws), self.expansion)
            self._expander = (vocab, bm25, expander)
        return expander

    def expansions(self, query: str) -> tuple[Expansion, ...]:
        """The neighbours in the index's vocabulary of ``query``'s words the index lacks."""
        expander = self.expander if self.expansion.enabled else None
        return expander.expansions(query) if expander is not None else ()

    def bm25_scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for ``query``, its expansions included."""
        scores = self.index.bm25.scores(query)
        found = self.expansions(query)
        if found and self.expander is not None:
            self.index.bm25.add_weighted(scores, self.expander.bm25_weights(found))
        return scores

    def _bm25(self, query: str, depth: int, allowed: np.ndarray | None) -> dict[str, float]:
        scores = self.bm25_scores(query)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        positive = top_rows(scores, depth)
        chunks = self.index.chunks
        return {chunks[i].chunk_id: float(scores[i]) for i in positive}

    def clear_cache(self) -> None:
        """Forget cached query vectors (benchmarks time the encoding too)."""
        with self._vectors_lock:
            self._vectors.clear()
        if self._expander[2] is not None:
            self._expander[2].clear()

    def _cached_vector(self, key: str, encode: Callable[[], np.ndarray]) -> np.ndarray:
        """``encode()``, cached under ``key`` (at most 256 vectors, the oldest dropped first)."""
        with self._vectors_lock:
            vector = self._vectors.get(key)
        if vector is None:
            vector = encode()
            with self._vectors_lock:
                if len(self._vectors) >= 256:
                    self._vectors.pop(next(iter(self._vectors)))
                self._vectors[key] = vector
        return vector

    def query_vector(self, query: str) -> np.ndarray:
        """The encoded query, cached (per-district searches reuse it)."""
        return self._cached_vector(query, lambda: self.index.encoder.encode_query(query))

    def with_both_scores(self, result: SearchResult) -> SearchResult:
        """``result`` with BM25 and dense scores for each of its passages, whatever its mode
        (answering weighs both, as a hybrid search has them)."""
        if result.mode == "hybrid" or not result.hits:
            return result
        rows = np.array([self.index.row_of[h.chunk.chunk_id] for h in result.hits], dtype=np.int64)
        bm25, dense = dict(result.bm25_scores), dict(result.dense_scores)
        if result.mode == "dense":
            scores = self.bm25_scores(result.query)
            bm25 = {h.chunk.chunk_id: float(scores[r]) for h, r in zip(result.hits, rows) if scores[r] > 0}
        else:
            allowed = np.zeros(len(self.index.chunks), dtype=bool)
            allowed[rows] = True
            if (no_vector := self.index.dense_missing) is not None:
                allowed &= ~no_vector[: len(allowed)]
            values, found = dense_mod.search(self.index.faiss, self.query_vector(result.query), len(rows), allowed)
            chunks = self.index.chunks
            dense = {chunks[int(r)].chunk_id: float(v) for v, r in zip(values, found) if r >= 0}
        return replace(result, bm25_scores=bm25, dense_scores=dense)

    def passage_vector(self, query: str) -> np.ndarray:
        """The question encoded as a passage ("passage: " prefix), cached: answering compares
        it with sentences, which e5 does better between two texts of one kind."""
        return self._cached_vector("\x00passage\x00" + query, lambda: self.index.encoder.encode_passages([query])[0])

    def _dense(self, query: str, depth: int, allowed: np.ndarray | None) -> dict[str, float]:
        no_vector = self.index.dense_missing
        if no_vector is not None:  # passages without a vector yet are not dense results
            allowed = ~no_vector if allowed is None else allowed & ~no_vector[: len(allowed)]
        vector = self.query_vector(query)
        scores, rows = dense_mod.search(self.index.faiss, vector, depth, allowed)
        chunks = self.index.chunks
        return {chunks[int(r)].chunk_id: float(s) for s, r in zip(scores, rows)}
