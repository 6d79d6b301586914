"""End to end: the "Förbered svar" tab in headless chromium (issue 8).

Uses the app, browser and page fixtures of conftest.py (the app is started once per
session over a fresh index built with the default encoder). Screenshots go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fraga.drafting import find_questions

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
SKRIVELSE = ROOT / "corpus" / "hagersten-alvsjo-skrivelse-starkt-skydd.txt"
PREPARE_TIMEOUT = 90_000  # milliseconds: finding the earlier answers on a busy machine

pytestmark = pytest.mark.browser


def shot(page, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=full_page)


def open_tab(page) -> None:
    page.get_by_role("tab", name="Förbered svar").click()
    page.locator("#fraga-draft-run").wait_for()


def upload(page, path: Path) -> None:
    """Choose ``path`` in the upload field; tries again when the file never shows up there
    (a file chosen while Gradio is still attaching the field is dropped now and then)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(3):
        page.locator("#fraga-draft-file input[type=file]").set_input_files(str(path))
        try:
            page.locator("#fraga-draft-file").get_by_text(path.name).wait_for(timeout=20_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the upload field never showed {path.name}")


def column_of(page, district: str) -> int:
    heads = page.locator("#fraga-draft-table table.fraga-dtable thead th").all_inner_texts()
    return next(i for i, h in enumerate(heads) if h.splitlines()[0].strip() == district)


# TESTS ==============================================================================
def test_upload_skrivelse_see_table_open_cell_and_download_docx(page, tmp_path):
    import docx
    from playwright.sync_api import expect

    questions = [q.text for q in find_questions(SKRIVELSE.read_text(encoding="utf-8"))]
    assert len(questions) == 4
    open_tab(page)
    upload(page, SKRIVELSE)
    page.get_by_role("button", name="Hitta tidigare svar").click()
    table = page.locator("#fraga-draft-table table.fraga-dtable")
    table.wait_for(timeout=PREPARE_TIMEOUT)

    listed = page.locator("#fraga-draft-summary ol.fraga-dquestions li")
    expect(listed).to_have_count(4)
    assert [" ".join(t.split()) for t in listed.all_inner_texts()] == questions
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(4)
    for district in ("Norra innerstaden", "Skarpnäck"):
        col = column_of(page, district)
        for r in range(4):
            cell = rows.nth(r).locator("th, td").nth(col)
            expect(cell.locator("details.fraga-dcell")).to_have_count(1)
            expect(cell.locator(".fraga-dexcerpt")).not_to_be_empty()
    expect(page.locator("#fraga-draft-docx")).to_be_visible()
    expect(page.locator("#fraga-draft-md")).to_be_visible()
    shot(page, "10-forbered-svar-tabell.png", full_page=True)

    # Open Skarpnäck's answer to question 3 (who reports to the police): whole quote and full citation.
    cell = rows.nth(2).locator("th, td").nth(column_of(page, "Skarpnäck"))
    cell.locator("summary").click()
    expect(cell.locator(".fraga-dfull")).to_be_visible()
    expect(cell.locator(".fraga-dfull")).to_contain_text("polisanmälan")
    expect(cell.locator(".fraga-dcite")).to_contain_text("Dnr SKA 2024/339")
    expect(cell.locator(".fraga-dexcerpt")).to_be_hidden()
    expect(cell.locator("summary")).to_contain_text("Dölj hela svaret")
    cell.scroll_into_view_if_needed()
    shot(page, "11-forbered-svar-cell-oppen.png")

    with page.expect_download() as info:
        page.locator("#fraga-draft-docx").click()
    download = info.value
    assert download.suggested_filename == "underlag-hagersten-alvsjo-skrivelse-starkt-skydd.docx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    document = docx.Document(str(saved))
    text = "\n".join(p.text for p in document.paragraphs)
    for q in questions:
        assert q in text
    assert "Skarpnäck" in text and "Norra innerstaden" in text and "Dnr SKA 2024/339" in text
    assert "inget tidigare svar hittat" in text.lower()

    with page.expect_download() as info:
        page.locator("#fraga-draft-md").click()
    md = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename.endswith(".md") and md.count("\n## Fråga ") == 4

    # The citation number opens the source on the Källa tab with the quote marked.
    quote = " ".join(cell.locator(".fraga-dfull").inner_text().split())
    cell.locator(".fraga-dcite button.fraga-ref").click()
    expect(page.get_by_role("tab", name="Källa")).to_have_attribute("aria-selected", "true")
    cited = page.locator("#fraga-source mark.fraga-cited")
    expect(cited).to_be_visible()
    expect(page.locator("#fraga-source .fraga-docmeta")).to_contain_text("SKA 2024/339")
    assert " ".join(cited.inner_text().split()) == quote


def test_no_questions_and_unreadable_file_get_a_message(page, tmp_path):
    from playwright.sync_api import expect

    open_tab(page)
    page.locator("#fraga-draft-text textarea").fill("Ett brev utan frågor. Vi hörs.")
    page.get_by_role("button", name="Hitta tidigare svar").click()
    message = page.locator("#fraga-draft-summary .fraga-notice-error")
    expect(message).to_contain_text("Hittade inga frågor i skrivelsen")
    expect(page.locator("#fraga-draft-docx")).to_be_hidden()

    old = tmp_path / "gammal-skrivelse.doc"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)
    upload(page, old)
    page.get_by_role("button", name="Hitta tidigare svar").click()
    expect(message).to_contain_text("formatet .doc stöds inte")
    expect(message).to_contain_text("Filen kunde inte läsas")
    shot(page, "12-forbered-svar-meddelande.png")
