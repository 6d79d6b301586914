"""Appended BM25 segments: the passages added since the last full build, beside its matrix.

A generation's BM25 is the base matrix of the last full build (bm25s' CSC score matrix,
``fraga.index.lexical.Bm25Index``) plus zero or more segments, one per appended document
(``bm25/seg-NNNNNN/``, listed in order in the manifest's ``bm25_segments``; no list means
no segments, as in indexes written before segments existed). Adding a document writes one
small segment and hard-links the base and the older segments into the new generation.

A segment stores, per (term, passage), the term-frequency part of Lucene's BM25,
``tf / (k1 · (1 - b + b · dl / avgdl) + tf)``, without the IDF: its rows are passages
``offset .. offset + rows - 1`` after the base's, its columns its own terms
(``segment.json``: rows and terms; ``indptr.npy``, ``indices.npy``, ``data.npy``: CSC).
The IDF is applied when scoring, from the document frequencies summed over the base and
every segment, so a term's score is exact for the collection as it is now:
``idf(N, df) = log(1 + (N - df + 0.5) / (df + 0.5))``. The base matrix holds
``idf(N_base, df_base) · tf-part``; its columns are rescaled by ``idf(N, df) / idf(N_base, df_base)``
when there are segments (one multiplication per term). ``avgdl`` is the one the append
used: the last full build's (``bm25/stats.json``) when recorded, else the new passages' mean
(``fraga.index.append``), so only passage-length normalisation may differ from a full rebuild.
(A base matrix that older versions of fraga appended to in place holds, for the terms the
appended passages did not use, the IDF of its last full build: those keep that drift of about
one part in the collection size per appended document until the next rebuild.)

After ``SEGMENT_LIMIT`` segments an append merges them into one, so a query sums over few.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fraga.index.rowparts import load_array

logger = logging.getLogger(__name__)

SEGMENT_LIMIT = 16  # segments before an append merges them into one
PREFIX = "seg-"
META = "segment.json"
ARRAYS = ("indptr", "indices", "data")


@dataclass(frozen=True, slots=True)
class Segment:
    """Appended passages' BM25 term-frequency parts (see the module docstring)."""

    name: str  # its folder under bm25/: "seg-000001"
    rows: int
    terms: dict[str, int]  # term -> column
    indptr: np.ndarray  # (columns + 1,) int64
    indices: np.ndarray  # (nnz,) int32: row within the segment
    data: np.ndarray  # (nnz,) float32: tf / (k1 (1 - b + b dl / avgdl) + tf)

    def doc_freq(self, token: str) -> int:
        col = self.terms.get(token)
        return 0 if col is None else int(self.indptr[col + 1] - self.indptr[col])

    def add_into(self, out: np.ndarray, offset: int, token: str, weight: float) -> None:
        """``out[offset + row] += weight · value`` for the passages of the segment holding ``token``."""
        col = self.terms.get(token)
        if col is None or weight == 0:
            return
        lo, hi = int(self.indptr[col]), int(self.indptr[col + 1])
        out[offset + np.asarray(self.indices[lo:hi], dtype=np.int64)] += np.float32(weight) * self.data[lo:hi]


def next_name(segments: Sequence[Segment]) -> str:
    """A folder name no segment of ``segments`` has (one more than the highest)."""
    numbers = [int(s.name[len(PREFIX) :]) for s in segments]
    return f"{PREFIX}{max(numbers, default=0) + 1:06d}"


def make_segment(name: str, token_lists: Sequence[Sequence[str]], *, k1: float, b: float, avgdl: float) -> Segment:
    """The segment of new passages (``token_lists``: analyzer tokens, one list per passage;
    an empty passage counts as the one token "", as bm25s indexes it)."""
    terms: dict[str, int] = {}
    entries: list[tuple[int, int, float]] = []  # (column, row, value)
    for row, tokens in enumerate(token_lists):
        tokens = list(tokens) or [""]
        norm = k1 * ((1 - b) + b * len(tokens) / avgdl)
        for token, tf in Counter(tokens).items():
            col = terms.setdefault(token, len(terms))
            entries.append((col, row, tf / (norm + tf)))
    entries.sort()
    cols = np.fromiter((c for c, _, _ in entries), dtype=np.int64, count=len(entries))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=len(terms)))]).astype(np.int64)
    indices = np.fromiter((r for _, r, _ in entries), dtype=np.int32, count=len(entries))
    data = np.fromiter((v for _, _, v in entries), dtype=np.float32, count=len(entries))
    return Segment(name, len(token_lists), terms, indptr, indices, data)


def merge(segments: Sequence[Segment], name: str) -> Segment:
    """One segment holding ``segments``' rows in order (exact: segments carry no IDF)."""
    terms: dict[str, int] = {}
    for seg in segments:
        for token in seg.terms:
            terms.setdefault(token, len(terms))
    cols: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    values: list[np.ndarray] = []
    offset = 0
    for seg in segments:
        local_to_merged = np.empty(len(seg.terms), dtype=np.int64)
        for token, local in seg.terms.items():
            local_to_merged[local] = terms[token]
        counts: np.ndarray = np.diff(np.asarray(seg.indptr, dtype=np.int64))
        cols.append(np.repeat(local_to_merged, counts))
        rows.append(np.asarray(seg.indices, dtype=np.int64) + offset)
        values.append(np.asarray(seg.data, dtype=np.float32))
        offset += seg.rows
    col: np.ndarray = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    row: np.ndarray = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    order = np.lexsort((row, col))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(col, minlength=len(terms)))]).astype(np.int64)
    data = np.concatenate(values)[order] if values else np.zeros(0, dtype=np.float32)
    return Segment(name, offset, terms, indptr, row[order].astype(np.int32), data)


def save(segment: Segment, folder: Path) -> None:
    """Write ``segment`` into ``folder / segment.name`` (plain .npy and .json files)."""
    d = folder / segment.name
    d.mkdir(parents=True, exist_ok=True)
    for name in ARRAYS:
        np.save(d / f"{name}.npy", getattr(segment, name), allow_pickle=False)
    terms = sorted(segment.terms, key=segment.terms.__getitem__)
    (d / META).write_text(json.dumps({"rows": segment.rows, "terms": terms}, ensure_ascii=False), encoding="utf-8")


def load(folder: Path, name: str) -> Segment:
    """The segment ``folder / name`` (its arrays memory-mapped)."""
    d = folder / name
    meta = json.loads((d / META).read_text(encoding="utf-8"))
    terms = {token: col for col, token in enumerate(meta["terms"])}
    indptr, indices, data = (load_array(d / f"{a}.npy") for a in ARRAYS)
    rows = int(meta["rows"])
    if len(indptr) != len(terms) + 1 or len(indices) != len(data) or int(indptr[-1]) != len(data):
        raise ValueError(f"BM25 segment {name}: its arrays do not match ({len(terms)} terms)")
    if len(indices) and (int(np.min(indices)) < 0 or int(np.max(indices)) >= rows):
        raise ValueError(f"BM25 segment {name}: rows outside 0..{rows - 1}")
    return Segment(name, rows, terms, indptr, indices, data)


def link(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (a copy on a file system without hard links)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def link_or_save(segment: Segment, old: Path | None, folder: Path) -> None:
    """Put ``segment`` into ``folder``: hard links to ``old``'s files when it is there, else written."""
    if old is not None and (old / segment.name / META).is_file():
        (folder / segment.name).mkdir(parents=True, exist_ok=True)
        for file in (META, *(f"{a}.npy" for a in ARRAYS)):
            link(old / segment.name / file, folder / segment.name / file)
    else:
        save(segment, folder)
