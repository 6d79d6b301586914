"""Writing documents into the PostgreSQL store: each add, replace or delete is one transaction.

Encoding happens before the transaction (it is the slow part); the transaction then takes the
``fraga_stats`` row lock, so two writers serialise only while they write, and BM25's
statistics (passage count, total length, each term's document frequency) never lose an
update. Readers see a document's old or new version, never half: PostgreSQL's snapshot
isolation. Vectors of unchanged passages, sentences and headings are read back from the store
by content hash, never encoded again.
"""

from __future__ import annotations

import io
import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from fraga.index.embed import Encoder, bulk_encoder
from fraga.index.lexical import Analyzer, AnalyzerSettings
from fraga.index.postgres.schema import VOCAB_DDL, StoreError, as_array, connect, ensure_schema, read_vocabulary, register_vector
from fraga.index.sentences import heading_text, sentence_table
from fraga.ingest.sections import chunk_document
from fraga.records import Chunk, Document, content_hash

logger = logging.getLogger(__name__)

K1, B = 1.2, 0.75  # bm25s' defaults, as the file index uses them


@dataclass(frozen=True, slots=True)
class Prepared:
    """A document with everything its transaction writes (computed outside it)."""

    doc: Document
    chunks: tuple[Chunk, ...]
    hashes: tuple[str, ...]
    tokens: tuple[tuple[str, ...], ...]  # BM25 tokens of each passage ([""] for an empty one)
    vectors: np.ndarray  # (passages, dim)
    sentences: tuple[tuple[int, int, bytes], ...]  # (start, end, hash)
    sentence_vectors: np.ndarray
    headings: dict[str, np.ndarray] = field(default_factory=dict)  # section path -> vector (new ones only)
    encoded: int = 0


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What ``PgWriter.sync`` did."""

    store: str
    documents: int
    added: tuple[str, ...]
    replaced: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    passages: int
    encoded: int
    skipped: tuple = ()
    seconds: dict[str, float] = field(default_factory=dict)


class PgWriter:
    """Adds, replaces and deletes documents in the store at ``url``.

    Args:
        url: ``postgresql://…``
        encoder: The encoder for new passages (must be the store's; a new store takes it).
    """

    def __init__(self, url: str, encoder: Encoder) -> None:
        self.url = url
        self.encoder = encoder
        self.conn = connect(url)
        self.meta = ensure_schema(
            self.conn,
            {
                "encoder": {"name": encoder.name, "dim": int(encoder.dim)},
                "analyzer": AnalyzerSettings().to_dict(),
                "k1": K1,
                "b": B,
            },
        )
        register_vector(self.conn)
        self.conn.commit()
        self._bulk: Encoder | None = None  # the engine for a whole sync, chosen once
        self.analyzer = Analyzer(AnalyzerSettings(**self.meta["analyzer"]))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PgWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Reading what is there ---------------------------------------------------
    def documents(self) -> dict[str, str]:
        """doc_id -> content hash of every stored document."""
        rows = self.conn.execute("SELECT doc_id, hash FROM fraga_documents").fetchall()
        self.conn.commit()
        return dict(rows)

    def _known(self, sql: str, keys: list) -> dict:
        if not keys:
            return {}
        rows = self.conn.execute(sql, (keys,)).fetchall()
        self.conn.commit()
        return {k: as_array(v) for k, v in rows}

    # Preparing (outside a transaction) ---------------------------------------
    def prepare(self, doc: Document) -> Prepared:
        """Chunk, tokenize and encode ``doc``, reusing the store's vectors for known texts."""
        from fraga.index.build import embed_text

        chunks = tuple(chunk_document(doc))
        if not chunks:
            raise StoreError(f"Dokumentet {doc.doc_id!r} har inga avsnitt att indexera")
        texts = [embed_text(doc, c) for c in chunks]
        hashes = tuple(content_hash(t) for t in texts)
        tokens = tuple(tuple(self.analyzer.tokens(t) or [""]) for t in texts)
        known = self._known("SELECT DISTINCT ON (hash) hash, vector FROM fraga_passages WHERE hash = ANY(%s)", list(set(hashes)))
        vectors = self._encode(texts, hashes, known)
        table = sentence_table([doc])
        s_hashes = [bytes(h) for h in table.hashes]
        s_known = self._known(
            "SELECT DISTINCT ON (hash) hash, vector FROM fraga_sentences WHERE hash = ANY(%s)", list(set(s_hashes))
        )
        s_vectors = self._encode(list(table.texts), s_hashes, {bytes(k): v for k, v in s_known.items()})
        sections = sorted({c.section for c in chunks})
        have = self.conn.execute("SELECT section FROM fraga_headings WHERE section = ANY(%s)", (sections,)).fetchall()
        self.conn.commit()
        new_sections = [s for s in sections if s not in {r[0] for r in have}]
        h_vectors = self._encode([heading_text(s) for s in new_sections], new_sections, {})
        encoded = (len(set(hashes) - set(known)) + len(set(s_hashes) - set(s_known))) + len(new_sections)
        sentences = tuple((int(s), int(e), h) for s, e, h in zip(table.start.tolist(), table.end.tolist(), s_hashes))
        return Prepared(doc, chunks, hashes, tokens, vectors, sentences, s_vectors, dict(zip(new_sections, h_vectors)), encoded)

    def _encode(self, texts: list[str], keys: Sequence, known: dict) -> np.ndarray:
        out = np.zeros((len(texts), int(self.encoder.dim)), dtype=np.float32)
        todo: dict = {}
        for i, key in enumerate(keys):
            if key in known:
                out[i] = known[key]
            else:
                todo.setdefault(key, []).append(i)
        if todo:
            first = [rows[0] for rows in todo.values()]
            engine = self._bulk or bulk_encoder(self.encoder, len(first))
            vecs = engine.encode_passages([texts[i] for i in first])
            for rows, v in zip(todo.values(), vecs):
                out[rows] = v
        return out

    # Transactions ------------------------------------------------------------
    def write(self, items: Sequence[Prepared], *, replace: bool = True) -> None:
        """Write ``items`` in one transaction (an existing document with the same id is
        replaced when ``replace``; else StoreError)."""
        if not items:
            return
        with self.conn.transaction():
            self.conn.execute("SELECT 1 FROM fraga_stats WHERE id = 1 FOR UPDATE")
            ids = [p.doc.doc_id for p in items]
            present = [r[0] for r in self.conn.execute("SELECT doc_id FROM fraga_documents WHERE doc_id = ANY(%s)", (ids,))]
            if present and not replace:
                raise StoreError(f"Dokumentet {present[0]!r} finns redan i databasen; använd ersätt (replace)")
            if present:
                self._delete(present)
            self._insert(items)
            self.conn.execute("UPDATE fraga_stats SET version = version + 1 WHERE id = 1")

    def delete(self, doc_ids: Iterable[str]) -> int:
        """Delete documents in one transaction. Returns how many there were."""
        ids = list(doc_ids)
        with self.conn.transaction():
            self.conn.execute("SELECT 1 FROM fraga_stats WHERE id = 1 FOR UPDATE")
            n = self._delete(ids)
            self.conn.execute("UPDATE fraga_stats SET version = version + 1 WHERE id = 1")
        return n

    def _delete(self, doc_ids: list[str]) -> int:
        c = self.conn
        c.execute("CREATE TEMP TABLE IF NOT EXISTS fraga_gone (id bigint, length int) ON COMMIT DROP; TRUNCATE fraga_gone")
        c.execute(
            "INSERT INTO fraga_gone SELECT p.id, p.length FROM fraga_passages p JOIN fraga_documents d ON d.id = p.doc "
            "WHERE d.doc_id = ANY(%s)",
            (doc_ids,),
        )
        c.execute(
            "UPDATE fraga_terms t SET df = t.df - g.n FROM (SELECT po.term, count(*) AS n FROM fraga_postings po "
            "JOIN fraga_gone ON po.passage = fraga_gone.id GROUP BY po.term) g WHERE t.term = g.term"
        )
        c.execute(
            "UPDATE fraga_stats SET num_passages = num_passages - g.n, total_len = total_len - g.len "
            "FROM (SELECT count(*) AS n, coalesce(sum(length), 0) AS len FROM fraga_gone) g WHERE id = 1"
        )
        c.execute("DELETE FROM fraga_terms WHERE df <= 0")
        c.execute("DELETE FROM fraga_postings po USING fraga_gone g WHERE po.passage = g.id")
        c.execute("DELETE FROM fraga_passages p USING fraga_gone g WHERE p.id = g.id")
        cur = c.execute("DELETE FROM fraga_documents WHERE doc_id = ANY(%s) RETURNING id", (doc_ids,))
        gone = [r[0] for r in cur.fetchall()]
        c.execute("DELETE FROM fraga_sentences WHERE doc = ANY(%s)", (gone,))
        return len(gone)

    def _insert(self, items: Sequence[Prepared]) -> None:
        from psycopg.types.json import Jsonb

        c = self.conn
        n_pass = sum(len(p.chunks) for p in items)
        doc_pk = [r[0] for r in c.execute("SELECT nextval('fraga_documents_id_seq') FROM generate_series(1, %s)", (len(items),))]
        pass_pk = [r[0] for r in c.execute("SELECT nextval('fraga_passages_id_seq') FROM generate_series(1, %s)", (n_pass,))]
        df: Counter[str] = Counter()
        total_len = 0
        with c.cursor() as cur:
            with cur.copy(
                "COPY fraga_documents (id, doc_id, path, hash, district, doc_type, date, metadata, pages, encoding, "
                "text, original) FROM STDIN"
            ) as cp:
                for pk, p in zip(doc_pk, items):
                    d, m = p.doc, p.doc.metadata
                    cp.write_row(
                        (
                            pk,
                            d.doc_id,
                            d.path,
                            d.hash,
                            m.district,
                            m.doc_type,
                            m.date,
                            Jsonb(m.to_dict()),
                            Jsonb([[pg.number, pg.start] for pg in d.pages]),
                            d.encoding,
                            d.text,
                            None if d.original_text == d.text else d.original_text,
                        )
                    )
            rows = iter(pass_pk)
            postings: list[str] = []
            with cur.copy(
                'COPY fraga_passages (id, doc, ord, chunk_id, section, text, start, "end", page, hash, length, '
                "district, doc_type, date, vector) FROM STDIN"
            ) as cp:
                for pk, p in zip(doc_pk, items):
                    m = p.doc.metadata
                    vector_texts = _vector_texts(p.vectors)
                    for n, (chunk, h, toks, vec) in enumerate(zip(p.chunks, p.hashes, p.tokens, vector_texts)):
                        row = next(rows)
                        cp.write_row(
                            (row, pk, n, chunk.chunk_id, chunk.section, chunk.text, chunk.start, chunk.end, chunk.page,
                             h, len(toks), m.district, m.doc_type, m.date, vec)
                        )  # fmt: skip
                        counts = Counter(toks)
                        df.update(counts.keys())
                        total_len += len(toks)
                        postings.extend(f"{_copy_text(t)}\t{row}\t{tf}\t{len(toks)}\n" for t, tf in counts.items())
            with cur.copy("COPY fraga_postings (term, passage, tf, dl) FROM STDIN") as cp:
                for lo in range(0, len(postings), 100_000):  # preformatted: the most rows by far
                    cp.write("".join(postings[lo : lo + 100_000]))
            c.execute("CREATE TEMP TABLE IF NOT EXISTS fraga_df (term text, n bigint) ON COMMIT DROP; TRUNCATE fraga_df")
            with cur.copy("COPY fraga_df (term, n) FROM STDIN") as cp:
                for term, n in df.items():
                    cp.write_row((term, n))
            c.execute(
                "INSERT INTO fraga_terms (term, df) SELECT term, n FROM fraga_df "
                "ON CONFLICT (term) DO UPDATE SET df = fraga_terms.df + EXCLUDED.df"
            )
            with cur.copy('COPY fraga_sentences (doc, ord, start, "end", hash, vector) FROM STDIN') as cp:
                for pk, p in zip(doc_pk, items):
                    texts = _vector_texts(p.sentence_vectors)
                    for n, ((s, e, digest), vec) in enumerate(zip(p.sentences, texts)):
                        cp.write_row((pk, n, s, e, digest, vec))
        headings = {name: v for p in items for name, v in p.headings.items()}
        if headings:
            c.cursor().executemany(
                "INSERT INTO fraga_headings (section, vector) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                [(name, _vec(v)) for name, v in headings.items()],
            )
        c.execute(
            "UPDATE fraga_stats SET num_passages = num_passages + %s, total_len = total_len + %s WHERE id = 1",
            (n_pass, total_len),
        )

    # Records with their vectors (bulk loads, benchmarks) -------------------------
    def write_records(
        self, documents: Sequence[Document], chunks: Sequence[Chunk], vectors, sentences, *, batch: int = 500
    ) -> dict[str, float]:
        """Write documents whose vectors are already computed, ``batch`` documents a transaction.

        ``chunks`` are in document order with ``vectors`` row by row; ``sentences`` is a
        ``fraga.index.sentences.SentenceVectors`` of ``documents`` (headings in
        ``columns.section_list(chunks)`` order). The HNSW index is dropped while loading and built
        once at the end. Returns seconds per stage."""
        from fraga.index.build import embed_text
        from fraga.index.columns import section_list

        t0 = time.perf_counter()
        self.conn.execute("DROP INDEX IF EXISTS fraga_passages_hnsw")
        self.conn.commit()
        heading_of = dict(zip(section_list(chunks), np.asarray(sentences.headings, dtype=np.float32)))
        table = sentences.table
        hashes = table.hashes  # computed from every text: once, not per document
        by_doc: dict[str, list[int]] = {}
        for row, chunk in enumerate(chunks):
            by_doc.setdefault(chunk.doc_id, []).append(row)
        written: set[str] = set()
        prepare_s = 0.0
        for lo in range(0, len(documents), batch):
            t = time.perf_counter()
            items = []
            first = int(table.doc_offsets[lo])  # the batch's sentence vectors, read in one slice
            block = np.asarray(sentences.vectors[first : int(table.doc_offsets[min(lo + batch, len(documents))])])
            for n, doc in enumerate(documents[lo : lo + batch], start=lo):
                rows = by_doc.get(doc.doc_id, [])
                a, b = int(table.doc_offsets[n]), int(table.doc_offsets[n + 1])
                doc_chunks = tuple(chunks[r] for r in rows)
                texts = [embed_text(doc, c) for c in doc_chunks]
                new_sections = {c.section for c in doc_chunks} - written
                written |= new_sections
                items.append(
                    Prepared(
                        doc,
                        doc_chunks,
                        tuple(content_hash(t) for t in texts),
                        tuple(tuple(self.analyzer.tokens(t) or [""]) for t in texts),
                        np.asarray([vectors[r] for r in rows], dtype=np.float32),
                        tuple((int(s), int(e), bytes(h)) for s, e, h in zip(table.start[a:b], table.end[a:b], hashes[a:b])),
                        np.asarray(block[a - first : b - first], dtype=np.float32),
                        {s: heading_of[s] for s in new_sections},
                    )
                )
            prepare_s += time.perf_counter() - t
            self.write(items, replace=False)
        t_rows = time.perf_counter()
        self.create_vector_index()
        t_hnsw = time.perf_counter()
        self.conn.commit()
        self.conn.autocommit = True  # VACUUM runs outside a transaction
        try:  # the visibility map lets BM25 scan postings from the index alone
            self.conn.execute("VACUUM ANALYZE fraga_postings")
            self.conn.execute("ANALYZE")
        finally:
            self.conn.autocommit = False
        return {
            "prepare": prepare_s,
            "write": t_rows - t0 - prepare_s,
            "hnsw": t_hnsw - t_rows,
            "vacuum_analyze": time.perf_counter() - t_hnsw,
            "total": time.perf_counter() - t0,
        }

    def create_vector_index(self) -> None:
        """Build the HNSW index over the passages' vectors (when missing)."""
        self.conn.execute("SET maintenance_work_mem = '1GB'")
        self.conn.execute("CREATE INDEX IF NOT EXISTS fraga_passages_hnsw ON fraga_passages USING hnsw (vector vector_ip_ops)")
        self.conn.commit()

    def write_vocabulary(self, documents: Sequence[Document]) -> None:
        """Encode the vocabulary of ``documents``' passages (``fraga.index.vocab``: what query
        expansion searches), reusing the stored one's vectors, and store it (one transaction)."""
        from psycopg.types.json import Jsonb

        from fraga.index.build import embed_text
        from fraga.index.vocab import build_vocabulary

        texts = [embed_text(d, c) for d in documents for c in chunk_document(d)]
        engine = self._bulk or bulk_encoder(self.encoder, 1000)
        vocab, _ = build_vocabulary(texts, self.analyzer, engine, previous=read_vocabulary(self.conn))
        self.conn.commit()
        meta = {"encoder": self.encoder.name, "words": list(vocab.words), "stems": list(vocab.stems), "df": vocab.df.tolist()}
        with self.conn.transaction():
            self.conn.execute("SELECT 1 FROM fraga_stats WHERE id = 1 FOR UPDATE")
            self.conn.execute(VOCAB_DDL)
            self.conn.execute(
                "INSERT INTO fraga_vocab (id, meta, vectors) VALUES (1, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET meta = EXCLUDED.meta, vectors = EXCLUDED.vectors",
                (Jsonb(meta), np.asarray(vocab.raw, dtype=np.float16).tobytes()),
            )
            self.conn.execute("UPDATE fraga_stats SET version = version + 1 WHERE id = 1")

    # Whole corpora -----------------------------------------------------------
    def sync(self, corpus_dir, *, repair_ocr: bool = True, batch: int = 50, progress=None) -> SyncReport:
        """Make the store hold exactly the documents of ``corpus_dir``: new and changed ones
        are written (``batch`` documents a transaction), removed ones deleted, unchanged ones
        left alone."""
        from fraga.ingest.corpus import load_corpus

        t0 = time.perf_counter()
        repair = None
        if repair_ocr:
            from fraga.ingest.ocr import ingest_repair

            repair = ingest_repair
        corpus = load_corpus(corpus_dir, repair=repair)
        have = self.documents()
        todo = [d for d in corpus.documents if have.get(d.doc_id) != d.hash]
        self._bulk = bulk_encoder(self.encoder, 20 * len(todo))  # passages and sentences: about 20 a document
        t_load = time.perf_counter()
        encoded = passages = 0
        for lo in range(0, len(todo), batch):
            prepared = [self.prepare(d) for d in todo[lo : lo + batch]]
            self.write(prepared)
            encoded += sum(p.encoded for p in prepared)
            passages += sum(len(p.chunks) for p in prepared)
            if progress:
                progress("store", min(lo + batch, len(todo)), len(todo))
        t_write = time.perf_counter()
        gone = sorted(set(have) - {d.doc_id for d in corpus.documents})
        if gone:
            self.delete(gone)
        if todo or gone or read_vocabulary(self.conn) is None:
            self.write_vocabulary(corpus.documents)
        return SyncReport(
            store=self.url,
            documents=len(corpus.documents),
            added=tuple(d.doc_id for d in todo if d.doc_id not in have),
            replaced=tuple(d.doc_id for d in todo if d.doc_id in have),
            removed=tuple(gone),
            unchanged=len(corpus.documents) - len(todo),
            passages=passages,
            encoded=encoded,
            skipped=corpus.skipped,
            seconds={"load": t_load - t0, "write": t_write - t_load, "total": time.perf_counter() - t0},
        )


def _copy_text(value: str) -> str:
    """``value`` escaped for COPY's text format."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def _vector_texts(vectors: np.ndarray) -> list[str]:
    """pgvector's text form of each row ("[0.1,-0.2,…]"), formatted in C by numpy (pgvector's own
    dumper formats float by float in Python, most of a bulk load's time); 9 digits give float32 back exactly."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if len(vectors) == 0:
        return []
    out = io.StringIO()
    np.savetxt(out, vectors, fmt="%.9g", delimiter=",")
    return ["[" + line + "]" for line in out.getvalue().splitlines()]


def _vec(v: np.ndarray):
    from pgvector import Vector

    return Vector(np.asarray(v, dtype=np.float32))
