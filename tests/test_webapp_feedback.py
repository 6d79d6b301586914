"""The feedback panel's and tab's handlers, without a browser."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fraga.errors import FragaError
from fraga.feedback.store import GOOD, UNANSWERABLE, WRONG
from fraga.webapp.feedback_ui import NOT_ANSWERED, NOT_ANSWERED_LABEL, UNKNOWN, FeedbackHandlers, judgeable, stats_html
from fraga.webapp.service import Service, Turn

NASTY = '<script>alert("x")</script><img src=x onerror=alert(1)>'


# FIXTURES ===========================================================================
@pytest.fixture
def service(tmp_path: Path, fake_index_dir: Path) -> Service:
    dest = tmp_path / "index"
    shutil.copytree(fake_index_dir, dest)
    return Service.open(dest, build=False)


@pytest.fixture
def handlers(service: Service) -> FeedbackHandlers:
    return FeedbackHandlers(service)


# TESTS ==============================================================================
def test_judgments_from_a_conversation(service: Service, handlers: FeedbackHandlers):
    t1 = service.ask("Vem polisanmäler hot i Skarpnäck?")
    t2 = service.ask("Och vem bedömer om hotet ska anmälas?", (t1,))
    t3 = service.ask("Vad kostar larmen i Bromma?", (t1, t2))
    turns = (t1, t2, Turn("", None, error="Frågan är tom"), t3)
    assert [v for _, v in judgeable(turns)] == ["0", "1", "3"] and "(inget svar)" in judgeable(turns)[-1][0]

    assert "Bra svar" in handlers.save(turns, "0", GOOD, None, "Rätt")
    choices = handlers.passage_choices(t2)
    assert choices[0][0].startswith("[1] Skarpnäck: ") and choices[-2] == (NOT_ANSWERED_LABEL, NOT_ANSWERED)
    assert "med avsnittet" in handlers.save(turns, "1", WRONG, choices[1][1], "")
    assert "dokumenten svarar inte" in handlers.save(turns, "1", WRONG, NOT_ANSWERED, "")
    assert NOT_ANSWERED not in [v for _, v in handlers.passage_choices(t3)]  # fraga gave no answer
    handlers.save(turns, "3", GOOD, UNKNOWN, "")
    handlers.save(turns, "1", WRONG, UNKNOWN, "vet inte")

    got = handlers.store.entries()
    assert [fb.verdict for fb in got] == [GOOD, WRONG, UNANSWERABLE, GOOD, WRONG]
    assert got[0].districts == ("Skarpnäck",) and got[0].comment == "Rätt"
    assert got[1].pointed.chunk_id == choices[1][1] and got[1].previous == "Vem polisanmäler hot i Skarpnäck?"
    assert got[3].districts == ("Bromma",) and not got[3].answered
    assert got[4].pointed is None and got[4].comment == "vet inte"
    assert handlers.store.path.parent == service.index.folder.parent


@pytest.mark.parametrize(
    "which,verdict,passage,message",
    [
        (None, GOOD, None, "Välj vilket svar"),
        ("7", GOOD, None, "Välj vilket svar"),
        ("0", None, None, "Välj Bra svar eller Fel svar"),
        ("0", WRONG, "skarpnack-2024-09-24-starkt-skydd#999", "finns inte i indexet"),
    ],
)
def test_bad_choices_are_refused_with_a_message(service, handlers, which, verdict, passage, message):
    turns = (service.ask("Vem polisanmäler hot i Skarpnäck?"),)
    with pytest.raises(FragaError, match=message):
        handlers.save(turns, which, verdict, passage, "")
    status, *_ = handlers.submit(turns, which, verdict, passage, "")
    assert message in status and "fraga-notice-error" in status
    assert handlers.store.entries() == ()


def test_a_passage_found_by_the_users_own_search_can_be_pointed_at(service, handlers):
    turns = (service.ask("Vem polisanmäler hot i Skarpnäck?"),)
    shown = {v for _, v in handlers.passage_choices(turns[0])}
    update, message = handlers.search_passages(turns, "0", "tystnadskultur Kungsholmen kriminella strukturer")
    assert message == ""
    found = [(label, v) for label, v in update["choices"] if v not in shown]
    assert found and all(label.startswith("Sökträff – ") for label, _ in found)
    assert update["choices"][-1][1] == UNKNOWN  # the other answers stay last
    assert "med avsnittet" in handlers.save(turns, "0", WRONG, found[0][1], "")
    assert handlers.store.entries()[-1].pointed.chunk_id == found[0][1]
    update, message = handlers.search_passages(turns, "0", "x" * 3000)  # a search error is shown, not raised
    assert "fraga-notice-error" in message


def test_stats_page_escapes_and_counts(service, handlers):
    assert "Inga omdömen ännu" in stats_html(handlers.store)
    turns = (service.ask("Vem polisanmäler hot i Skarpnäck?"),)
    handlers.save(turns, "0", GOOD, None, NASTY)
    handlers.save(turns, "0", WRONG, UNKNOWN, "")
    page = handlers.stats()
    assert "Andel bra svar: <b>50 %</b> (1 av 2 omdömen)" in page
    assert '<img class="fraga-fb-chart"' in page and "<script" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page and "<td>Skarpnäck</td><td>1</td><td>2</td><td>50 %</td>" in page
