"""README.md's examples run: the Python API section's code, on a copy of the bundled corpus."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python_block(section: str) -> str:
    """The first ```python block after the heading ``section`` in README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {section}\n")
    match = re.compile(r"```python\n(.*?)```", re.S).search(text, start)
    assert match is not None and match.start() < text.find("\n## ", start + 1), f"no python block in {section}"
    return match.group(1)


def test_the_python_api_example_runs_on_a_fresh_checkout(tmp_path):
    """As in a fresh checkout: ./corpus and no index (built by the example with the fake encoder)."""
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    env = {k: v for k, v in os.environ.items() if k != "FRAGA_INDEX_DIR"}
    env.update(FRAGA_ENCODER="fake", PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        [sys.executable, "-c", python_block("Python API")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any("dnr SKA 2024/339" in line for line in lines)
    assert any(line.startswith("Tolkat som:") for line in lines)
    assert lines[-1] == "SKA 2024/339"
    assert (tmp_path / "index" / "CURRENT").is_file()
