"""``fraga feedback`` and ``fraga feedback export``, called in-process over the fake-encoder index."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from fraga.cli.main import main
from fraga.feedback.record import make_feedback, shown_passages
from fraga.feedback.store import GOOD, UNANSWERABLE, WRONG, FeedbackStore

GOOD_Q = "Vem polisanmäler hot i Skarpnäck?"
WRONG_Q = "Har Norra innerstaden en säkerhetssamordnare på heltid?"


# FIXTURES ===========================================================================
@pytest.fixture
def judged_index(tmp_path: Path, fake_index_dir: Path) -> Path:
    """A copy of the fake index with four judgments: good, wrong with a passage, not answered, wrong alone."""
    from fraga.answer.answerer import Answerer
    from fraga.index.generation import load_index
    from fraga.search.retrieve import Retriever

    dest = tmp_path / "index"
    shutil.copytree(fake_index_dir, dest)
    index = load_index(dest)
    answerer = Answerer(Retriever(index))
    good, wrong = answerer.answer(GOOD_Q), answerer.answer(WRONG_Q)
    store = FeedbackStore.beside(dest)
    store.add(make_feedback(GOOD_Q, good, GOOD, index, comment="Rätt"))
    fb = make_feedback(WRONG_Q, wrong, WRONG, index, pointed=shown_passages(wrong, index)[-1].chunk_id)
    store.add(replace(fb, created="2026-01-05T12:00:00Z"))
    store.add(make_feedback("Vad kostar larmen?", wrong, UNANSWERABLE, index))
    store.add(make_feedback("Vem ansvarar?", wrong, WRONG, index, comment="inget avsnitt passar"))
    return dest


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# TESTS ==============================================================================
def test_list_shows_counts_per_verdict(judged_index: Path, capsys):
    code, out, _ = run(capsys, "feedback", "--index-dir", str(judged_index))
    assert code == 0
    assert "4 omdömen" in out and "Bra svar: 1 · Fel svar: 2 · Dokumenten svarar inte: 1" in out
    assert "Andel bra svar: 25 %" in out and "Kommentar: Rätt" in out and "Svarar i stället:" in out


def test_list_as_json_since_a_date(judged_index: Path, capsys, monkeypatch):
    monkeypatch.setenv("FRAGA_INDEX_DIR", str(judged_index))
    code, out, _ = run(capsys, "feedback", "--json")
    data = json.loads(out)
    assert code == 0 and data["total"] == 4 and data["counts"] == {"good": 1, "wrong": 2, "unanswerable": 1}
    assert [e["question"] for e in data["entries"]][:2] == [GOOD_Q, WRONG_Q]
    code, out, _ = run(capsys, "feedback", "--json", "--since", "2026-02-01")
    data = json.loads(out)
    assert data["total"] == 3 and WRONG_Q not in [e["question"] for e in data["entries"]]


def test_export_writes_gold_and_reports_what_it_left_out(judged_index: Path, tmp_path: Path, capsys):
    out_file = tmp_path / "fb.jsonl"
    code, out, _ = run(capsys, "feedback", "export", "--out", str(out_file), "--index-dir", str(judged_index))
    assert code == 0
    assert "Skrev 3 frågor i guldformat" in out and "(2 besvarbara, 1 obesvarbara)" in out
    assert "1 omdöme(n) kunde inte bli guldfrågor" in out and "Vem ansvarar?" in out
    rows = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert [r["question"] for r in rows] == [GOOD_Q, WRONG_Q, "Vad kostar larmen?"]

    code, out, _ = run(
        capsys, "feedback", "--since", "2026-02-01", "export", "--out", str(out_file), "--json", "--index-dir", str(judged_index)
    )
    data = json.loads(out)
    assert code == 0 and data["rows"] == 2 and data["answerable"] == 1 and data["stale"] == []
    assert [s["question"] for s in data["skipped"]] == ["Vem ansvarar?"]


def test_export_then_eval(judged_index: Path, tmp_path: Path, capsys):
    gold = tmp_path / "fb.jsonl"
    assert run(capsys, "feedback", "export", "--out", str(gold), "--index-dir", str(judged_index))[0] == 0
    code, out, _ = run(
        capsys,
        "eval",
        "--gold",
        str(gold),
        "--index-dir",
        str(judged_index),
        "--modes",
        "bm25",
        "--out",
        str(tmp_path / "report"),
    )
    assert code == 0 and "3 frågor" in out
    scored = [json.loads(line) for line in (tmp_path / "report" / "per_question.jsonl").read_text().splitlines()]
    assert len(scored) == 3 and scored[0]["answer_score"] == 1.0


def test_export_lists_judgments_whose_passage_is_gone(judged_index: Path, tmp_path: Path, capsys):
    store = FeedbackStore.beside(judged_index)
    fb = store.entries()[1]
    store.add(replace(fb, pointed=replace(fb.pointed, chunk_id="gone#1", hash="0" * 32), created=""))
    code, out, _ = run(capsys, "feedback", "export", "--out", str(tmp_path / "fb.jsonl"), "--index-dir", str(judged_index))
    assert code == 0 and "Skrev 3 frågor" in out
    assert "1 omdöme(n) gäller avsnitt som inte längre finns i indexet" in out
    assert "#5 " + WRONG_Q in out and "gone#1" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["feedback", "--since", "igår"], "inget datum"),
        (["feedback", "export", "--out", "/proc/nope/x.jsonl"], "Kan inte skriva"),
        (["feedback", "export", "--out", "x.jsonl", "--index-dir", "/nonexistent/idx"], "Inget index"),
    ],
)
def test_user_errors_are_one_swedish_line(argv, message, judged_index: Path, capsys, monkeypatch):
    monkeypatch.setenv("FRAGA_INDEX_DIR", str(judged_index))
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_no_feedback_yet(tmp_path: Path, capsys):
    code, out, _ = run(capsys, "feedback", "--index-dir", str(tmp_path))
    assert code == 0 and "Ingen återkoppling ännu" in out
    assert not (tmp_path / "feedback.sqlite").exists()
