"""Passages and document texts of an index generation, stored column-wise.

A million passages as JSON lines take tens of seconds to parse and gigabytes as Python
objects. Format 2 keeps one memory-mapped .npy file per field (``chunks/doc.npy``,
``chunks/start.npy``, …) and the texts as text columns (``fraga.index.textcolumn``:
``chunks/text-000000.bin`` with ``chunks/text_offsets.npy``, read with ``pread``). Loading
reads the document table only, and a ``Chunk`` is built when a caller asks for one.

An append writes only the new document's rows: the .npy fields are row parts
(``fraga.index.rowparts``: ``chunks/doc-000001.npy``, …), the document table gains a part
``documents-NNNNNN.jsonl`` after ``documents.jsonl``, and the rest is hard-linked.
"""

from __future__ import annotations

import json
import logging
import operator
import shutil
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from fraga.errors import IndexCorruptError
from fraga.records import Chunk, Document, Metadata, Page
from fraga.index import rowparts
from fraga.index.rowparts import RowParts, link, offsets_array, write_rows
from fraga.index.textcolumn import TextColumn, write_texts

logger = logging.getLogger(__name__)

BLOCK = 4096  # rows decoded at a time when iterating
HASH_BYTES = 16  # content_hash: 32 hex digits


# STORED RECORDS ===============================================================
def _text_of(doc: StoredDocument) -> str:
    value = object.__getattribute__(doc, "_text")
    return value if value is not None else doc._store.doc_text(doc._row)


def _original_of(doc: StoredDocument) -> str:
    value = object.__getattribute__(doc, "_original")
    return value if value is not None else doc._store.doc_original(doc._row)


class StoredDocument(Document):
    """A ``Document`` of a loaded index whose ``text`` and ``original_text`` are read from
    the text columns on access, so holding every document costs its metadata only."""

    __slots__ = ("_store", "_row", "_text", "_original")
    _store: Store
    _row: int

    text = property(_text_of, lambda self, v: object.__setattr__(self, "_text", v))
    original_text = property(_original_of, lambda self, v: object.__setattr__(self, "_original", v))

    @classmethod
    def stored(
        cls, store: Store, row: int, doc_id: str, path: str, metadata: Metadata, pages: tuple[Page, ...], encoding: str
    ) -> StoredDocument:
        doc = cls.__new__(cls)
        for key, value in (
            ("doc_id", doc_id),
            ("path", path),
            ("metadata", metadata),
            ("pages", pages),
            ("encoding", encoding),
            ("_store", store),
            ("_row", row),
            ("_text", None),
            ("_original", None),
        ):
            object.__setattr__(doc, key, value)
        return doc


