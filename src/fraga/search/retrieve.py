"""Retrieval: BM25, dense and hybrid (min-max normalised scores, weighted 0.3/0.7, or weighted RRF),
with filters and district detection."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from fraga.districts import KNOWN_DISTRICTS, DistrictMatcher, canonical_district
from fraga.errors import EmptyQueryError, QueryTooLongError, UnknownDistrictError
from fraga.search.expand import Expansion, ExpansionSettings, QueryExpander, default_settings
from fraga.search.files import FileSearch
from fraga.search.fusion import convex, length_weight, rrf, top
from fraga.search.sql import SqlSearch
from fraga.records import Hit
from fraga.search.filters import Filters
from fraga.text import clean_invisible, normalize_space, words

if TYPE_CHECKING:
    from fraga.index.generation import Index
    from fraga.index.postgres.reader import PgIndex

__all__ = ["MODES", "Filters", "Retriever", "SearchResult", "check_query"]

logger = logging.getLogger(__name__)

MODES = ("bm25", "dense", "hybrid")
MAX_QUERY_CHARS = 2000
DEFAULT_K = 5


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
        index: Index | PgIndex,
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
        self._state: object = None
        self._known_districts: list[str]
        self._matcher: DistrictMatcher
        self.backend: FileSearch | SqlSearch
        self.backend = SqlSearch(index) if index.kind == "postgresql" else FileSearch(index)  # type: ignore[arg-type]
        self._sync()

    def _sync(self) -> None:
        """Read the index's districts again when its passages changed (an appended document,
        or a write to the PostgreSQL store)."""
        state = self.index.state
        if state is self._state:
            return
        with self._vectors_lock:
            if state is self._state:
                return
            self._known_districts = self.index.districts()
            self._matcher = DistrictMatcher(
                tuple(KNOWN_DISTRICTS) + tuple(self._known_districts), preferred=tuple(self._known_districts)
            )
            self._state = state

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
        """Boolean mask over a file index's passages that pass ``filters`` (None: no filter)."""
        if not isinstance(self.backend, FileSearch):
            raise TypeError("masks are for file indexes; the PostgreSQL store filters in SQL")
        return self.backend.mask(filters)

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
        n = len(self.index.chunks)
        k = max(1, min(k, n)) if n else 0
        depth = max(k, self.candidates)
        bm25_run: dict[str, float] = {}
        dense_run: dict[str, float] = {}
        if mode in ("bm25", "hybrid") and n:
            bm25_run = self.backend.bm25(query, depth, filters, self.bm25_extra(query))
        if mode in ("dense", "hybrid") and n:
            dense_run = self.backend.dense(self.query_vector(query), depth, filters)
        if mode == "bm25":
            fused = bm25_run
        elif mode == "dense":
            fused = dense_run
        elif self.fusion == "rrf":
            fused = rrf([bm25_run, dense_run], k=self.rrf_k, weights=self.fusion_weights(query))
        else:
            fused = convex([bm25_run, dense_run], weights=self.fusion_weights(query))
        if mode == "hybrid":
            fused = self._bm25_alone(fused, bm25_run, self.backend.no_vector(list(bm25_run)), self.fusion_weights(query)[0])
        ranked = top(fused, k)
        chunks = self._chunks([cid for cid, _ in ranked])
        hits = tuple(Hit(chunks[cid], float(score), rank, mode) for rank, (cid, score) in enumerate(ranked, start=1))
        with_vectors, total = self.index.dense_coverage()
        return SearchResult(
            query, mode, hits, present, missing, filters, bm25_run, dense_run, with_vectors / total if total else 1.0
        )

    def _chunks(self, chunk_ids: list[str]) -> dict:
        """chunk id -> Chunk for ``chunk_ids`` (one query on a PostgreSQL store)."""
        by_ids = getattr(self.index.chunks, "by_ids", None)
        if by_ids is not None:
            return by_ids(chunk_ids)
        rows, chunks = self.index.row_of, self.index.chunks
        return {cid: chunks[rows[cid]] for cid in chunk_ids}

    def _bm25_alone(
        self, fused: dict[str, float], bm25_run: dict[str, float], no_vector: set[str], bm25_weight: float
    ) -> dict[str, float]:
        """``fused`` with the passages that have no dense vector yet scored by BM25 alone: their
        BM25 part of the fusion divided by BM25's weight (both fusions are linear in it)."""
        if bm25_weight <= 0 or not no_vector:
            return fused
        out = dict(fused)
        for cid in bm25_run:
            if cid in no_vector:
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

    def bm25_extra(self, query: str) -> dict[str, float]:
        """The weighted BM25 tokens that ``query``'s expansions add (empty without any)."""
        found = self.expansions(query)
        expander = self.expander if found else None
        return expander.bm25_weights(found) if expander is not None else {}

    def bm25_scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage of a file index for ``query``, its expansions included."""
        if not isinstance(self.backend, FileSearch):
            raise TypeError("full score arrays are for file indexes; the PostgreSQL store ranks in SQL")
        return self.backend.scores(query, self.bm25_extra(query))

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
        ids = [h.chunk.chunk_id for h in result.hits]
        bm25, dense = dict(result.bm25_scores), dict(result.dense_scores)
        if result.mode == "dense":
            bm25 = self.backend.bm25_of(result.query, ids, self.bm25_extra(result.query))
        else:
            missing = self.backend.no_vector(ids)
            dense = self.backend.dense_of(self.query_vector(result.query), [c for c in ids if c not in missing])
        return replace(result, bm25_scores=bm25, dense_scores=dense)

    def passage_vector(self, query: str) -> np.ndarray:
        """The question encoded as a passage ("passage: " prefix), cached: answering compares
        it with sentences, which e5 does better between two texts of one kind."""
        return self._cached_vector("\x00passage\x00" + query, lambda: self.index.encoder.encode_passages([query])[0])
