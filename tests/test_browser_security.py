"""In the real browser: markup in a document is shown as text and nothing in it runs.

A temporary corpus holds the bundled documents and one more, from Farsta, whose text (and
title) carries a script tag, an image with an onerror handler and a Markdown link to
``javascript:``; each would set ``window.__pwned`` if the page ran it. ``app.py`` indexes
that corpus with the default encoder, then the test asks a question answered by that
passage, opens the source view from the citation and from the Källa list, runs a search
and opens the index page, and checks that ``window.__pwned`` stays undefined while the
literal ``<script>`` text is visible.

Skipped like tests/test_browser.py without chromium or Playwright (failing on CI instead).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fraga.testing import running_app

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
START_TIMEOUT = 300  # seconds: indexing the corpus with the real encoder on a busy machine, then Gradio
STEP_TIMEOUT = 30_000  # milliseconds for one step in the browser

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=2">'
LINK = "[klicka](javascript:window.__pwned=3)"
NASTY_ID = "farsta-2024-10-01-brandskydd"
NASTY_TEXT = f"""Tjänsteutlåtande om brandskyddet i förskolorna

Svar på skrivelse från Anna Andersson (S) om brandskyddet.

Förvaltningens förslag till beslut
Stadsdelsnämnden överlämnar förvaltningens tjänsteutlåtande som svar på skrivelsen.

Sammanfattning
Skrivelsen tar upp brandskyddet i stadsdelens förskolor.

Ärendet
Vem ansvarar för brandskyddsronderna?
Förskolechefen ansvarar för brandskyddsronderna och genomför en brandskyddsrond varje månad. {SCRIPT} \
Brandskyddsronden dokumenteras i rutinen {IMG} och följs upp av säkerhetssamordnaren. \
Läs mer i rutinen {LINK} om brandskyddsronder.

Hur ofta övar förskolorna utrymning?
Förskolorna övar utrymning två gånger per år tillsammans med barnen.
"""
NASTY_META = {
    "district": "Farsta",
    "doc_type": "tjänsteutlåtande",
    "date": "2024-10-01",
    "dnr": "FAR 2024/7",
    "title": 'Brandskydd <script>window.__pwned=4</script><img src=y onerror="window.__pwned=5">',
}
QUESTION = "Vem ansvarar för brandskyddsronderna i Farsta?"


# The browser is conftest.py's session-wide one: a second Playwright instance in the same
# process fails ("Sync API inside the asyncio loop").


@pytest.fixture(scope="module")
def app_url(browser, tmp_path_factory: pytest.TempPathFactory):
    """``python app.py`` over an index built at start from the corpus with the hostile document."""
    work = tmp_path_factory.mktemp("browser-security")
    corpus = work / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    (corpus / f"{NASTY_ID}.txt").write_text(NASTY_TEXT, encoding="utf-8")
    (corpus / f"{NASTY_ID}.meta.json").write_text(json.dumps(NASTY_META, ensure_ascii=False), encoding="utf-8")
    with running_app(work / "index", work / "app.log", corpus=corpus, timeout=START_TIMEOUT) as url:
        yield url


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    pg = context.new_page()
    pg.set_default_timeout(STEP_TIMEOUT)
    errors: list[str] = []
    dialogs: list[str] = []
    requests: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(app_url)
    pg.locator("#fraga-question textarea").wait_for()
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not dialogs, f"dialogs opened: {dialogs}"
    fetched = [u for u in requests if u.split("?")[0].rstrip("/").rsplit("/", 1)[-1] in ("x", "y")]
    assert not fetched, f"the document's <img> was loaded: {fetched}"


def _not_pwned(page) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"


def _no_live_markup(page, panel: str) -> None:
    """No element made from the document's text inside ``panel``."""
    assert page.locator(f"{panel} script").count() == 0
    assert page.locator(f"{panel} img").count() == 0
    assert page.locator(f'{panel} a[href^="javascript"]').count() == 0
    assert page.locator(f"{panel} [onerror]").count() == 0


