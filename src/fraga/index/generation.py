"""Index generations: write, publish and load the hybrid index folder (plain files, no pickles).

Layout: ``INDEX_DIR/CURRENT`` names the generation folder in use (``gen-NNNNNN``). A
build (``fraga.index.build``) writes a new generation beside it and switches ``CURRENT``
atomically, so an interrupted or failed build leaves the previous index loadable.
Passages and document texts are stored column-wise and memory-mapped
(``fraga.index.columns``), sentence vectors in ``sentences/`` (``fraga.index.sentences``),
so a million passages load in seconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from fraga import __version__
from fraga.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from fraga.index import dense as dense_mod
from fraga.index.columns import Passages, RowIndex, Store, read_store, section_list, write_store
from fraga.index.embed import Encoder, get_encoder
from fraga.index.lexical import Bm25Index
from fraga.index.rowparts import RowParts
from fraga.index.sources import remove_unused
from fraga.index.tree import fsync_tree, walk
from fraga.index.sentences import SentenceStore, SentenceVectors, write_sentences
from fraga.index.vocab import Vocabulary, load_vocabulary, write_vocabulary
from fraga.ingest.corpus import Corpus
from fraga.records import Chunk, Document

logger = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 2: column files (chunks/, documents/); 3: sentence vectors (sentences/)
# 4: a generation an append wrote: BM25 segments, added vectors and row parts (``fraga.index.append``).
# A full build still writes 3, which this version reads the same way; older versions refuse 4 clearly.
APPENDED_FORMAT = 4
READABLE_FORMATS = (FORMAT_VERSION, APPENDED_FORMAT)
DEFAULT_INDEX_DIR = "index"
CHECKSUM_FULL_LIMIT = 512 * 1024 * 1024  # SHA-256 of files up to this total size; sizes only above it


def default_index_dir() -> str:
    return os.environ.get("FRAGA_INDEX_DIR") or DEFAULT_INDEX_DIR


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def current_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise IndexCorruptError(f"Indexet i {index_dir} är skadat (CURRENT = {name!r}); bygg om med: fraga index")
    return index_dir / name


def write_generation(
    index_path: Path,
    corpus: Corpus,
    docs: dict[str, Document],
    chunks: list[Chunk],
    hashes: list[str],
    bm25: Bm25Index,
    faiss_index,
    enc: Encoder,
    sentences: SentenceVectors,
    *,
    engine: str = "",
    dense: dict[str, Any] | None = None,
    keep: tuple[str, ...] = (),
    vocab: Vocabulary | None = None,
) -> Path:
    """Write a complete generation of ``docs`` and ``chunks`` and make it current.

    ``sentences`` holds the sentence vectors of ``docs`` and one heading vector per
    section path (``columns.section_list(chunks)`` order). The manifest names the
    encoder's model (``enc.name``, what queries are encoded with) and, when known, the
    engine that computed the vectors (``engine``, else ``enc.engine``). ``dense``, when given,
    is the manifest's ``dense`` entry of a generation whose dense vectors are incomplete
    (``fraga.index.progressive``); ``keep`` names older generations to leave on disk (the
    build still reads them). ``vocab``, when given, is the encoded vocabulary
    (``fraga.index.vocab``; without one, questions are not expanded).
    """
    if len(sentences.headings) != len(section_list(chunks)):
        raise ValueError(f"{len(sentences.headings)} heading vectors for {len(section_list(chunks))} sections")
    index_path.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=index_path))
    try:
        (tmp / "sources").mkdir()
        stored = []
        for n, doc in enumerate(docs.values()):
            src = Path(corpus.root) / doc.path
            stored.append(f"{n}{src.suffix.lower()}")
            try:
                shutil.copyfile(src, tmp / "sources" / stored[-1])
            except OSError:
                stored[-1] = ""
        write_store(tmp, list(docs.values()), chunks, hashes, stored)
        write_sentences(tmp, sentences, dim=int(enc.dim))
        if vocab is not None:
            write_vocabulary(tmp, vocab)
        bm25.save(tmp / "bm25")
        dense_mod.save_faiss(faiss_index, tmp / "dense.faiss")
        report = {
            "skipped": [{"path": s.path, "reason": s.reason} for s in corpus.skipped],
            "duplicates": [{"kept": a, "duplicate": b} for a, b in corpus.duplicates],
        }
        (tmp / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        manifest: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "fraga_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "corpus": str(Path(corpus.root).resolve()),
            "encoder": _encoder_entry(enc, engine),
            "analyzer": bm25.analyzer.settings.to_dict(),
            "faiss": {"kind": dense_mod.kind_of(faiss_index)},
            "num_chunks": len(chunks),
            "num_sentences": len(sentences.table),
            **({"dense": dense} if dense is not None else {}),
            "documents": {d.doc_id: {"path": d.path, "hash": d.hash} for d in docs.values()},
            "files": file_table(tmp),
        }
        gen = publish_generation(index_path, tmp, manifest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    remove_old_generations(index_path, keep=gen.name, also=keep)
    return gen


def _encoder_entry(enc: Encoder, engine: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": enc.name, "dim": int(enc.dim)}
    engine = engine or str(getattr(enc, "engine", "") or "")
    if engine:
        entry["engine"] = engine
    return entry


def file_table(folder: Path, previous: tuple[Path, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Size of every file under ``folder``, with its SHA-256 when the total is at most
    ``CHECKSUM_FULL_LIMIT`` (null above: load then checks sizes only).

    Args:
        folder: The new generation.
        previous: (folder, files) of the generation it extends: the entries of files
            hard-linked from it are reused instead of hashed again. Defaults to None.
    """
    stats = {rel: e.stat(follow_symlinks=False) for rel, e in walk(folder) if e.is_file(follow_symlinks=False)}
    checksums = sum(st.st_size for st in stats.values()) <= CHECKSUM_FULL_LIMIT
    linked: dict[str, int] = {}  # inode of each file of the previous generation (from its folder entries)
    if previous is not None and previous[0].is_dir():
        linked = {rel: e.inode() for rel, e in walk(previous[0]) if rel in previous[1]}
    out: dict[str, dict[str, Any]] = {}
    for rel in sorted(stats):
        st = stats[rel]
        if (
            previous is not None
            and st.st_nlink > 1
            and linked.get(rel) == st.st_ino
            and (previous[1][rel].get("sha256") or not checksums)
        ):
            out[rel] = previous[1][rel]
        else:
            out[rel] = {"sha256": _sha256(folder / rel) if checksums else None, "bytes": st.st_size}
    return out


