"""The web app's "Förbered svar" tab without a browser: reading input, the table's HTML, the downloads."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from fraga.drafting import NOT_FOUND, Cell, Preparation, Question, find_questions
from fraga.records import Citation
from fraga.webapp import drafting_tab
from fraga.webapp.drafting_tab import DraftingHandlers, file_stem, summary_html, table_html
from fraga.webapp.service import Service

ROOT = Path(__file__).resolve().parents[1]
SKRIVELSE = ROOT / "corpus" / "hagersten-alvsjo-skrivelse-starkt-skydd.txt"
NASTY = '<script>alert("x")</script><img src=x onerror=alert(1)> [klicka](http://evil.example) **fet**'


# FIXTURES ===========================================================================
@pytest.fixture
def handlers(service: Service, tmp_path: Path) -> DraftingHandlers:
    return DraftingHandlers(service, tmp_path / "downloads")


@pytest.fixture
def uploaded(tmp_path: Path) -> Path:
    """The bundled skrivelse as Gradio hands over an upload: a file under its own name."""
    folder = tmp_path / "gradio-upload"
    folder.mkdir()
    return Path(shutil.copy(SKRIVELSE, folder / SKRIVELSE.name))


def docx_text(path: Path) -> str:
    import docx

    return "\n".join(p.text for p in docx.Document(str(path)).paragraphs)


def no_raw_markup(html: str) -> None:
    assert "<script" not in html and "<img" not in html and "<a " not in html and "href" not in html


def nasty_preparation() -> Preparation:
    qs = (Question(1, f"Fråga {NASTY}?", "1."), Question(2, "Finns en säkerhetssamordnare?", "2."))
    cite = Citation(
        1,
        "",
        "doc<x>",
        "Skarpnäck",
        f"Titel {NASTY}",
        "SKA 2024/339",
        "2024-09-24",
        "Förvaltningens synpunkter › 1. <b>Har</b>?",
        f"Första stycket {NASTY}\n\nAndra stycket.",
        10,
        90,
    )
    cells = (
        Cell(1, "Skarpnäck", "same_question", 0.9, cite, f"Har {NASTY}?", f"Första stycket {NASTY} …"),
        Cell(1, "Söder <i>", "none", 0.0),
        Cell(2, "Skarpnäck", "none", 0.0),
        Cell(2, "Söder <i>", "none", 0.0),
    )
    return Preparation(f"Skrivelse {NASTY}", "Kista", qs, ("Skarpnäck", "Söder <i>"), cells, (), "bm25")


# TESTS: rendering ===================================================================
def test_table_escapes_everything_and_cells_open_to_quote_and_full_citation():
    prep = nasty_preparation()
    html = table_html(prep)
    no_raw_markup(html)
    assert html.count("<tr data-q=") == 2 and html.count('<th scope="col">') == 2
    assert "Söder &lt;i&gt;" in html and "&lt;script&gt;" in html and "**fet**" in html
    assert html.count('<details class="fraga-dcell"') == 1
    assert html.count(NOT_FOUND) == 3
    assert "<p>Andra stycket.</p>" in html  # the whole quote, paragraph by paragraph
    assert "Ställd som: \u201dHar &lt;script&gt;" in html
    cite = re.search(r'<div class="fraga-dcite">(.*?)</div>', html).group(1)
    assert "Dnr SKA 2024/339, 2024-09-24, avsnitt: Förvaltningens synpunkter › 1. &lt;b&gt;Har&lt;/b&gt;?" in cite
    assert 'data-doc="doc&lt;x&gt;"' in cite and 'data-start="10" data-end="90"' in cite and ">[1]</button>" in cite
    assert "svar på 1 av 2 frågor" in html and "svar på 0 av 2 frågor" in html


def test_summary_lists_the_questions_numbered():
    prep = nasty_preparation()
    html = summary_html(prep, note="Läste <fil>.txt")
    no_raw_markup(html)
    assert html.count("<li value=") == 2 and '<li value="2">Finns en säkerhetssamordnare?</li>' in html
    assert "Ställd till:</b> Kista (indexet har inga tidigare svar därifrån)" in html
    assert "1 av 4 rutor har ett tidigare svar" in html and "BM25" in html and "Läste &lt;fil&gt;.txt" in html


def test_file_stem_is_ascii():
    assert file_stem("Hägersten-Älvsjö: skrivelse om <hot>") == "hagersten-alvsjo-skrivelse-om-hot"
    assert file_stem("???") == "skrivelse" and len(file_stem("a" * 200)) == 60


# TESTS: handlers ====================================================================
def test_upload_gives_four_questions_a_table_and_both_downloads(handlers: DraftingHandlers, uploaded: Path):
    result = handlers.prepare("", str(uploaded), "hybrid")
    prep = result.preparation
    expected = [q.text for q in find_questions(SKRIVELSE.read_text(encoding="utf-8"))]
    assert [q.text for q in prep.questions] == expected and len(expected) == 4
    assert result.summary.count("<li value=") == 4
    assert "Läste hagersten-alvsjo-skrivelse-starkt-skydd.txt" in result.summary
    assert "Skrivelsen finns själv i indexet" in result.summary
    assert "Hägersten-Älvsjö" not in prep.districts and {"Norra innerstaden", "Skarpnäck"} <= set(prep.districts)
    assert result.table.count("<tr data-q=") == 4
    assert result.table.count("<td") == 4 * len(prep.districts)
    assert result.table.count('<details class="fraga-dcell"') == sum(c.found for c in prep.cells) > 0

    assert result.docx.name == "underlag-hagersten-alvsjo-skrivelse-starkt-skydd.docx"
    text = docx_text(result.docx)
    assert all(q in text for q in expected) and "Skarpnäck" in text and "Dnr SKA 2024/339" in text
    md = result.markdown.read_text(encoding="utf-8")
    assert result.markdown.suffix == ".md" and md.count("\n## Fråga ") == 4 and "Dnr SKA 2024/339" in md
    assert result.docx.parent == result.markdown.parent  # one folder per request


def test_pasted_text_and_mode(handlers: DraftingHandlers):
    result = handlers.prepare(SKRIVELSE.read_text(encoding="utf-8"), None, "bm25")
    assert result.preparation.mode == "bm25" and "sökmetod: BM25" in result.summary
    assert result.docx.name.startswith("underlag-om-behovet-av-starkt-skydd")
    assert handlers.prepare(SKRIVELSE.read_text(encoding="utf-8"), None, "nonsense").preparation.mode == "hybrid"


def test_upload_wins_over_pasted_text_and_says_so(handlers: DraftingHandlers, uploaded: Path):
    result = handlers.prepare("Har ni en policy?", str(uploaded), "bm25")
    assert len(result.preparation.questions) == 4
    assert "Den inklistrade texten används inte när en fil är vald" in result.summary


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("gammal.doc", b"\xd0\xcf\x11\xe0 binary", "formatet .doc stöds inte; spara skrivelsen som .docx"),
        ("bild.png", b"\x89PNG", "okänt filformat"),
        ("trasig.txt", b"abc\x00def" * 10, "innehåller binärdata"),
        ("trasig.docx", b"PK\x03\x04 inte en zip", "trasig eller oläsbar Word-fil"),
        ("trasig.pdf", b"%PDF-1.4 nonsense", "trasig.pdf"),
        ("tom.txt", b"   \n", "ingen läsbar text"),
    ],
)
def test_unreadable_files_get_a_message(handlers: DraftingHandlers, tmp_path: Path, name: str, data: bytes, message: str):
    path = tmp_path / name
    path.write_bytes(data)
    result = handlers.prepare("", str(path), "hybrid")
    assert "fraga-notice-error" in result.summary and "Filen kunde inte läsas" in result.summary
    assert message in result.summary
    assert result.docx is None and result.markdown is None and result.preparation is None
    assert result.table == drafting_tab.PLACEHOLDER_HTML


def test_empty_no_questions_too_long_and_vanished_upload(handlers: DraftingHandlers, tmp_path: Path):
    assert "Klistra in skrivelsens text" in handlers.prepare("  ", None, "hybrid").summary
    assert "Hittade inga frågor i skrivelsen" in handlers.prepare("Ett stycke utan frågor. " * 5, None, "hybrid").summary
    long = handlers.prepare("Har ni en policy? " * 20_000, None, "hybrid").summary
    assert "gränsen är" in long
    assert "ladda upp den igen" in handlers.prepare("", str(tmp_path / "borta.txt"), "hybrid").summary
    nasty = handlers.prepare(NASTY, None, "hybrid").summary
    no_raw_markup(nasty)


def test_old_request_folders_are_removed(handlers: DraftingHandlers, uploaded: Path):
    first = handlers.prepare("", str(uploaded), "bm25").docx.parent
    old = time.time() - drafting_tab.KEEP_SECONDS - 10
    os.utime(first, (old, old))
    second = handlers.prepare("", str(uploaded), "bm25").docx.parent
    assert second.exists() and not first.exists()


def test_run_shows_and_hides_the_download_buttons(handlers: DraftingHandlers, uploaded: Path):
    pytest.importorskip("gradio")
    summary, table, docx, md = handlers.run("", str(uploaded), "bm25")
    assert docx["visible"] is True and docx["value"].endswith(".docx") and md["value"].endswith(".md")
    summary, table, docx, md = handlers.run("", None, "bm25")
    assert docx["visible"] is False and md["visible"] is False and "fraga-notice-error" in summary


def test_build_ui_has_the_tab_and_its_citations_open_the_source(service: Service):
    gr = pytest.importorskip("gradio")
    from fraga.webapp.ui import build_ui

    demo = build_ui(service)
    tabs = [b for b in demo.blocks.values() if isinstance(b, gr.Tab)]
    assert "Förbered svar" in [t.label for t in tabs]
    table = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "fraga-draft-table")
    targets = [d for d in demo.fns.values() if any(t == table._id for t, _ in d.targets)]
    assert targets, "a click on a citation in the table must open the Källa tab"
    assert any(d.api_name == "forbered" for d in demo.fns.values())
