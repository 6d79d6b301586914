"""The stored source files of appended generations: one shared folder instead of a link per file.

A full build writes each indexed file into its generation's ``sources/``. Hard-linking
those into every generation an append writes costs a link, an unlink and a folder entry
per document (about 2 s for 40,000 documents), so an append instead makes ``sources`` a
symbolic link to a folder beside the generations, ``INDEX_DIR/sources-XXXXXXXX/``. The first
append after a build creates that folder (hard links to the build's files, once); later
appends point their ``sources`` at the same folder and put the new document's file in it.
Names never collide: a stored name is the document's row number, which only grows until
the next full build, and that writes a ``sources/`` folder of its own.

A shared folder no generation points to any more (after a rebuild or a replace) is removed
with the old generations (``remove_old_generations``). Where symbolic links cannot be made,
an append links the files one by one as before.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from fraga.index.rowparts import link
from fraga.index.tree import fsync_path

logger = logging.getLogger(__name__)

SHARED_PREFIX = "sources-"
FOLDER = "sources"


def shared_folder(gen: Path) -> Path | None:
    """The shared folder ``gen/sources`` points to (None when it is a folder of its own or
    points anywhere but to a ``sources-*`` folder beside the generation)."""
    path = gen / FOLDER
    if not path.is_symlink():
        return None
    target = Path(os.readlink(path))
    if target.parent != Path("..") or not target.name.startswith(SHARED_PREFIX):
        return None
    folder = gen.parent / target.name
    return folder if folder.is_dir() and not folder.is_symlink() else None


def share(old: Path, tmp: Path, old_files: Iterable[str]) -> tuple[Path, bool] | None:
    """Make ``tmp/sources`` a link to the shared folder of ``old``'s source files.

    Args:
        old: The generation being extended.
        tmp: The new generation's folder (a sibling of ``old``).
        old_files: ``old``'s manifest file list (its ``sources/...`` entries are the files).

    Returns:
        (the shared folder, whether it was created now), or None when a symbolic link cannot
        be made (nothing is left behind; the caller links the files one by one).
    """
    shared = shared_folder(old)
    created = shared is None
    if shared is None:
        shared = Path(tempfile.mkdtemp(prefix=SHARED_PREFIX, dir=old.parent))
        try:
            for rel in old_files:
                if rel.startswith(FOLDER + "/"):
                    link(old / rel, shared / rel[len(FOLDER) + 1 :])
            fsync_path(shared)  # its entries (the files were flushed with the build)
            fsync_path(shared.parent)
        except BaseException:
            shutil.rmtree(shared, ignore_errors=True)
            raise
    try:
        os.symlink(os.path.join("..", shared.name), tmp / FOLDER, target_is_directory=True)
    except OSError as exc:
        logger.info("no symbolic link for the sources (%s): linking them one by one", exc)
        if created:
            shutil.rmtree(shared, ignore_errors=True)
        return None
    return shared, created


def add_file(shared: Path, source: str | os.PathLike[str], stored: str) -> Path:
    """Copy ``source`` into ``shared`` as ``stored`` and flush it (and the folder entry) to disk."""
    path = shared / stored
    path.unlink(missing_ok=True)  # left by an add that failed: never write through an old link
    shutil.copyfile(source, path)
    fsync_path(path)
    fsync_path(shared)
    return path


def remove_unused(index_path: Path) -> None:
    """Remove the shared source folders no generation of ``index_path`` points to."""
    used = {folder.name for gen in index_path.glob("gen-*") if (folder := shared_folder(gen)) is not None}
    for path in index_path.glob(SHARED_PREFIX + "*"):
        if path.name not in used and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
