"""End to end: feedback on three answers in the browser survives a restart, is exported as
gold questions, and ``fraga eval`` scores them.

The app runs as ``python app.py`` over a copy of the fake-encoder index (no model needed);
the restart is a new app process on the same index folder. Screenshots go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fraga.testing import running_app

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
START_TIMEOUT = 240
STEP_TIMEOUT = 60_000
pytestmark = pytest.mark.browser

GOOD_Q = "Vem polisanmäler hot i Skarpnäck?"
WRONG_Q = "Har Norra innerstaden en säkerhetssamordnare på heltid?"
NOT_ANSWERED_Q = "Hur skyddas socialsekreterarnas identiteter i Skarpnäck?"  # fraga quotes something; the documents do not say


# FIXTURES ===========================================================================
@pytest.fixture
def index_copy(tmp_path: Path, fake_index_dir: Path) -> Path:
    dest = tmp_path / "index"
    shutil.copytree(fake_index_dir, dest)
    return dest


def open_page(browser, url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.locator("#fraga-question textarea").wait_for()
    return context, page, errors


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def ask(page, question: str, turns_before: int) -> None:
    box = page.locator("#fraga-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('#fraga-chat .fraga-turn').length > {turns_before}")
    # The panel refreshes after the chat changed; a verdict clicked before that would be reset.
    label = f"{turns_before + 1}. {question[:20]}"
    page.wait_for_function(
        "label => { const i = document.querySelector('#fraga-fb-turn input'); return i !== null && i.value.startsWith(label); }",
        arg=label,
    )


def judge(page, verdict: str, *, passage: str | None = None, passage_index: int | None = None, comment: str = "") -> None:
    """Judge the latest answer (chosen by default) in the feedback panel and send it."""
    from playwright.sync_api import expect

    panel = page.locator("#fraga-feedback")
    expect(panel).to_be_visible()
    panel.locator("#fraga-fb-verdict").get_by_label(verdict, exact=True).check()
    if passage is not None or passage_index is not None:
        options = panel.locator("#fraga-fb-passage label")
        expect(options.first).to_be_visible()
        if passage is not None:
            panel.locator("#fraga-fb-passage").get_by_label(passage, exact=True).check()
        else:
            options.nth(passage_index).click()
    if comment:
        panel.locator("#fraga-fb-comment textarea").fill(comment)
    panel.locator("#fraga-fb-send").click()
    expect(panel.locator("#fraga-fb-status")).to_contain_text("Tack! Omdömet sparades")


# TESTS ==============================================================================
def test_feedback_restart_export_and_eval(browser, index_copy: Path, tmp_path: Path, capsys):
    from playwright.sync_api import expect

    from fraga.cli.main import main

    with running_app(index_copy, tmp_path / "app1.log", timeout=START_TIMEOUT) as url:
        context, page, errors = open_page(browser, url)
        expect(page.locator("#fraga-feedback")).to_be_hidden()  # nothing to judge yet
        ask(page, GOOD_Q, 0)
        judge(page, "Bra svar", comment="Stämmer med rutinen")
        shot(page, "fb-01-bra-svar.png")

        ask(page, WRONG_Q, 1)
        judge(page, "Fel svar", passage_index=1, comment="Fel avsnitt")
        shot(page, "fb-02-fel-svar-med-avsnitt.png")

        ask(page, NOT_ANSWERED_Q, 2)
        expect(page.locator("#fraga-chat .fraga-a").last).not_to_have_class("fraga-a fraga-noanswer")
        judge(page, "Fel svar", passage="Dokumenten svarar inte på detta")
        shot(page, "fb-03-dokumenten-svarar-inte.png")
        context.close()
        assert not errors, f"JavaScript errors on the page: {errors}"

    # A restart: a new app process (new service, new store object) on the same index folder.
    with running_app(index_copy, tmp_path / "app2.log", timeout=START_TIMEOUT) as url:
        context, page, errors = open_page(browser, url)
        page.get_by_role("tab", name="Återkoppling").click()
        stats = page.locator("#fraga-fb-stats")
        expect(stats).to_contain_text("1 av 3 omdömen")
        expect(stats.locator("img.fraga-fb-chart")).to_be_visible()
        districts = stats.locator("#fraga-fb-districts tbody tr td:first-child").all_inner_texts()
        assert districts == ["Norra innerstaden", "Skarpnäck"]
        expect(stats.locator("#fraga-fb-recent")).to_contain_text("Stämmer med rutinen")
        shot(page, "fb-04-aterkoppling-efter-omstart.png")
        context.close()
        assert not errors, f"JavaScript errors on the page: {errors}"

    gold = tmp_path / "feedback-gold.jsonl"
    assert main(["feedback", "export", "--out", str(gold), "--index-dir", str(index_copy)]) == 0
    assert "Skrev 3 frågor" in capsys.readouterr().out
    rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()]
    assert [(r["question"], r["answerable"]) for r in rows] == [(GOOD_Q, True), (WRONG_Q, True), (NOT_ANSWERED_Q, False)]
    assert rows[0]["comment"] == "Stämmer med rutinen" and rows[2]["kind"] == "unanswerable"

    report = tmp_path / "report"
    code = main(["eval", "--gold", str(gold), "--index-dir", str(index_copy), "--modes", "bm25", "--out", str(report)])
    assert code == 0
    scored = [json.loads(line) for line in (report / "per_question.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [q["question"] for q in scored] == [GOOD_Q, WRONG_Q, NOT_ANSWERED_Q]
    assert all(q["answer_score"] is not None for q in scored if q["answerable"])
    assert scored[0]["answer_score"] == 1.0  # judged good: fraga quotes the same sentence again
    metrics = json.loads((report / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["questions"] == {"total": 3, "answerable": 2, "by_kind": {"feedback": 2, "unanswerable": 1}}
    assert scored[2]["answerable"] is False and scored[2]["answered"] is True  # scored as a wrong answer
    assert metrics["modes"]["bm25"]["abstention_recall"] == 0.0
