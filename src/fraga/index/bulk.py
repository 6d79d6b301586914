"""Write an index from documents, passages and vectors that are already computed.

``build_index`` reads a corpus folder and encodes every passage. This module starts one
step later, for callers that already hold the records and the vectors (the scale
benchmark, an importer, a re-chunking job). It runs the same stages as ``build_index``
(BM25 with the same analyzer, ``dense.build_faiss``, ``generation.write_generation``), so the
folder it writes is an ordinary index that ``load_index`` reads.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fraga.index import dense as dense_mod
from fraga.index.build import embed_text
from fraga.index.columns import section_list
from fraga.index.generation import write_generation
from fraga.index.sentences import SentenceVectors
from fraga.ingest.corpus import Corpus
from fraga.index.lexical import Analyzer, AnalyzerSettings, Bm25Index
from fraga.records import Chunk, Document, content_hash

logger = logging.getLogger(__name__)

STATS_FILE = "stats.json"  # bm25/stats.json: the average passage length, for appending passages
STATS_SAMPLE = 5000


@dataclass(frozen=True, slots=True)
class EncoderInfo:
    """The name, dimension and (optionally) engine recorded in the manifest (what ``write_generation`` reads)."""

    name: str
    dim: int
    engine: str = ""


@dataclass(frozen=True, slots=True)
class BulkReport:
    """What a bulk write did, with seconds per stage."""

    index_dir: str
    documents: int
    chunks: int
    faiss_kind: str
    seconds: dict[str, float] = field(default_factory=dict)


class _Bm25WithStats:
    """A Bm25Index whose ``save`` also writes ``stats.json`` (average tokens per passage)."""

    def __init__(self, bm25: Bm25Index, avgdl: float, sampled: int) -> None:
        self._inner = bm25
        self.analyzer = bm25.analyzer
        self._stats = {"avgdl": avgdl, "sampled_passages": sampled}

    def save(self, folder: Path) -> None:
        self._inner.save(folder)
        (folder / STATS_FILE).write_text(json.dumps(self._stats), encoding="utf-8")


def average_tokens(texts: Sequence[str], analyzer: Analyzer, *, sample: int = STATS_SAMPLE, seed: int = 0) -> tuple[float, int]:
    """Mean BM25 tokens per text, from a sample of ``sample`` texts. Returns (mean, sampled)."""
    if not texts:
        return 1.0, 0
    rows = np.random.default_rng(seed).choice(len(texts), size=min(sample, len(texts)), replace=False)
    lengths = [len(analyzer.tokens(texts[int(i)]) or [""]) for i in rows]
    return float(np.mean(lengths)), len(rows)


def write_index(
    index_dir: str | os.PathLike[str],
    documents: Sequence[Document],
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    *,
    encoder: EncoderInfo,
    sentences: SentenceVectors,
    corpus_root: str = "",
    faiss_kind: str | None = None,
) -> BulkReport:
    """Write a new index generation from records and their vectors.

    Args:
        index_dir: The index folder (a new generation is written and made current).
        documents: The documents; every chunk's ``doc_id`` must be one of them.
        chunks: The passages, in row order.
        vectors: (len(chunks), dim) float32, L2-normalised, row i for chunk i.
        encoder: Name and dimension of the encoder that made the vectors; queries are
            encoded with the encoder of this name.
        sentences: The sentence vectors of ``documents`` (``sentences.sentence_table``
            order) and one heading vector per section (``columns.section_list(chunks)``).
        corpus_root: Folder the documents' paths are relative to (their files are copied
            into the index when they exist). Defaults to "" (no source files).
        faiss_kind: "flat", "ivf" or "hnsw". Defaults to ``dense.choose_kind``.

    Raises:
        ValueError: when the vectors do not match the passages or the encoder.
    """
    if vectors.shape != (len(chunks), encoder.dim):
        raise ValueError(
            f"vectors have shape {vectors.shape}, expected ({len(chunks)}, {encoder.dim}): "
            "one row of the encoder's dimension per passage"
        )
    if len(sentences.headings) != len(section_list(chunks)):
        raise ValueError(f"{len(sentences.headings)} heading vectors for {len(section_list(chunks))} sections")
    t0 = time.perf_counter()
    docs = {d.doc_id: d for d in documents}
    missing = next((c.doc_id for c in chunks if c.doc_id not in docs), None)
    if missing is not None:
        raise ValueError(f"passage of unknown document {missing!r}; pass its Document too")
    texts = [embed_text(docs[c.doc_id], c) for c in chunks]
    hashes = [content_hash(t) for t in texts]
    t_text = time.perf_counter()
    analyzer = Analyzer(AnalyzerSettings())
    bm25 = Bm25Index.build(texts, analyzer)
    t_bm25 = time.perf_counter()
    avgdl, sampled = average_tokens(texts, analyzer)
    del texts
    t_stats = time.perf_counter()
    faiss_index = dense_mod.build_faiss(vectors, kind=faiss_kind)
    t_faiss = time.perf_counter()
    corpus = Corpus(root=corpus_root or str(Path(index_dir) / ".no-sources"), documents=tuple(docs.values()))
    # duck-typed: write_generation calls the BM25 index's save() and reads the encoder's name and dim
    write_generation(
        Path(index_dir),
        corpus,
        docs,
        list(chunks),
        hashes,
        _Bm25WithStats(bm25, avgdl, sampled),  # type: ignore[arg-type]
        faiss_index,
        encoder,  # type: ignore[arg-type]
        sentences,
    )
    t_write = time.perf_counter()
    seconds = {
        "texts": t_text - t0,
        "bm25": t_bm25 - t_text,
        "stats": t_stats - t_bm25,
        "faiss": t_faiss - t_stats,
        "write": t_write - t_faiss,
        "total": t_write - t0,
    }
    logger.info("bulk index of %d passages: %s", len(chunks), {k: round(v, 2) for k, v in seconds.items()})
    return BulkReport(str(index_dir), len(docs), len(chunks), dense_mod.kind_of(faiss_index), seconds)
