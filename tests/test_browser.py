"""End to end: the web app in headless Debian chromium, driven by Playwright.

The app is started as ``python app.py`` on a free port over a fresh index folder, so the
first start also builds the index from the bundled corpus with the default encoder
(about 20 s). Screenshots of each step go to test-artifacts/screenshots/.

Without chromium (/usr/bin/chromium, or $FRAGA_CHROMIUM) or Playwright these tests are
skipped, except when $CI is set: then they fail, so a CI machine cannot pass them by accident.
The fixtures ``app_url``, ``browser`` and ``page`` are in conftest.py, shared with
test_browser_drafting.py (one app for the whole session).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
pytestmark = pytest.mark.browser


def shot(page, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=full_page)


def ask(page, question: str, turns_before: int = 0) -> None:
    box = page.locator("#fraga-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('#fraga-chat .fraga-turn').length > {turns_before}")


# TESTS ==============================================================================
def test_ask_open_citation_and_download(page):
    from playwright.sync_api import expect

    ask(page, "vem polisanmäler i Skarpnäck?")
    reply = page.locator("#fraga-chat .fraga-a").last
    expect(reply.locator(".fraga-answer")).to_contain_text("polisanmälan")
    expect(reply.locator(".fraga-card-head").first).to_contain_text("Skarpnäck")
    expect(reply.locator(".fraga-card .fraga-meta").first).to_contain_text("SKA 2024/339")
    expect(reply.locator(".fraga-passage mark").first).to_be_visible()
    shot(page, "01-fraga-svar.png", full_page=True)

    quote = reply.locator(".fraga-card .fraga-quote").first.inner_text()
    reply.locator(".fraga-answer button.fraga-ref").first.click()
    cited = page.locator("#fraga-source mark.fraga-cited")
    expect(cited).to_be_visible()
    expect(cited).to_be_in_viewport()
    expect(page.get_by_role("tab", name="Källa")).to_have_attribute("aria-selected", "true")
    assert " ".join(cited.inner_text().split()) == " ".join(quote.split())
    expect(page.locator("#fraga-source .fraga-docmeta")).to_contain_text("SKA 2024/339")
    shot(page, "02-kalla-markerat-stalle.png")

    with page.expect_download() as info:
        page.locator("#fraga-download").click()
    download = info.value
    assert download.suggested_filename == "skarpnack-2024-09-24-starkt-skydd.txt"
    assert "Skarpnäcks" in Path(download.path()).read_text(encoding="utf-8")


def test_follow_up_and_copy(page):
    from playwright.sync_api import expect

    ask(page, "Vem polisanmäler i Skarpnäck?")
    ask(page, "Vem gör bedömningen?", turns_before=1)
    reply = page.locator("#fraga-chat .fraga-a").last
    expect(reply.locator(".fraga-context")).to_contain_text("Skarpnäck")
    reply.locator("button.fraga-copy").click()
    expect(reply.locator("button.fraga-copy")).to_have_text("Kopierat!")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "Källor:" in copied and "[1] Skarpnäck" in copied
    shot(page, "03-foljdfraga-kopierad.png", full_page=True)


def test_filtered_search_and_open_passage(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Sök").click()
    page.locator("#fraga-search-query textarea").fill("hot mot medarbetare")
    districts = page.locator("#fraga-filter-district input")
    districts.click()
    districts.fill("Skarp")
    page.get_by_role("option", name="Skarpnäck").click()
    page.locator("#fraga-filter-type").get_by_label("tjänsteutlåtande").check()
    page.locator("#fraga-filter-from textarea, #fraga-filter-from input").first.fill("2024-01-01")
    page.get_by_role("button", name="Sök", exact=True).click()
    groups = page.locator("#fraga-results details.fraga-doc")
    expect(groups.first).to_be_visible()
    heads = groups.locator("summary b").all_inner_texts()
    assert heads and set(heads) == {"Skarpnäck"}
    first_hit = groups.first.locator("details.fraga-hit").first
    first_hit.locator("summary").click()
    expect(first_hit.locator(".fraga-passage")).to_be_visible()
    shot(page, "04-sok-med-filter.png", full_page=True)
    first_hit.get_by_role("button", name="Visa i dokumentet").click()
    expect(page.locator("#fraga-source .fraga-cited-passage")).to_be_in_viewport()
    shot(page, "05-sok-oppnat-avsnitt.png")


def test_compare_districts(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Jämför stadsdelar").click()
    page.locator("#fraga-compare-question textarea").fill("Polisanmäls varje hot mot medarbetare?")
    page.get_by_role("button", name="Jämför", exact=True).click()
    columns = page.locator("#fraga-compared .fraga-col h2")
    expect(columns.first).to_be_visible()
    assert columns.all_inner_texts() == ["Hägersten-Älvsjö", "Kungsholmen", "Norra innerstaden", "Skarpnäck"]
    shot(page, "06-jamfor-stadsdelar.png", full_page=True)


def test_markup_in_question_is_shown_as_text(page):
    from playwright.sync_api import expect

    nasty = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> [klicka här](http://example.com/x)'
    ask(page, nasty)
    turn = page.locator("#fraga-chat .fraga-turn").last
    expect(turn.locator(".fraga-q")).to_contain_text("<script>window.__pwned = 1</script>")
    expect(turn.locator(".fraga-q")).to_contain_text("[klicka här](http://example.com/x)")
    assert page.evaluate("window.__pwned") is None
    assert page.locator('#fraga-chat a[href^="http://example.com"]').count() == 0
    assert page.locator("#fraga-chat img").count() == 0
    expect(turn.locator(".fraga-a")).to_contain_text("inget tydligt svar")
    shot(page, "07-markup-visas-som-text.png", full_page=True)


def test_empty_question_is_ignored_and_too_long_gets_a_message(page):
    from playwright.sync_api import expect

    page.get_by_role("button", name="Fråga", exact=True).click()  # nothing to ask: no bubble (issue 20)
    page.locator("#fraga-question textarea").press("Enter")
    page.wait_for_timeout(1000)
    expect(page.locator("#fraga-chat .fraga-turn")).to_have_count(0)
    expect(page.locator("#fraga-chat .fraga-welcome")).to_be_visible()
    ask(page, "hot " * 1500)
    expect(page.locator("#fraga-chat .fraga-error").last).to_contain_text("gränsen är")
    shot(page, "08-tom-och-for-lang-fraga.png", full_page=True)


def test_index_status(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Om indexet").click()
    status = page.locator("#fraga-status")
    expect(status.locator(".fraga-stats")).to_contain_text("4 dokument")
    expect(status).to_contain_text("Filer som inte kunde läsas")
    assert status.locator("table.fraga-table tbody tr").count() == 4
    page.locator("#fraga-settings").click()
    expect(page.get_by_text("Sökmetod")).to_be_visible()
    shot(page, "09-om-indexet-och-installningar.png", full_page=True)
