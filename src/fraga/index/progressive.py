"""BM25 first: publish a searchable generation before the dense vectors exist.

Encoding runs at a few passages per second on two cores, so a large archive would wait
hours for its first search. A BM25-first build (``build_index(bm25_first=True)``, or
automatically when at least ``BM25_FIRST_MIN`` passages need encoding) publishes a
generation with the texts, BM25 and whatever vectors are already known (from the previous
index and the checkpoints of an interrupted build) before it encodes the rest, publishes
again what it has every ``REPUBLISH_SECONDS`` while it encodes, and finally publishes the
complete generation.

In such a generation a passage without a vector has the zero vector in an exact
(flat) FAISS index, and the manifest says ``"dense": {"complete": false,
"passages_with_vectors": k}``. Readers find the missing rows by their zero norm
(:func:`missing_rows`), so appending or replacing a document keeps them right. Search
leaves them out of dense results and ranks them by BM25 alone in hybrid search
(``fraga.search.retrieve``); their sentence vectors are zero too, which answering
reads as "no similarity".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fraga.index import dense as dense_mod
from fraga.index.checkpoint import Checkpoint
from fraga.index.columns import section_list
from fraga.index.generation import write_generation
from fraga.index.lexical import Bm25Index
from fraga.index.sentences import embed_sentences
from fraga.ingest.corpus import Corpus
from fraga.records import Chunk, Document

logger = logging.getLogger(__name__)

BM25_FIRST_MIN = 2000  # passages to encode (about ten minutes on two cores) from which a build publishes BM25 first
REPUBLISH_SECONDS = 1800.0  # while it encodes, a BM25-first build publishes what it has at most this often
MISSING_NORM = 0.5  # vectors are L2-normalised: a stored norm below this is the placeholder zero vector


def wants_bm25_first(setting: bool | None, to_encode: int) -> bool:
    """Whether a build that must encode ``to_encode`` passages publishes BM25 first
    (``setting`` None: when there are at least ``BM25_FIRST_MIN``)."""
    if to_encode == 0:
        return False
    return to_encode >= BM25_FIRST_MIN if setting is None else bool(setting)


def missing_rows(faiss_index) -> np.ndarray:
    """(n,) bool: the rows of ``faiss_index`` that hold the placeholder zero vector."""
    vectors = dense_mod.all_vectors(faiss_index)
    return np.linalg.norm(vectors, axis=1) < MISSING_NORM


def dense_entry(with_vectors: int, passages: int, *, complete: bool | None = None) -> dict[str, Any]:
    """The manifest's ``dense`` entry (``complete`` defaults to: every passage has its vector)."""
    return {"complete": with_vectors >= passages if complete is None else complete, "passages_with_vectors": int(with_vectors)}


class KnownOnly:
    """An encoder that returns finished vectors (from ``checkpoint``) and zero vectors for the rest."""

    def __init__(self, name: str, dim: int, checkpoint: Checkpoint) -> None:
        self.name, self.dim, self.checkpoint = name, int(dim), checkpoint

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            v = self.checkpoint.lookup(t)
            if v is not None:
                out[i] = v
        return out

    def encode_query(self, text: str) -> np.ndarray:  # pragma: no cover - never asked
        raise NotImplementedError


def publish_bm25_first(
    index_path: Path,
    corpus: Corpus,
    docs: dict[str, Document],
    chunks: list[Chunk],
    hashes: list[str],
    vectors: np.ndarray,
    todo: list[int],
    bm25: Bm25Index,
    enc,
    checkpoint: Checkpoint,
    previous=None,
    *,
    engine: str = "",
    keep: tuple[str, ...] = (),
) -> Path:
    """Publish a generation of ``docs`` whose passages in ``todo`` have no vector yet.

    Args:
        vectors: (len(chunks), dim): the known vectors; rows in ``todo`` are ignored (written as zeros).
        previous: ``(sentence store, sections)`` of the index being rebuilt, for its sentence vectors.
        keep: Generations to leave on disk (the one ``previous`` reads). Others are removed.
    """
    placeholder = np.array(vectors, dtype=np.float32, copy=True)
    placeholder[todo] = 0.0
    sentences = embed_sentences(
        list(docs.values()), section_list(chunks), KnownOnly(enc.name, enc.dim, checkpoint), previous=previous
    )
    faiss_index = dense_mod.build_faiss(placeholder, kind="flat")
    gen = write_generation(
        index_path,
        corpus,
        docs,
        chunks,
        hashes,
        bm25,
        faiss_index,
        enc,
        sentences,
        engine=engine,
        dense=dense_entry(len(chunks) - len(todo), len(chunks), complete=False),
        keep=keep,
    )
    logger.info("published %s with BM25 and %d of %d passage vectors", gen.name, len(chunks) - len(todo), len(chunks))
    return gen


class Republisher:
    """Publishes a BM25-first build's finished vectors again, at most every ``REPUBLISH_SECONDS``.

    Args:
        publish: Publishes a generation whose passages in the given rows have no vector yet;
            returns its name.
        checkpoint: The build's checkpoint (written first, so the generation has every
            finished sentence vector).
        on_publish: Called with each new generation's name. Defaults to None.
    """

    def __init__(
        self, publish: Callable[[list[int]], str], checkpoint: Checkpoint, on_publish: Callable[[str], None] | None = None
    ) -> None:
        self._publish, self._checkpoint, self._on_publish = publish, checkpoint, on_publish
        self._last = time.monotonic()

    def maybe(self, remaining: Sequence[int]) -> None:
        """Publish when it is time; ``remaining``: the passage rows still without a vector."""
        if time.monotonic() - self._last < REPUBLISH_SECONDS:
            return
        self._checkpoint.flush()
        name = self._publish(list(remaining))
        self._last = time.monotonic()
        if self._on_publish is not None:
            self._on_publish(name)
