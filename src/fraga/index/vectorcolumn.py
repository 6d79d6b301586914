"""Vector columns: many int8-quantised vectors in segment files, read with ``pread``.

A vector column ``<name>`` is ``<name>-NNNNNN.bin`` segments of fixed-size rows laid end
to end: ``dim`` int8 components followed by one float32 scale, so a row decodes to
``int8 * scale``. Vectors are L2-normalised before quantising (each component in
[-1, 1]), and the per-row scale (max |component| / 127) keeps the relative error of a dot
product around 1e-3. ``<name>.json`` records the dimension and the rows per segment.

Like text columns (``fraga.index.textcolumn``), an append hard-links the existing
segments into the new generation and writes one new segment, and rows are read with
``os.pread`` rather than a memory map, so a question that reads a few dozen rows keeps
no neighbouring pages resident.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import weakref
from bisect import bisect_right
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fraga.errors import IndexCorruptError
from fraga.index.textcolumn import close_all

logger = logging.getLogger(__name__)

SEGMENT_LIMIT = 16  # segments before an append merges the appended ones
SCALE_BYTES = 4
WRITE_BLOCK = 8192  # rows quantised and written at a time


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(int8 rows, float32 scales)`` with ``rows * scales[:, None] ≈ vectors``."""
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim != 2:
        raise ValueError(f"expected a 2-d array of vectors, got shape {v.shape}")
    peak = np.abs(v).max(axis=1) if len(v) else np.zeros(0, dtype=np.float32)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(v / scales[:, None]), -127, 127).astype(np.int8)
    return q, scales


def _pack(vectors: np.ndarray) -> bytes:
    q, scales = quantize(vectors)
    rows = np.empty((len(q), q.shape[1] + SCALE_BYTES), dtype=np.uint8)
    rows[:, : q.shape[1]] = q.view(np.uint8)
    rows[:, q.shape[1] :] = scales.view(np.uint8).reshape(-1, SCALE_BYTES)
    return rows.tobytes()


class VectorColumn:
    """Read rows of the vector column ``name`` in ``folder``."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        try:
            meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
            self.dim = int(meta["dim"])
            counts = [int(c) for c in meta["segments"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"Vektorfilen {folder.name}/{name}.json går inte att läsa ({exc}); bygg om med: fraga index"
            ) from exc
        self.row_bytes = self.dim + SCALE_BYTES
        self._fds: list[int] = []
        weakref.finalize(self, close_all, self._fds)
        self._first: list[int] = []  # the first row of each segment
        total = 0
        for n, count in enumerate(counts):
            path = folder / f"{name}-{n:06d}.bin"
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError as exc:
                raise IndexCorruptError(f"Vektorfilen {folder.name}/{path.name} saknas; bygg om med: fraga index") from exc
            self._fds.append(fd)
            if os.fstat(fd).st_size != count * self.row_bytes:
                raise IndexCorruptError(f"Vektorfilen {folder.name}/{path.name} har fel storlek; bygg om med: fraga index")
            self._first.append(total)
            total += count
        self.counts = counts
        self.rows = total

    def __len__(self) -> int:
        return self.rows

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Rows ``lo``..``hi - 1`` as float32 vectors (``(hi - lo, dim)``)."""
        lo, hi = max(0, lo), min(hi, self.rows)
        out = np.empty((max(0, hi - lo), self.dim), dtype=np.float32)
        pos = 0
        while lo < hi:
            s = bisect_right(self._first, lo) - 1
            seg_end = self._first[s] + self.counts[s]
            take = min(hi, seg_end) - lo
            data = os.pread(self._fds[s], take * self.row_bytes, (lo - self._first[s]) * self.row_bytes)
            if len(data) != take * self.row_bytes:
                raise IndexCorruptError(f"Vektorfilen {self.name} är kortare än väntat; bygg om med: fraga index")
            raw = np.frombuffer(data, dtype=np.uint8).reshape(take, self.row_bytes)
            scales = raw[:, self.dim :].copy().view(np.float32).reshape(take)
            out[pos : pos + take] = raw[:, : self.dim].view(np.int8) * scales[:, None]
            pos += take
            lo += take
        return out

    def read_all(self) -> np.ndarray:
        return self.read(0, self.rows)


def write_vectors(
    folder: Path, name: str, vectors: np.ndarray | Sequence[np.ndarray], *, dim: int, base: VectorColumn | None = None
) -> None:
    """Write the column ``name`` in ``folder``: ``base``'s rows (hard-linked) then ``vectors``.

    ``vectors`` is an array or any sequence whose slices are arrays of rows (it is read
    ``WRITE_BLOCK`` rows at a time, so a lazily computed one never needs to fit in memory).
    """
    folder.mkdir(parents=True, exist_ok=True)
    counts: list[int] = []
    if base is not None:
        if base.dim != dim:
            raise ValueError(f"vector column {name}: dimension {dim} does not match the base's {base.dim}")
        keep = base.counts if len(base.counts) < SEGMENT_LIMIT else base.counts[:1]
        for n in range(len(keep)):
            src, dst = base.folder / f"{name}-{n:06d}.bin", folder / f"{name}-{n:06d}.bin"
            try:
                os.link(src, dst)
            except OSError:  # another file system: copy
                shutil.copyfile(src, dst)
            counts.append(keep[n])
        if len(base.counts) > len(keep):  # merge the appended segments into one
            with open(folder / f"{name}-{len(counts):06d}.bin", "wb") as out:
                for n in range(len(keep), len(base.counts)):
                    with open(base.folder / f"{name}-{n:06d}.bin", "rb") as f:
                        shutil.copyfileobj(f, out, 1 << 20)
            counts.append(sum(base.counts[len(keep) :]))
    if len(vectors) or not counts:
        with open(folder / f"{name}-{len(counts):06d}.bin", "wb") as f:
            for lo in range(0, len(vectors), WRITE_BLOCK):
                block = np.asarray(vectors[lo : lo + WRITE_BLOCK], dtype=np.float32)
                if block.ndim != 2 or block.shape[1] != dim:
                    raise ValueError(f"vector column {name}: rows of shape {block.shape[1:]}, expected ({dim},)")
                f.write(_pack(block))
        counts.append(len(vectors))
    (folder / f"{name}.json").write_text(json.dumps({"dim": dim, "segments": counts}), encoding="utf-8")