def publish_generation(index_path: Path, tmp: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest`` into the complete folder ``tmp``, make it the next generation and
    switch ``CURRENT`` to it atomically. Returns the generation folder."""
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    fsync_tree(tmp)
    gen = index_path / _next_generation_name(index_path)
    os.rename(tmp, gen)
    pointer_tmp = index_path / ".CURRENT.tmp"
    pointer_tmp.write_text(gen.name + "\n", encoding="utf-8")
    os.replace(pointer_tmp, index_path / "CURRENT")
    return gen


def _next_generation_name(index_path: Path) -> str:
    numbers = [int(p.name[4:]) for p in index_path.glob("gen-*") if p.name[4:].isdigit()]
    return f"gen-{max(numbers, default=0) + 1:06d}"


def remove_old_generations(index_path: Path, keep: str, also: tuple[str, ...] = ()) -> None:
    """Remove every generation but ``keep`` and ``also`` (and unfinished ones), then the shared
    source folders none of the rest points to (``fraga.index.sources``)."""
    for p in index_path.iterdir():
        if (
            p.is_dir()
            and (p.name.startswith("gen-") or p.name.startswith(".building-"))
            and p.name != keep
            and p.name not in also
        ):
            shutil.rmtree(p, ignore_errors=True)
    remove_unused(index_path)


class Index:
    """A loaded index: documents, passages, BM25, FAISS and sentence vectors.

    ``chunks`` is a read-only sequence of ``Chunk`` built on access, ``row_of`` maps a
    chunk id to its row, ``documents`` maps a document id to a ``Document`` whose texts
    are read on access, ``sentences`` holds the vectors of every passage's sentences.
    """

    def __init__(
        self,
        folder: Path,
        manifest: dict[str, Any],
        store: Store,
        documents: dict[str, Document],
        source_files: dict[str, str],
        bm25: Bm25Index,
        faiss_index,
        report: dict[str, Any],
    ) -> None:
        self.folder = folder
        self.manifest = manifest
        self.documents = documents
        self.source_files = source_files
        self.bm25 = bm25
        self.faiss = faiss_index
        self.report = report
        self._encoder: Encoder | None = None
        self._missing: tuple[tuple[int, int], np.ndarray] | None = None
        self.attach(store)

    def attach(self, store: Store) -> None:
        """Read passages and sentences from ``store``'s generation (also after an append)."""
        self.columns = store
        self.chunks = Passages(store)
        self.row_of = RowIndex(store)
        self.sentences = SentenceStore(store.folder, documents=len(store.doc_ids), sections=len(store.sections))
        self._vocab: tuple[Vocabulary | None] | None = None

    @property
    def vocabulary(self) -> Vocabulary | None:
        """The encoded vocabulary of the passages (``fraga.index.vocab``), read on first use;
        None when the generation has none."""
        if self._vocab is None:
            self._vocab = (load_vocabulary(self.columns.folder),)
        return self._vocab[0]

    @property
    def doc_ids(self) -> list[str]:
        """Document ids in row order (the values of ``chunk_doc_rows`` index into it)."""
        return self.columns.doc_ids

    @property
    def chunk_doc_rows(self) -> RowParts:
        """(n,) int32: the document row of each passage (memory-mapped row parts; ``np.asarray`` joins them)."""
        return self.columns.doc

    @property
    def dense_complete(self) -> bool:
        """False for a BM25-first generation whose passages do not all have dense vectors yet."""
        return bool((self.manifest.get("dense") or {}).get("complete", True))

    @property
    def dense_missing(self) -> np.ndarray | None:
        """(n,) bool: passages without a dense vector yet, or None when every passage has one."""
        if self.dense_complete:
            return None
        key = (id(self.faiss), int(self.faiss.ntotal))
        if self._missing is None or self._missing[0] != key:
            from fraga.index.progressive import missing_rows

            self._missing = (key, missing_rows(self.faiss))
        return self._missing[1]

    def dense_coverage(self) -> tuple[int, int]:
        """(passages with a dense vector, passages)."""
        missing = self.dense_missing
        n = len(self.columns)
        return (n, n) if missing is None else (n - int(np.count_nonzero(missing)), n)

    @property
    def dim(self) -> int:
        return int(self.manifest["encoder"]["dim"])

    @property
    def encoder(self) -> Encoder:
        """The encoder the index was built with (loaded on first use)."""
        if self._encoder is None:
            enc = get_encoder(self.manifest["encoder"]["name"])
            if enc.dim != self.dim:
                raise IndexMismatchError(
                    f"Kodaren {enc.name} ger {enc.dim} dimensioner men indexet har {self.dim}; bygg om med: fraga index"
                )
            self._encoder = enc
        return self._encoder

    def districts(self) -> list[str]:
        return sorted({d.metadata.district for d in self.documents.values() if d.metadata.district})

    # What a store of another kind (``fraga.index.postgres.reader.PgIndex``) has too --------
    kind = "files"

    @property
    def state(self) -> object:
        """Changes when the passages change (an append attaches a new store)."""
        return self.columns

    @property
    def location(self) -> str:
        """Where the index is, for people: its folder."""
        return str(self.folder.parent)

    @property
    def generation(self) -> str:
        """The name of the generation in use."""
        return self.folder.name

    @property
    def local_dir(self) -> Path:
        """The folder for what stays beside the index (the users' feedback)."""
        return self.folder.parent

    def passage_sentences(self, chunk: Chunk) -> tuple[list[int], list[tuple[int, int]], np.ndarray]:
        """(keys, spans, vectors) of the sentences inside ``chunk``, in text order."""
        store = self.sentences
        lo, hi = store.rows(self.columns.doc_pos[chunk.doc_id], chunk.start, chunk.end)
        if hi <= lo:
            return [], [], np.zeros((0, self.dim), dtype=np.float32)
        return list(range(lo, hi)), store.spans(lo, hi), store.vectors.read(lo, hi)

    def heading_vector(self, section: str) -> np.ndarray | None:
        """The vector of a section path's heading (None for a section the index lacks)."""
        n = self.columns.section_numbers().get(section)
        return None if n is None else self.sentences.headings.read(n, n + 1)[0]

    def source_path(self, doc_id: str) -> Path | None:
        """The stored original file of ``doc_id`` (only files inside the index are served)."""
        stored = self.source_files.get(doc_id)
        if not stored:
            return None
        path = (self.folder / "sources" / stored).resolve()
        if path.parent != (self.folder / "sources").resolve() or not path.is_file():
            return None
        return path


def load_index(index_dir: str | os.PathLike[str] | None = None, *, encoder: str | None = None, verify: bool = True) -> Index:
    """Load the current index generation from ``index_dir``.

    Args:
        index_dir: The index folder. Defaults to $FRAGA_INDEX_DIR or "index".
        encoder: When given, the encoder name the caller expects; a different one
            in the manifest raises IndexMismatchError.
        verify: Check every file against the manifest's checksums.

    Raises:
        IndexNotFoundError, IndexMismatchError, IndexCorruptError.
    """
    index_path = Path(index_dir or default_index_dir())
    gen = current_generation(index_path) if index_path.is_dir() else None
    if gen is None:
        raise IndexNotFoundError(f"Inget index i {str(index_path)!r}. Bygg det med: fraga index corpus/ --index-dir {index_path}")
    manifest_path = gen / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"Indexets manifest går inte att läsa ({exc}); bygg om med: fraga index") from exc
    if manifest.get("format") not in READABLE_FORMATS:
        raise IndexMismatchError(
            f"Indexet har format {manifest.get('format')!r}, den här versionen av fraga läser format "
            f"{' och '.join(map(str, READABLE_FORMATS))}; bygg om med: fraga index"
        )
    if encoder and manifest["encoder"]["name"] != encoder:
        raise IndexMismatchError(
            f"Indexet byggdes med kodaren {manifest['encoder']['name']!r}, inte {encoder!r}; "
            f"bygg om med: fraga index --encoder {encoder}"
        )
    _verify_files(gen, manifest, full=verify)
    try:
        return _read_generation(gen, manifest)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise IndexCorruptError(f"Indexet i {gen} går inte att läsa ({exc}); bygg om med: fraga index") from exc


