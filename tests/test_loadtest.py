"""eval/loadtest.py: a quick load over HTTP (4 clients, 160 questions) against app.py in a subprocess.

The full runs (20 clients and 2,000 questions; the 10,000-question soak) are run by hand:
``python eval/loadtest.py`` and ``python eval/loadtest.py --soak 10000``. No timing is asserted here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _loadtest():
    spec = importlib.util.spec_from_file_location("fraga_loadtest", ROOT / "eval" / "loadtest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


lt = _loadtest()


def test_percentile_interpolates():
    assert lt.percentile([], 50) == 0.0
    assert lt.percentile([3.0], 95) == 3.0
    assert lt.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert lt.percentile(list(map(float, range(101))), 95) == 95.0


def test_check_reply_tells_answers_declines_and_errors_apart():
    turn = '<div class="fraga-chat"><div class="fraga-turn"><div class="fraga-q">q</div>'
    assert lt.check_reply((turn + '<div class="fraga-a"><p>svar</p></div></div>', "")) == ("", False)
    assert lt.check_reply((turn + '<div class="fraga-a fraga-noanswer">inget</div></div>', "")) == ("", True)
    error, _ = lt.check_reply((turn + '<div class="fraga-a fraga-error">Frågan är tom</div></div>', "q"))
    assert error.startswith("frågan avvisades")
    assert lt.check_reply(("<div>tomt</div>", ""))[0].startswith("oväntat svar")
    assert lt.check_reply(None)[0]


def test_questions_come_from_the_gold_set_in_several_spellings():
    base = lt.questions(vary=False)
    varied = lt.questions()
    assert len(base) >= 50 and len(varied) == len(base) * len(lt.VARIANTS)
    assert len(set(varied)) > 256  # more than the retriever's query-vector cache holds


def test_arguments():
    args = lt.parse_args(["--soak", "10000"])
    assert (args.clients, args.questions) == (20, 10000)
    assert lt.parse_args([]).questions == 2000
    with pytest.raises(SystemExit):
        lt.parse_args(["--url", "http://example.com/"])  # traffic stays on loopback


@pytest.mark.slow  # starts app.py and drives it with 160 questions
def test_quick_load_against_the_app_has_no_failures(fake_index_dir: Path, tmp_path: Path):
    proc, url = lt.start_app(fake_index_dir, tmp_path / "app.log", corpus=ROOT / "corpus", timeout=180)
    try:
        result = lt.run(url, clients=4, total=160, pid=proc.pid, per_conversation=5, sample_every=0.5)
    finally:
        lt.stop_app(proc)
    print(result.summary())
    assert result.failures == 0, result.failure_examples
    assert result.done == 160 and 32 <= result.sessions <= 36  # a new conversation every 5 questions
    assert 0 < result.p50 <= result.p95 <= result.max
    assert result.rss_mb["start"] and result.rss_mb["end"] and result.rss_mb["peak"]
    assert result.declined < result.done  # most questions get an answer
