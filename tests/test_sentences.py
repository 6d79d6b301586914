"""Sentence vectors stored at index time (fraga.index.sentences, fraga.index.vectorcolumn)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fraga.bench import synth
from fraga.errors import IndexCorruptError
from fraga.index.append import add_document
from fraga.index.build import build_index
from fraga.index.generation import load_index
from fraga.index.vectorcolumn import VectorColumn, quantize, write_vectors
from fraga.search.candidates import candidates
from fraga.search.retrieve import Retriever
from fraga.testing import FakeEncoder, bulk_index

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def test_quantised_rows_keep_dot_products(tmp_path):
    rng = np.random.default_rng(0)
    v = rng.standard_normal((50, 32)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    q, scales = quantize(v)
    assert q.dtype == np.int8 and np.abs(q).max() == 127
    write_vectors(tmp_path, "vec", v, dim=32)
    column = VectorColumn(tmp_path, "vec")
    back = column.read(0, 50)
    assert back.shape == (50, 32)
    assert np.max(np.abs(back @ v[0] - v @ v[0])) < 0.01
    assert np.allclose(column.read(10, 12), back[10:12])


def test_appended_segments_are_linked_and_read_across(tmp_path):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 8)), rng.standard_normal((3, 8))
    write_vectors(tmp_path / "g1", "vec", a, dim=8)
    write_vectors(tmp_path / "g2", "vec", b, dim=8, base=VectorColumn(tmp_path / "g1", "vec"))
    column = VectorColumn(tmp_path / "g2", "vec")
    assert len(column) == 8 and column.counts == [5, 3]
    assert (tmp_path / "g2" / "vec-000000.bin").stat().st_ino == (tmp_path / "g1" / "vec-000000.bin").stat().st_ino
    joined = column.read(3, 7)
    assert np.allclose(
        joined[:2] / np.linalg.norm(joined[:2], axis=1, keepdims=True),
        a[3:5] / np.linalg.norm(a[3:5], axis=1, keepdims=True),
        atol=0.02,
    )


def test_a_truncated_vector_file_is_refused(tmp_path):
    write_vectors(tmp_path, "vec", np.ones((4, 8)), dim=8)
    with open(tmp_path / "vec-000000.bin", "r+b") as f:
        f.truncate(10)
    with pytest.raises(IndexCorruptError, match="fel storlek"):
        VectorColumn(tmp_path, "vec")


def test_every_passage_holds_its_sentences_with_vectors(tmp_path):
    build_index(CORPUS, tmp_path / "idx", encoder="fake", repair_ocr=False)
    index = load_index(tmp_path / "idx")
    enc = FakeEncoder()
    for chunk in list(index.chunks)[:20]:
        lo, hi = index.sentences.rows(index.columns.doc_pos[chunk.doc_id], chunk.start, chunk.end)
        assert hi > lo
        spans = index.sentences.spans(lo, hi)
        assert spans[0][0] == chunk.start and spans[-1][1] == chunk.end
    hits = Retriever(index).search("Vem polisanmäler i Skarpnäck?", k=3).hits
    cands = candidates(index, hits, enc.encode_query("Vem polisanmäler i Skarpnäck?"))
    assert cands and len({c.row for c in cands}) == len(cands)
    assert all(-1.01 <= c.sim <= 1.01 for c in cands)


def test_a_rebuild_reuses_sentence_vectors_and_an_append_adds_them(tmp_path, sentences):
    first = build_index(CORPUS, tmp_path / "idx", encoder="fake", repair_ocr=False)
    again = build_index(CORPUS, tmp_path / "idx", encoder="fake", repair_ocr=False)
    assert first.sentences_embedded > 0 and again.sentences_embedded == 0
    coll = synth.make_collection(40, sentences, seed=3)
    bulk_index(tmp_path / "bulk", coll.documents, coll.chunks, FakeEncoder())
    index = load_index(tmp_path / "bulk")
    before = len(index.sentences)
    new = replace(synth.make_collection(12, sentences, seed=4).documents[0], doc_id="ny", path="ny.txt")
    add_document(index, new, encoder=FakeEncoder())
    reloaded = load_index(tmp_path / "bulk")
    assert len(reloaded.sentences) > before == int(reloaded.sentences.doc_offsets[-2])
