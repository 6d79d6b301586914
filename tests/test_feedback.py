"""Feedback on answers: the store beside the index, judgments from answers, the gold export, the stats."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from fraga.evaluation.gold import load_gold, parse_gold_lines
from fraga.feedback.export import NO_ANSWER_TEXT, export_gold, write_gold
from fraga.feedback.record import make_feedback, shown_passages
from fraga.feedback.stats import Share, chart_png, overall, share_by_district, share_over_time
from fraga.feedback.store import FILE_NAME, GOOD, UNANSWERABLE, WRONG, Feedback, FeedbackError, FeedbackStore, PassageRef, counts

GOOD_Q = "Vem polisanmäler hot i Skarpnäck?"
WRONG_Q = "Har Norra innerstaden en säkerhetssamordnare på heltid?"
NONE_Q = "Vad kostar larmen i Bromma?"
SKARPNACK = "skarpnack-2024-09-24-starkt-skydd"
# What a judgment stores, in the database and in its JSON: no user identity, no IP address.
STORED_FIELDS = {"id", "created", "question", "asked", "previous", "answer", "answered", "verdict", "comment",
                 "cited", "pointed", "districts", "generation"}  # fmt: skip


# FIXTURES ===========================================================================
@pytest.fixture
def index_copy(tmp_path: Path, fake_index_dir: Path) -> Path:
    dest = tmp_path / "index"
    shutil.copytree(fake_index_dir, dest)
    return dest


@pytest.fixture(scope="module")
def index(fake_index_dir: Path):
    from fraga.index.generation import load_index

    return load_index(fake_index_dir)


@pytest.fixture(scope="module")
def answerer(index):
    from fraga.answer.answerer import Answerer
    from fraga.search.retrieve import Retriever

    return Answerer(Retriever(index))


def entry(verdict: str = GOOD, created: str = "2026-12-01T10:00:00Z", districts=("Skarpnäck",), **kw) -> Feedback:
    return Feedback(
        question=kw.pop("question", "Vem?"),
        answer="Chef. [1]",
        answered=True,
        verdict=verdict,
        districts=tuple(districts),
        created=created,
        **kw,
    )


# TESTS: store =======================================================================
def test_store_round_trip_in_wal_mode_without_identity(tmp_path: Path):
    store = FeedbackStore(tmp_path / "sub" / FILE_NAME)
    assert store.entries() == () and not store.exists()
    ref = PassageRef("d#1", "d", "abc", 10, 20, "Citatet.", "Skarpnäck")
    first = store.add(
        Feedback(
            "Vem?", "Chef. [1]", True, GOOD, cited=(ref,), comment="  bra  ", districts=("Skarpnäck",), generation="gen-000001"
        )
    )
    second = store.add(
        Feedback("Hur?", "inget", False, WRONG, pointed=ref, generation="gen-000002", previous="Vem?", asked="Hur i Skarpnäck?")
    )
    assert (first.id, second.id) == (1, 2) and first.created.endswith("Z") and first.comment == "bra"
    got = store.entries()
    assert got == (first, second)
    assert got[1].pointed == ref and got[1].cited == () and got[1].previous == "Vem?"
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = {row[1] for row in conn.execute("PRAGMA table_info(feedback)")}
    assert columns == STORED_FIELDS


@pytest.mark.parametrize(
    "fb,message",
    [
        (entry(verdict="meh"), "Okänt omdöme"),
        (entry(question="   "), "saknar fråga"),
        (entry(comment="x" * 2001), "gränsen är 2000"),
    ],
)
def test_store_refuses_malformed_judgments(tmp_path: Path, fb: Feedback, message: str):
    store = FeedbackStore(tmp_path / FILE_NAME)
    with pytest.raises(FeedbackError, match=message):
        store.add(fb)
    assert store.entries() == ()


def test_since_filters_by_day_and_rejects_a_bad_date(tmp_path: Path):
    store = FeedbackStore(tmp_path / FILE_NAME)
    for day in ("2026-11-30", "2026-12-01", "2026-12-02"):
        store.add(entry(created=f"{day}T23:59:59Z"))
    assert [fb.created[:10] for fb in store.entries(since="2026-12-01")] == ["2026-12-01", "2026-12-02"]
    with pytest.raises(FeedbackError, match="inget datum"):
        store.entries(since="1 december")


def test_a_damaged_database_is_a_clear_error(tmp_path: Path):
    path = tmp_path / FILE_NAME
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(FeedbackError, match="går inte att använda"):
        FeedbackStore(path).entries()


def test_twenty_concurrent_threads_lose_nothing(tmp_path: Path):
    store_path = tmp_path / FILE_NAME
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def session(n: int) -> None:
        store = FeedbackStore(store_path)  # each session its own store object, as in separate app workers
        barrier.wait()
        try:
            for i in range(10):
                store.add(entry(question=f"fråga {n}-{i}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    got = FeedbackStore(store_path).entries()
    assert len(got) == 200 and len({fb.id for fb in got}) == 200
    assert {fb.question for fb in got} == {f"fråga {n}-{i}" for n in range(20) for i in range(10)}


WRITER = """
import sys, time
from pathlib import Path
from fraga.feedback.store import Feedback, FeedbackStore
path, n, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
store = FeedbackStore(path)
while not go.exists():
    time.sleep(0.01)
