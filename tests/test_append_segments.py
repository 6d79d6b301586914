"""Appending writes small BM25 segments and added-vector files, hard-linking what was there."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fraga.bench import synth
from fraga.index import bm25segments, dense as dense_mod
from fraga.index.append import add_document
from fraga.index.generation import APPENDED_FORMAT, FORMAT_VERSION, load_index
from fraga.index.lexical import Analyzer, AnalyzerSettings, Bm25Index
from fraga.index.replace import replace_document
from fraga.search.filters import Filters
from fraga.search.retrieve import Retriever
from fraga.testing import bulk_index

PLAIN = AnalyzerSettings(stopwords="none", fold_stream=False, decompound=False)
QUERIES = ["hot", "chef", "våld", "hot hot chef", "stöd våld saknas", "saknas"]


def _gen(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


def _manifest(index_dir: Path) -> dict:
    return json.loads((_gen(index_dir) / "manifest.json").read_text(encoding="utf-8"))


# Scores with segments =========================================================
def test_segment_scores_by_hand():
    analyzer = Analyzer(PLAIN)
    base = Bm25Index.build(["hot chef", "stöd chef"], analyzer)  # avgdl 2
    index = base.appended([analyzer.tokens("hot våld")], avgdl=2.0)
    assert base.num_docs == 2 and base.segments == ()  # the original is not changed
    k1 = index.k1
    tf_part = 1 / (k1 * 1 + 1)  # tf 1, passage length = avgdl
    hot, chef = math.log(1 + 1.5 / 2.5) * tf_part, math.log(1 + 1.5 / 2.5) * tf_part  # N 3, df 2
    vald, stod = math.log(1 + 2.5 / 1.5) * tf_part, math.log(1 + 2.5 / 1.5) * tf_part  # N 3, df 1
    assert (index.num_docs, index.doc_freq("hot"), index.doc_freq("chef"), index.doc_freq("våld")) == (3, 2, 2, 1)
    assert np.allclose(index.scores("hot"), [hot, 0, hot])
    assert np.allclose(index.scores("chef"), [chef, chef, 0])  # a term the segment lacks: today's IDF too
    assert np.allclose(index.scores("stöd våld"), [0, stod, vald])
    assert np.allclose(index.scores("hot hot"), [2 * hot, 0, 2 * hot])  # a repeated query word counts twice
    assert index.idf("saknas") == pytest.approx(math.log(1 + 3.5 / 0.5))


def _same_length_texts() -> tuple[list[str], list[list[str]]]:
    """Base passages and appended batches, all of two tokens (so every avgdl is 2)."""
    return ["hot chef", "stöd chef", "hot hot", "stöd stöd"], [["hot våld", "chef våld"], ["våld våld"], ["ny chef"]]


@pytest.mark.parametrize("limit", [16, 2])
def test_segments_score_like_a_rebuild(tmp_path, monkeypatch, limit):
    monkeypatch.setattr(bm25segments, "SEGMENT_LIMIT", limit)
    analyzer = Analyzer(PLAIN)
    base_texts, batches = _same_length_texts()
    index = Bm25Index.build(base_texts, analyzer)
    index.save(tmp_path / "g0")
    for n, batch in enumerate(batches, 1):
        index = index.appended([analyzer.tokens(t) for t in batch], avgdl=2.0)
        names = index.save(tmp_path / f"g{n}", previous=tmp_path / f"g{n - 1}")
        assert names == [s.name for s in index.segments] and len(names) <= limit
    all_texts = base_texts + [t for batch in batches for t in batch]
    rebuilt = Bm25Index.build(all_texts, analyzer)
    loaded = Bm25Index.load(tmp_path / f"g{len(batches)}", mmap=True, segments=names)
    for current in (index, loaded):
        assert current.num_docs == len(all_texts)
        for query in QUERIES:
            assert np.allclose(current.scores(query), rebuilt.scores(query), atol=1e-6), query
        for token in ("hot", "chef", "våld", "ny", "saknas"):
            assert current.doc_freq(token) == rebuilt.doc_freq(token)
            assert current.idf(token) == pytest.approx(rebuilt.idf(token))
        weights = {"hot": 0.5, "våld": 2.0, "saknas": 1.0}
        mine, theirs = np.zeros(len(all_texts), np.float32), np.zeros(len(all_texts), np.float32)
        current.add_weighted(mine, weights)
        rebuilt.add_weighted(theirs, weights)
        assert np.allclose(mine, theirs, atol=1e-6)
    if limit == 2:
        assert len(index.segments) < len(batches)  # merged


def test_the_base_matrix_is_linked_not_written(tmp_path):
    analyzer = Analyzer(PLAIN)
    index = Bm25Index.build(["hot chef", "stöd chef"], analyzer)
    assert index.save(tmp_path / "g0") == []
    first = index.appended([analyzer.tokens("hot våld")], avgdl=2.0)
    first.save(tmp_path / "g1", previous=tmp_path / "g0")
    second = first.appended([analyzer.tokens("chef")], avgdl=2.0)
    second.save(tmp_path / "g2", previous=tmp_path / "g1")
    for name in ("data.csc.index.npy", "analyzer.json"):
        assert (tmp_path / "g2" / name).stat().st_ino == (tmp_path / "g0" / name).stat().st_ino
    seg = second.segments[0].name
    assert (tmp_path / "g2" / seg / "data.npy").stat().st_ino == (tmp_path / "g1" / seg / "data.npy").stat().st_ino


# add_document on a file index ==================================================
@pytest.fixture
def small(tmp_path, sentences, fake_encoder):
    coll = synth.make_collection(120, sentences, seed=21)
    bulk_index(tmp_path / "idx", coll.documents, coll.chunks, fake_encoder)
    return tmp_path / "idx"


def _new(sentences, n: int, seed: int = 22):
    doc = synth.make_collection(200, sentences, seed=seed).documents[n]
    return replace(doc, doc_id=f"ny{n}", path=f"ny{n}.txt")


def test_an_add_links_the_base_and_writes_a_segment(small, sentences, fake_encoder):
    old = _gen(small)
    inodes = {name: (old / name).stat().st_ino for name in ("dense.faiss", "bm25/data.csc.index.npy", "bm25/vocab.index.json")}
    index = load_index(small)
    assert index.bm25.segments == () and "bm25_segments" not in _manifest(small)  # a build: one matrix
    new = _new(sentences, 0)
    report = add_document(index, new, encoder=fake_encoder)
    gen = _gen(small)
    for name, inode in inodes.items():
        assert (gen / name).stat().st_ino == inode, name
    manifest = _manifest(small)
    assert manifest["bm25_segments"] == ["seg-000001"] and manifest["faiss"]["added"] == ["dense_added/000001.npy"]
    assert manifest["format"] == APPENDED_FORMAT  # older versions refuse it by its format, not as damaged
    added = np.load(gen / "dense_added" / "000001.npy")
    assert added.shape == (report.chunks, fake_encoder.dim)
    reloaded = load_index(small)
    assert reloaded.faiss.ntotal == reloaded.bm25.num_docs == 120 + report.chunks
    query = new.text[:300]
    assert np.allclose(reloaded.bm25.scores(query), index.bm25.scores(query))
    vector = added[1]  # the vector of the document's second passage, row 121
    for current in (index, reloaded):
        scores, rows = dense_mod.search(current.faiss, vector, 1)
        assert int(rows[0]) == 121 and scores[0] == pytest.approx(1.0, abs=1e-5)
        hits = Retriever(current).search(query, k=3, mode="bm25", detect_districts=False).hits
        assert hits[0].chunk.doc_id == "ny0"


def test_a_second_add_links_the_first_ones_files(small, sentences, fake_encoder):
    index = load_index(small)
    add_document(index, _new(sentences, 0), encoder=fake_encoder)
    first = _gen(small)
    inodes = {p: (first / p).stat().st_ino for p in ("bm25/seg-000001/data.npy", "dense_added/000001.npy")}
    add_document(index, _new(sentences, 1), encoder=fake_encoder)
    gen = _gen(small)
    assert all((gen / p).stat().st_ino == inode for p, inode in inodes.items())
    assert _manifest(small)["bm25_segments"] == ["seg-000001", "seg-000002"]


def test_added_vectors_are_merged(small, sentences, fake_encoder, monkeypatch):
    monkeypatch.setattr(dense_mod, "ADDED_LIMIT", 2)
    monkeypatch.setattr(bm25segments, "SEGMENT_LIMIT", 2)
    index = load_index(small)
    for n in range(4):
        add_document(index, _new(sentences, n), encoder=fake_encoder)
    manifest = _manifest(small)
    assert len(manifest["faiss"]["added"]) <= 2 and len(manifest["bm25_segments"]) <= 2
    reloaded = load_index(small)
    assert reloaded.faiss.ntotal == reloaded.bm25.num_docs == len(reloaded.chunks) == len(index.chunks)
    assert np.allclose(dense_mod.all_vectors(reloaded.faiss), dense_mod.all_vectors(index.faiss))
    query = _new(sentences, 2).text[:300]
    assert np.allclose(reloaded.bm25.scores(query), index.bm25.scores(query))


def test_an_ivf_index_takes_the_added_vectors_in_its_lists(tmp_path, sentences, fake_encoder):
    coll = synth.make_collection(5000, sentences, seed=23)
    bulk_index(tmp_path / "idx", coll.documents, coll.chunks, fake_encoder, faiss_kind="ivf")
    index = load_index(tmp_path / "idx")
    add_document(index, _new(sentences, 0), encoder=fake_encoder)
    reloaded = load_index(tmp_path / "idx")
    assert dense_mod.kind_of(reloaded.faiss) == "ivf" and reloaded.faiss.ntotal == len(reloaded.chunks)
    vector = np.load(_gen(tmp_path / "idx") / "dense_added" / "000001.npy")[0]
    district = index.documents["ny0"].metadata.district
    allowed = Retriever(reloaded).mask(Filters((district,))) if district else None
    _, rows = dense_mod.search(reloaded.faiss, vector, 1, allowed)
    assert int(rows[0]) == 5000


def test_a_failed_write_leaves_the_index_and_the_generation_as_they_were(small, sentences, fake_encoder, monkeypatch):
    index = load_index(small)
    add_document(index, _new(sentences, 0), encoder=fake_encoder)
    before = (_gen(small), index.bm25, index.faiss.ntotal, len(index.chunks))
    query = _new(sentences, 1).text[:300]
    scores = index.bm25.scores(query)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bm25segments, "save", boom)
    with pytest.raises(OSError):
        add_document(index, _new(sentences, 1), encoder=fake_encoder)
    assert (_gen(small), index.bm25, index.faiss.ntotal, len(index.chunks)) == before
    assert "ny1" not in index.documents and np.array_equal(index.bm25.scores(query), scores)
    assert not [p for p in small.iterdir() if p.name.startswith(".building-")]
    reloaded = load_index(small)  # checksums verified: the previous generation is intact
    assert reloaded.bm25.num_docs == before[2] and reloaded.bm25.segments[0].name == "seg-000001"
    monkeypatch.undo()
    add_document(index, _new(sentences, 1), encoder=fake_encoder)  # and the next try succeeds
    assert _manifest(small)["bm25_segments"] == ["seg-000001", "seg-000002"]


def test_replace_after_adds_writes_one_matrix(small, sentences, fake_encoder, tmp_path):
    index = load_index(small)
    new = _new(sentences, 0)
    add_document(index, new, encoder=fake_encoder)
    add_document(index, _new(sentences, 1), encoder=fake_encoder)
    edited = replace(new, text=new.text + " Tillägg om snöröjning.", original_text=new.text + " Tillägg om snöröjning.")
    source = tmp_path / "ny0.txt"
    source.write_text(edited.text, encoding="utf-8")
    report = replace_document(index, edited, source)
    manifest = _manifest(small)
    assert "bm25_segments" not in manifest and "added" not in manifest["faiss"] and manifest["format"] == FORMAT_VERSION
    assert not (_gen(small) / "dense_added").exists()
    loaded = report.index
    assert loaded.bm25.segments == () and loaded.faiss.ntotal == loaded.bm25.num_docs == len(loaded.chunks)
    hits = Retriever(loaded).search("snöröjning", k=1, mode="bm25", detect_districts=False).hits
    assert hits[0].chunk.doc_id == "ny0"


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name the flushed files")
def test_an_add_flushes_its_new_files_not_the_linked_ones(small, sentences, fake_encoder, monkeypatch):
    import os

    index = load_index(small)
    flushed: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    add_document(index, _new(sentences, 0), encoder=fake_encoder)
    inside = [Path(p).relative_to(small).parts for p in flushed if Path(p) != small]
    written = {parts[0] for parts in inside if not parts[0].startswith("sources-")}  # not the shared source folder
    assert len(written) == 1 and written.pop().startswith(".building-")  # flushed before it is renamed
    names = {"/".join(parts[1:]) for parts in inside if parts[0].startswith(".building-")}
    new = {"manifest.json", "bm25/seg-000001/data.npy", "dense_added/000001.npy", "chunks/doc-000001.npy"}
    assert new | {"sentences/start-000001.npy", "documents-000001.jsonl"} <= names
    linked = {"dense.faiss", "bm25/data.csc.index.npy", "chunks/text-000000.bin", "chunks/doc.npy", "sentences/start.npy"}
    assert not names & (linked | {"documents.jsonl", "chunks/text_offsets.npy"})
    assert {"", "bm25", "chunks"} <= names  # the folders holding the new links


def test_row_parts_are_linked_then_merged(small, sentences, fake_encoder, monkeypatch):
    from fraga.index import rowparts

    monkeypatch.setattr(rowparts, "PART_LIMIT", 2)
    index = load_index(small)
    base = _gen(small)
    inodes = {p: (base / p).stat().st_ino for p in ("chunks/doc.npy", "sentences/hash.npy", "documents.jsonl")}
    added = [_new(sentences, n) for n in range(4)]
    for doc in added:
        add_document(index, doc, encoder=fake_encoder)
    gen = _gen(small)
    assert all((gen / p).stat().st_ino == inode for p, inode in inodes.items())
    for folder, pattern in (
        ("chunks", "doc*.npy"),
        ("sentences", "start*.npy"),
        ("chunks", "text_offsets*.npy"),
        (".", "documents*.jsonl"),
    ):
        assert len(list((gen / folder).glob(pattern))) <= 3, pattern  # the base, the merged part, the newest
    reloaded = load_index(small)
    assert list(reloaded.documents)[-4:] == [d.doc_id for d in added]
    assert list(reloaded.chunks) == list(index.chunks) and len(reloaded.chunks) > 120
    assert np.array_equal(np.asarray(reloaded.chunk_doc_rows), np.asarray(index.chunk_doc_rows))
    for doc in added:
        chunk = reloaded.chunks.of_document(doc.doc_id)[-1]
        keys, spans, vectors = reloaded.passage_sentences(chunk)
        assert keys and len(spans) == len(vectors) and all(chunk.start <= a < b <= chunk.end for a, b in spans)
        assert reloaded.documents[doc.doc_id].text == doc.text


def test_the_encoder_is_chosen_for_the_passages_and_sentences_to_encode(small, sentences, fake_encoder):
    from fraga.index.append import SENTENCE_WEIGHT
    from fraga.index.sentences import sentence_table
    from fraga.ingest.sections import chunk_document

    asked: list[int] = []

    class Recording(type(fake_encoder)):  # type: ignore[misc]
        def bulk(self, n: int):
            asked.append(n)
            return self

    new = _new(sentences, 0)
    add_document(load_index(small), new, encoder=Recording())
    expected = len(chunk_document(new)) + int(len(sentence_table([new]).texts) * SENTENCE_WEIGHT)
    assert asked == [expected] and expected > len(chunk_document(new))


def test_row_parts_read_like_one_array(tmp_path):
    from fraga.index.rowparts import RowParts, write_rows

    base = np.arange(10, dtype=np.int64).reshape(5, 2)
    write_rows(tmp_path / "g0", "x", base)
    write_rows(tmp_path / "g1", "x", base[:2] + 100, base=RowParts(tmp_path / "g0", "x"))
    write_rows(tmp_path / "g2", "x", base[:1] + 200, base=RowParts(tmp_path / "g1", "x"))
    parts = RowParts(tmp_path / "g2", "x")
    whole = np.concatenate([base, base[:2] + 100, base[:1] + 200])
    assert len(parts) == 8 and parts.shape == (8, 2) and parts.ndim == 2 and len(parts.paths) == 3
    assert (tmp_path / "g2" / "x.npy").stat().st_ino == (tmp_path / "g0" / "x.npy").stat().st_ino
    assert np.array_equal(np.asarray(parts), whole)
    for key in (slice(3, 7), slice(5, 6), slice(0, 8), slice(6, 100), slice(4, 4), 0, 5, 7, -1, -8):
        assert np.array_equal(parts[key], whole[key]), key
    assert np.array_equal(parts[np.array([7, 0, 5])], whole[[7, 0, 5]])
    with pytest.raises(IndexError):
        parts[8]


# Stored source files ============================================================
@pytest.fixture
def with_sources(tmp_path):
    from fraga.index.build import build_index

    build_index(Path(__file__).resolve().parents[1] / "corpus", tmp_path / "idx", encoder="fake", repair_ocr=False)
    return tmp_path / "idx"


def _source(tmp_path: Path, doc) -> Path:
    path = tmp_path / f"{doc.doc_id}.txt"
    path.write_text(doc.text, encoding="utf-8")
    return path


def test_appended_generations_share_one_source_folder(with_sources, sentences, fake_encoder, tmp_path):
    from fraga.index import sources

    index = load_index(with_sources)
    first_doc = next(iter(index.documents))
    original = index.source_path(first_doc).read_bytes()
    assert not (_gen(with_sources) / "sources").is_symlink()  # a build has a folder of its own
    new = [_new(sentences, n) for n in range(2)]
    add_document(index, new[0], encoder=fake_encoder, source=_source(tmp_path, new[0]))
    shared = sources.shared_folder(_gen(with_sources))
    assert shared is not None and shared.parent == with_sources and shared.name.startswith("sources-")
    assert not any(rel.startswith("sources/") for rel in _manifest(with_sources)["files"])
    add_document(index, new[1], encoder=fake_encoder, source=_source(tmp_path, new[1]))
    assert sources.shared_folder(_gen(with_sources)) == shared  # the same folder, nothing linked again
    assert sorted(p.name for p in with_sources.glob("sources-*")) == [shared.name]
    reloaded = load_index(with_sources)
    for current in (index, reloaded):
        assert current.source_path(first_doc).read_bytes() == original
        for doc in new:
            assert current.source_path(doc.doc_id).read_text(encoding="utf-8") == doc.text
            assert current.source_path(doc.doc_id).parent == shared


def test_a_rebuild_leaves_no_shared_source_folder(with_sources, sentences, fake_encoder, tmp_path):
    index = load_index(with_sources)
    new = _new(sentences, 0)
    add_document(index, new, encoder=fake_encoder, source=_source(tmp_path, new))
    edited = replace(new, text=new.text + " Tillägg.", original_text=new.text + " Tillägg.")
    report = replace_document(index, edited, _source(tmp_path, edited))
    assert not (_gen(with_sources) / "sources").is_symlink() and not list(with_sources.glob("sources-*"))
    assert report.index.source_path(new.doc_id).read_text(encoding="utf-8") == edited.text


@pytest.mark.parametrize("failing_add", [0, 1])
def test_a_failed_add_leaves_no_source_behind(with_sources, sentences, fake_encoder, tmp_path, monkeypatch, failing_add):
    from fraga.index import sources

    index = load_index(with_sources)
    docs = [_new(sentences, n) for n in range(2)]
    if failing_add:
        add_document(index, docs[0], encoder=fake_encoder, source=_source(tmp_path, docs[0]))
    before = sorted(p.relative_to(with_sources) for p in with_sources.rglob("*"))

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bm25segments, "save", boom)
    with pytest.raises(OSError):
        add_document(index, docs[1], encoder=fake_encoder, source=_source(tmp_path, docs[1]))
    assert sorted(p.relative_to(with_sources) for p in with_sources.rglob("*")) == before
    assert (sources.shared_folder(_gen(with_sources)) is not None) == bool(failing_add)


def test_a_sources_link_out_of_the_index_is_not_followed(tmp_path):
    from fraga.index import sources

    gen = tmp_path / "idx" / "gen-000001"
    gen.mkdir(parents=True)
    (gen / "sources").symlink_to("/etc", target_is_directory=True)
    assert sources.shared_folder(gen) is None
    (gen / "sources").unlink()
    (tmp_path / "idx" / "sources-x").mkdir()
    (gen / "sources").symlink_to("../sources-x", target_is_directory=True)
    assert sources.shared_folder(gen) == tmp_path / "idx" / "sources-x"
