"""The command line, called in-process."""

from __future__ import annotations

import io
import json
from pathlib import Path

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
    assert set(data["hits"][0]) >= {
        "rank",
        "score",
        "chunk_id",
        "doc_id",
        "district",
        "doc_type",
        "title",
        "date",
        "dnr",
        "section",
        "text",
    }

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
    qfile.write_text("Vem polisanmäler hot i Skarpnäck?\n" + "x" * 5000 + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "ask", "--file", str(qfile), "--index-dir", str(fake_index_dir))
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["answered"] is True and "error" in rows[1] and "gränsen" in rows[1]["error"]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["ask", "hej", "--index-dir", "/nonexistent/idx"], "Inget index"),
        (["search", "hot", "--district", "Bromma"], "Okänd stadsdel"),
        (["ask", "   "], "tom"),
        (["index", "/nonexistent/corpus"], "finns inte"),
    ],
)
def test_user_errors_are_one_line_without_traceback(argv, message, capsys, fake_index_dir, monkeypatch):
    monkeypatch.setenv("FRAGA_INDEX_DIR", str(fake_index_dir))
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_file_dash_reads_questions_from_stdin(fake_index_dir, capsys, monkeypatch):
    for command in ("search", "ask"):
        monkeypatch.setattr("sys.stdin", io.StringIO("Vem polisanmäler hot i Skarpnäck?\n\nsäkerhetssamordnare\n"))
        code, out, err = run(capsys, command, "--file", "-", "--index-dir", str(fake_index_dir), "--k", "2")
        rows = [json.loads(line) for line in out.splitlines()]
        assert code == 0 and err == "" and len(rows) == 2 and "error" not in rows[0]
        assert [r.get("query", r.get("question")) for r in rows] == ["Vem polisanmäler hot i Skarpnäck?", "säkerhetssamordnare"]


def test_a_missing_question_file_is_one_line(fake_index_dir, capsys, tmp_path):
    code, _, err = run(capsys, "ask", "--file", str(tmp_path / "saknas.txt"), "--index-dir", str(fake_index_dir))
    assert code == 2 and "Kan inte läsa frågefilen" in err and len(err.strip().splitlines()) == 1


def test_commands_build_the_default_index_from_the_bundled_corpus_first(tmp_path, corpus_copy, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # holds ./corpus and no index, as a fresh checkout does
    monkeypatch.delenv("FRAGA_INDEX_DIR", raising=False)
    monkeypatch.setenv("FRAGA_ENCODER", "fake")
    code, out, err = run(capsys, "search", "polisanmälan chef", "--json", "--k", "2")
    assert code == 0 and len(json.loads(out)["hits"]) == 2
    assert err.splitlines()[0] == "Inget index i index; bygger det från corpus …"
    assert (tmp_path / "index" / "CURRENT").is_file()
    code, out, err = run(capsys, "ask", "Vem polisanmäler hot i Skarpnäck?", "--json")  # built: no notice
    assert code == 0 and json.loads(out)["answered"] is True and err == ""


def test_bench_without_its_extra_names_it_in_one_line(capsys, monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "rank_bm25" else real(name, *a))
    code, _, err = run(capsys, "bench", "--sizes", "100", "--out", str(tmp_path / "b"))
    assert code == 2 and 'pip install -e ".[bench]"' in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b").exists()


def test_serve_without_index_or_corpus_says_which_flag_to_use(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "serve", "--index-dir", str(tmp_path / "idx"), "--port", "1")
    assert code == 2 and "--corpus" in err and "Inget index" in err and len(err.strip().splitlines()) == 1


def test_gold_file_dash_reads_standard_input(monkeypatch):
    from fraga.evaluation.gold import load_gold

    gold = Path(__file__).resolve().parents[1] / "eval" / "gold.jsonl"
    lines = gold.read_text(encoding="utf-8").splitlines()[:3]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert load_gold("-") == load_gold(gold)[:3]


@pytest.mark.slow  # ~20 s (ranx's first use compiles); the quick subset checks the same rule with search and ask
def test_eval_builds_the_default_index_like_the_other_commands(tmp_path, corpus_copy, capsys, monkeypatch):
    gold = Path(__file__).resolve().parents[1] / "eval" / "gold.jsonl"
    small = tmp_path / "gold3.jsonl"
    small.write_text("\n".join(gold.read_text(encoding="utf-8").splitlines()[:3]) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FRAGA_INDEX_DIR", raising=False)
    monkeypatch.setenv("FRAGA_ENCODER", "fake")
    code, out, err = run(capsys, "eval", "--gold", str(small), "--modes", "bm25", "--out", str(tmp_path / "rep"))
    assert code == 0 and "Inget index i index; bygger det från corpus …" in err
    assert (tmp_path / "rep" / "metrics.json").is_file() and (tmp_path / "index" / "CURRENT").is_file()
