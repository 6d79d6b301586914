"""Checkpointed encoding: a build that fails or is killed while encoding resumes without
encoding again what it had finished (fraga.index.checkpoint), and --status reports it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fraga.index import dense as dense_mod
from fraga.index.build import build_index
from fraga.index.checkpoint import Checkpoint, CheckpointingEncoder, checkpointed_vectors, work_folder
from fraga.index.generation import load_index
from fraga.index.status import format_status, index_status
from fraga.testing import FakeEncoder


# FIXTURES =====================================================================
class CountingEncoder(FakeEncoder):
    """The fake encoder, recording every text it encodes; raises once ``fail_after`` texts are done."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.texts: list[str] = []
        self.fail_after = fail_after

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if self.fail_after is not None and len(self.texts) + len(texts) > self.fail_after:
            raise RuntimeError("encoder died")
        self.texts.extend(texts)
        return super().encode_passages(texts)


@pytest.fixture
def clean_run(tmp_path, corpus_copy):
    """(encoded texts, passage vectors) of an uninterrupted build of the corpus."""
    enc = CountingEncoder()
    build_index(corpus_copy, tmp_path / "clean", encoder=enc, repair_ocr=False)
    return enc.texts, dense_mod.all_vectors(load_index(tmp_path / "clean").faiss)


# TESTS ========================================================================
def test_failed_encoding_resumes_without_encoding_finished_texts(tmp_path, corpus_copy, clean_run):
    clean_texts, clean_vectors = clean_run
    idx = tmp_path / "idx"
    first = CountingEncoder(fail_after=40)  # dies inside the second batch of passages
    with pytest.raises(RuntimeError, match="encoder died"):
        build_index(corpus_copy, idx, encoder=first, repair_ocr=False)
    assert len(first.texts) == 32
    assert checkpointed_vectors(idx) == 32

    second = CountingEncoder()
    report = build_index(corpus_copy, idx, encoder=second, repair_ocr=False)
    assert not set(first.texts) & set(second.texts), "a finished passage was encoded again"
    assert sorted(second.texts) == sorted(t for t in clean_texts if t not in set(first.texts))
    assert report.resumed == 32 and report.embedded == report.chunks - 32
    np.testing.assert_allclose(dense_mod.all_vectors(load_index(idx).faiss), clean_vectors, atol=1e-6)
    assert not work_folder(idx).exists(), "a published build leaves no work folder"


def test_failure_during_sentences_keeps_finished_passages(tmp_path, corpus_copy, clean_run):
    clean_texts, _ = clean_run
    idx = tmp_path / "idx"
    first = CountingEncoder(fail_after=53 + 64 + 10)  # all passages, one batch of sentences
    with pytest.raises(RuntimeError):
        build_index(corpus_copy, idx, encoder=first, repair_ocr=False)
    second = CountingEncoder()
    report = build_index(corpus_copy, idx, encoder=second, repair_ocr=False)
    assert report.embedded == 0 and report.resumed == report.chunks
    assert report.resumed_sentences >= 64  # the first batch, and any sentence that is also a passage
    assert not set(first.texts) & set(second.texts)
    assert sorted(second.texts) == sorted(t for t in clean_texts if t not in set(first.texts))


def test_only_vectors_of_an_earlier_build_count_as_resumed(tmp_path):
    # A sentence whose text is also a one-sentence passage's is found in this build's own
    # checkpoint: that is no resumed build ("Fortsatte ett avbrutet bygge" on a fresh index).
    first = CheckpointingEncoder(CountingEncoder(), Checkpoint(tmp_path / "idx", "fake", 64, every_texts=1))
    first.encode_passages(["a b", "c d"])
    first.encode_passages(["c d", "e f"])
    assert first.resumed == 0 and first.encoded == 3 and first.inner.texts == ["a b", "c d", "e f"]
    later = CheckpointingEncoder(CountingEncoder(), Checkpoint(tmp_path / "idx", "fake", 64))
    later.encode_passages(["a b", "g h"])
    assert later.resumed == 1 and later.encoded == 1


def test_checkpoint_parts_are_whole_or_ignored(tmp_path):
    ck = Checkpoint(tmp_path, "fake", 4, every_texts=2)
    ck.add(["a", "b"], np.eye(4, dtype=np.float32)[:2])
    ck.add(["c"], np.eye(4, dtype=np.float32)[2:3])  # gathered, not written
    assert len(list(ck.folder.glob("part-*.json"))) == 1
    (ck.folder / "part-000007.npy").write_bytes(b"half a file")  # a kill mid-write, no .json
    (ck.folder / "part-000008.json").write_text('{"keys": ["00"]}')  # a .json without its vectors
    again = Checkpoint(tmp_path, "fake", 4)
    np.testing.assert_array_equal(again.lookup("b"), np.eye(4, dtype=np.float32)[1])
    assert again.lookup("c") is None
    assert Checkpoint(tmp_path, "other", 4).lookup("a") is None  # another encoder's parts are not used
    assert Checkpoint(tmp_path, "fake", 8).lookup("a") is None