# THE STORE ====================================================================
class Store:
    """The columns of one generation: passages (``chunks/``) and document texts (``documents/``)."""

    def __init__(self, folder: Path, doc_ids: list[str], original_same: Sequence[bool]) -> None:
        c = folder / "chunks"
        self.folder = folder
        self.doc_ids = doc_ids
        self.doc_pos = {d: i for i, d in enumerate(doc_ids)}
        self.original_same = list(original_same)
        self.doc, self.start, self.end = RowParts(c, "doc"), RowParts(c, "start"), RowParts(c, "end")
        self.page, self.section, self.hash = RowParts(c, "page"), RowParts(c, "section"), RowParts(c, "hash")
        self.sections: list[str] = json.loads((c / "sections.json").read_text(encoding="utf-8"))
        self._section_no: dict[str, int] | None = None
        self.text = TextColumn(c, "text")
        self.ids = TextColumn(c, "id") if (c / "id_offsets.npy").exists() else None
        self.doc_texts = TextColumn(folder / "documents", "text")
        self.doc_text = lru_cache(maxsize=64)(self.doc_texts.__getitem__)  # a document's text, recent ones cached
        self.originals = TextColumn(folder / "documents", "original")
        n = len(self.doc)
        if (
            any(len(a) != n for a in (self.start, self.end, self.page, self.section, self.hash, self.text))
            or self.hash.shape[1:] != (HASH_BYTES,)
            or (self.ids is not None and len(self.ids) != n)
            or len(self.doc_texts) != len(doc_ids)
            or len(self.originals) != len(doc_ids)
        ):
            raise IndexCorruptError(f"Passagekolumnerna i {folder} har olika längd; bygg om med: fraga index")
        doc = np.asarray(self.doc)
        if n and (int(doc.min()) < 0 or int(doc.max()) >= len(doc_ids)):
            raise IndexCorruptError(f"Passager i {folder} pekar på okända dokument; bygg om med: fraga index")
        self.count = np.bincount(doc, minlength=len(doc_ids)).astype(np.int64)
        starts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]]) if n else np.zeros(0, np.int64)
        self.first = np.full(len(doc_ids), -1, dtype=np.int64)
        self.first[doc[starts]] = starts
        if len(starts) != np.count_nonzero(self.count):
            raise IndexCorruptError(f"Passagerna i {folder} ligger inte samlade per dokument; bygg om med: fraga index")
        self._row_dict = {self.ids[i]: i for i in range(n)} if self.ids is not None else None

    def __len__(self) -> int:
        return len(self.doc)

    def doc_original(self, row: int) -> str:
        return self.doc_text(row) if self.original_same[row] else self.originals[row]

    def chunk_id(self, row: int) -> str:
        if self.ids is not None:
            return self.ids[row]
        d = int(self.doc[row])
        return f"{self.doc_ids[d]}#{row - int(self.first[d])}"

    def row(self, chunk_id: object) -> int | None:
        """The row of ``chunk_id``, computed from its "{doc_id}#{n}" form (None when unknown)."""
        if not isinstance(chunk_id, str):
            return None
        if self._row_dict is not None:
            return self._row_dict.get(chunk_id)
        doc_id, sep, n = chunk_id.rpartition("#")
        if not sep or not (n.isascii() and n.isdigit()) or (len(n) > 1 and n[0] == "0"):
            return None
        d = self.doc_pos.get(doc_id)
        if d is None or int(n) >= self.count[d]:
            return None
        return int(self.first[d]) + int(n)

    def chunks(self, lo: int, hi: int) -> list[Chunk]:
        """The passages of rows ``lo``..``hi - 1``."""
        docs = self.doc[lo:hi]
        if self.ids is not None:
            ids = [self.ids[i] for i in range(lo, hi)]
        else:
            numbers = (np.arange(lo, hi) - self.first[docs]).tolist()
            ids = [f"{self.doc_ids[d]}#{n}" for d, n in zip(docs.tolist(), numbers)]
        starts, ends = self.start[lo:hi].tolist(), self.end[lo:hi].tolist()
        pages, sections = self.page[lo:hi].tolist(), self.section[lo:hi].tolist()
        offsets = self.text.offsets[lo : hi + 1].tolist()
        return [
            Chunk(
                ids[i],
                self.doc_ids[d],
                self.sections[sections[i]],
                self.text.read(offsets[i], offsets[i + 1]),
                starts[i],
                ends[i],
                None if pages[i] < 0 else pages[i],
            )
            for i, d in enumerate(docs.tolist())
        ]

    def section_numbers(self) -> dict[str, int]:
        """Section path -> its number (position in ``sections.json``), built on first use."""
        if self._section_no is None:
            self._section_no = {name: i for i, name in enumerate(self.sections)}
        return self._section_no

    def hash_hex(self) -> list[str]:
        """Every passage's content hash, in row order."""
        raw = np.ascontiguousarray(self.hash).tobytes()
        return [raw[i : i + HASH_BYTES].hex() for i in range(0, len(raw), HASH_BYTES)]


