"""Connecting to PostgreSQL and creating fraga's tables.

One database holds one index. Tables (all prefixed ``fraga_``):

- ``fraga_meta``: the index's settings (format, encoder name and dimension, analyzer, k1, b);
- ``fraga_stats``: one row with the passage count and total BM25 length, and a ``version``
  that every write transaction increments (readers poll it to see new documents);
- ``fraga_documents``: metadata (with district, type and date as columns for filters), texts;
- ``fraga_passages``: passages with their vector (pgvector, HNSW on inner product) and the
  filter columns copied from their document;
- ``fraga_postings`` (term, passage, tf, dl) and ``fraga_terms`` (term, df): BM25 in SQL;
- ``fraga_sentences`` and ``fraga_headings``: the sentence and heading vectors answering reads.

There are no foreign keys (their per-row triggers cost most of a bulk load): ``writer`` deletes a
document's rows from every table in the transaction that deletes the document.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from fraga.errors import FragaError

logger = logging.getLogger(__name__)

FORMAT = 1
SCHEMES = ("postgresql://", "postgres://")


class StoreError(FragaError):
    """The PostgreSQL store cannot be reached, is not a fraga store, or refused a write."""


def is_store_url(value: object) -> bool:
    """Whether ``value`` names a PostgreSQL store (``postgresql://…``) rather than a folder."""
    return isinstance(value, str) and value.startswith(SCHEMES)


def default_store() -> str:
    """$FRAGA_STORE when it names a PostgreSQL store, else "" (the file index)."""
    value = os.environ.get("FRAGA_STORE", "").strip()
    return value if is_store_url(value) else ""


def redact(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    head, sep, tail = url.partition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, cred = head.partition("://")
    user = cred.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}" if ":" in cred else url


def connect(url: str, *, autocommit: bool = False):
    """A psycopg connection to ``url``. Raises StoreError with the reason and the fix."""
    try:
        import psycopg
    except ImportError as exc:
        raise StoreError("PostgreSQL-lagret kräver paketet psycopg; installera det med: pip install 'fraga[postgres]'") from exc
    try:
        return psycopg.connect(url, autocommit=autocommit)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(
            f"Kan inte ansluta till PostgreSQL på {redact(url)} ({reason}); kontrollera adressen och att servern är igång"
        ) from exc


_DDL = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS fraga_meta (key text PRIMARY KEY, value jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS fraga_stats (
    id int PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL DEFAULT 0,
    num_passages bigint NOT NULL DEFAULT 0,
    total_len bigint NOT NULL DEFAULT 0
);
INSERT INTO fraga_stats (id) VALUES (1) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS fraga_documents (
    id bigserial PRIMARY KEY,
    doc_id text UNIQUE NOT NULL,
    path text NOT NULL,
    hash text NOT NULL,
    district text NOT NULL,
    doc_type text NOT NULL,
    date text NOT NULL,
    metadata jsonb NOT NULL,
    pages jsonb NOT NULL,
    encoding text NOT NULL,
    text text NOT NULL,
    original text,
    added timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS fraga_passages (
    id bigserial PRIMARY KEY,
    doc bigint NOT NULL,
    ord int NOT NULL,
    chunk_id text UNIQUE NOT NULL,
    section text NOT NULL,
    text text NOT NULL,
    start int NOT NULL,
    "end" int NOT NULL,
    page int,
    hash text NOT NULL,
    length int NOT NULL,
    district text NOT NULL,
    doc_type text NOT NULL,
    date text NOT NULL,
    vector vector({dim}) NOT NULL
);
CREATE INDEX IF NOT EXISTS fraga_passages_doc ON fraga_passages (doc, ord);
CREATE INDEX IF NOT EXISTS fraga_passages_hash ON fraga_passages (hash);
CREATE INDEX IF NOT EXISTS fraga_passages_district ON fraga_passages (district);
CREATE INDEX IF NOT EXISTS fraga_passages_hnsw ON fraga_passages USING hnsw (vector vector_ip_ops);
CREATE TABLE IF NOT EXISTS fraga_terms (term text PRIMARY KEY, df bigint NOT NULL);
CREATE TABLE IF NOT EXISTS fraga_postings (
    term text NOT NULL,
    passage bigint NOT NULL,
    tf int NOT NULL,
    dl int NOT NULL,
    PRIMARY KEY (term, passage) INCLUDE (tf, dl)  -- BM25 reads a term's postings from the index alone
);
CREATE INDEX IF NOT EXISTS fraga_postings_passage ON fraga_postings (passage);
CREATE TABLE IF NOT EXISTS fraga_sentences (
    doc bigint NOT NULL,
    ord int NOT NULL,
    start int NOT NULL,
    "end" int NOT NULL,
    hash bytea NOT NULL,
    vector vector({dim}) NOT NULL,
    PRIMARY KEY (doc, ord)
);
CREATE INDEX IF NOT EXISTS fraga_sentences_hash ON fraga_sentences (hash);
CREATE TABLE IF NOT EXISTS fraga_headings (section text PRIMARY KEY, vector vector({dim}) NOT NULL);
"""


def create_database(server_url: str, name: str) -> str:
    """Create the empty database ``name`` on the server ``server_url`` (dropping one of that name
    first; tests and benchmarks) and return its URL."""
    drop_database(server_url, name)
    with connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    head, _, query = server_url.partition("?")
    return head.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")


def drop_database(server_url: str, name: str) -> None:
    """Drop the database ``name`` on the server ``server_url`` when there is one."""
    with connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def read_meta(conn) -> dict[str, Any]:
    """The ``fraga_meta`` rows as a dict ({} when the database has no fraga tables)."""
    exists = conn.execute("SELECT to_regclass('fraga_meta') IS NOT NULL").fetchone()[0]
    if not exists:
        return {}
    return {k: v for k, v in conn.execute("SELECT key, value FROM fraga_meta").fetchall()}


def ensure_schema(conn, meta: dict[str, Any]) -> dict[str, Any]:
    """Create the tables when missing and return the store's settings.

    ``meta`` holds the settings a new store gets (``encoder``: {name, dim}, ``analyzer``,
    ``k1``, ``b``); an existing store keeps its own. Raises StoreError when the existing
    store was made with another encoder or format.
    """
    from psycopg.types.json import Jsonb

    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(7265611)")  # two first writers create the tables once
        have = read_meta(conn)
        if have:
            _check_compatible(have, meta)
            return have
        dim = int(meta["encoder"]["dim"])
        conn.execute(_DDL.format(dim=dim))
        for key, value in {**meta, "format": FORMAT}.items():
            conn.execute("INSERT INTO fraga_meta (key, value) VALUES (%s, %s)", (key, Jsonb(value)))
        return read_meta(conn)


def _check_compatible(have: dict[str, Any], want: dict[str, Any]) -> None:
    if have.get("format") != FORMAT:
        raise StoreError(
            f"Databasen har fragas lagringsformat {have.get('format')!r}, den här versionen läser {FORMAT}; "
            "töm databasen och indexera igen"
        )
    enc_have, enc_want = have.get("encoder", {}), want.get("encoder", {})
    if enc_want and enc_have.get("name") != enc_want.get("name"):
        raise StoreError(
            f"Databasen indexerades med kodaren {enc_have.get('name')!r}, inte {enc_want.get('name')!r}; "
            f"använd --encoder {enc_have.get('name')} eller en tom databas"
        )


def register_vector(conn) -> None:
    """Let ``conn`` send and receive numpy arrays as pgvector values."""
    try:
        from pgvector.psycopg import register_vector as register
    except ImportError as exc:
        raise StoreError("PostgreSQL-lagret kräver paketet pgvector; installera det med: pip install 'fraga[postgres]'") from exc
    register(conn)


def as_array(value) -> np.ndarray:
    """A pgvector value read from the database as a float32 array."""
    to_numpy = getattr(value, "to_numpy", None)
    return np.asarray(to_numpy() if to_numpy is not None else value, dtype=np.float32)


VOCAB_DDL = (
    "CREATE TABLE IF NOT EXISTS fraga_vocab (id int PRIMARY KEY CHECK (id = 1), meta jsonb NOT NULL, vectors bytea NOT NULL)"
)


def read_vocabulary(conn):
    """The store's query-expansion vocabulary (``fraga.index.vocab.Vocabulary``), or None."""
    from fraga.index.vocab import Vocabulary

    if not conn.execute("SELECT to_regclass('fraga_vocab') IS NOT NULL").fetchone()[0]:
        return None
    row = conn.execute("SELECT meta, vectors FROM fraga_vocab WHERE id = 1").fetchone()
    if row is None:
        return None
    meta, blob = row
    raw = np.frombuffer(bytes(blob), dtype=np.float16)
    n = len(meta["words"])
    raw = raw.reshape(n, -1) if n else raw.reshape(0, 0)
    return Vocabulary(
        tuple(meta["words"]), tuple(meta["stems"]), np.asarray(meta["df"], dtype=np.int64), raw, meta.get("encoder", "")
    )