def test_document_with_script_shows_text_and_runs_nothing(page):
    from playwright.sync_api import expect

    # Fråga: the answer cites the passage that holds the markup.
    box = page.locator("#fraga-question textarea")
    box.fill(QUESTION)
    box.press("Enter")
    page.wait_for_function("document.querySelectorAll('#fraga-chat .fraga-turn').length > 0")
    reply = page.locator("#fraga-chat .fraga-a").last
    expect(reply.locator(".fraga-card-head").first).to_contain_text("Farsta")
    passage = reply.locator(".fraga-card .fraga-passage").filter(has_text="brandskyddsrond varje månad").first
    expect(passage).to_contain_text(SCRIPT)
    expect(passage).to_contain_text(IMG)
    expect(passage).to_contain_text(LINK)
    expect(reply.locator(".fraga-card-head").first).to_contain_text("<script>window.__pwned=4</script>")
    _no_live_markup(page, "#fraga-chat")
    page.wait_for_timeout(500)  # time for an onerror handler to fire, were there an image
    _not_pwned(page)

    # Källa, from the citation.
    reply.locator("button.fraga-ref").first.click()
    expect(page.get_by_role("tab", name="Källa")).to_have_attribute("aria-selected", "true")
    doctext = page.locator("#fraga-source .fraga-doctext")
    expect(doctext).to_contain_text(SCRIPT)
    expect(doctext).to_contain_text(IMG)
    expect(doctext).to_contain_text(LINK)
    expect(page.locator("#fraga-source h2")).to_have_text(NASTY_META["title"])
    _no_live_markup(page, "#fraga-source")
    page.locator("#fraga-source .fraga-doctext").get_by_text("klicka", exact=False).first.click()
    page.wait_for_timeout(500)
    _not_pwned(page)
    cited = page.locator("#fraga-source .fraga-cited-passage")
    expect(cited).to_contain_text(SCRIPT)  # the literal text, in the marked passage
    expect(cited).to_be_in_viewport()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "12-skript-visas-som-text.png"))

    # Sök: the snippet and the passage hold the markup as text.
    page.get_by_role("tab", name="Sök").click()
    page.locator("#fraga-search-query textarea").fill("brandskyddsrond förskolechef")
    page.get_by_role("button", name="Sök", exact=True).click()
    group = page.locator("#fraga-results details.fraga-doc").first
    expect(group).to_be_visible()
    expect(group.locator("summary").first).to_contain_text("Farsta")
    hit = group.locator("details.fraga-hit").first
    hit.locator("summary").click()
    expect(hit.locator(".fraga-passage")).to_contain_text(SCRIPT)
    _no_live_markup(page, "#fraga-results")
    page.wait_for_timeout(500)
    _not_pwned(page)

    # Om indexet: the title in the table is text too.
    page.get_by_role("tab", name="Om indexet").click()
    expect(page.locator("#fraga-status table.fraga-table")).to_contain_text("<script>window.__pwned=4</script>")
    _no_live_markup(page, "#fraga-status")
    page.wait_for_timeout(300)
    _not_pwned(page)


def test_question_and_document_markup_in_the_source_picker(page):
    """Opening the document from the Källa list shows the same text; a hostile question stays text too."""
    from playwright.sync_api import expect

    box = page.locator("#fraga-question textarea")
    box.fill(f"{SCRIPT}{IMG} {LINK} brandskyddsrond Farsta?")
    box.press("Enter")
    page.wait_for_function("document.querySelectorAll('#fraga-chat .fraga-turn').length > 0")
    expect(page.locator("#fraga-chat .fraga-q").last).to_contain_text(SCRIPT + IMG)
    _no_live_markup(page, "#fraga-chat")
    page.get_by_role("tab", name="Källa").click()
    pick = page.locator("#fraga-doc-pick input")
    pick.click()
    pick.fill("Farsta")
    page.get_by_role("option").filter(has_text="Farsta").first.click()
    expect(page.locator("#fraga-source .fraga-doctext")).to_contain_text(SCRIPT)
    _no_live_markup(page, "#fraga-source")
    page.wait_for_timeout(500)
    _not_pwned(page)
