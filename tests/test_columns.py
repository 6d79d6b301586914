"""Index format 2: passages and document texts in memory-mapped column files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fraga.index import generation as index_mod, textcolumn
from fraga.index.append import add_document
from fraga.bench import synth
from fraga.index.columns import StoredDocument
from fraga.errors import IndexCorruptError, IndexMismatchError
from fraga.index.build import build_index
from fraga.index.generation import load_index
from fraga.ingest.corpus import load_corpus
from fraga.records import Chunk
from fraga.search.retrieve import Retriever
from fraga.testing import bulk_index
from fraga.ingest.sections import chunk_document

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


# FIXTURES =====================================================================
@pytest.fixture(scope="module")
def expected_chunks() -> list[Chunk]:
    """The passages the bundled corpus should hold, in row order (OCR repair off)."""
    return [c for doc in load_corpus(CORPUS, repair=None).documents for c in chunk_document(doc)]


@pytest.fixture
def built(tmp_path) -> Path:
    build_index(CORPUS, tmp_path / "idx", encoder="fake", repair_ocr=False)
    return tmp_path / "idx"


def _gen(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


def _rewrite_manifest_entry(gen: Path, rel: str) -> None:
    """Make the manifest agree with an edited file, so only the columns' own checks are left."""
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["files"][rel] = {"sha256": None, "bytes": (gen / rel).stat().st_size}
    (gen / "manifest.json").write_text(json.dumps(manifest))


# TESTS ========================================================================
def test_passages_are_a_lazy_read_only_sequence(built, expected_chunks):
    index = load_index(built)
    chunks = index.chunks
    assert len(chunks) == len(expected_chunks) > 20
    assert list(chunks) == expected_chunks  # iteration builds every Chunk
    assert chunks[0] == expected_chunks[0] and chunks[-1] == expected_chunks[-1]
    assert chunks[-len(chunks)] == expected_chunks[0]
    assert chunks[3:7] == expected_chunks[3:7] and chunks[::5] == expected_chunks[::5]
    assert chunks[-3:] == expected_chunks[-3:] and chunks[5:2] == []
    assert chunks[np.int64(2)] == expected_chunks[2]
    with pytest.raises(IndexError):
        chunks[len(chunks)]
    with pytest.raises(IndexError):
        chunks[-len(chunks) - 1]
    with pytest.raises(TypeError):
        chunks["0"]
    assert not hasattr(chunks, "append") and not hasattr(chunks, "__setitem__")
    for doc_id in {c.doc_id for c in expected_chunks}:
        assert chunks.of_document(doc_id) == [c for c in expected_chunks if c.doc_id == doc_id]
    assert chunks.of_document("okänd") == []
    paged = [c for c in chunks if c.page is not None]
    assert all(isinstance(c.page, int) for c in paged)


def test_row_of_is_computed_from_chunk_ids(built, expected_chunks):
    index = load_index(built)
    for row, chunk in enumerate(expected_chunks):
        assert index.row_of[chunk.chunk_id] == row and chunk.chunk_id in index.row_of
    first = expected_chunks[0].doc_id
    for bad in (f"{first}#999", f"{first}#01", f"{first}#-1", f"{first}#", "okänd#0", first, "", None, 3):
        assert index.row_of.get(bad) is None and bad not in index.row_of
    with pytest.raises(KeyError):
        index.row_of["okänd#0"]
    assert len(index.row_of) == len(expected_chunks)
    assert list(index.row_of)[:3] == [c.chunk_id for c in expected_chunks[:3]]
    assert list(index.doc_ids) == list(index.documents)
    rows = np.asarray(index.chunk_doc_rows)
    assert [index.doc_ids[r] for r in rows] == [c.doc_id for c in expected_chunks]