def _verify_files(gen: Path, manifest: dict[str, Any], *, full: bool) -> None:
    files = manifest.get("files", {})
    total = sum(f["bytes"] for f in files.values())
    for rel, info in files.items():
        path = gen / rel
        if not path.is_file() or path.stat().st_size != info["bytes"]:
            raise IndexCorruptError(f"Indexfilen {rel} saknas eller har fel storlek; bygg om med: fraga index")
        if full and total <= CHECKSUM_FULL_LIMIT and info.get("sha256") and _sha256(path) != info["sha256"]:
            raise IndexCorruptError(f"Indexfilen {rel} har ändrats (fel kontrollsumma); bygg om med: fraga index")


def _read_generation(gen: Path, manifest: dict[str, Any]) -> Index:
    store, documents, source_files = read_store(gen)
    bm25 = Bm25Index.load(gen / "bm25", mmap=True, segments=manifest.get("bm25_segments", ()))
    faiss_index = dense_mod.load_faiss(gen / "dense.faiss")
    dense_mod.add_saved(faiss_index, gen, (manifest.get("faiss") or {}).get("added", ()))
    n = len(store)
    if faiss_index.ntotal != n or bm25.num_docs != n:
        raise IndexCorruptError(
            f"Indexet är inkonsekvent ({n} passager, {faiss_index.ntotal} vektorer, "
            f"{bm25.num_docs} BM25-rader); bygg om med: fraga index"
        )
    report_path = gen / "report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    return Index(gen, manifest, store, documents, source_files, bm25, faiss_index, report)
