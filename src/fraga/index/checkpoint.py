"""Checkpoints of a build's encoding, so that a killed ``fraga index`` resumes where it stopped.

While a build encodes passages, sentences and headings, the finished vectors are written
in parts to a work folder inside the index folder, keyed by the content hash of the
encoded text (``records.content_hash``)::

    INDEX_DIR/.work/<encoder>-<dim>/part-NNNNNN.npy   (float32, one row per text)
    INDEX_DIR/.work/<encoder>-<dim>/part-NNNNNN.json  ({"keys": [hex hash, ...]}; written last)
    INDEX_DIR/.work/progress.json                     (stage, done, total, rate: read by ``fraga index --status``)

A part counts only once its ``.json`` exists (both files are written to a temporary name and
renamed), so a kill at any moment leaves whole parts or nothing. The next build with the same
encoder reads the parts and encodes only what they lack. A build that publishes its
generation removes the work folder. Plain ``.npy`` and ``.json`` files; no pickles.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from fraga.records import content_hash

logger = logging.getLogger(__name__)

WORK = ".work"
PROGRESS = "progress.json"
EVERY_TEXTS = 512  # write a part after this many new vectors ...
EVERY_SECONDS = 30.0  # ... or this many seconds, whichever comes first
KEY_BYTES = 16


def work_folder(index_path: Path) -> Path:
    return index_path / WORK


def _key(text: str) -> bytes:
    return bytes.fromhex(content_hash(text))


class Checkpoint:
    """The vectors a build (this one or a killed earlier one) has finished, by content hash.

    Args:
        index_path: The index folder.
        encoder_name, dim: The encoder; parts of another encoder are ignored (and kept).
        every_texts, every_seconds: When to write a part. Defaults to 512 texts or 30 s.
    """

    def __init__(
        self, index_path: Path, encoder_name: str, dim: int, *, every_texts: int | None = None, every_seconds: float | None = None
    ) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", encoder_name).strip("._") or "encoder"
        self.root = work_folder(index_path)
        self.folder = self.root / f"{safe}-{int(dim)}"
        self.dim = int(dim)
        self.every_texts = EVERY_TEXTS if every_texts is None else every_texts
        self.every_seconds = EVERY_SECONDS if every_seconds is None else every_seconds
        self._parts: list[np.ndarray] = []
        self._where: dict[bytes, tuple[int, int]] = {}  # key -> (part, row)
        self._keys: list[bytes] = []
        self._vectors: list[np.ndarray] = []
        self._last_flush = time.monotonic()
        self._next_part = 0
        self.progress: dict[str, Any] = {}
        self._read()

    # READING ==================================================================
    def _read(self) -> None:
        if not self.folder.is_dir():
            return
        for meta in sorted(self.folder.glob("part-*.json")):
            number = meta.stem[5:]
            try:
                keys = json.loads(meta.read_text(encoding="utf-8"))["keys"]
                vectors = np.load(self.folder / f"part-{number}.npy", mmap_mode="r", allow_pickle=False)
                if vectors.shape != (len(keys), self.dim) or vectors.dtype != np.float32:
                    raise ValueError(f"shape {vectors.shape}, dtype {vectors.dtype}")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                logger.warning("checkpoint %s unreadable (%s); its vectors are encoded again", meta, exc)
                continue
            p = len(self._parts)
            self._parts.append(vectors)
            for row, k in enumerate(keys):
                self._where[bytes.fromhex(k)] = (p, row)
            if number.isdigit():
                self._next_part = max(self._next_part, int(number) + 1)
        if self._where:
            logger.info("resuming: %d finished vectors in %s", len(self._where), self.folder)

    def __len__(self) -> int:
        return len(self._where) + len(self._keys)

    def lookup(self, text: str) -> np.ndarray | None:
        """The finished vector of ``text`` (from an earlier part), or None."""
        where = self._where.get(_key(text))
        if where is None:
            return None
        return np.asarray(self._parts[where[0]][where[1]], dtype=np.float32)

    # WRITING ==================================================================
    def add(self, texts: list[str], vectors: np.ndarray) -> None:
        """Record newly encoded vectors; a part is written when enough have gathered."""
        self._keys.extend(_key(t) for t in texts)
        self._vectors.append(np.asarray(vectors, dtype=np.float32))
        if len(self._keys) >= self.every_texts or time.monotonic() - self._last_flush >= self.every_seconds:
            self.flush()

    def flush(self, *, stopped: bool = False) -> None:
        """Write the gathered vectors as a part (and the progress file; ``stopped``: the build failed)."""
        self._last_flush = time.monotonic()
        if self._keys:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"part-{self._next_part:06d}"
            vectors = np.vstack(self._vectors)
            _atomic_npy(self.folder / f"{name}.npy", vectors)
            _atomic_text(self.folder / f"{name}.json", json.dumps({"keys": [k.hex() for k in self._keys]}))
            p = len(self._parts)
            self._parts.append(np.load(self.folder / f"{name}.npy", mmap_mode="r"))  # on disk, not in memory
            for row, k in enumerate(self._keys):
                self._where[k] = (p, row)
            self._next_part += 1
            self._keys, self._vectors = [], []
        if stopped and self.progress:
            self.progress["stopped"] = True
        self.write_progress()

    def note(self, stage: str, done: int, total: int, rate: float | None, **extra: Any) -> None:
        """Remember how far ``stage`` got (written with the next part, or by ``write_progress``)."""
        self.progress = {
            "stage": stage,
            "done": done,
            "total": total,
            "rate": rate,
            "pid": os.getpid(),
            "updated": time.time(),
            "checkpointed": len(self._where),
            **extra,
        }

    def write_progress(self) -> None:
        if not self.progress:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.progress["checkpointed"] = len(self._where)
        self.progress["updated"] = time.time()
        _atomic_text(self.root / PROGRESS, json.dumps(self.progress))

    def clear(self) -> None:
        """Remove the work folder (after the generation is published)."""
        shutil.rmtree(self.root, ignore_errors=True)


def read_progress(index_path: Path) -> dict[str, Any] | None:
    """The progress file of a build in progress (or killed), or None."""
    try:
        return json.loads((work_folder(index_path) / PROGRESS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def checkpointed_vectors(index_path: Path) -> int:
    """How many finished vectors the work folder holds (all encoders)."""
    n = 0
    for meta in work_folder(index_path).glob("*/part-*.json"):
        try:
            n += len(json.loads(meta.read_text(encoding="utf-8"))["keys"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return n


def _atomic_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class CheckpointingEncoder:
    """An encoder that takes finished vectors from ``checkpoint`` and records the ones it computes.

    ``encoded`` counts the texts the inner encoder computed, ``resumed`` those found in a checkpoint.
    """

    def __init__(self, inner, checkpoint: Checkpoint) -> None:
        self.inner = inner
        self.checkpoint = checkpoint
        self.name = inner.name
        self.dim = inner.dim
        self.engine = str(getattr(inner, "engine", "") or "")
        self.batch_texts = int(getattr(inner, "batch_texts", 0) or 0)
        self.encoded = 0
        self.resumed = 0
        # Keys of the texts this encoder computed: found again (a sentence whose text is also a
        # one-sentence passage's), they were not resumed from an earlier, interrupted build.
        self._mine: set[bytes] = set()

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = []
        for i, t in enumerate(texts):
            v = self.checkpoint.lookup(t)
            if v is None:
                todo.append(i)
                continue
            out[i] = v
            if _key(t) not in self._mine:
                self.resumed += 1
        if todo:
            new = [texts[i] for i in todo]
            vectors = np.asarray(self.inner.encode_passages(new), dtype=np.float32)
            out[todo] = vectors
            self.encoded += len(todo)
            self.checkpoint.add(new, vectors)
            self._mine.update(_key(t) for t in new)
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.inner.encode_query(text)