def test_documents_read_texts_on_access(built):
    index = load_index(built)
    corpus = {d.doc_id: d for d in load_corpus(CORPUS, repair=None).documents}
    assert any(d.original_text != d.text for d in corpus.values())  # furniture removed somewhere
    for doc_id, doc in index.documents.items():
        assert isinstance(doc, StoredDocument)
        assert object.__getattribute__(doc, "_text") is None  # nothing read at load
        assert doc.text == corpus[doc_id].text and doc.original_text == corpus[doc_id].original_text
        assert doc.metadata == corpus[doc_id].metadata and doc.pages == corpus[doc_id].pages
        assert doc.hash == corpus[doc_id].hash
    doc = next(iter(index.documents.values()))
    copy = replace(doc, doc_id="kopia")
    assert copy.text == doc.text and copy.doc_id == "kopia"
    lines = (_gen(built) / "documents.jsonl").read_text(encoding="utf-8")
    assert '"text"' not in lines and "original_text" not in lines


def test_texts_are_read_without_mapping_their_segments(built, expected_chunks):
    # Mapped segments made every page near a read resident (2 GB after 97 questions at 1M passages).
    index = load_index(built)
    assert [index.chunks[i].text for i in (0, len(expected_chunks) - 1)] == [expected_chunks[0].text, expected_chunks[-1].text]
    assert all(d.text for d in index.documents.values())
    maps = Path("/proc/self/maps").read_text() if Path("/proc/self/maps").exists() else ""
    assert str(_gen(built)) not in maps or ".bin" not in "".join(line for line in maps.splitlines() if str(_gen(built)) in line)


def test_format_1_index_is_refused(built):
    gen = _gen(built)
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["format"] = 1
    (gen / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="bygg om med: fraga index"):
        load_index(built)


@pytest.mark.parametrize(
    "rel", ["chunks/text-000000.bin", "chunks/start.npy", "chunks/text_offsets.npy", "documents/text-000000.bin"]
)
def test_truncated_column_is_detected(built, rel):
    gen = _gen(built)
    data = (gen / rel).read_bytes()
    (gen / rel).write_bytes(data[: len(data) - 40])
    with pytest.raises(IndexCorruptError, match="fel storlek"):
        load_index(built)
    _rewrite_manifest_entry(gen, rel)  # the manifest agrees: the columns themselves must notice
    with pytest.raises(IndexCorruptError, match="bygg om"):
        load_index(built)


def test_big_index_records_sizes_only(tmp_path, monkeypatch):
    monkeypatch.setattr(index_mod, "CHECKSUM_FULL_LIMIT", 1000)
    build_index(CORPUS, tmp_path / "idx", encoder="fake", repair_ocr=False)
    manifest = json.loads((_gen(tmp_path / "idx") / "manifest.json").read_text())
    assert all(f["sha256"] is None and f["bytes"] > 0 for f in manifest["files"].values())
    assert len(load_index(tmp_path / "idx").chunks) > 20


def test_append_links_old_segments_and_writes_a_new_one(tmp_path, sentences, fake_encoder):
    coll = synth.make_collection(120, sentences, seed=4)
    bulk_index(tmp_path / "idx", coll.documents, coll.chunks, fake_encoder)
    index = load_index(tmp_path / "idx")
    old_inode = (_gen(tmp_path / "idx") / "chunks" / "text-000000.bin").stat().st_ino
    new = replace(synth.make_collection(12, sentences, seed=5).documents[0], doc_id="ny", path="ny.txt", original_text="ORIGINAL")
    report = add_document(index, new, encoder=fake_encoder)
    gen = _gen(tmp_path / "idx")
    assert (gen / "chunks" / "text-000000.bin").stat().st_ino == old_inode  # hard-linked, not rewritten
    assert (gen / "chunks" / "text-000001.bin").is_file()
    for current in (index, load_index(tmp_path / "idx")):  # in place, and as written
        assert len(current.chunks) == 120 + report.chunks and current.chunks[-1].doc_id == "ny"
        assert current.row_of["ny#0"] == 120 and current.chunks[120] == chunk_document(new)[0]
        assert current.documents["ny"].text == new.text and current.documents["ny"].original_text == "ORIGINAL"
        assert current.documents[coll.documents[0].doc_id].text == coll.documents[0].text
        assert current.doc_ids[-1] == "ny" and int(current.chunk_doc_rows[-1]) == len(coll.documents)
        hits = Retriever(current).search(new.text[:200], k=3, mode="bm25", detect_districts=False).hits
        assert hits[0].chunk.doc_id == "ny"


