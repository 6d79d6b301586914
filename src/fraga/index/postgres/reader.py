"""``PgIndex``: an index served from the PostgreSQL store, with the attributes answering,
drafting, evaluation and the web app read from a file ``Index`` (``fraga.index.generation``).

Documents' metadata is held in memory (texts are read on access); passages, sentences and
headings are read per query. Each thread has its own connection. Every write transaction
increments ``fraga_stats.version``; the index checks it at most every ``POLL_SECONDS`` and
reloads the metadata when it moved, so several app servers on one database see a newly
indexed document without a restart. Ranking is in ``fraga.search.sql``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fraga.errors import IndexMismatchError
from fraga.index.columns import StoredDocument
from fraga.index.embed import Encoder, get_encoder
from fraga.index.lexical import Analyzer, AnalyzerSettings, _idf
from fraga.index.postgres.schema import StoreError, as_array, connect, read_meta, read_vocabulary, redact, register_vector
from fraga.index.vocab import Vocabulary
from fraga.records import Chunk, Document, Metadata, Page

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
POOL = 8  # connections per process ($FRAGA_PG_CONNECTIONS)
CACHE = 4096  # passages and document texts kept per index

_CHUNK_COLS = 'p.chunk_id, d.doc_id, p.section, p.text, p.start, p."end", p.page'


def _chunk(row) -> Chunk:
    return Chunk(row[0], row[1], row[2], row[3], int(row[4]), int(row[5]), None if row[6] is None else int(row[6]))


class _Texts:
    """What ``StoredDocument`` asks for its texts: ``doc_text(row)`` and ``doc_original(row)``
    (the row is the document's key in ``fraga_documents``)."""

    def __init__(self, index: PgIndex) -> None:
        self._index = index
        self._cache: dict[tuple[int, bool], str] = {}

    def _read(self, row: int, original: bool) -> str:
        key = (row, original)
        if key not in self._cache:
            col = "coalesce(original, text)" if original else "text"
            found = self._index.query(f"SELECT {col} FROM fraga_documents WHERE id = %s", (row,))
            if len(self._cache) >= 256:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = found[0][0] if found else ""
        return self._cache[key]

    def doc_text(self, row: int) -> str:
        return self._read(row, False)

    def doc_original(self, row: int) -> str:
        return self._read(row, True)


class PgPassages(Sequence[Chunk]):
    """The store's passages; a passage's row is its key in ``fraga_passages``."""

    def __init__(self, index: PgIndex) -> None:
        self._index = index
        self._cache: dict[int, Chunk] = {}

    def __len__(self) -> int:
        return self._index.num_passages

    def __getitem__(self, row):
        if isinstance(row, slice):
            raise TypeError("PgPassages does not take slices")
        row = int(row)
        chunk = self._cache.get(row)
        if chunk is None:
            found = self._index.query(
                f"SELECT {_CHUNK_COLS} FROM fraga_passages p JOIN fraga_documents d ON d.id = p.doc WHERE p.id = %s", (row,)
            )
            if not found:
                raise IndexError(f"no passage {row} in the store")
            chunk = _chunk(found[0])
            if len(self._cache) >= CACHE:
                self._cache.clear()
            self._cache[row] = chunk
        return chunk

    def __iter__(self) -> Iterator[Chunk]:
        rows = self._index.query(
            f"SELECT {_CHUNK_COLS} FROM fraga_passages p JOIN fraga_documents d ON d.id = p.doc ORDER BY p.id"
        )
        return (_chunk(r) for r in rows)

    def of_document(self, doc_id: str) -> list[Chunk]:
        rows = self._index.query(
            f"SELECT {_CHUNK_COLS} FROM fraga_passages p JOIN fraga_documents d ON d.id = p.doc "
            "WHERE d.doc_id = %s ORDER BY p.ord",
            (doc_id,),
        )
        return [_chunk(r) for r in rows]

    def by_ids(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """The passages with these ids (one query)."""
        rows = self._index.query(
            f"SELECT {_CHUNK_COLS} FROM fraga_passages p JOIN fraga_documents d ON d.id = p.doc WHERE p.chunk_id = ANY(%s)",
            (list(chunk_ids),),
        )
        return {r[0]: _chunk(r) for r in rows}


class PgRows(Mapping[str, int]):
    """chunk id -> row (the passage's key)."""

    def __init__(self, index: PgIndex) -> None:
        self._index = index

    def __getitem__(self, chunk_id: str) -> int:
        found = self._index.query("SELECT id FROM fraga_passages WHERE chunk_id = %s", (str(chunk_id),))
        if not found:
            raise KeyError(chunk_id)
        return int(found[0][0])

    def __len__(self) -> int:
        return self._index.num_passages

    def __iter__(self) -> Iterator[str]:
        return (r[0] for r in self._index.query("SELECT chunk_id FROM fraga_passages ORDER BY id"))


class PgTermStats:
    """What answering and drafting ask a ``Bm25Index`` for: the analyzer, document
    frequencies and IDFs (cached until the store changes)."""

    def __init__(self, index: PgIndex, analyzer: Analyzer, k1: float, b: float) -> None:
        self._index = index
        self.analyzer = analyzer
        self.k1, self.b = k1, b
        self._df: dict[str, int] = {}
        self._version = -1

    @property
    def num_docs(self) -> int:
        return self._index.num_passages

    def doc_freq(self, token: str) -> int:
        if self._version != self._index.version:
            self._df, self._version = {}, self._index.version
        if token not in self._df:
            found = self._index.query("SELECT df FROM fraga_terms WHERE term = %s", (token,))
            if len(self._df) >= 100_000:
                self._df.clear()
            self._df[token] = int(found[0][0]) if found else 0
        return self._df[token]

    def idf(self, token: str) -> float:
        return _idf(self.num_docs, self.doc_freq(token))


class PgIndex:
    """An index in PostgreSQL (see the module docstring).

    Args:
        url: ``postgresql://…``
        local_dir: A folder for what stays on this machine (the users' feedback).
            Defaults to $FRAGA_INDEX_DIR or "index".
    """

    kind = "postgresql"
    report: dict[str, Any] = {}
    source_files: dict[str, str] = {}
    dense_missing = None
    dense_complete = True

    def __init__(self, url: str, *, local_dir: str | os.PathLike[str] | None = None) -> None:
        from fraga.index.generation import default_index_dir

        self.url = url
        self.location = redact(url)
        self.local_dir = Path(local_dir or default_index_dir())
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(max(1, int(os.environ.get("FRAGA_PG_CONNECTIONS", "") or POOL)))
        self._lock = threading.Lock()
        self.opened = 0  # connections opened so far (the pool reuses them)
        with connect(url, autocommit=True) as probe:  # before pgvector's types: an empty database has none
            meta = read_meta(probe)
        if not meta:
            raise StoreError(f"Databasen {self.location} har inget fraga-index; bygg det med: fraga index corpus --store URL")
        self.meta = meta
        self.bm25 = PgTermStats(self, Analyzer(AnalyzerSettings(**meta["analyzer"])), float(meta["k1"]), float(meta["b"]))
        self.chunks = PgPassages(self)
        self.row_of = PgRows(self)
        self._encoder: Encoder | None = None
        self.version = -1
        self.num_passages = 0
        self.total_len = 0
        self.documents: dict[str, Document] = {}
        self.vocabulary: Vocabulary | None = None  # what query expansion searches (``fraga.index.vocab``)
        self._checked = 0.0
        self._reload()

    # Connections -------------------------------------------------------------
    def _open(self):
        self.opened += 1
        conn = connect(self.url, autocommit=True)
        register_vector(conn)
        # a wider HNSW beam (100,000 passages: recall@10 0.955 at 100, 0.985 at 200, 2.0 / 2.5 ms), and
        # filtered searches that go on scanning until they have k rows
        conn.execute("SET hnsw.ef_search = 200")
        conn.execute("SET hnsw.iterative_scan = relaxed_order")
        return conn

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """A connection of the pool (at most ``FRAGA_PG_CONNECTIONS``, default 8, per process:
        a thread waits for one when all are in use). A connection that fails is closed, not reused."""
        self._slots.acquire()
        conn = None
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._open()
            if conn.closed:
                conn = self._open()
            yield conn
        except Exception:
            if conn is not None and (conn.closed or conn.broken):
                conn.close()
                conn = None
            raise
        finally:
            if conn is not None and not conn.closed:
                self._idle.put(conn)
            self._slots.release()

    def query(self, sql: str, params: Sequence | Mapping | None = None) -> list[tuple]:
        """Rows of ``sql`` (one statement: one snapshot). A lost connection (a restarted server)
        is opened again once; then StoreError."""
        import psycopg

        for attempt in (1, 2):
            try:
                with self.connection() as conn:
                    return conn.execute(sql, params).fetchall()
            except psycopg.OperationalError as exc:
                if attempt == 2:
                    raise StoreError(f"PostgreSQL på {self.location} svarar inte ({exc}); försök igen om en stund") from exc
                logger.warning("connection to %s lost (%s); reconnecting", self.location, exc)
                while True:  # a restarted server took the idle connections too
                    try:
                        self._idle.get_nowait().close()
                    except queue.Empty:
                        break
        raise AssertionError("unreachable")

    # Changes -----------------------------------------------------------------
    @property
    def state(self) -> int:
        """Changes when the store changed (checked at most every ``POLL_SECONDS``)."""
        now = time.monotonic()
        if now - self._checked >= POLL_SECONDS:
            self._checked = now
            found = self.query("SELECT version FROM fraga_stats WHERE id = 1")
            if found and int(found[0][0]) != self.version:
                self._reload()
        return self.version

    def refresh(self) -> None:
        """Read the store's state now (after this process wrote to it)."""
        self._checked = 0.0
        self.state  # noqa: B018

    def _reload(self) -> None:
        with self._lock, self.connection() as conn:
            with conn.transaction():  # one snapshot: statistics and documents agree
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                version, n, total = conn.execute(
                    "SELECT version, num_passages, total_len FROM fraga_stats WHERE id = 1"
                ).fetchone()
                rows = conn.execute(
                    "SELECT id, doc_id, path, metadata, pages, encoding FROM fraga_documents ORDER BY id"
                ).fetchall()
                vocabulary = read_vocabulary(conn)
            texts = _Texts(self)
            docs: dict[str, Document] = {}
            for pk, doc_id, path, meta, pages, encoding in rows:
                docs[doc_id] = StoredDocument.stored(
                    texts,  # type: ignore[arg-type]
                    int(pk),
                    doc_id,
                    path,
                    Metadata.from_dict(meta),
                    tuple(Page(a, b) for a, b in pages),
                    encoding,
                )
            self.documents = docs
            self.vocabulary = vocabulary
            self.num_passages, self.total_len = int(n), int(total)
            self.chunks = PgPassages(self)
            self.version = int(version)
            logger.info("store %s at version %d: %d documents, %d passages", self.location, self.version, len(docs), n)

    # What the file index also has --------------------------------------------
    @property
    def manifest(self) -> dict[str, Any]:
        return {
            "format": self.meta.get("format"),
            "store": self.location,
            "encoder": self.meta["encoder"],
            "analyzer": self.meta["analyzer"],
            "num_chunks": self.num_passages,
            "version": self.version,
        }

    @property
    def generation(self) -> str:
        return f"postgresql-v{self.version}"

    @property
    def doc_ids(self) -> list[str]:
        return list(self.documents)

    @property
    def dim(self) -> int:
        return int(self.meta["encoder"]["dim"])

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            enc = get_encoder(self.meta["encoder"]["name"])
            if enc.dim != self.dim:
                raise IndexMismatchError(f"Kodaren {enc.name} ger {enc.dim} dimensioner men databasen har {self.dim}")
            self._encoder = enc
        return self._encoder

    def dense_coverage(self) -> tuple[int, int]:
        return self.num_passages, self.num_passages

    def districts(self) -> list[str]:
        return sorted({d.metadata.district for d in self.documents.values() if d.metadata.district})

    def source_path(self, doc_id: str) -> Path | None:
        return None  # the store keeps texts, not original files

    def passage_sentences(self, chunk: Chunk) -> tuple[list[int], list[tuple[int, int]], np.ndarray]:
        """(keys, spans, vectors) of the sentences inside ``chunk``, in text order."""
        rows = self.query(
            'SELECT s.doc * 10000000 + s.ord, s.start, s."end", s.vector FROM fraga_sentences s '
            "JOIN fraga_documents d ON d.id = s.doc WHERE d.doc_id = %s AND s.start >= %s AND s.start < %s "
            'AND s."end" <= %s ORDER BY s.ord',
            (chunk.doc_id, chunk.start, chunk.end, chunk.end),
        )
        if not rows:
            return [], [], np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.stack([as_array(r[3]) for r in rows])
        return [int(r[0]) for r in rows], [(int(r[1]), int(r[2])) for r in rows], vectors

    def heading_vector(self, section: str) -> np.ndarray | None:
        found = self.query("SELECT vector FROM fraga_headings WHERE section = %s", (section,))
        return as_array(found[0][0]) if found else None
