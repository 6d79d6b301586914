"""Walking and flushing a generation's folder tree (``fraga.index.generation``).

``os.scandir`` rather than ``Path.rglob``: an index holds a stored source file per
document, tens of thousands, and an append walks its new generation twice.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)


def walk(folder: Path, prefix: str = "") -> Iterator[tuple[str, os.DirEntry]]:
    """(path relative to ``folder``, entry) of every file and folder under ``folder``."""
    with os.scandir(folder) as it:
        entries = list(it)
    for entry in entries:
        rel = prefix + entry.name
        yield rel, entry
        if entry.is_dir(follow_symlinks=False):
            yield from walk(Path(entry.path), rel + "/")


def fsync_tree(folder: Path) -> None:
    """Flush ``folder``'s new files and its folders' entries to disk.

    A file with more than one link is a hard link to a file of a published generation
    (an append links the unchanged files), already flushed when that was written: only its
    folder entry is new, and the folder's fsync flushes it. On ext4 an fsync of a freshly
    linked file costs milliseconds (its inode changed), which for the source files of
    tens of thousands of documents would make every append cost minutes.
    """
    folders = [str(folder)]
    for _rel, entry in walk(folder):
        if entry.is_dir(follow_symlinks=False):
            folders.append(entry.path)
        elif entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_nlink == 1:
            with open(entry.path, "rb") as f:
                os.fsync(f.fileno())
    for d in folders:
        fsync_path(d)


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Flush one file or one folder's entries to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