def test_appended_segments_are_merged(tmp_path, sentences, fake_encoder, monkeypatch):
    monkeypatch.setattr(textcolumn, "SEGMENT_LIMIT", 3)
    coll = synth.make_collection(60, sentences, seed=6)
    bulk_index(tmp_path / "idx", coll.documents, coll.chunks, fake_encoder)
    index = load_index(tmp_path / "idx")
    extra = synth.make_collection(60, sentences, seed=7).documents[:5]
    for n, doc in enumerate(extra):
        add_document(index, replace(doc, doc_id=f"ny{n}", path=f"ny{n}.txt"), encoder=fake_encoder)
    segments = sorted((_gen(tmp_path / "idx") / "chunks").glob("text-*.bin"))
    assert len(segments) <= 3
    reloaded = load_index(tmp_path / "idx")
    assert list(reloaded.chunks) == list(coll.chunks) + [
        c for n, doc in enumerate(extra) for c in chunk_document(replace(doc, doc_id=f"ny{n}"))
    ]


def test_chunk_ids_that_cannot_be_derived_are_stored(tmp_path, sentences, fake_encoder):
    coll = synth.make_collection(40, sentences, seed=8)
    chunks = [replace(c, chunk_id=f"p{i:03d}") for i, c in enumerate(coll.chunks)]
    bulk_index(tmp_path / "idx", coll.documents, chunks, fake_encoder)
    assert (_gen(tmp_path / "idx") / "chunks" / "id_offsets.npy").is_file()
    index = load_index(tmp_path / "idx")
    assert list(index.chunks) == chunks
    assert index.row_of["p007"] == 7 and "p999" not in index.row_of
    new = replace(synth.make_collection(12, sentences, seed=9).documents[0], doc_id="ny", path="ny.txt")
    add_document(index, new, encoder=fake_encoder)
    assert index.row_of["ny#0"] == 40 and index.row_of["p039"] == 39


def test_failed_append_leaves_the_loaded_index_as_it_was(tmp_path, sentences, fake_encoder, monkeypatch):
    from fraga.index import append

    coll = synth.make_collection(80, sentences, seed=10)
    bulk_index(tmp_path / "idx", coll.documents, coll.chunks, fake_encoder)
    index = load_index(tmp_path / "idx")
    new = replace(synth.make_collection(12, sentences, seed=11).documents[0], doc_id="ny", path="ny.txt")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(append.dense_mod, "write_added", boom)
    with pytest.raises(OSError):
        add_document(index, new, encoder=fake_encoder)
    assert index.faiss.ntotal == index.bm25.num_docs == len(index.chunks) == 80 and "ny" not in index.documents
    assert not [p for p in (tmp_path / "idx").iterdir() if p.name.startswith(".building-")]
    monkeypatch.undo()
    add_document(index, new, encoder=fake_encoder)  # and the next try succeeds
    assert load_index(tmp_path / "idx").row_of["ny#0"] == 80


def test_offsets_are_stored_as_int32_unless_one_needs_64_bits():
    from fraga.index.rowparts import offsets_array

    small = offsets_array([0, 5, 2**31 - 1])
    assert small.dtype == np.int32 and small.tolist() == [0, 5, 2**31 - 1]
    big = offsets_array([0, 2**31])
    assert big.dtype == np.int64 and big.tolist() == [0, 2**31]
    assert offsets_array([]).dtype == np.int32
