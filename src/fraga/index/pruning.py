"""Static pruning of the BM25 columns of very common terms.

In a million passages a few hundred terms ("stadsdelsförvaltning", "~kommun") occur in
more than a tenth of them; they hold most of the postings, so most of the bytes a query
reads and most of the score matrix's memory, while each of their postings adds little
(a low IDF). Pruning keeps, in each column longer than ``keep(N)``, only its ``keep(N)``
highest-scoring postings (Carmel et al., "Static index pruning for information retrieval
systems", SIGIR 2001, term-based variant). A passage that loses such a posting only
loses a contribution smaller than every kept one of that term.

The scores kept are unchanged, and so are IDFs: the true document frequency of every
column is stored beside the matrix (``doc_freq.npy``), since the pruned column's length
no longer is it. Small collections are never pruned (``floor``).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

DOC_FREQ_FILE = "doc_freq.npy"  # true document frequency per column, when columns were pruned
SETTINGS_FILE = "pruning.json"


@dataclass(frozen=True, slots=True)
class PruneSettings:
    """How long a BM25 column may be: ``share`` of the passages, but never under ``floor``."""

    share: float = 0.1
    floor: int = 20_000

    def keep(self, num_docs: int) -> int:
        """Postings kept per column in an index of ``num_docs`` passages."""
        return max(self.floor, math.ceil(self.share * num_docs))

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT_PRUNING = PruneSettings()
NO_PRUNING = PruneSettings(share=1.0, floor=0)


@dataclass(frozen=True, slots=True)
class Pruned:
    """A pruned CSC score matrix, with the true document frequency of every column."""

    data: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    doc_freq: np.ndarray  # int32, one per column
    columns_pruned: int
    postings_before: int


def prune_columns(data: np.ndarray, indptr: np.ndarray, indices: np.ndarray, keep: int) -> Pruned:
    """Keep at most ``keep`` postings per column of a CSC matrix: the highest-scoring ones
    (ties: the earlier rows), in their original row order.

    ``data``/``indices`` hold the columns one after another, ``indptr`` their bounds.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    lengths = np.diff(indptr)
    long = np.flatnonzero(lengths > keep)
    doc_freq = lengths.astype(np.int32)
    if len(long) == 0:
        return Pruned(data, indptr, indices, doc_freq, 0, len(data))
    mask = np.ones(len(data), dtype=bool)
    for col in long.tolist():
        lo, hi = int(indptr[col]), int(indptr[col + 1])
        # A stable sort on the negated scores: among equal scores the earlier rows stay.
        order = np.argsort(-data[lo:hi], kind="stable")
        mask[lo + order[keep:]] = False
    kept = np.minimum(lengths, keep)
    new_indptr = np.zeros(len(indptr), dtype=indptr.dtype)
    np.cumsum(kept, out=new_indptr[1:])
    return Pruned(data[mask], new_indptr, indices[mask], doc_freq, len(long), len(data))


def record(pruned: Pruned, settings: PruneSettings) -> dict:
    """What ``pruning.json`` says of a pruning: the settings and the posting counts."""
    return {
        **settings.to_dict(),
        "columns_pruned": pruned.columns_pruned,
        "postings_before": pruned.postings_before,
        "postings_after": len(pruned.data),
    }


def save(folder: Path, doc_freq: np.ndarray, done: dict) -> None:
    """Write the true document frequencies and the pruning's ``record`` beside a pruned matrix."""
    np.save(folder / DOC_FREQ_FILE, doc_freq, allow_pickle=False)
    (folder / SETTINGS_FILE).write_text(json.dumps(done), encoding="utf-8")


def load_doc_freq(folder: Path) -> np.ndarray | None:
    """The true document frequencies saved beside a pruned matrix (None: not pruned)."""
    path = folder / DOC_FREQ_FILE
    if not path.exists():
        return None
    return np.load(path, allow_pickle=False)