for i in range(5):
    store.add(Feedback(f"process {n} fråga {i}", "svar", True, "good"))
"""


def test_twenty_concurrent_processes_lose_nothing(tmp_path: Path):
    path, go = tmp_path / FILE_NAME, tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(n), str(go)], stderr=subprocess.PIPE) for n in range(20)
    ]
    time.sleep(1.0)  # let them start; the first write also creates the database and its schema
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    got = FeedbackStore(path).entries()
    assert len(got) == 100
    assert {fb.question for fb in got} == {f"process {n} fråga {i}" for n in range(20) for i in range(5)}


def test_a_new_database_locked_by_another_writer_is_waited_for(tmp_path: Path):
    # Switching a new database to WAL while another connection is in a write transaction makes
    # SQLite say "database is locked" at once, without its busy timeout: twenty processes opening
    # a new store together lost a write now and then.
    path = tmp_path / FILE_NAME
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE other (a)")
    holder.execute("BEGIN IMMEDIATE")  # what another store's first write does
    release = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        stored = FeedbackStore(path).add(entry())
    finally:
        release.join()
        holder.close()
    assert [fb.id for fb in FeedbackStore(path).entries()] == [stored.id]


# TESTS: judgments from answers ======================================================
def test_make_feedback_records_hashes_generation_and_districts(index, answerer):
    answer = answerer.answer(GOOD_Q)
    assert answer.answered
    fb = make_feedback(GOOD_Q, answer, GOOD, index, comment="ok")
    assert fb.generation == index.folder.name and fb.districts == ("Skarpnäck",)
    for ref, cite in zip(fb.cited, answer.citations, strict=True):
        chunk = index.chunks[index.row_of[cite.chunk_id]]
        assert (ref.chunk_id, ref.hash, ref.start, ref.end, ref.quote) == (
            chunk.chunk_id,
            chunk.hash,
            chunk.start,
            chunk.end,
            cite.quote,
        )


def test_make_feedback_choices(index, answerer):
    answered, abstained = answerer.answer(WRONG_Q), answerer.answer(NONE_Q)
    assert answered.answered and not abstained.answered
    # "the documents do not answer" on fraga's own "no answer" agrees with it
    assert make_feedback(NONE_Q, abstained, UNANSWERABLE, index).verdict == GOOD
    other = shown_passages(answered, index)[-1]
    fb = make_feedback(WRONG_Q, answered, WRONG, index, pointed=other.chunk_id)
    assert fb.pointed.chunk_id == other.chunk_id and fb.pointed.quote == other.text
    with pytest.raises(FeedbackError, match="finns inte i indexet"):
        make_feedback(WRONG_Q, answered, WRONG, index, pointed="nope#1")
    with pytest.raises(FeedbackError, match="bara anges för ett fel svar"):
        make_feedback(WRONG_Q, answered, GOOD, index, pointed=other.chunk_id)
    with pytest.raises(FeedbackError, match="Okänt omdöme"):
        make_feedback(WRONG_Q, answered, "bad", index)


# TESTS: export ======================================================================
def test_export_rows_follow_the_gold_format_and_report_stale_passages(index, answerer, tmp_path: Path):
    good, wrong, none = answerer.answer(GOOD_Q), answerer.answer(WRONG_Q), answerer.answer(NONE_Q)
    pointed = shown_passages(wrong, index)[-1]
    store = FeedbackStore(tmp_path / FILE_NAME)
    store.add(make_feedback(GOOD_Q, good, GOOD, index, comment="stämmer"))
    store.add(make_feedback(WRONG_Q, wrong, WRONG, index, pointed=pointed.chunk_id))
    store.add(make_feedback(NONE_Q, none, GOOD, index))
    store.add(make_feedback("Vem ansvarar?", wrong, UNANSWERABLE, index))
    store.add(make_feedback("Vad gäller?", wrong, WRONG, index))  # no passage pointed at
    gone = make_feedback(WRONG_Q, wrong, WRONG, index, pointed=pointed.chunk_id)
    store.add(replace(gone, pointed=replace(gone.pointed, hash="0" * 32)))  # the passage was changed since

    result = export_gold(store.entries(), index)
    rows = {r["question"]: r for r in result.rows}
    assert list(rows) == [GOOD_Q, WRONG_Q, NONE_Q, "Vem ansvarar?"] and result.answerable == 2
    assert [r["id"] for r in result.rows] == ["fb00001", "fb00002", "fb00003", "fb00004"]
    assert rows[GOOD_Q]["evidence"] == [{"doc_id": c.doc_id, "text": " ".join(c.quote.split())} for c in good.citations]
    assert rows[GOOD_Q]["answer"] == " ".join(good.text.replace("[1]", "").split())
    assert rows[GOOD_Q]["comment"] == "stämmer" and rows[GOOD_Q]["source"] == "feedback"
    assert rows[WRONG_Q]["evidence"] == [{"doc_id": pointed.doc_id, "text": " ".join(pointed.text.split())}]
    assert rows[WRONG_Q]["doc_ids"] == [pointed.doc_id] and rows[WRONG_Q]["districts"] == ["Norra innerstaden"]
    for q in (NONE_Q, "Vem ansvarar?"):
        assert rows[q]["answerable"] is False and rows[q]["kind"] == "unanswerable"
        assert rows[q]["evidence"] == [] and rows[q]["answer"] == NO_ANSWER_TEXT
    assert [(n.feedback_id, n.stale) for n in result.skipped] == [(5, False)]
    assert [(n.feedback_id, n.stale) for n in result.stale] == [(6, True)]
    assert "finns inte längre i indexet" in result.stale[0].reason

    path = write_gold(tmp_path / "out" / "gold.jsonl", result.rows)
    assert len(parse_gold_lines(path.read_text(encoding="utf-8").splitlines())) == 4


def test_exported_questions_are_scored_by_the_benchmark(index, answerer, tmp_path: Path):
    from fraga.evaluation.runner import run_benchmark

    good, wrong = answerer.answer(GOOD_Q), answerer.answer(WRONG_Q)
    pointed = shown_passages(wrong, index)[-1]
    store = FeedbackStore(tmp_path / FILE_NAME)
    store.add(make_feedback(GOOD_Q, good, GOOD, index))
    store.add(make_feedback(WRONG_Q, wrong, WRONG, index, pointed=pointed.chunk_id))
    store.add(make_feedback(NONE_Q, answerer.answer(NONE_Q), GOOD, index))
    path = write_gold(tmp_path / "gold.jsonl", export_gold(store.entries(), index).rows)
    result = run_benchmark(index, load_gold(path), modes=("bm25",))
    by_q = {q.question: q for q in result.questions}
    assert by_q[GOOD_Q].answer_score == 1.0  # the judged-good answer is given again
    assert by_q[WRONG_Q].answer_score is not None
    assert by_q[WRONG_Q].first_relevant_rank is not None  # the pointed passage is found
    assert by_q[NONE_Q].answerable is False and by_q[NONE_Q].answered is False


def test_judgments_survive_reindexing_and_a_changed_passage_is_reported(index_copy: Path, corpus_copy: Path):
    from fraga.answer.answerer import Answerer
    from fraga.index.build import build_index
    from fraga.index.generation import load_index
    from fraga.search.retrieve import Retriever

    before = load_index(index_copy)
    answer = Answerer(Retriever(before)).answer(GOOD_Q)
    store = FeedbackStore.beside(index_copy)
    fb = store.add(make_feedback(GOOD_Q, answer, GOOD, before))
    assert store.path.parent == index_copy and store.path.name == FILE_NAME

    source = corpus_copy / f"{SKARPNACK}.txt"
    quote = answer.citations[0].quote
    text = source.read_text(encoding="utf-8")
    words = quote.split()
    assert words[0] in text
    source.write_text(text.replace(words[0], words[0] + "x", 1), encoding="utf-8")
    build_index(corpus_copy, index_copy, encoder="fake")
    after = load_index(index_copy)
    assert after.folder.name != before.folder.name

    assert FeedbackStore.beside(index_copy).entries() == (fb,)
    result = export_gold(FeedbackStore.beside(index_copy).entries(), after)
    assert result.rows == () and [n.feedback_id for n in result.stale] == [fb.id]


# TESTS: stats =======================================================================
def test_share_over_time_and_per_district():
    entries = [
        entry(GOOD, "2026-12-01T08:00:00Z", ("Skarpnäck",)),
        entry(WRONG, "2026-12-01T09:00:00Z", ("Skarpnäck", "Kungsholmen")),
        entry(UNANSWERABLE, "2026-12-03T09:00:00Z", ()),
        entry(GOOD, "2026-12-03T10:00:00Z", ("Kungsholmen",)),
    ]
    assert share_over_time(entries) == [Share("2026-12-01", 1, 2), Share("2026-12-03", 1, 2)]
    assert share_by_district(entries) == [Share("Kungsholmen", 1, 2), Share("Skarpnäck", 1, 2), Share("ingen stadsdel", 0, 1)]
    assert overall(entries).share == 0.5
    assert counts(entries) == {GOOD: 2, WRONG: 1, UNANSWERABLE: 1}
    assert chart_png(entries)[:8] == b"\x89PNG\r\n\x1a\n"


def test_share_over_time_by_week_beyond_a_month_of_days():
    entries = [entry(GOOD if d % 2 else WRONG, f"2026-{m:02d}-{d:02d}T08:00:00Z") for m in (10, 11) for d in range(1, 21)]
    weeks = share_over_time(entries)
    assert weeks[0].label == "2026-v40" and sum(s.total for s in weeks) == 40
    assert sum(s.good for s in weeks) == 20


def test_json_of_an_entry_names_no_user(tmp_path: Path):
    fb = FeedbackStore(tmp_path / FILE_NAME).add(entry())
    assert set(fb.to_dict()) == STORED_FIELDS
    json.dumps(fb.to_dict())
