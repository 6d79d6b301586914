"""Reading BM25 postings by column ranges: pread from a saved matrix, slices of one in memory."""

from __future__ import annotations

import shutil

import numpy as np

from fraga.index.lexical import Analyzer, AnalyzerSettings, Bm25Index
from fraga.index.postings import Postings

PLAIN = AnalyzerSettings(stopwords="none", fold_stream=False, decompound=False)


def test_take_reads_the_ranges_one_after_another_from_memory_and_from_files(tmp_path):
    data = np.array([0.5, 1.5, 2.5, 3.5, 4.5], dtype=np.float32)
    indices = np.array([7, 8, 9, 10, 11], dtype=np.int32)
    np.save(tmp_path / "data.npy", data)
    np.save(tmp_path / "indices.npy", indices)
    mapped = Postings(np.load(tmp_path / "data.npy", mmap_mode="r"), np.load(tmp_path / "indices.npy", mmap_mode="r"))
    for postings in (Postings(data, indices), mapped):
        got_data, indptr, got_indices = postings.take([(3, 5), (0, 1), (2, 2)])
        assert got_data.tolist() == [3.5, 4.5, 0.5] and got_indices.tolist() == [10, 11, 7]
        assert indptr.tolist() == [0, 2, 3, 3]
        assert postings.take([])[1].tolist() == [0]
    assert len(mapped._fds) == 2  # read with pread, not through the map


def test_a_loaded_index_scores_after_its_folder_is_replaced(tmp_path):
    analyzer = Analyzer(PLAIN)
    built = Bm25Index.build(["hot chef", "stöd chef", "hot hot"], analyzer)
    built.save(tmp_path / "bm25")
    loaded = Bm25Index.load(tmp_path / "bm25", mmap=True, analyzer=analyzer)
    appended = loaded.appended([analyzer.tokens("hot våld")], avgdl=2.0)
    shutil.rmtree(tmp_path / "bm25")  # a newer generation replaced this one
    assert np.allclose(loaded.scores("hot chef"), built.scores("hot chef"))
    assert appended.scores("hot")[3] > 0 and appended.scores("hot")[1] == 0


def test_a_truncated_postings_file_is_reported_as_a_corrupt_index(tmp_path):
    import pytest

    from fraga.errors import IndexCorruptError

    np.save(tmp_path / "data.npy", np.arange(6, dtype=np.float32))
    np.save(tmp_path / "indices.npy", np.arange(6, dtype=np.int32))
    postings = Postings(np.load(tmp_path / "data.npy", mmap_mode="r"), np.load(tmp_path / "indices.npy", mmap_mode="r"))
    with open(tmp_path / "data.npy", "r+b") as f:  # cut off the last two rows after loading
        f.truncate(128 + 4 * 4)
    with pytest.raises(IndexCorruptError, match="data.npy är kortare än väntat"):
        postings.take([(2, 6)])
