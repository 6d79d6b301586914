"""Issue 20 without a browser: the Swedish page, derived dates, signature blocks, skrivelse marks,
the date filter's note and the copy button of a no-answer reply."""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

import pytest

from fraga.ingest.corpus import load_document
from fraga.ingest.furniture import signature_start
from fraga.ingest.metadata import derive_date, extract_metadata
from fraga.ingest.sections import chunk_document
from fraga.records import Answer, Chunk, Document, Hit, Metadata
from fraga.search.retrieve import Filters, SearchResult
from fraga.webapp import pages, render
from fraga.webapp.lang import SwedishPage, set_html_lang
from fraga.webapp.service import Service, Turn

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
NORRA = "norra-innerstaden-2024-06-13-starkt-skydd"


@pytest.fixture(scope="module")
def service(fake_index_dir: Path) -> Service:
    return Service.open(fake_index_dir, build=False)


# The page is Swedish as served ========================================================
def test_set_html_lang_rewrites_or_adds_the_attribute():
    page = b'<!doctype html>\n<html\n\tlang="en"\n\tstyle="margin: 0">\n<head><meta lang="en"></head>'
    out = set_html_lang(page)
    assert b'<html\n\tlang="sv"\n\tstyle="margin: 0">' in out and b'<meta lang="en">' in out
    assert set_html_lang(b"<html><body></body></html>") == b'<html lang="sv"><body></body></html>'


def _serve(middleware, content_type: bytes, body: bytes, method: str = "GET", chunks: int = 1):
    async def app(scope, receive, send):
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
            }
        )
        step = max(1, len(body) // chunks)
        parts = [body[i : i + step] for i in range(0, len(body), step)]
        for n, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part, "more_body": n < len(parts) - 1})

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    # A thread of its own: an earlier test (Playwright's sync API) may have left an event loop
    # running in this one, where asyncio.run() refuses to start.
    call = middleware(app)({"type": "http", "method": method, "path": "/"}, receive, send)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, call).result()
    headers = dict(sent[0]["headers"])
    return headers, b"".join(m.get("body", b"") for m in sent[1:])


def test_swedish_page_middleware_changes_html_only():
    html = b'<!doctype html><html lang="en-US"><body>Hej</body></html>'
    headers, body = _serve(SwedishPage, b"text/html; charset=utf-8", html, chunks=3)
    assert body == b'<!doctype html><html lang="sv"><body>Hej</body></html>'
    assert headers[b"content-length"] == str(len(body)).encode()
    data = b'{"html": "<html lang=\\"en\\">"}'
    assert _serve(SwedishPage, b"application/json", data)[1] == data
    assert _serve(SwedishPage, b"text/html", html, method="POST")[1] == html


def test_launch_serves_the_page_in_swedish(service):
    """The Gradio app as launched answers GET / with <html lang="sv">."""
    gr = pytest.importorskip("gradio")
    from fraga.webapp import ui

    demo = ui.build_ui(service)
    launched = {}

    def fake_launch(**kwargs):
        launched.update(kwargs)
        raise RuntimeError("stop here")

    demo.launch = fake_launch
    with pytest.raises(RuntimeError, match="stop here"):
        ui.launch(demo, host="127.0.0.1", port=None)
    assert [m.cls for m in launched["app_kwargs"]["middleware"]] == [SwedishPage]
    assert "documentElement.lang" not in launched["head"]
    assert isinstance(demo, gr.Blocks)


# Dates =================================================================================
def test_norra_innerstaden_gets_its_date_from_the_file_name():
    doc = load_document(CORPUS / f"{NORRA}.txt", CORPUS)
    assert (doc.metadata.date, doc.metadata.date_source) == ("2024-06-13", "filnamn")
    skarpnack = load_document(CORPUS / "skarpnack-2024-09-24-starkt-skydd.txt", CORPUS)
    assert (skarpnack.metadata.date, skarpnack.metadata.date_source) == ("2024-09-24", "")  # the letterhead's
    skrivelse = load_document(CORPUS / "hagersten-alvsjo-skrivelse-starkt-skydd.txt", CORPUS)
    assert (skrivelse.metadata.date, skrivelse.metadata.date_source) == ("", "")  # no date anywhere


@pytest.mark.parametrize(
    "name,text,expected",
    [
        ("svar", "Vid nämndens sammanträde den 13 juni 2024 inkom en skrivelse.", ("2024-06-13", "text")),
        ("svar-2023-02-30", "Inget datum här.", ("", "")),  # not a real day
        ("svar_2023_03_01", "Sammanträdet den 13 juni 2024.", ("2023-03-01", "filnamn")),
        ("svar", "Under 2021 och 2022 har förvaltningen deltagit.", ("", "")),  # a year is no date
    ],
)
def test_derive_date(name, text, expected):
    meta = derive_date(extract_metadata(text), text, name)
    assert (meta.date, meta.date_source) == expected
    dated = Metadata(date="2020-01-01")
    assert derive_date(dated, text, "svar-2024-06-13") is dated


def test_sidecar_date_is_not_marked_derived(corpus_copy: Path):
    (corpus_copy / f"{NORRA}.meta.json").write_text('{"date": "2024-06-20"}', encoding="utf-8")
    doc = load_document(corpus_copy / f"{NORRA}.txt", corpus_copy)
    assert (doc.metadata.date, doc.metadata.date_source) == ("2024-06-20", "")


