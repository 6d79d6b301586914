"""New documents live without restart: the app follows the index's CURRENT generation.

In process (LiveService under the UI handlers) and end to end (app.py in a subprocess, a document
added with ``fraga index`` while it serves, seen through its HTTP API without a restart).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from fraga.index.build import build_index
from fraga.index.generation import current_generation, load_index
from fraga.testing import running_app
from fraga.webapp.live import LiveService
from fraga.webapp.service import Service

# FIXTURES =====================================================================

ROOT = Path(__file__).resolve().parents[1]
NEW_REPLY = """Tjänsteutlåtande
Dnr ENS 2024/77
2024-10-01

Svar på skrivelse om snöröjning

Sammanfattning

Enskede-Årsta-Vantörs stadsdelsförvaltning plogar cykelbanorna i Årsta före klockan sju varje morgon.
"""
NEW_WORD = "plogar cykelbanorna"


@pytest.fixture
def corpus_and_index(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    build_index(corpus, tmp_path / "index", encoder="fake", repair_ocr=False)
    return corpus, tmp_path / "index"


def _add_reply(corpus: Path, index_dir: Path) -> str:
    """Add the new reply and index it (as ``fraga index`` does); the new generation's name."""
    (corpus / "enskede-snorojning.txt").write_text(NEW_REPLY, encoding="utf-8")
    build_index(corpus, index_dir, encoder="fake", repair_ocr=False)
    return current_generation(index_dir).name


# TESTS ========================================================================


def test_live_service_switches_between_requests_and_requests_in_flight_finish_on_the_old(corpus_and_index):
    from fraga.webapp.ui import Handlers

    corpus, index_dir = corpus_and_index
    live = LiveService(Service(load_index(index_dir)), index_dir, check_seconds=0, background=False, open_service=Service)
    handlers = Handlers(live)
    old_generation = live.generation
    assert "enskede-snorojning" not in handlers.search(NEW_WORD, None, None, "", "", "bm25", 5)
    in_flight = live.search  # a request that began before the build keeps its Service
    new_generation = _add_reply(corpus, index_dir)
    assert new_generation != old_generation
    old_hits = in_flight(NEW_WORD, mode="bm25", k=5).hits
    assert all(h.chunk.doc_id != "enskede-snorojning" for h in old_hits)
    html = handlers.search(NEW_WORD, None, None, "", "", "bm25", 5)  # the next request: the new generation
    assert live.generation == new_generation
    assert "före klockan sju" in html and "enskede-snorojning" in html
    turn = live.ask("Hur tidigt plogas cykelbanorna i Årsta?", mode="bm25")
    assert any(h.chunk.doc_id == "enskede-snorojning" for h in turn.answer.hits)


def test_live_service_checks_current_at_most_every_interval(corpus_and_index):
    corpus, index_dir = corpus_and_index
    live = LiveService(Service(load_index(index_dir)), index_dir, check_seconds=3600, background=False, open_service=Service)
    first = live.generation
    _add_reply(corpus, index_dir)
    assert live.current() is live.current() and live.generation == first  # not yet time to look


def test_broken_new_generation_keeps_the_old_one_serving(corpus_and_index):
    _, index_dir = corpus_and_index
    live = LiveService(Service(load_index(index_dir)), index_dir, check_seconds=0, background=False, open_service=Service)
    served = live.current()
    broken = index_dir / "gen-broken"
    broken.mkdir()
    (index_dir / "CURRENT").write_text("gen-broken", encoding="utf-8")
    assert live.current() is served and live.search("hot", mode="bm25", k=1).hits


def test_running_app_answers_from_a_document_indexed_while_it_serves(corpus_and_index, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")  # gradio_client sends telemetry unless told not to
    from gradio_client import Client

    corpus, index_dir = corpus_and_index
    with running_app(index_dir, tmp_path / "app.log", timeout=240) as url:
        client = Client(url, verbose=False)
        before = client.predict(NEW_WORD, [], [], "", "", "bm25", 5, api_name="/sok")
        assert "före klockan sju" not in before
        _add_reply(corpus, index_dir)
        deadline = time.monotonic() + 60
        while True:
            html = client.predict(NEW_WORD, [], [], "", "", "bm25", 5, api_name="/sok")
            if "före klockan sju" in html or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert "före klockan sju" in html
        chat = client.predict("Hur tidigt plogas cykelbanorna i Årsta?", "bm25", 5, api_name="/fraga")
        assert "före klockan sju" in str(chat)
