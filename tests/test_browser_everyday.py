"""End to end: the web app in everyday use (issue 20), in headless chromium.

Follow-ups, quick hands, staff views, dates, phones and screen readers; the accessibility
checker axe-core (bundled by the axe-playwright-python package) runs over each view. Uses
the ``page`` / ``browser`` / ``app_url`` fixtures of conftest.py; screenshots go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
SKRIVELSE = ROOT / "corpus" / "hagersten-alvsjo-skrivelse-starkt-skydd.txt"
PREPARE_TIMEOUT = 90_000  # milliseconds: finding the earlier answers on a busy machine
BLOCKING = ("serious", "critical")  # axe impact levels that fail the test

pytestmark = pytest.mark.browser


def shot(target, name: str, **kwargs) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(SHOTS / name), **kwargs)


def turns(page) -> int:
    return page.locator("#fraga-chat .fraga-turn").count()


def ask(page, question: str) -> None:
    before = turns(page)
    box = page.locator("#fraga-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('#fraga-chat .fraga-turn').length > {before}")


def settled(page) -> None:
    """Wait until no question is pending (the box is enabled again)."""
    from playwright.sync_api import expect

    expect(page.locator("#fraga-question textarea")).to_be_enabled()
    expect(page.locator("#fraga-ask")).to_be_enabled()


def axe_violations(page) -> list[str]:
    """The serious and critical problems axe-core finds on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in found
        if v["impact"] in BLOCKING
    ]


def search(page, query: str) -> None:
    page.get_by_role("tab", name="Sök").click()
    page.locator("#fraga-search-query textarea").fill(query)
    page.get_by_role("button", name="Sök", exact=True).click()


# TESTS: screen readers ===============================================================
def test_page_is_served_in_swedish(page, app_url):
    html = page.request.get(app_url).text()
    tag = re.search(r"<html\b[^>]*>", html).group(0)
    assert re.search(r'\blang="sv"', tag), tag  # in the HTML as served, not set by a script later
    assert "documentElement.lang" not in html
    assert page.evaluate("document.documentElement.lang") == "sv"


def test_question_box_is_named_and_answers_are_announced(page):
    from playwright.sync_api import expect

    box = page.get_by_role("textbox", name="Fråga", exact=True)
    expect(box).to_have_count(1)
    assert box.evaluate("el => el.closest('#fraga-question') !== null")
    live = page.locator("#fraga-live")
    expect(live).to_have_attribute("aria-live", "polite")
    ask(page, "Vem polisanmäler i Skarpnäck?")
    answer = " ".join(page.locator("#fraga-chat .fraga-answer").last.inner_text().split())
    expect(live).to_have_text(re.compile("^Svar från fraga: " + re.escape(answer[:40])))
    settled(page)
    expect(box).to_be_focused()  # back in the box for the next question


def test_focus_goes_to_the_source_and_back(page):
    from playwright.sync_api import expect

    ask(page, "Vem polisanmäler i Skarpnäck?")
    ref = page.locator("#fraga-chat .fraga-answer button.fraga-ref").first
    ref.focus()
    page.keyboard.press("Enter")
    cited = page.locator("#fraga-source mark.fraga-cited")
    expect(cited).to_be_focused()
    back = page.get_by_role("button", name="← Tillbaka till Fråga")
    back.click()
    expect(page.get_by_role("tab", name="Fråga")).to_have_attribute("aria-selected", "true")
    expect(ref).to_be_focused()