def test_derived_date_is_shown_as_derived(service):
    doc = service.index.documents[NORRA]
    assert "2024-06-13 (datum ur filnamnet)" in render.meta_line(doc)
    assert "2024-06-13 (datum ur filnamnet, brevhuvudet saknar datum)" in pages.source_page(service.source(NORRA))


def test_date_filter_says_how_many_undated_documents_are_left_out(service):
    filters = service.filters((), (), "2024-01-01", "2024-12-31")
    result = service.search("säkerhetssamordnare", filters=filters, mode="bm25", k=20)
    assert NORRA in {h.chunk.doc_id for h in result.hits}
    html = pages.search_results(result, service.index.documents, service.matcher("säkerhetssamordnare"), filters)
    undated = sum(not d.metadata.date for d in service.index.documents.values())
    assert undated == 1
    assert f"{undated} av indexets dokument saknar datum och är utelämnade" in html


# Signature blocks and sentences ========================================================
def test_signature_blocks_are_found_at_the_end_only():
    text = "Förvaltningen svarar.\n\nKarin Bülow  Hanna Jakhammer\nStadsdelsdirektör  Avdelningschef\nSkarpnäcks"
    assert text[signature_start(text) :].startswith("Karin Bülow")
    assert signature_start("Stadsdelsdirektören ansvarar för arbetet. Hon har fyra medarbetare.") is None
    middle = "Anna Berg\nAvdelningschef\n\nAvdelningschefen har sedan ett långt ansvar för arbetet med hot. " * 2
    assert signature_start(middle) is None  # a sentence follows: no closing signature


def test_cards_show_no_closing_signature():
    """Passages keep the signature block (fraga answers "who signed?" from it), cards do not show it."""
    shown = 0
    for path in sorted(CORPUS.glob("*.txt")):
        doc = load_document(path, CORPUS)
        for chunk in chunk_document(doc):
            if chunk.section == "Attesterat av":  # the approval list is a section of its own
                continue
            text = render.shown_passage(chunk.text)
            for furniture in ("Karin Bülow", "Jesper Ackinger", "Stadsdelsdirektör", "Stadsdelsdirektor"):
                assert furniture not in text, (chunk.chunk_id, furniture)
            shown += len(text) < len(chunk.text.rstrip())
    assert shown == 3  # Skarpnäck's, Kungsholmen's and Norra innerstaden's last passages lose their signatures


def test_a_cited_signature_stays_in_its_card():
    text = "Förvaltningen svarar.\n\nKarin Bülow  Hanna Jakhammer\nStadsdelsdirektör  Avdelningschef"
    assert render.passage_end(text) == len("Förvaltningen svarar.")
    assert render.passage_end(text, keep=text.index("Hanna") + 5) == len(text)


def test_reflow_joins_a_blank_line_inside_a_sentence_only():
    text = "sammanträde den\n\n13 juni 2024 inkom en skrivelse.\n\nBakgrund\n\nVid mötet\n\n1. Har ni"
    out = render.reflow(text)
    assert len(out) == len(text)  # offsets stay valid
    assert "den  13 juni 2024 inkom" in out
    assert "skrivelse.\n\nBakgrund\n\nVid" in out and "mötet\n\n1. Har" in out


# Skrivelser are marked, no-answers can be copied =======================================
def _doc(doc_type: str) -> Document:
    meta = Metadata(district="Hägersten-Älvsjö", doc_type=doc_type, title="Om behovet")
    return Document("d", "d.txt", "Har stadsdelen en säkerhetssamordnare?", "", meta)


def test_skrivelse_passages_are_marked_as_questions():
    chunk = Chunk("d#0", "d", "Inledning", "Har stadsdelen en säkerhetssamordnare?", 0, 38)
    hit = Hit(chunk, 1.0, 1, "hybrid")
    marked = render.hit_card(hit, {"d": _doc("skrivelse")}, None)
    assert "Fråga från skrivelse" in marked
    assert "Fråga från skrivelse" not in render.hit_card(hit, {"d": _doc("tjänsteutlåtande")}, None)
    result = SearchResult("säkerhetssamordnare", "hybrid", (hit,))
    html = pages.search_results(result, {"d": _doc("skrivelse")}, lambda w: False, Filters())
    assert html.count("Fråga från skrivelse") == 2  # the document and its passage


def test_no_answer_reply_has_a_copy_button(service):
    # A district without documents is declined by rule, whatever the encoder and the answer model.
    turn = service.ask("Hur många säkerhetssamordnare har Bromma?")
    assert turn.answer is not None and not turn.answer.answered
    html = render.turn_html(turn, service.index.documents, None, lambda cid: None)
    assert 'class="fraga-copy"' in html and "Kopiera beskedet" in html
    assert "fraga-copy-text" in html and render.esc(turn.plain_text) in html
    answered = Turn("q", Answer("svar", True, "svar", ()))
    assert "Kopiera svar med källor" in render.turn_html(answered, {}, None, lambda cid: None)


def test_sok_and_jamfor_default_to_replies(service):
    gr = pytest.importorskip("gradio")
    from fraga.webapp.ui import build_ui

    demo = build_ui(service)
    groups = {c.elem_id: c for c in demo.blocks.values() if isinstance(c, gr.CheckboxGroup)}
    for elem_id in ("fraga-filter-type", "fraga-compare-type"):
        assert groups[elem_id].value == ["tjänsteutlåtande"]
    box = next(c for c in demo.blocks.values() if getattr(c, "elem_id", "") == "fraga-question")
    assert box.label == "Fråga"
