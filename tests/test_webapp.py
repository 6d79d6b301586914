"""The web app without a browser: service calls, safe HTML, UI handlers and app.py's arguments."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fraga.errors import EmptyQueryError, FragaError, IndexNotFoundError, QueryTooLongError, UnknownDistrictError
from fraga.records import Answer, Citation, Document, Metadata, Page
from fraga.webapp import pages, render
from fraga.webapp.service import IndexStatus, Service, SourceView, Turn

ROOT = Path(__file__).resolve().parents[1]
SKARPNACK = "skarpnack-2024-09-24-starkt-skydd"
NASTY = '<script>alert("x")</script><img src=x onerror=alert(1)> [klicka](http://evil.example) **fet**'


# FIXTURES ===========================================================================
def nasty_document() -> Document:
    text = f"Rubrik\n\nFörsta stycket om polisanmälan.\n{NASTY}\nSista raden."
    meta = Metadata(
        district="Skarpnäck",
        doc_type="tjänsteutlåtande",
        title="Titel <b>fet</b>",
        date="2024-01-02",
        dnr="SKA 2024/1",
        signers=("<i>Chef</i>",),
    )
    return Document("nasty", "nasty<script>.txt", text, text, meta, pages=(Page(1, 0), Page(2, 8)))


def app_module():
    spec = importlib.util.spec_from_file_location("fraga_app_py", ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def no_raw_markup(html: str) -> None:
    """The markup of NASTY must appear only escaped."""
    assert "<script" not in html and "<img" not in html and "<i>" not in html
    assert "<a " not in html and "href" not in html
    assert "onerror=" not in html.replace("onerror=alert(1)&gt;", "")


# TESTS: rendering ===================================================================
def test_mark_words_escapes_then_marks():
    out = render.mark_words("<b>polisanmälan</b> & hot", lambda w: w == "polisanmälan")
    assert out == "&lt;b&gt;<mark>polisanmälan</mark>&lt;/b&gt; &amp; hot"


def test_highlight_bolds_several_spans_and_escapes():
    text = "Ett <x>. Två. Tre."
    out = render.highlight(text, None, emphasis=[(9, 13), (0, 8)])
    assert out == '<strong class="fraga-quote">Ett &lt;x&gt;.</strong> <strong class="fraga-quote">Två.</strong> Tre.'


def test_reflow_keeps_offsets_and_paragraphs():
    text = "En rad som\nfortsätter här.\n\nNytt stycke\n• punkt\n2. numrerad"
    out = render.reflow(text)
    assert len(out) == len(text)
    assert out.startswith("En rad som fortsätter här.\n\nNytt stycke\n• punkt\n2. numrerad")


def test_answer_text_turns_markers_into_source_buttons():
    c = Citation(1, "d#1", "d", "Skarpnäck", "T", "", "", "S", "Citat.", 5, 11)
    out = render.answer_text("Skarpnäck: Citat <b>. [1] [7]", [c])
    assert '<b class="fraga-district">Skarpnäck:</b>' in out
    assert 'data-doc="d"' in out and 'data-start="5" data-end="11"' in out and ">[1]</button>" in out
    assert "&lt;b&gt;" in out and "[7]" in out  # an unknown marker stays text


def test_source_link_escapes_attributes():
    out = render.source_link('x" onclick="alert(1)', "<b>")
    assert 'data-doc="x&quot; onclick=&quot;alert(1)"' in out and "&lt;b&gt;" in out


def test_turn_with_markup_in_question_and_document_renders_harmlessly():
    doc = nasty_document()
    start = doc.text.index("<script>")
    cite = Citation(
        1, "nasty#0", "nasty", "Skarpnäck", doc.metadata.title, "", "", "Avsnitt <u>", NASTY, start, start + len(NASTY)
    )
    answer = Answer(NASTY, True, f"{NASTY} [1]", (cite,))
    html = render.transcript(
        [Turn(NASTY, answer)], {"nasty": doc}, lambda q: lambda w: w == "klicka", lambda cid: ((0, len(doc.text)), 1)
    )
    no_raw_markup(html)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<mark>klicka</mark>](http://evil.example)" in html  # a Markdown link stays text
    assert "**fet**" in html
    assert '<textarea class="fraga-copy-text" hidden readonly>' in html


def test_refused_turn_shows_the_message_and_a_shortened_question():
    html = render.turn_html(Turn("x" * 5000, None, error="Frågan har 5000 tecken; gränsen är 2000."), {}, None, lambda cid: None)
    assert "fraga-error" in html and "gränsen är 2000" in html and "(5000 tecken)" in html
    assert html.count("x") < 600


def test_source_page_marks_quote_inside_passage_and_escapes_everything():
    doc = nasty_document()
    q0 = doc.text.index("Första")
    view = SourceView(doc, passage=(q0, len(doc.text)), quote=(q0, q0 + 20), has_file=True)
    html = pages.source_page(view)
    no_raw_markup(html)
    assert ('<span class="fraga-cited-passage"><mark class="fraga-cited" id="fraga-cited">Första stycket om po</mark>') in html
    assert '<span class="fraga-page">Sida 2</span>' in html
    assert "Titel &lt;b&gt;fet&lt;/b&gt;" in html and "&lt;i&gt;Chef&lt;/i&gt;" in html


def test_status_page_lists_unreadable_files_with_reasons():
    status = IndexStatus(
        folder="/x",
        created="2024-01-01T10:00:00+0000",
        encoder="fake",
        documents=(nasty_document(),),
        passages=3,
        districts=(("Skarpnäck", 1),),
        first_date="2024-01-02",
        last_date="2024-01-02",
        undated=0,
        skipped=(("trasig<script>.pdf", "PDF:en har ingen text (<skannad>)"),),
        duplicates=(),
    )
    html = pages.status_page(status)
    no_raw_markup(html)
    assert "Filer som inte kunde läsas (1)" in html
    assert "trasig&lt;script&gt;.pdf" in html and "ingen text (&lt;skannad&gt;)" in html
    assert "2024-01-01 10:00" in html


# TESTS: service =====================================================================
def test_open_builds_a_missing_index(corpus_copy: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("FRAGA_ENCODER", "fake")
    messages: list[str] = []
    svc = Service.open(tmp_path / "idx", corpus=corpus_copy, on_build=messages.append)
    assert len(svc.index.documents) == 4 and len(messages) == 2
    with pytest.raises(IndexNotFoundError):
        Service.open(tmp_path / "other", corpus=corpus_copy, build=False)


def test_ask_cites_the_named_district(service: Service):
    turn = service.ask("Vem polisanmäler hot i Skarpnäck?")
    assert turn.answer is not None and turn.context == ("Skarpnäck",) and turn.carried == ()
    assert all(c.district == "Skarpnäck" for c in turn.answer.citations)
    assert turn.plain_text.startswith(turn.answer.text)


@pytest.mark.parametrize("question", ["", "   ", "x" * 2001])
def test_ask_refuses_empty_and_too_long_questions(service: Service, question: str):
    with pytest.raises((EmptyQueryError, QueryTooLongError)):
        service.ask(question)


def test_follow_up_inherits_the_district_of_the_previous_turn(service: Service):
    first = service.ask("Vem polisanmäler hot i Skarpnäck?")
    follow = service.ask("Vem gör bedömningen om det ska polisanmälas?", [first])
    assert follow.carried == ("Skarpnäck",) or follow.widened == ("Skarpnäck",)
    if follow.carried:
        assert {h.chunk.doc_id for h in follow.answer.hits} == {SKARPNACK}
        assert follow.context == ("Skarpnäck",)


def test_follow_up_does_not_inherit_when_it_names_a_district_or_asks_across(service: Service):
    first = Turn("Vem polisanmäler hot i Skarpnäck?", Answer("q", True, "a"), context=("Skarpnäck",))
    assert service.inherited_districts("Och i Kungsholmen?", [first]) == ()
    assert service.inherited_districts("Och i Bromma?", [first]) == ()  # a district without documents
    assert service.inherited_districts("Vilka stadsdelar gör så?", [first]) == ()
    assert service.inherited_districts("Jämför med de andra", [first]) == ()
    assert service.inherited_districts("Vem gör det?", []) == ()
    refused = Turn("", None, error="tom")
    assert service.inherited_districts("Vem gör det?", [first, refused]) == ("Skarpnäck",)


def test_context_comes_from_citations_of_one_district(service: Service):
    turn = service.ask("Har Norra innerstaden en säkerhetssamordnare på heltid?")
    assert turn.context == ("Norra innerstaden",)
    unnamed = service.ask("Hur många heltidsanställda säkerhetssamordnare finns?")
    cited = {c.district for c in unnamed.answer.citations}
    assert unnamed.context == (tuple(cited) if len(cited) == 1 else ())


def test_filters_are_checked(service: Service):
    f = service.filters(["skarpnacks"], ["tjänsteutlåtande"], "2024-01-01", "2024-12-31")
    assert f.districts == ("Skarpnäck",) and f.date_from == "2024-01-01"
    with pytest.raises(UnknownDistrictError):
        service.filters(["Atlantis"])
    with pytest.raises(FragaError, match="ÅÅÅÅ-MM-DD"):
        service.filters(date_from="24/1")
    with pytest.raises(FragaError, match="ÅÅÅÅ-MM-DD"):
        service.filters(date_to="2024-02-30")
    with pytest.raises(FragaError, match="byt plats"):
        service.filters(date_from="2024-12-31", date_to="2024-01-01")


def test_filtered_search_groups_by_document(service: Service):
    f = service.filters(["Skarpnäck"], ["tjänsteutlåtande"])
    result = service.search("hot mot medarbetare", filters=f, k=10)
    assert result.hits and {h.chunk.doc_id for h in result.hits} == {SKARPNACK}
    html = pages.search_results(result, service.index.documents, service.matcher("hot mot medarbetare"), f)
    assert html.count('<details class="fraga-doc"') == 1
    assert html.count('<details class="fraga-hit"') == len(result.hits)
    assert "<mark>hot</mark>" in html
    dated = service.filters(date_from="2023-01-01")
    html = pages.search_results(service.search("hot", filters=dated), service.index.documents, service.matcher("hot"), dated)
    assert "Dokument utan datum visas inte" in html


def test_compare_gives_one_row_per_district(service: Service):
    rows = service.compare("Polisanmäls varje hot?")
    assert [d for d, _ in rows] == service.index.districts()
    for district, hit in rows:
        assert hit is not None and service.index.documents[hit.chunk.doc_id].metadata.district == district
    html = pages.comparison(rows, service.index.documents, service.matcher("Polisanmäls varje hot?"))
    assert html.count('class="fraga-col"') == len(rows)


def test_matcher_uses_stems_and_skips_stop_words_and_district_names(service: Service):
    is_match = service.matcher("Vem polisanmäler hot i Skarpnäck?")
    assert is_match("polisanmälas") and is_match("polisanmaler") and is_match("hot")
    assert not is_match("Skarpnäcks") and not is_match("i") and not is_match("vem")
    assert not service.matcher("och i")("och")


def test_source_marks_the_citation_and_ignores_bad_offsets(service: Service):
    turn = service.ask("Vem polisanmäler hot i Skarpnäck?")
    c = turn.answer.citations[0]
    view = service.source(c.doc_id, chunk_id=c.chunk_id, start=c.start, end=c.end)
    assert view.quote == (c.start, c.end) and view.passage[0] <= c.start and c.end <= view.passage[1]
    assert view.doc.text[c.start : c.end].split() == c.quote.split()
    html = pages.source_page(view)
    marked = re.search(r'<mark class="fraga-cited" id="fraga-cited">(.*?)</mark>', html, re.S).group(1)
    assert marked.split() == render.esc(c.quote).split()
    assert service.source(c.doc_id, start="x", end=10**9).quote is None
    from_offsets = service.source(c.doc_id, start=c.start, end=c.end)
    assert from_offsets.passage is not None
    with pytest.raises(FragaError):
        service.source("../../etc/passwd")


def test_download_copies_the_original_under_its_own_name(service: Service):
    path = service.download(SKARPNACK)
    assert path.name == f"{SKARPNACK}.txt"
    assert path.read_bytes() == (ROOT / "corpus" / f"{SKARPNACK}.txt").read_bytes()
    assert service.download(SKARPNACK) == path


def test_status_counts_documents_and_districts(service: Service):
    status = service.status()
    assert len(status.documents) == 4 and status.passages == len(service.index.chunks)
    assert dict(status.districts) == {d: 1 for d in service.index.districts()}
    assert status.first_date <= status.last_date and status.skipped == ()


# TESTS: UI handlers and app.py ======================================================
def test_handlers_turn_errors_into_messages(service: Service):
    from fraga.webapp.ui import Handlers

    h = Handlers(service)
    # An empty submit (a stray Enter or click) changes nothing: no "Frågan är tom" bubble.
    for empty in ("", "   \n "):
        skipped = h.ask(empty, (), "hybrid", 5)
        assert all(isinstance(x, dict) and x.get("__type__") == "update" and len(x) == 1 for x in skipped)
    long_q = "hot " * 1000
    html, turns, box = h.ask(long_q, (), "hybrid", 5)
    assert "gränsen är" in html and len(turns) == 1 and box == long_q
    html, turns, box = h.ask("Vem polisanmäler hot i Skarpnäck?", turns, "nonsense-mode", 500)
    assert turns[-1].answer is not None and box == ""
    assert "fraga-notice-error" in h.search("", None, None, "", "", "hybrid", 20)
    assert "ÅÅÅÅ-MM-DD" in h.search("hot", None, None, "igår", "", "hybrid", 20)
    assert "fraga-notice-error" in h.compare("   ", None, "bm25")


def test_build_ui_makes_blocks(service: Service):
    gr = pytest.importorskip("gradio")
    from fraga.webapp.ui import build_ui

    demo = build_ui(service)
    assert isinstance(demo, gr.Blocks)


def test_serve_arguments_default_to_localhost_and_read_gradio_variables(monkeypatch, tmp_path):
    from fraga.cli.main import build_parser
    from fraga.cli.serve import address, corpus_for

    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["serve"])
    assert address(args) == ("127.0.0.1", 7860) and corpus_for(args) is None  # no ./corpus here
    (tmp_path / "corpus").mkdir()
    assert corpus_for(args) == "corpus"
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "9001")
    assert address(build_parser().parse_args(["serve"])) == ("0.0.0.0", 9001)
    args = build_parser().parse_args(["serve", "--host", "127.0.0.2", "--port", "9002", "--index-dir", "x", "--corpus", "c"])
    assert address(args) == ("127.0.0.2", 9002) and (args.index_dir, corpus_for(args)) == ("x", "c")


def test_app_py_runs_fraga_serve():
    from fraga.cli import serve

    assert app_module().main is serve.main


ARENAS = """
import ctypes, json, sys, threading
from fraga.cli.serve import limit_malloc_arenas
limited = limit_malloc_arenas(2) if sys.argv[1] == "limit" else False
barrier = threading.Barrier(8)
def work():  # eight threads allocating at the same time, as Gradio's workers do
    barrier.wait()
    blocks = [bytearray(4096) for _ in range(200)]
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
sys.stderr.flush()
ctypes.CDLL("libc.so.6").malloc_stats()  # one "Arena N:" block per arena, on stderr
"""


@pytest.mark.slow  # imports app.py in subprocesses
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_app_limits_malloc_arenas_so_memory_stays_compact(tmp_path):
    script = tmp_path / "arenas.py"
    script.write_text(ARENAS, encoding="utf-8")

    def arenas(how: str) -> int:
        proc = subprocess.run([sys.executable, str(script), how], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return sum(line.startswith("Arena ") for line in proc.stderr.splitlines())

    assert arenas("default") > 2  # without the limit each thread gets an arena of its own
    assert arenas("limit") == 2


def test_server_keeps_fewer_gradio_event_records(monkeypatch):
    from fraga.cli.serve import set_server_environment

    for name in ("GRADIO_ANALYTICS_MAX_EVENTS", "OMP_WAIT_POLICY", "GRADIO_ANALYTICS_ENABLED"):
        monkeypatch.setenv(name, "")  # restored (to unset) after the test
        monkeypatch.delenv(name)
    set_server_environment()
    assert os.environ["GRADIO_ANALYTICS_MAX_EVENTS"] == "1000"


def test_follow_up_searches_all_districts_when_the_inherited_one_has_no_answer(service: Service, monkeypatch):
    calls = []

    def fake_answer(question, *, k=5, mode="hybrid", filters=None):
        calls.append(filters)
        answered = filters is None  # nothing in the inherited district, an answer elsewhere
        return Answer(question, answered, "svar" if answered else "inget")

    monkeypatch.setattr(service.answerer, "answer", fake_answer)
    first = Turn("Vem polisanmäler hot i Skarpnäck?", Answer("q", True, "a"), context=("Skarpnäck",))
    turn = service.ask("Hur ser det ut med tystnadskultur?", [first])
    assert [f.districts if f else None for f in calls] == [("Skarpnäck",), None]
    assert turn.answer.answered and turn.carried == () and turn.widened == ("Skarpnäck",)
    html = render.turn_html(turn, {}, None, lambda cid: None)
    assert "Inget svar i Skarpnäck" in html


def test_a_follow_up_naming_only_a_district_is_read_as_the_previous_question_there(service: Service):
    first = service.ask("Hur många säkerhetssamordnare har Skarpnäck?")
    follow = service.ask("och i norra innerstan?", [first])
    assert follow.asked == "Hur många säkerhetssamordnare har Norra innerstaden?"
    assert follow.interpreted.startswith("Tolkat som:") and follow.context == ("Norra innerstaden",)
    html = render.turn_html(follow, {}, None, lambda cid: None)
    assert "Tolkat som: Hur många säkerhetssamordnare har Norra innerstaden?" in html
