"""Per-row arrays stored in parts, so an append writes the new rows only.

An array ``<name>`` is ``<name>.npy`` (the rows of the last full build) followed by zero or
more parts ``<name>-NNNNNN.npy`` (rows appended since), laid end to end along the first
axis, each memory-mapped. Adding a document hard-links the existing parts into the new
generation and writes one small part (``write_rows``); after ``PART_LIMIT`` appended parts
they are merged into one, as text columns (``fraga.index.textcolumn``) merge their segments.
An index written before parts existed has ``<name>.npy`` only, which reads the same.

``RowParts`` reads rows and slices (a slice that spans parts is joined) and converts to
one array (``np.asarray``) for the whole-array steps done at load.
"""

from __future__ import annotations

import logging
import os
import shutil
from bisect import bisect_right
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

PART_LIMIT = 16  # appended parts before an append merges them into one


def load_array(path: Path) -> np.ndarray:
    """A memory-mapped .npy array (empty arrays, which cannot be mapped, are read)."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError:
        array = np.load(path, allow_pickle=False)
        if array.size:
            raise
        return array


def offsets_array(values) -> np.ndarray:
    """Character offsets as int32, half the bytes of int64 (int64 when one does not fit):
    a million passages' sentence offsets are read on every answer, so their size is memory."""
    array = np.asarray(values, dtype=np.int64)
    if len(array) and (int(array.max()) > np.iinfo(np.int32).max or int(array.min()) < np.iinfo(np.int32).min):
        return array
    return array.astype(np.int32)


def _part_paths(folder: Path, name: str) -> list[Path]:
    return [folder / f"{name}.npy", *sorted(folder.glob(f"{name}-*.npy"))]


class RowParts:
    """The array ``name`` in ``folder``: its parts' rows in order (see the module docstring)."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        self.paths = _part_paths(folder, name)
        self.parts = [load_array(p) for p in self.paths]
        tails = {p.shape[1:] for p in self.parts}
        if len(tails) != 1:
            raise ValueError(f"{folder.name}/{name}: parts of different shapes {sorted(tails)}")
        self._starts = np.cumsum([0] + [len(p) for p in self.parts]).tolist()
        self.shape: tuple[int, ...] = (self._starts[-1], *self.parts[0].shape[1:])
        self.dtype = self.parts[0].dtype
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self._starts[-1]

    def __getitem__(self, key):
        if len(self.parts) == 1:
            return self.parts[0][key]
        n = len(self)
        if isinstance(key, slice) and key.step in (None, 1):
            lo, hi, _ = key.indices(n)
            if hi <= lo:
                return self.parts[0][0:0]
            first = bisect_right(self._starts, lo) - 1
            last = bisect_right(self._starts, hi - 1) - 1
            pieces = [
                self.parts[s][max(lo, self._starts[s]) - self._starts[s] : min(hi, self._starts[s + 1]) - self._starts[s]]
                for s in range(first, last + 1)
            ]
            return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        if isinstance(key, (int, np.integer)):
            i = int(key) + n if int(key) < 0 else int(key)
            if not 0 <= i < n:
                raise IndexError(f"row {key} out of range ({n} rows)")
            s = bisect_right(self._starts, i) - 1
            return self.parts[s][i - self._starts[s]]
        return np.asarray(self)[key]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self.parts[0] if len(self.parts) == 1 else np.concatenate(self.parts)
        return np.asarray(whole, dtype=dtype)

    def tolist(self) -> list:
        return np.asarray(self).tolist()


def write_rows(folder: Path, name: str, new: np.ndarray, *, base: RowParts | None = None) -> None:
    """Write the array ``name`` into ``folder``: ``base``'s parts (hard-linked; its appended ones
    merged into one after ``PART_LIMIT``) then the rows ``new`` in a new part."""
    folder.mkdir(parents=True, exist_ok=True)
    if base is None:
        np.save(folder / f"{name}.npy", new, allow_pickle=False)
        return
    paths = base.paths
    merge = len(paths) - 1 >= PART_LIMIT
    keep = paths[:1] if merge else paths
    for n, path in enumerate(keep):
        link(path, folder / (f"{name}.npy" if n == 0 else f"{name}-{n:06d}.npy"))
    n = len(keep)
    if merge:
        np.save(folder / f"{name}-{n:06d}.npy", np.concatenate(base.parts[1:]), allow_pickle=False)
        n += 1
    if len(new):
        np.save(folder / f"{name}-{n:06d}.npy", new, allow_pickle=False)


def link(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (a copy on a file system without hard links)."""
    try:
        os.link(src, dst)
    except OSError:  # another file system: copy
        shutil.copyfile(src, dst)
