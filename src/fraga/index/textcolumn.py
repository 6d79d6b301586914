"""Text columns: many strings stored as concatenated UTF-8 segments plus an offsets array.

A text column ``<name>`` is ``<name>-NNNNNN.bin`` (segments laid end to end) and
``<name>_offsets.npy`` (n + 1 int64 byte offsets; row parts, ``fraga.index.rowparts``, so
an append adds the new entries' ends in ``<name>_offsets-NNNNNN.npy``). Adding a document
hard-links the old segments into the new generation and writes one small segment, so an
append rewrites no text; after ``SEGMENT_LIMIT`` segments the appended ones are merged into one.
"""

from __future__ import annotations

import logging
import os
import shutil
import weakref
from bisect import bisect_right
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from fraga.errors import IndexCorruptError
from fraga.index.rowparts import RowParts, write_rows

logger = logging.getLogger(__name__)

SEGMENT_LIMIT = 16  # segments of a text column before an append merges the appended ones
BLOCK = 4096  # strings encoded per write


def close_all(fds: list[int]) -> None:
    """Close file descriptors, ignoring ones already closed (a finalizer of open columns)."""
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


class TextColumn:
    """Strings stored as UTF-8 segments ``<name>-NNNNNN.bin`` plus ``<name>_offsets.npy``
    (n + 1 int64 byte offsets into the segments laid end to end).

    Entries are read with ``os.pread``, not through a memory map: a question reads a few
    hundred passages scattered over a segment, and a mapped read makes the kernel map the
    neighbouring cached pages into the process as well (fault-around), so 97 questions over
    a 1,000,000-passage index left 2 GB of text resident. ``pread`` copies just the bytes.
    """

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        self.offsets = RowParts(folder, f"{name}_offsets")
        self.segments = sorted(folder.glob(f"{name}-*.bin"))
        self._starts: list[int] = []
        self._fds: list[int] = []
        weakref.finalize(self, close_all, self._fds)
        total = 0
        for path in self.segments:
            self._fds.append(os.open(path, os.O_RDONLY))
            self._starts.append(total)
            total += os.fstat(self._fds[-1]).st_size
        if self.offsets.ndim != 1 or len(self.offsets) == 0 or int(self.offsets[-1]) != total:
            raise IndexCorruptError(
                f"Indexfilerna {folder.name}/{name}-*.bin har {total} byte men förteckningen väntar "
                f"{int(self.offsets[-1]) if len(self.offsets) else '?'}; bygg om med: fraga index"
            )

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.read(int(self.offsets[i]), int(self.offsets[i + 1]))

    def read(self, a: int, b: int) -> str:
        """The text between byte offsets ``a`` and ``b`` (one entry never spans segments)."""
        if a == b:
            return ""
        s = bisect_right(self._starts, a) - 1
        data = os.pread(self._fds[s], b - a, a - self._starts[s])
        if len(data) != b - a:
            raise IndexCorruptError(
                f"Indexfilen {self.segments[s].name} är kortare än förteckningen säger; bygg om med: fraga index"
            )
        return data.decode("utf-8")


def write_texts(folder: Path, name: str, texts: Iterable[str], *, base: TextColumn | None = None) -> None:
    """Write the column ``name`` in ``folder``: ``base``'s entries (hard-linked) then ``texts``."""
    folder.mkdir(parents=True, exist_ok=True)
    last = 0 if base is None else int(base.offsets[-1])
    n_seg = 0
    if base is not None:
        keep = base.segments if len(base.segments) < SEGMENT_LIMIT else base.segments[:1]
        for path in keep:
            try:
                os.link(path, folder / f"{name}-{n_seg:06d}.bin")
            except OSError:  # another file system: copy
                shutil.copyfile(path, folder / f"{name}-{n_seg:06d}.bin")
            n_seg += 1
        rest = base.segments[len(keep) :]
        if rest:  # merge the appended segments into one
            with open(folder / f"{name}-{n_seg:06d}.bin", "wb") as out:
                for path in rest:
                    with open(path, "rb") as f:
                        shutil.copyfileobj(f, out, 1 << 20)
            n_seg += 1
    path = folder / f"{name}-{n_seg:06d}.bin"
    lengths: list[int] = []
    with open(path, "wb") as f:
        batch: list[bytes] = []
        for text in texts:
            data = text.encode("utf-8")
            lengths.append(len(data))
            batch.append(data)
            if len(batch) >= BLOCK:
                f.write(b"".join(batch))
                batch.clear()
        f.write(b"".join(batch))
    if not sum(lengths):
        path.unlink()
    ends = last + np.cumsum(np.asarray(lengths, dtype=np.int64))
    if base is None:
        write_rows(folder, f"{name}_offsets", np.concatenate([np.zeros(1, dtype=np.int64), ends]))
    else:  # the base's offsets hard-linked, the new ends in a new part
        write_rows(folder, f"{name}_offsets", ends, base=base.offsets)
