"""Sums of BM25 score-matrix columns, and the top rows of a score vector.

The hot loop of lexical search: a query's score for every passage is the sum of its
terms' columns of the CSC score matrix (``fraga.index.lexical``).

A saved matrix's postings (``data`` and ``indices``) are read per query with ``os.pread``
into a buffer (``Postings``), not through a memory map: a query reads a few MB of them,
but a mapping keeps every page-cache page it touched counted in the process, whole large
folios at a time (1.2 GB of a 1.3 GB matrix at 1M passages after a sequential read, 0.6
GB after a cold start, for the same 162 questions). Read this way, the hot postings stay
in the kernel's page cache, shared and reclaimable, and the process holds one query's.
"""

from __future__ import annotations

import logging
import os
import weakref

import numpy as np

from fraga.errors import IndexCorruptError
from fraga.index.textcolumn import close_all

logger = logging.getLogger(__name__)

TOP_SAMPLE = 4096  # scores sampled by top_rows to pick a candidate threshold


def _sum_columns_loop(data, indptr, indices, n, ids, weights):  # compiled by numba when it is installed
    out = np.zeros(n, dtype=np.float32)
    for i in range(len(ids)):
        t, w = ids[i], weights[i]
        for j in range(indptr[t], indptr[t + 1]):
            out[indices[j]] += w * data[j]
    return out


def _sum_columns_numpy(data, indptr, indices, n, ids, weights=None):
    out = np.zeros(n, dtype=np.float32)
    for i, t in enumerate(ids.tolist()):
        lo, hi = int(indptr[t]), int(indptr[t + 1])
        np.add.at(out, indices[lo:hi], data[lo:hi] if weights is None else weights[i] * data[lo:hi])
    return out


_SUMMERS: list = []  # the column sum in use: numba's, or numpy's when numba is missing or fails


def sum_columns(
    data: np.ndarray, indptr: np.ndarray, indices: np.ndarray, n: int, ids: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Sum of the score-matrix columns ``ids``, each times its weight (default 1; float32, so a
    weight of 1 changes no score): one BM25 score per passage.

    Compiled with numba (cached on disk) it is twice as fast as bm25s' numpy scorer over the
    millions of postings a query touches in a million passages; numpy is the fallback.
    """
    weights = np.ones(len(ids), dtype=np.float32) if weights is None else np.asarray(weights, dtype=np.float32)
    if not _SUMMERS:
        try:
            if os.environ.get("NUMBA_DISABLE_JIT"):
                raise RuntimeError("NUMBA_DISABLE_JIT is set")
            from numba import njit

            fast = njit(cache=True, nogil=True)(_sum_columns_loop)
            out = fast(data, indptr, indices, n, ids, weights)
            _SUMMERS.append(fast)
            return out
        except Exception as exc:  # no numba, or no cache folder: numpy
            logger.info("BM25 scoring with numpy (%s)", exc)
            _SUMMERS.append(_sum_columns_numpy)
    return _SUMMERS[0](data, indptr, indices, n, ids, weights)


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` highest positive ``scores``, in no particular order.

    A threshold from a strided sample of the scores keeps a few thousand candidates,
    so a million scores cost one comparison each instead of a partial sort; when fewer
    than ``k`` candidates pass, every positive score is considered. Exact either way.
    """
    n = len(scores)
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if n > 64 * TOP_SAMPLE:
        sample = np.array(scores[:: n // TOP_SAMPLE])
        threshold = float(np.partition(sample, len(sample) - 8)[len(sample) - 8])
        if threshold > 0:
            rows = np.flatnonzero(scores >= threshold)
            if len(rows) >= k:
                return rows[np.argpartition(-scores[rows], k - 1)[:k]]
    rows = np.flatnonzero(scores > 0)
    if len(rows) > k:
        rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
    return rows


class Postings:
    """The ``data`` and ``indices`` of a CSC matrix, read by column ranges.

    Memory-mapped arrays (a loaded index) are read with ``os.pread``; in-memory ones (a
    fresh build) are sliced.
    """

    def __init__(self, data: np.ndarray, indices: np.ndarray) -> None:
        self.data, self.indices = data, indices
        self._fds: list[int] = []
        self._files: list[tuple[int, int, np.dtype, str] | None] = []
        for array in (data, indices):
            name = getattr(array, "filename", None)
            if isinstance(array, np.memmap) and name and array.ndim == 1 and hasattr(os, "preadv"):
                fd = os.open(name, os.O_RDONLY)
                self._fds.append(fd)
                self._files.append((fd, int(array.offset), array.dtype, os.path.basename(name)))
            else:
                self._files.append(None)
        weakref.finalize(self, close_all, self._fds)

    def take(self, ranges: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The postings of the column ranges ``[lo, hi)`` one after another: (data, indptr,
        indices) of a matrix whose column ``i`` is ``ranges[i]``."""
        lengths = [hi - lo for lo, hi in ranges]
        indptr = np.zeros(len(ranges) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        return self._read(0, ranges, int(indptr[-1])), indptr, self._read(1, ranges, int(indptr[-1]))

    def _read(self, which: int, ranges: list[tuple[int, int]], total: int) -> np.ndarray:
        array, file = (self.data, self.indices)[which], self._files[which]
        if file is None:
            if len(ranges) == 1:
                return array[ranges[0][0] : ranges[0][1]]
            return np.concatenate([array[lo:hi] for lo, hi in ranges]) if ranges else array[:0]
        fd, offset, dtype, name = file
        out = np.empty(total, dtype=dtype)
        view, item, pos = out.data.cast("B"), dtype.itemsize, 0
        for lo, hi in ranges:
            want = (hi - lo) * item
            got = os.preadv(fd, [view[pos : pos + want]], offset + lo * item) if want else 0
            if got != want:
                raise IndexCorruptError(
                    f"BM25-filen {name} är kortare än väntat ({got} av {want} byte vid rad {lo}); bygg om med: fraga index"
                )
            pos += want
        return out