class Passages(Sequence[Chunk]):
    """The index's passages as a read-only sequence; each ``Chunk`` is built on access."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __len__(self) -> int:
        return len(self._store)

    def __getitem__(self, key):
        n = len(self._store)
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step == 1:
                return self._store.chunks(start, max(start, stop))
            return [self._store.chunks(i, i + 1)[0] for i in range(start, stop, step)]
        i = operator.index(key)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"passage {key} out of range (the index has {n})")
        return self._store.chunks(i, i + 1)[0]

    def __iter__(self) -> Iterator[Chunk]:
        for lo in range(0, len(self._store), BLOCK):
            yield from self._store.chunks(lo, min(lo + BLOCK, len(self._store)))

    def of_document(self, doc_id: str) -> list[Chunk]:
        """The passages of ``doc_id`` (they are contiguous rows), without scanning the others."""
        d = self._store.doc_pos.get(doc_id)
        if d is None or not self._store.count[d]:
            return []
        first = int(self._store.first[d])
        return self._store.chunks(first, first + int(self._store.count[d]))


class RowIndex(Mapping[str, int]):
    """chunk_id -> row, computed rather than stored (``index.row_of[cid]``, ``.get``, ``in``)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getitem__(self, chunk_id: str) -> int:
        row = self._store.row(chunk_id)
        if row is None:
            raise KeyError(chunk_id)
        return row

    def __contains__(self, chunk_id: object) -> bool:
        return self._store.row(chunk_id) is not None

    def __len__(self) -> int:
        return len(self._store)

    def __iter__(self) -> Iterator[str]:
        return (self._store.chunk_id(i) for i in range(len(self._store)))


# READING AND WRITING ==========================================================
def document_parts(folder: Path) -> list[Path]:
    """``documents.jsonl`` (the last full build's documents) and the parts an append added,
    ``documents-NNNNNN.jsonl``, in order."""
    return [folder / "documents.jsonl", *sorted(folder.glob("documents-*.jsonl"))]


def read_store(folder: Path) -> tuple[Store, dict[str, Document], dict[str, str]]:
    """The store of generation ``folder``, its documents (texts read on access) and source files."""
    # Each line becomes its parsed fields at once, so the raw json of every document is never
    # alive at the same time (at 40,000 documents that left ~100 MB of freed heap behind).
    ids: list[str] = []
    same: list[bool] = []
    fields: list[tuple[str, Metadata, tuple[Page, ...], str, str]] = []
    for path in document_parts(folder):
        with open(path, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                ids.append(r["doc_id"])
                same.append(bool(r.get("original_same")))
                pages = tuple(Page(a, b) for a, b in r["pages"])
                meta = Metadata.from_dict(r["metadata"])
                fields.append((r["path"], meta, pages, r.get("encoding", "utf-8"), r.get("source_file", "")))
    store = Store(folder, ids, same)
    documents: dict[str, Document] = {}
    source_files: dict[str, str] = {}
    for n, (doc_id, (doc_path, meta, pages, encoding, source)) in enumerate(zip(ids, fields)):
        documents[doc_id] = StoredDocument.stored(store, n, doc_id, doc_path, meta, pages, encoding)
        source_files[doc_id] = source
    return store, documents, source_files


def _doc_json(doc: Document, stored: str, same: bool) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id,
        "path": doc.path,
        "source_file": stored,
        "encoding": doc.encoding,
        "metadata": doc.metadata.to_dict(),
        "pages": [[p.number, p.start] for p in doc.pages],
        "original_same": same,
    }


def _derived_ids(chunks: Sequence[Chunk], doc_rows: np.ndarray) -> bool:
    """True when each document's passages are contiguous and named "{doc_id}#0", "#1", …"""
    seen: set[int] = set()
    prev, k = -1, 0
    for chunk, d in zip(chunks, doc_rows.tolist()):
        if d != prev:
            if d in seen:
                return False
            seen.add(d)
            prev, k = d, 0
        if chunk.chunk_id != f"{chunk.doc_id}#{k}":
            return False
        k += 1
    return True


def section_list(chunks: Sequence[Chunk], base: Sequence[str] = ()) -> list[str]:
    """``chunks/sections.json``: ``base``'s section paths, then new ones in order of first use."""
    return list(dict.fromkeys([*base, *(ch.section for ch in chunks)]))


