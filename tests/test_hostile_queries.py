"""Hostile questions: huge, empty of words, emoji, right-to-left, injection attempts, NUL
bytes, lone surrogates. fraga answers, abstains or gives a clear message; it never
raises anything else and never hangs.
"""

from __future__ import annotations

import io
import json
import signal
import time
from contextlib import contextmanager

import pytest

from fraga.answer.answerer import Answerer
from fraga.cli.main import main
from fraga.errors import EmptyQueryError, QueryTooLongError
from fraga.index.generation import load_index
from fraga.search.retrieve import MAX_QUERY_CHARS, MODES, Retriever

# FIXTURES =====================================================================

ALL_DISTRICTS = (
    "Bromma, Farsta, Skarpnäck, Kungsholmen, Norrmalm, Södermalm, Östermalm, Älvsjö, Rinkeby-Kista, "
    "Spånga-Tensta, Skärholmen, Hägersten-Liljeholmen, Hägersten-Älvsjö, Norra innerstaden"
)
HOSTILE = {
    "100k": "x" * 100_000,
    "100k-words": "polisanmälan " * 8_000,
    "punctuation": "?!.,;:-–—()[]{}\"'…§%&/*+<>=|^~`´",
    "stop-words": "och att det som",
    "emoji": "😀🔥👍🏽 hot och våld 👩‍👩‍👧?",
    "emoji-only": "😀🔥👍🏽👩‍👩‍👧",
    "arabic": "ما هي سياسة الإبلاغ عن العنف؟",
    "hebrew": "מה המדיניות לגבי דיווח למשטרה?",
    "bidi-override": "Vem polisanmäler \u202eläsnamsilop\u202c i Skarpnäck?",
    "sql": "'; DROP TABLE chunks; --",
    "sql-in-fact": "Vilket diarienummer har ' OR 1=1 --?",
    "regex": ".*(a+)+$",
    "regex-2": "(?P<x>[^\\]]*)\\1{1000}",
    "script": "<script>alert(1)</script>",
    "markdown-link": "[länk](javascript:alert(1))",
    "html-entities": "&lt;img src=x onerror=alert(1)&gt; polisanmälan",
    "nul": "Vem polisanmäler\x00 i Skarpnäck?",
    "nul-only": "\x00\x00\x00",
    "controls": "Vem \x1b[31mpolisanmäler\x07\x08 hot?",
    "zero-width": "Vem\u200b polis\u200danmäler\ufeff?",
    "combining": "a\u0301" * 900,
    "whitespace": " \t\n\u00a0\u3000\u2028 ",
    "bidi-only": "\u202e\u202d\u200f",
    "long-word": "a" * (MAX_QUERY_CHARS - 1),
    "long-compound": "förvaltning" * ((MAX_QUERY_CHARS - 1) // 11),
    "at-limit": ("Vem polisanmäler hot mot socialsekreterare? " * 50)[:MAX_QUERY_CHARS],
    "many-districts": f"Hur polisanmäler {ALL_DISTRICTS} hot mot medarbetare?",
    "many-districts-compare": f"Jämför hur {ALL_DISTRICTS} polisanmäler hot.",
    "unknown-district": "Hur polisanmäler Bromma hot?",
    "surrogate": "Vem polisanmäler \ud800 i Skarpnäck?",
    "surrogate-escape": "Vem polisanm\udce4ler i Skarpn\udce4ck?",  # latin-1 bytes in argv
    "surrogate-only": "\ud800\udfff",
}
# Lone surrogates (e.g. Latin-1 bytes in argv) are dropped by retrieve.check_query.


def _cases(names=None):
    names = names or HOSTILE
    return [pytest.param(HOSTILE[n], id=n) for n in names]


@contextmanager
def within(seconds: float):
    """Fail with TimeoutError when the block runs longer than ``seconds`` (a hang guard)."""

    def _timeout(signum, frame):
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def index(answerer):
    return answerer.retriever.index


def _utf8_json(row) -> str:
    """``row`` as JSON that can be written to a UTF-8 stream (what the CLI and the web app do)."""
    text = json.dumps(row, ensure_ascii=False)
    text.encode("utf-8")
    return text


# TESTS ========================================================================


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("question", _cases())
def test_search_returns_hits_or_a_clear_error(answerer, question, mode):
    with within(20):
        try:
            result = answerer.retriever.search(question, k=5, mode=mode)
        except (EmptyQueryError, QueryTooLongError) as exc:
            assert str(exc).startswith("Frågan ")
            return
    assert len(result.hits) <= 5
    _utf8_json({"query": result.query, "hits": [h.chunk.chunk_id for h in result.hits]})


@pytest.mark.parametrize("question", _cases())
def test_answer_is_an_answer_an_abstention_or_a_clear_error(answerer, index, question):
    with within(20):
        try:
            answer = answerer.answer(question)
        except (EmptyQueryError, QueryTooLongError) as exc:
            assert str(exc).startswith("Frågan ")
            return
    assert answer.text
    if not answer.answered:
        assert answer.note in ("weak_evidence", "missing_district", "missing_field", "unknown_words")
    for citation in answer.citations:
        assert citation.quote  # quotes come from the documents, never from the question
        assert "<script>" not in citation.quote and "javascript:" not in citation.quote
    _utf8_json(answer.to_dict())


def test_100000_characters_are_refused_before_any_work(answerer):
    question = "polisanmälan " * 8_000  # 104,000 characters of real words
    started = time.perf_counter()
    with pytest.raises(QueryTooLongError) as info:
        answerer.answer(question)
    seconds = time.perf_counter() - started
    assert str(info.value) == f"Frågan har {len(question)} tecken; gränsen är {MAX_QUERY_CHARS}. Korta ned frågan."
    assert seconds < 0.05, seconds


@pytest.mark.parametrize("question", ["?!.,;:", "😀🔥", "\x00\x00", "\u202e\u200f", "---", "§§§ %%% ***"])
def test_a_question_without_words_is_an_empty_query(answerer, question):
    with pytest.raises(EmptyQueryError, match="inga ord"):
        answerer.answer(question)


@pytest.mark.parametrize("question", ["och att det som", "Och? Att! Det, som."])
def test_only_stop_words_abstains(answerer, question):
    answer = answerer.answer(question)
    assert not answer.answered and answer.citations == ()


def test_many_districts_are_each_recognised(answerer):
    result = answerer.retriever.search(HOSTILE["many-districts"], mode="bm25")
    assert set(result.districts_in_query) == {"Skarpnäck", "Kungsholmen", "Norra innerstaden", "Hägersten-Älvsjö"}
    assert "Bromma" in result.missing_districts and "Hägersten-Liljeholmen" in result.missing_districts


def test_a_long_single_word_at_the_limit_is_fast_enough(answerer):
    started = time.perf_counter()
    with within(20):
        answer = answerer.answer("säkerhetssamordnare" * ((MAX_QUERY_CHARS - 1) // 19))
    assert answer.text and time.perf_counter() - started < 10


@pytest.mark.parametrize("command", [["ask"], ["ask", "--json"], ["search"], ["search", "--json"]])
@pytest.mark.parametrize(
    "name",
    [
        "100k",
        "punctuation",
        "stop-words",
        "emoji",
        "arabic",
        "bidi-override",
        "sql",
        "regex",
        "script",
        "markdown-link",
        "nul",
        "controls",
        "long-word",
        "many-districts-compare",
        "unknown-district",
        "surrogate-escape",
    ],
)
def test_cli_prints_a_result_or_one_line_error(capsys, fake_index_dir, command, name):
    question = HOSTILE[name]
    with within(30):
        code = main([*command, question, "--index-dir", str(fake_index_dir)])
    out, err = capsys.readouterr()
    assert code in (0, 2)
    if code == 2:
        assert err.startswith("fel: Frågan ") and err.count("\n") == 1 and not out
    else:
        assert out.strip() and "Traceback" not in err
        if "--json" in command:
            json.loads(out)


def test_cli_100000_characters_is_a_one_line_error(capsys, fake_index_dir):
    started = time.perf_counter()
    code = main(["ask", "x" * 100_000, "--index-dir", str(fake_index_dir)])
    seconds = time.perf_counter() - started
    _, err = capsys.readouterr()
    assert code == 2 and err == "fel: Frågan har 100000 tecken; gränsen är 2000. Korta ned frågan.\n"
    assert seconds < 10, seconds  # most of it is loading the index


def test_cli_bulk_questions_survive_hostile_lines(capsys, fake_index_dir, monkeypatch):
    lines = ["Vem polisanmäler i Skarpnäck?", "x" * 100_000, "?!", "hot\x00 och våld", "<script>alert(1)</script>"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    code = main(["ask", "-", "--index-dir", str(fake_index_dir)])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(rows) == len(lines)
    assert "error" in rows[1] and "error" in rows[2] and "answer" in rows[0] and "answer" in rows[4]


def test_cli_question_file_in_another_encoding(capsys, fake_index_dir, tmp_path):
    path = tmp_path / "fragor.txt"
    path.write_bytes("Vem polisanmäler i Skarpnäck?\nHur ser rutinen ut?\n".encode("cp1252"))
    code = main(["ask", "--file", str(path), "--index-dir", str(fake_index_dir)])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(rows) == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "Vem polisanmäler\x00 hot i Skarpnäck?",
        "\x00",
        "Vem polisanmäler \ud800 hot i Skarpnäck?",
    ],
)
def test_real_encoder_gets_nul_and_surrogates(real_index_dir, question):
    answerer = Answerer(Retriever(load_index(real_index_dir)))
    with within(120):
        try:
            answer = answerer.answer(question)
        except EmptyQueryError:
            return
    assert answer.text
