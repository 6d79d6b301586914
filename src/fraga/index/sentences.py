"""Sentence vectors: every sentence of every passage, and every section heading, encoded
at index time, so answering can compare a question with sentences without running the
encoder on them (about 1.4 s for five passages' sentences on 2 cores).

Stored in a generation's ``sentences/`` folder:

- ``doc_offsets.npy`` (int64, documents + 1): the rows of each document's sentences;
- ``start.npy``, ``end.npy`` (int32, int64 when an offset needs it): each sentence's offsets in its document's display
  text, in text order within a document; a passage is a run of whole sentences
  (``fraga.ingest.sections.section_sentences``), so its sentences are the rows whose
  offsets lie inside it;
- ``hash.npy`` (uint8, 8 per row): hash of the sentence's text, so a rebuild re-encodes
  only new sentences;
- ``vec-*.bin`` + ``vec.json``: the sentence vectors (``fraga.index.vectorcolumn``, int8);
- ``heading-*.bin`` + ``heading.json``: one vector per entry of ``chunks/sections.json``
  (the last heading of the section path, e.g. the question a reply section answers).

The four .npy arrays are row parts (``fraga.index.rowparts``): an append adds a part
``<name>-NNNNNN.npy`` with the new document's rows and hard-links the others.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fraga.errors import IndexCorruptError
from fraga.index.embed import batch_texts
from fraga.index.rowparts import RowParts, offsets_array, write_rows
from fraga.index.vectorcolumn import VectorColumn, write_vectors
from fraga.ingest.sections import SEP, context_line, section_sentences
from fraga.records import Document
from fraga.text import normalize_space

logger = logging.getLogger(__name__)

FOLDER = "sentences"
HASH_BYTES = 8
ENCODE_BATCH = 64

Progress = Callable[[str, int, int], None]


def sentence_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=HASH_BYTES).digest()


def heading_text(section: str) -> str:
    """The text encoded for a section path: its last heading without numbering."""
    leaf = section.split(SEP)[-1]
    return normalize_space(re.sub(r"^\s*\d{1,2}\s*[.)]\s*", "", leaf)) or leaf


@dataclass(frozen=True, slots=True)
class SentenceTable:
    """The sentences of some documents, in row order (what a build writes)."""

    doc_offsets: np.ndarray  # (documents + 1,) int64: rows of each document
    start: np.ndarray  # (n,) int32 (int64 for offsets past 2**31)
    end: np.ndarray
    texts: tuple[str, ...]  # context line + the sentence, white space normalised: what is encoded

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def hashes(self) -> np.ndarray:
        raw = b"".join(sentence_hash(t) for t in self.texts)
        return np.frombuffer(raw, dtype=np.uint8).reshape(len(self.texts), HASH_BYTES)


def sentence_table(documents: Sequence[Document]) -> SentenceTable:
    """Every sentence of ``documents`` (in order), as passages hold them.

    The encoded text is the sentence after its passage's context line (district, type,
    title, section): a sentence such as "Den utsatte blir målsägare." says little alone.
    """
    offsets, starts, ends, texts = [0], [], [], []
    for doc in documents:
        for section, spans in section_sentences(doc):
            context = context_line(doc, section.title)
            for s, e in spans:
                starts.append(s)
                ends.append(e)
                texts.append(context + "\n" + normalize_space(doc.text[s:e]))
        offsets.append(len(texts))
    return SentenceTable(np.asarray(offsets, dtype=np.int64), offsets_array(starts), offsets_array(ends), tuple(texts))


class SentenceStore:
    """The sentence and heading vectors of a loaded generation."""

    def __init__(self, folder: Path, *, documents: int, sections: int) -> None:
        d = folder / FOLDER
        if not d.is_dir():
            raise IndexCorruptError(f"Indexet i {folder} saknar meningsvektorer; bygg om med: fraga index")
        self.folder = folder
        self.doc_offsets, self.start = RowParts(d, "doc_offsets"), RowParts(d, "start")
        self.end, self.hash = RowParts(d, "end"), RowParts(d, "hash")
        self.vectors = VectorColumn(d, "vec")
        self.headings = VectorColumn(d, "heading")
        n = len(self.start)
        if (
            len(self.doc_offsets) != documents + 1
            or int(self.doc_offsets[-1]) != n
            or len(self.end) != n
            or len(self.hash) != n
            or len(self.vectors) != n
            or len(self.headings) != sections
        ):
            raise IndexCorruptError(f"Meningsvektorerna i {folder} passar inte till indexet; bygg om med: fraga index")

    def __len__(self) -> int:
        return len(self.start)

    def rows(self, doc_row: int, start: int, end: int) -> tuple[int, int]:
        """The rows ``(lo, hi)`` of the sentences of document ``doc_row`` inside ``[start, end)``."""
        a, b = int(self.doc_offsets[doc_row]), int(self.doc_offsets[doc_row + 1])
        starts = self.start[a:b]
        lo = a + int(np.searchsorted(starts, start, side="left"))
        hi = a + int(np.searchsorted(starts, end, side="left"))
        while hi > lo and int(self.end[hi - 1]) > end:  # a sentence running past the passage
            hi -= 1
        return lo, hi

    def spans(self, lo: int, hi: int) -> list[tuple[int, int]]:
        return list(zip(self.start[lo:hi].tolist(), self.end[lo:hi].tolist()))

    def hash_rows(self) -> dict[bytes, int]:
        """Row of each sentence hash (for reusing vectors in a rebuild)."""
        raw = np.ascontiguousarray(self.hash).tobytes()
        return {raw[i : i + HASH_BYTES]: i // HASH_BYTES for i in range(0, len(raw), HASH_BYTES)}


def encode_reusing(
    texts: Sequence[str],
    hashes: np.ndarray,
    encode: Callable[[list[str]], np.ndarray],
    dim: int,
    previous: tuple[dict[bytes, int], VectorColumn] | None = None,
    *,
    progress: Progress | None = None,
    label: str = "sentences",
    keep_placeholders: bool = False,
    batch: int = ENCODE_BATCH,
) -> tuple[np.ndarray, int]:
    """Vectors of ``texts``: copied from ``previous`` where the hash is known, encoded otherwise
    (each distinct text once). A zero vector in ``previous`` (the placeholder of a BM25-first
    generation, ``fraga.index.progressive``) is encoded again unless ``keep_placeholders``.
    Returns ``(vectors, encoded)``."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    raw = [bytes(h) for h in np.asarray(hashes, dtype=np.uint8)]
    known, column = previous if previous is not None else ({}, None)
    todo: dict[bytes, list[int]] = {}
    for i, h in enumerate(raw):
        if column is not None and h in known:
            out[i] = column.read(known[h], known[h] + 1)[0]
            if keep_placeholders or float(out[i] @ out[i]) > 0.25:
                continue
        todo.setdefault(h, []).append(i)
    keys = list(todo)
    if progress and keys:
        progress(label, 0, len(keys))
    for lo in range(0, len(keys), batch):
        chosen = keys[lo : lo + batch]
        vecs = encode([texts[todo[h][0]] for h in chosen])
        for h, v in zip(chosen, vecs):
            out[todo[h]] = v
        if progress:
            progress(label, min(lo + batch, len(keys)), len(keys))
    return out, len(keys)