def test_arrow_keys_move_between_tabs(page):
    from playwright.sync_api import expect

    page.wait_for_function("document.documentElement.dataset.fragaReady === '1'")
    expect(page.locator("#fraga-question textarea")).to_be_focused()  # Gradio's autofocus is done
    first = page.get_by_role("tab", name="Fråga")
    first.focus()
    expect(first).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Sök")).to_be_focused()
    expect(page.get_by_role("tab", name="Sök")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("End")
    expect(page.get_by_role("tab", name="Återkoppling")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowRight")  # wraps round
    expect(first).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("tab", name="Återkoppling")).to_be_focused()


def test_accessibility_checker_finds_nothing_serious(page, browser, app_url):
    problems: dict[str, list[str]] = {}

    def check(view: str) -> None:
        page.wait_for_timeout(600)  # let Gradio's fade-in of new output end
        found = axe_violations(page)
        if found:
            problems[view] = found

    check("start")
    ask(page, "Vem polisanmäler i Skarpnäck?")
    ask(page, "Hur många förskoleplatser finns det?")  # a no-answer reply
    settled(page)
    check("Fråga with answers")
    page.locator("#fraga-chat .fraga-answer button.fraga-ref").first.click()
    page.locator("#fraga-source mark.fraga-cited").wait_for()
    check("Källa")
    search(page, "hot mot medarbetare")
    page.locator("#fraga-results details.fraga-doc").first.wait_for()
    check("Sök")
    page.get_by_role("tab", name="Jämför stadsdelar").click()
    page.locator("#fraga-compare-question textarea").fill("Polisanmäls varje hot mot medarbetare?")
    page.get_by_role("button", name="Jämför", exact=True).click()
    page.locator("#fraga-compared .fraga-col").first.wait_for()
    check("Jämför stadsdelar")
    page.get_by_role("tab", name="Förbered svar").click()
    page.locator("#fraga-draft-text textarea").fill(SKRIVELSE.read_text(encoding="utf-8"))
    page.get_by_role("button", name="Hitta tidigare svar").click()
    page.locator("#fraga-draft-table table.fraga-dtable").wait_for(timeout=PREPARE_TIMEOUT)
    check("Förbered svar")
    for tab in ("Om indexet", "Återkoppling"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(300)
        check(tab)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="sv-SE", is_mobile=True)
    try:
        small = phone.new_page()
        small.goto(app_url)
        small.locator("#fraga-question textarea").wait_for()
        found = axe_violations(small)
        if found:
            problems["phone"] = found
        assert small.get_by_role("button", name="Fler flikar").count() == 1  # Gradio's "More tabs", in Swedish
    finally:
        phone.close()
    assert not problems, problems


# TESTS: the conversation ==============================================================
def test_follow_up_naming_only_a_district_keeps_the_topic(page):
    from playwright.sync_api import expect

    ask(page, "Hur många säkerhetssamordnare har Skarpnäck?")
    ask(page, "och i Norra innerstaden?")
    reply = page.locator("#fraga-chat .fraga-a").last
    expect(reply.locator(".fraga-context")).to_have_text("Tolkat som: Hur många säkerhetssamordnare har Norra innerstaden?")
    heads = reply.locator(".fraga-card-head").all_inner_texts()
    assert heads and all("Norra innerstaden" in h for h in heads), heads
    passages = " ".join(reply.locator(".fraga-passage").all_inner_texts()).lower()
    assert "säkerhets" in passages  # the topic is kept: passages about security coordinators
    shot(page, "20-foljdfraga-ny-stadsdel.png", full_page=True)


def test_rapid_submits_lose_nothing_and_add_no_empty_bubbles(page):
    box = page.locator("#fraga-question textarea")
    box.fill("Vem polisanmäler i Skarpnäck?")
    for _ in range(3):  # Enter three times with no pause
        box.press("Enter", no_wait_after=True)
    settled(page)
    # Ten clicks on "Fråga" in one go (faster than any round trip to the server).
    box.fill("Vem gör bedömningen?")
    page.evaluate("() => { const b = document.querySelector('#fraga-ask'); for (let i = 0; i < 10; i++) b.click(); }")
    page.wait_for_function("document.querySelectorAll('#fraga-chat .fraga-turn').length >= 2")
    settled(page)
    for _ in range(5):  # and clicks on an empty box once it is enabled again
        page.locator("#fraga-ask").click()
    # Three questions typed and sent one right after the other: none is lost.
    follow = [
        "Har Norra innerstaden en säkerhetssamordnare på heltid?",
        "Hur arbetar Kungsholmen mot tystnadskultur?",
        "Vilka stadsdelar har en nolltoleranspolicy?",
    ]
    for q in follow:
        box.fill(q)  # waits until the box takes input again
        box.press("Enter", no_wait_after=True)
    page.wait_for_function("document.querySelectorAll('#fraga-chat .fraga-turn').length >= 5")
    settled(page)
    page.wait_for_timeout(500)
    asked = [" ".join(t.split()[1:]) for t in page.locator("#fraga-chat .fraga-q").all_inner_texts()]
    assert asked == ["Vem polisanmäler i Skarpnäck?", "Vem gör bedömningen?", *follow]
    assert page.locator("#fraga-chat .fraga-error").count() == 0
    assert "Frågan är tom" not in page.locator("#fraga-chat").inner_text()


def test_no_answer_reply_can_be_copied(page):
    from playwright.sync_api import expect

    ask(page, "Hur många förskoleplatser finns det?")
    reply = page.locator("#fraga-chat .fraga-a").last
    expect(reply).to_have_class(re.compile("fraga-noanswer"))
    button = reply.locator("button.fraga-copy")
    expect(button).to_have_text("Kopiera beskedet")
    button.click()
    expect(button).to_have_text("Kopierat!")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "inget tydligt svar" in copied
    expect(button).to_have_text("Kopiera beskedet", timeout=5000)


# TESTS: staff views ===================================================================
def test_replies_by_default_and_skrivelse_passages_marked(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Sök").click()
    types = page.locator("#fraga-filter-type")
    expect(types.get_by_label("tjänsteutlåtande")).to_be_checked()
    expect(types.get_by_label("skrivelse")).not_to_be_checked()
    search(page, "säkerhetssamordnare hot och våld")
    groups = page.locator("#fraga-results details.fraga-doc")
    groups.first.wait_for()
    assert page.locator("#fraga-results .fraga-qbadge").count() == 0  # only replies by default
    assert "Hägersten-Älvsjö" not in page.locator("#fraga-results").inner_text()
    types.get_by_label("skrivelse").check()
    page.get_by_role("button", name="Sök", exact=True).click()
    skrivelse = groups.filter(has_text="Hägersten-Älvsjö").first
    expect(skrivelse.locator("summary").first.locator(".fraga-qbadge")).to_have_text("Fråga från skrivelse")
    for group in groups.all():  # the document's mark, and each of its passages' marks
        from_skrivelse = "Hägersten-Älvsjö" in group.locator("summary b").first.inner_text()
        summaries = group.locator("summary")
        marks = group.locator("summary .fraga-qbadge")
        assert marks.count() == (summaries.count() if from_skrivelse else 0)
    shot(page, "21-sok-skrivelse-markerad.png", full_page=True)

    page.get_by_role("tab", name="Jämför stadsdelar").click()
    page.locator("#fraga-compare-question textarea").fill("Har stadsdelen en säkerhetssamordnare på heltid?")
    page.get_by_role("button", name="Jämför", exact=True).click()
    column = page.locator("#fraga-compared .fraga-col").filter(has_text="Hägersten-Älvsjö")
    expect(column.locator(".fraga-weak")).to_contain_text("Inga avsnitt")  # no reply from there
    page.locator("#fraga-compare-type").get_by_label("skrivelse").check()
    page.get_by_role("button", name="Jämför", exact=True).click()
    expect(column.locator(".fraga-card .fraga-qbadge")).to_have_text("Fråga från skrivelse")
    others = page.locator("#fraga-compared .fraga-col").filter(has_not_text="Hägersten-Älvsjö")
    assert others.locator(".fraga-qbadge").count() == 0


def test_cards_leave_out_signatures_and_keep_sentences_whole(page):
    search(page, "polisanmäls varje hot nolltoleranspolicy sammanträde 13 juni 2024 inkom skrivelse")
    results = page.locator("#fraga-results")
    results.locator("details.fraga-doc").first.wait_for()
    hits = [
        h for h in results.locator("details.fraga-hit").all() if "Attesterat av" not in h.locator(".fraga-section").inner_text()
    ]  # the approval list itself
    for hit in hits:
        hit.locator("summary").click()
    passages = [h.locator(".fraga-passage").inner_text() for h in hits]
    text = "\n".join(passages)
    for furniture in ("Karin Bülow", "Hanna Jakhammer", "Jesper Ackinger", "Stadsdelsdirektör", "Stadsdelsdirektor"):
        assert furniture not in text, furniture
    # Norra innerstaden's text has a blank line inside "… sammanträde den | 13 juni 2024 inkom …".
    dated = [p for p in passages if "13 juni 2024 inkom" in p]
    assert dated, "the passage with the meeting date should be among the hits"
    assert all(re.search(r"den 13 juni 2024 inkom", " ".join(p.split(" "))) for p in dated), dated


def test_norra_innerstaden_has_a_derived_date_and_passes_a_2024_filter(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Sök").click()
    page.locator("#fraga-filter-from input, #fraga-filter-from textarea").first.fill("2024-01-01")
    page.locator("#fraga-filter-to input, #fraga-filter-to textarea").first.fill("2024-12-31")
    search(page, "säkerhetssamordnare")
    results = page.locator("#fraga-results")
    norra = results.locator("details.fraga-doc").filter(has_text="Norra innerstaden")
    expect(norra).to_have_count(1)
    expect(norra.locator(".fraga-meta").first).to_contain_text("2024-06-13 (datum ur filnamnet)")
    expect(results.locator(".fraga-note")).to_contain_text("1 av indexets dokument saknar datum")
    page.get_by_role("tab", name="Källa").click()
    page.locator("#fraga-doc-pick input").click()
    page.get_by_role("option", name=re.compile("Norra innerstaden")).click()
    expect(page.locator("#fraga-source .fraga-docmeta")).to_contain_text("2024-06-13 (datum ur filnamnet")


def test_prepare_answers_fits_a_phone(browser, app_url):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="sv-SE", is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(app_url)
        page.locator("#fraga-question textarea").wait_for()
        header = page.locator("#fraga-header").bounding_box()
        assert header["y"] + header["height"] < 844 / 4, header  # the header leaves the screen to the app
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off the page
        page.get_by_role("button", name="Fler flikar").click()
        page.locator(".overflow-dropdown button", has_text="Förbered svar").click()
        page.locator("#fraga-draft-text textarea").fill(SKRIVELSE.read_text(encoding="utf-8"))
        page.get_by_role("button", name="Hitta tidigare svar").click()
        table = page.locator("#fraga-draft-table table.fraga-dtable")
        table.wait_for(timeout=PREPARE_TIMEOUT)
        expect(table.locator("tbody tr")).to_have_count(4)
        cells = table.evaluate("""t => [...t.querySelectorAll('th, td')].map(c => {
            const r = c.getBoundingClientRect();
            const spill = [...c.querySelectorAll('*')].some(d => {
              const q = d.getBoundingClientRect();
              return q.width > 0 && (q.right > r.right + 1 || q.left < r.left - 1);
            });
            return {width: r.width, overflow: c.scrollWidth > c.clientWidth + 1 || spill,
                    text: c.innerText.slice(0, 40)};
        })""")
        assert cells and not [c for c in cells if c["overflow"]], [c for c in cells if c["overflow"]]
        assert min(c["width"] for c in cells) >= 140  # readable columns; the table scrolls sideways
        wrap = page.locator("#fraga-draft-table .fraga-dwrap")
        assert wrap.evaluate("w => w.scrollWidth > w.clientWidth && getComputedStyle(w).overflowX === 'auto'")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        table.scroll_into_view_if_needed()
        shot(page, "22-forbered-svar-telefon.png")
    finally:
        context.close()
