"""The command line, called in-process."""
from __future__ import annotations

import io
import json

import pytest

from fraga.cli.main import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_index_search_ask(tmp_path, corpus_copy, capsys, monkeypatch):
    idx = str(tmp_path / "idx")
    (corpus_copy / "trasig.pdf").write_bytes(b"%PDF-1.4 broken")
    code, out, _ = run(capsys, "index", str(corpus_copy), "--index-dir", idx, "--encoder", "fake")
    assert code == 0
    assert "Indexerade 4 dokument" in out and "trasig.pdf" in out

    code, out, _ = run(capsys, "search", "polisanmälan chef", "--index-dir", idx, "--json", "--k", "3")
    data = json.loads(out)
    assert code == 0 and data["query"] == "polisanmälan chef" and len(data["hits"]) == 3
    assert set(data["hits"][0]) >= {"rank", "score", "chunk_id", "doc_id", "district", "doc_type", "title",
                                    "date", "dnr", "section", "text"}

    monkeypatch.setenv("FRAGA_INDEX_DIR", idx)
    code, out, _ = run(capsys, "ask", "Vem polisanmäler hot i Skarpnäck?", "--json")
    data = json.loads(out)
    assert data["answered"] is True and data["citations"][0]["dnr"] == "SKA 2024/339"
    assert set(data) >= {"question", "answered", "answer", "citations", "hits"}

    code, out, _ = run(capsys, "ask", "Vem polisanmäler hot i Skarpnäck?")
    assert "Källor:" in out


def test_bulk_questions_from_stdin_and_file(tmp_path, fake_index_dir, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("hot mot chefer\n\nsäkerhetssamordnare\n"))
    code, out, _ = run(capsys, "search", "-", "--index-dir", str(fake_index_dir), "--k", "2")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["query"] for r in rows] == ["hot mot chefer", "säkerhetssamordnare"]
    qfile = tmp_path / "q.txt"
    qfile.write_text("Vem polisanmäler i Skarpnäck?\n" + "x" * 5000 + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "ask", "--file", str(qfile), "--index-dir", str(fake_index_dir))
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["answered"] is True and "error" in rows[1] and "gränsen" in rows[1]["error"]


@pytest.mark.parametrize("argv,message", [
    (["ask", "hej", "--index-dir", "/nonexistent/idx"], "Inget index"),
    (["search", "hot", "--district", "Bromma"], "Okänd stadsdel"),
    (["ask", "   "], "tom"),
    (["index", "/nonexistent/corpus"], "finns inte"),
])
def test_user_errors_are_one_line_without_traceback(argv, message, capsys, fake_index_dir, monkeypatch):
    monkeypatch.setenv("FRAGA_INDEX_DIR", str(fake_index_dir))
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