@dataclass(frozen=True, slots=True)
class SentenceVectors:
    """What a new generation (or an append) adds to ``sentences/``.

    ``headings`` are the vectors of the section paths that are new since the base
    generation (all of them without one), in ``chunks/sections.json`` order.
    """

    table: SentenceTable
    vectors: np.ndarray
    headings: np.ndarray
    encoded: int = 0  # sentences and headings encoded (the rest were reused)


def embed_sentences(
    documents: Sequence[Document],
    new_sections: Sequence[str],
    encoder,
    *,
    previous: tuple[SentenceStore, Sequence[str]] | None = None,
    progress: Progress | None = None,
    keep_placeholders: bool = False,
) -> SentenceVectors:
    """Encode the sentences of ``documents`` and the headings of ``new_sections``.

    Args:
        documents: The documents, in row order.
        new_sections: Section paths to encode headings for, in ``sections.json`` order.
        encoder: The index's encoder (``encode_passages``).
        previous: ``(store, sections)`` of the index being rebuilt, with the same
            encoder: vectors of unchanged sentences and headings are copied from it.
        progress: Called with ("sentences", done, total).
        keep_placeholders: Copy the zero vectors of an incomplete ``previous`` as they are
            (a build completes them later) instead of encoding them.
    """
    table = sentence_table(documents)
    batch = 2 * batch_texts(encoder, ENCODE_BATCH // 2)  # sentences are short: twice a passage call
    known = (previous[0].hash_rows(), previous[0].vectors) if previous is not None else None
    vectors, n_sent = encode_reusing(
        table.texts,
        table.hashes,
        encoder.encode_passages,
        encoder.dim,
        known,
        progress=progress,
        keep_placeholders=keep_placeholders,
        batch=batch,
    )
    texts = [heading_text(s) for s in new_sections]
    heading_hashes = np.frombuffer(b"".join(sentence_hash(t) for t in texts), dtype=np.uint8).reshape(-1, HASH_BYTES)
    known_headings = None
    if previous is not None:
        known_headings = ({sentence_hash(heading_text(s)): i for i, s in enumerate(previous[1])}, previous[0].headings)
    headings, n_head = encode_reusing(
        texts,
        heading_hashes,
        encoder.encode_passages,
        encoder.dim,
        known_headings,
        label="headings",
        keep_placeholders=keep_placeholders,
        batch=batch,
    )
    return SentenceVectors(table, vectors, headings, n_sent + n_head)


def write_sentences(folder: Path, new: SentenceVectors, *, dim: int, base: SentenceStore | None = None) -> None:
    """Write ``sentences/`` of a generation: ``base``'s rows (when appending), then ``new``'s."""
    d = folder / FOLDER
    d.mkdir(parents=True, exist_ok=True)
    table, vectors, headings = new.table, new.vectors, new.headings
    if len(vectors) != len(table):
        raise ValueError(f"{len(vectors)} vectors for {len(table)} sentences")
    if base is None:
        for name, array in (
            ("doc_offsets", table.doc_offsets),
            ("start", table.start),
            ("end", table.end),
            ("hash", table.hashes),
        ):
            write_rows(d, name, np.asarray(array))
    else:  # the base's rows are hard-linked, the new ones written as new parts (``fraga.index.rowparts``)
        n_base = int(base.doc_offsets[-1])
        write_rows(d, "doc_offsets", n_base + np.asarray(table.doc_offsets[1:], dtype=np.int64), base=base.doc_offsets)
        write_rows(d, "start", np.asarray(table.start), base=base.start)
        write_rows(d, "end", np.asarray(table.end), base=base.end)
        write_rows(d, "hash", np.asarray(table.hashes), base=base.hash)
    write_vectors(d, "vec", vectors, dim=dim, base=None if base is None else base.vectors)
    write_vectors(d, "heading", headings, dim=dim, base=None if base is None else base.headings)