def write_store(
    folder: Path,
    documents: Sequence[Document],
    chunks: Sequence[Chunk],
    hashes: Sequence[str],
    source_files: Sequence[str],
    *,
    base: Store | None = None,
) -> None:
    """Write ``documents.jsonl``, ``documents/`` and ``chunks/`` of a generation into ``folder``.

    Args:
        folder: The new generation's folder.
        documents: The documents, in row order (after ``base``'s when appending).
        chunks: Their passages, in row order; each document's passages together.
        hashes: ``content_hash`` of each passage's embedded text.
        source_files: The stored source file name of each document ("" for none).
        base: The store of the generation being extended (append). Defaults to None.

    Raises:
        ValueError: when a passage names a document that is not given, or a hash is malformed.
    """
    n_base_docs = len(base.doc_ids) if base is not None else 0
    position = {d.doc_id: n_base_docs + i for i, d in enumerate(documents)}
    try:
        doc_rows = np.fromiter((position[c.doc_id] for c in chunks), dtype=np.int32, count=len(chunks))
    except KeyError as exc:
        raise ValueError(f"passage of unknown document {exc.args[0]!r}; pass its Document too") from None
    name = "documents.jsonl"
    if base is not None:  # the base's parts hard-linked (appended ones merged into one after PART_LIMIT)
        parts = document_parts(base.folder)
        keep = parts if len(parts) - 1 < rowparts.PART_LIMIT else parts[:1]
        for n, path in enumerate(keep):
            link(path, folder / (path.name if n == 0 else f"documents-{n:06d}.jsonl"))
        if len(parts) > len(keep):
            with open(folder / f"documents-{len(keep):06d}.jsonl", "wb") as out:
                for path in parts[len(keep) :]:
                    with open(path, "rb") as f:
                        shutil.copyfileobj(f, out, 1 << 20)
        name = f"documents-{len(document_parts(folder)):06d}.jsonl"
    with open(folder / name, "w", encoding="utf-8") as f:
        for doc, stored in zip(documents, source_files):
            f.write(json.dumps(_doc_json(doc, stored, doc.original_text == doc.text), ensure_ascii=False) + "\n")
    d = folder / "documents"
    write_texts(d, "text", (doc.text for doc in documents), base=None if base is None else base.doc_texts)
    write_texts(
        d,
        "original",
        ("" if doc.original_text == doc.text else doc.original_text for doc in documents),
        base=None if base is None else base.originals,
    )

    c = folder / "chunks"
    c.mkdir(parents=True, exist_ok=True)
    sections = section_list(chunks, base.sections if base is not None else ())
    section_no = {s: i for i, s in enumerate(sections)}
    section_rows = np.fromiter((section_no[ch.section] for ch in chunks), dtype=np.int32, count=len(chunks))
    (c / "sections.json").write_text(json.dumps(sections, ensure_ascii=False), encoding="utf-8")
    raw = b"".join(bytes.fromhex(h) for h in hashes)
    if len(hashes) != len(chunks) or len(raw) != HASH_BYTES * len(chunks):
        raise ValueError(f"expected one {2 * HASH_BYTES}-digit hex hash per passage ({len(chunks)})")
    columns: dict[str, np.ndarray] = {
        "doc": doc_rows,
        "section": section_rows,
        "start": offsets_array(np.fromiter((ch.start for ch in chunks), dtype=np.int64, count=len(chunks))),
        "end": offsets_array(np.fromiter((ch.end for ch in chunks), dtype=np.int64, count=len(chunks))),
        "page": np.fromiter((-1 if ch.page is None else ch.page for ch in chunks), dtype=np.int32, count=len(chunks)),
        "hash": np.frombuffer(raw, dtype=np.uint8).reshape(len(chunks), HASH_BYTES),
    }
    for name, new in columns.items():  # an append links the base's parts and writes the new rows
        write_rows(c, name, new, base=getattr(base, name) if base is not None else None)
    write_texts(c, "text", (ch.text for ch in chunks), base=None if base is None else base.text)
    if base is None or base.ids is None:
        if _derived_ids(chunks, doc_rows):
            return
        old_ids = [base.chunk_id(i) for i in range(len(base))] if base is not None else []
        write_texts(c, "id", old_ids + [ch.chunk_id for ch in chunks])
    else:
        write_texts(c, "id", (ch.chunk_id for ch in chunks), base=base.ids)