KILLED_BUILD = """
import sys, time
from pathlib import Path
import fraga.index.checkpoint
from fraga.index.build import build_index
from fraga.testing import FakeEncoder

corpus, index_dir, marker = sys.argv[1:4]
fraga.index.checkpoint.EVERY_TEXTS = 8

class Stalls(FakeEncoder):
    calls = 0
    def encode_passages(self, texts):
        Stalls.calls += 1
        if Stalls.calls == 2:  # the first batch is checkpointed; stall inside the second
            Path(marker).touch()
            time.sleep(60)
        return super().encode_passages(texts)

build_index(corpus, index_dir, encoder=Stalls(), repair_ocr=False)
"""


def test_build_killed_with_sigkill_resumes_from_checkpoint(tmp_path, corpus_copy, clean_run):
    clean_texts, clean_vectors = clean_run
    idx = tmp_path / "idx"
    marker = tmp_path / "stalled"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_BUILD, str(corpus_copy), str(idx), str(marker)], env=env)
    try:
        deadline = time.time() + 60
        while not marker.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert marker.exists(), "the build never reached its second batch"
        status = index_status(idx)
        assert status["build"]["running"] and status["build"]["stage"] == "embed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert checkpointed_vectors(idx) == 32
    lines = "\n".join(format_status(index_status(idx)))
    assert "Avbrutet bygge" in lines and "Inget publicerat index" in lines

    again = CountingEncoder()
    report = build_index(corpus_copy, idx, encoder=again, repair_ocr=False)
    assert report.resumed == 32
    assert len(again.texts) == len(clean_texts) - 32 - sum(t in set(clean_texts[:32]) for t in clean_texts[32:])
    np.testing.assert_allclose(dense_mod.all_vectors(load_index(idx).faiss), clean_vectors, atol=1e-6)


def test_status_of_a_complete_index(tmp_path, corpus_copy):
    idx = tmp_path / "idx"
    assert index_status(idx)["published"] is None
    build_index(corpus_copy, idx, encoder="fake", repair_ocr=False)
    status = index_status(idx)
    pub = status["published"]
    assert pub["documents"] == 4 and pub["passages"] == pub["passages_with_vectors"] == 53
    assert status["build"] is None
    lines = format_status(status)
    assert "  Passager: 53, varav 53 med vektorer (100 %)" in lines
    assert "Inget bygge pågår." in lines


def test_cli_status_and_progress_lines(tmp_path, corpus_copy, capsys):
    from fraga.cli.main import _Progress, main

    idx = str(tmp_path / "idx")
    assert main(["index", "--status", "--index-dir", idx]) == 0
    assert "Inget publicerat index ännu." in capsys.readouterr().out
    assert main(["index", str(corpus_copy), "--index-dir", idx, "--encoder", "fake"]) == 0
    out, err = capsys.readouterr()
    assert "passager: [" in err and "53/53" in err  # the end of each stage, also when stderr is not a terminal
    assert main(["index", "--status", "--index-dir", idx]) == 0
    out = capsys.readouterr().out
    assert "Passager: 53, varav 53 med vektorer (100 %)" in out and "Dokument: 4" in out

    clock = iter([100.0, 110.0])
    bar = _Progress()
    bar._clock = lambda: next(clock)
    bar.line("embed", 0, 1000)
    line = bar.line("embed", 50, 1000)  # 50 in 10 s: 5 per second, 950 left: 3 min 10 s
    assert line.endswith("50/1000 · 5.0/s · kvar ca 3 min 10 s"), line


def test_progress_starts_each_stage_at_zero_so_the_first_rate_is_known(tmp_path, corpus_copy):
    calls = []
    build_index(
        corpus_copy,
        tmp_path / "idx",
        encoder="fake",
        repair_ocr=False,
        progress=lambda stage, done, total: calls.append((stage, done, total)),
    )
    firsts = {}
    for stage, done, total in calls:
        firsts.setdefault(stage, (done, total))
    assert firsts["embed"] == (0, 53) and firsts["sentences"][0] == 0
    assert calls[-1][1] == calls[-1][2]
