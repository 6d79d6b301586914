"""fraga as an installed package: a wheel, installed outside the checkout, serves the web app.

Marked ``slow``: it builds a wheel and starts the app (Gradio) in a subprocess.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from fraga.testing import app_env, running_app

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 240


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fraga's wheel, built from a copy of the sources (the checkout gets no build/ folder) and
    installed with ``pip install --no-deps --target``; returns the target folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "fraga-source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(work / "dist"), f"{source}/"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheel = next((work / "dist").glob("fraga-*.whl"))
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(work / "site"), str(wheel)], check=True, capture_output=True, timeout=600
    )
    return work / "site"


@pytest.mark.slow
def test_fraga_serve_runs_from_an_installed_wheel_outside_the_checkout(installed, tmp_path):
    run_dir = tmp_path / "elsewhere"  # a folder of the user's, with their corpus as ./corpus
    shutil.copytree(ROOT / "corpus", run_dir / "corpus")
    env = app_env(PYTHONPATH=str(installed), FRAGA_ENCODER="fake")
    where = subprocess.run(
        [sys.executable, "-c", "import fraga; print(fraga.__file__)"],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed)  # the wheel's fraga, not the checkout's
    with running_app(run_dir / "index", tmp_path / "app.log", cwd=run_dir, env=env, timeout=START_TIMEOUT) as url:
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200 and b"fraga" in response.read()
    log = (tmp_path / "app.log").read_text(encoding="utf-8")
    assert "bygger det från corpus" in log  # the index was built from ./corpus, as no --corpus was given
    assert (run_dir / "index" / "CURRENT").is_file()


@pytest.mark.slow
def test_installed_fraga_serve_without_a_corpus_names_the_flag(installed, tmp_path):
    env = app_env(PYTHONPATH=str(installed), FRAGA_ENCODER="fake")
    proc = subprocess.run(
        [sys.executable, "-m", "fraga", "serve", "--port", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "--corpus" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
