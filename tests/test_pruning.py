"""Static pruning of very common terms' BM25 columns: hand-computed matrices and scores."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fraga.index import pruning
from fraga.index.lexical import Analyzer, AnalyzerSettings, Bm25Index
from fraga.index.pruning import PruneSettings

PLAIN = AnalyzerSettings(stopwords="none", fold_stream=False, decompound=False)
KEEP_ONE = PruneSettings(share=0.3, floor=0)  # ceil(0.3 * 3 passages) = 1 posting per column
TEXTS = ["hot chef", "stöd chef", "hot hot"]  # two tokens each: avgdl 2


def test_keep_is_a_share_of_the_passages_but_never_below_the_floor():
    assert PruneSettings().keep(1_000_000) == 100_000
    assert PruneSettings().keep(100) == 20_000
    assert PruneSettings(share=0.3, floor=0).keep(3) == 1
    assert pruning.NO_PRUNING.keep(7) == 7


def test_prune_columns_keeps_the_best_postings_in_row_order():
    # Three columns: rows (0, 1, 2) scored (.5, .9, .1); row 1 scored .3; rows (0, 2, 3) scored (.2, .2, .7).
    data = np.array([0.5, 0.9, 0.1, 0.3, 0.2, 0.2, 0.7], dtype=np.float32)
    indices = np.array([0, 1, 2, 1, 0, 2, 3], dtype=np.int32)
    indptr = np.array([0, 3, 4, 7], dtype=np.int64)
    out = pruning.prune_columns(data, indptr, indices, keep=2)
    assert out.indptr.tolist() == [0, 2, 3, 5]
    assert out.indices.tolist() == [0, 1, 1, 0, 3]  # the tie at .2: the earlier row (0) stays
    assert np.allclose(out.data, [0.5, 0.9, 0.3, 0.2, 0.7])
    assert out.doc_freq.tolist() == [3, 1, 3] and (out.columns_pruned, out.postings_before) == (2, 7)
    with pytest.raises(ValueError, match="at least 1"):
        pruning.prune_columns(data, indptr, indices, keep=0)


def _score(idf_docs: int, df: int, tf: int, k1: float) -> float:
    return math.log(1 + (idf_docs - df + 0.5) / (df + 0.5)) * tf / (tf + k1)  # passage length = avgdl


def test_a_pruned_index_keeps_true_idfs_and_drops_only_the_weaker_postings(tmp_path):
    analyzer = Analyzer(PLAIN)
    index = Bm25Index.build(TEXTS, analyzer, prune=KEEP_ONE)
    k1 = index.k1
    # "hot": rows 0 (tf 1) and 2 (tf 2) -> row 2 stays; "chef": rows 0 and 1 tie -> row 0 stays.
    assert np.allclose(index.scores("hot"), [0, 0, _score(3, 2, 2, k1)])
    assert np.allclose(index.scores("chef"), [_score(3, 2, 1, k1), 0, 0])
    assert np.allclose(index.scores("stöd"), [0, _score(3, 1, 1, k1), 0])
    assert (index.doc_freq("hot"), index.doc_freq("chef"), index.doc_freq("stöd")) == (2, 2, 1)
    assert index.idf("chef") == pytest.approx(math.log(1 + 1.5 / 2.5))

    index.save(tmp_path / "bm25")
    record = json.loads((tmp_path / "bm25" / pruning.SETTINGS_FILE).read_text(encoding="utf-8"))
    assert record == {"share": 0.3, "floor": 0, "columns_pruned": 2, "postings_before": 5, "postings_after": 3}
    loaded = Bm25Index.load(tmp_path / "bm25", mmap=True, analyzer=analyzer)
    assert (loaded.doc_freq("hot"), loaded.doc_freq("chef")) == (2, 2)
    assert np.allclose(loaded.scores("hot chef"), index.scores("hot chef"))


def test_appending_to_a_pruned_index_rescales_with_the_true_document_frequency():
    analyzer = Analyzer(PLAIN)
    index = Bm25Index.build(TEXTS, analyzer, prune=KEEP_ONE).appended([analyzer.tokens("hot våld")], avgdl=2.0)
    k1 = index.k1
    assert index.doc_freq("hot") == 3  # 2 in the base matrix (one posting pruned) + 1 appended
    assert np.allclose(index.scores("hot"), [0, 0, _score(4, 3, 2, k1), _score(4, 3, 1, k1)])


def test_a_collection_under_the_floor_is_not_pruned(tmp_path):
    index = Bm25Index.build(TEXTS, Analyzer(PLAIN))  # default settings: floor 20,000 postings
    index.save(tmp_path / "bm25")
    assert not (tmp_path / "bm25" / pruning.DOC_FREQ_FILE).exists()
    assert np.allclose(index.scores("chef"), [_score(3, 2, 1, index.k1)] * 2 + [0])
