"""Swedish BM25: stemming, stop words, diacritic-free matching; bm25s against rank-bm25."""
from __future__ import annotations

import numpy as np
import pytest

from fraga.index.lexical import Analyzer, AnalyzerSettings, Bm25Index, top_rows

FIXTURE = [
    "Av rutinen framgår att polisanmälan alltid görs av chef.",
    "Ja, 1 forvaltningens rutiner fastslas att varje hot ska polisanmaélas.",
    "Det finns en säkerhetssamordnare anställd på heltid.",
    "Medarbetaren får stöd av sin chef efter en händelse.",
    "Far och mor är föräldrar; en far kan ha barn.",
    "Nämnden beslutade att överlämna skrivelsen till förvaltningen.",
    "Hot och våld mot medarbetare ska rapporteras i systemet.",
]


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


def test_stems_and_stopwords(analyzer):
    assert analyzer.tokens("och att det") == []
    assert analyzer.tokens("polisanmäler") == ["polisanmäl", "~polisanmal", "polis", "anmäl"]
    assert analyzer.tokens("polisanmälan")[0] == "polisanmäl"


def test_compound_parts_match_their_words(analyzer):
    assert {"säkerhet", "samordn"} <= set(analyzer.tokens("säkerhetssamordnare"))
    assert analyzer.tokens("hot") == ["hot", "~hot"]  # short words are not split
    plain = Analyzer(AnalyzerSettings(decompound=False))
    assert plain.tokens("säkerhetssamordnare") == ["säkerhetssamordn", "~sakerhetssamordn"]


@pytest.mark.parametrize("query", ["polisanmäler", "polisanmaler", "polisanmaélas"])
def test_spellings_meet(analyzer, query):
    index = Bm25Index.build(FIXTURE, analyzer)
    scores = index.scores(query)
    assert scores[0] > 0 and scores[1] > 0  # the clean and the OCR'd document both match


def test_exact_diacritics_rank_first(analyzer):
    index = Bm25Index.build(FIXTURE, analyzer)
    scores = index.scores("får")
    assert scores[3] > scores[4] > 0  # "får" matches "får" fully, "far" only through the folded stream


def test_empty_and_unknown_queries_score_zero(analyzer):
    index = Bm25Index.build(FIXTURE, analyzer)
    assert not index.scores("och att").any()
    assert not index.scores("xyzzy").any()


def test_bm25s_ranks_like_rank_bm25_oracle(analyzer):
    """bm25s (the engine) and rank-bm25 (the oracle) rank the fixture corpus the same way."""
    from rank_bm25 import BM25Okapi

    index = Bm25Index.build(FIXTURE, analyzer, k1=1.2, b=0.75)
    tokenized = [analyzer.tokens(t) for t in FIXTURE]
    oracle = BM25Okapi(tokenized, k1=1.2, b=0.75, epsilon=0.25)
    for query in ["polisanmälan chef", "hot mot medarbetare", "säkerhetssamordnare heltid", "stöd efter händelse"]:
        ours = index.scores(query)
        theirs = np.asarray(oracle.get_scores(analyzer.tokens(query)))
        matched = ours > 0
        assert list(np.argsort(-ours, kind="stable")[: matched.sum()]) == list(
            np.argsort(-np.where(matched, theirs, -np.inf), kind="stable")[: matched.sum()]), query


def test_save_and_load_roundtrip(tmp_path, analyzer):
    index = Bm25Index.build(FIXTURE, analyzer)
    index.save(tmp_path / "bm25")
    loaded = Bm25Index.load(tmp_path / "bm25")
    assert np.allclose(loaded.scores("hot chef"), index.scores("hot chef"))
    assert loaded.analyzer.settings == AnalyzerSettings()
    assert not list((tmp_path / "bm25").glob("*.pkl"))


@pytest.mark.parametrize("positive_share", [0.9, 0.001, 0.00002, 0.0])
def test_top_rows_matches_a_full_sort(positive_share):
    rng = np.random.default_rng(3)
    n = 400_000  # above the size where top_rows samples a threshold
    scores = np.where(rng.random(n) < positive_share, rng.gamma(2.0, 3.0, n), 0.0).astype(np.float32)
    for k in (1, 50, 3000):
        expected = set(np.flatnonzero(scores > 0)[np.argsort(-scores[scores > 0], kind="stable")][:k].tolist())
        assert set(top_rows(scores, k).tolist()) == expected
    small = np.array([0.0, 2.0, 0.0, 5.0, 1.0], dtype=np.float32)
    assert sorted(top_rows(small, 2).tolist()) == [1, 3] and sorted(top_rows(small, 9).tolist()) == [1, 3, 4]
    assert len(top_rows(small, 0)) == 0


def test_column_sum_equals_bm25s_scores(tmp_path, analyzer):
    from fraga.index import lexical

    index = Bm25Index.build(FIXTURE, analyzer)
    index.save(tmp_path / "bm25")
    mapped = Bm25Index.load(tmp_path / "bm25", mmap=True, analyzer=analyzer)
    assert mapped.analyzer is analyzer
    m = index._bm25.scores
    for query in ["polisanmälan chef chef", "hot mot medarbetare", "far", "okänt ord"]:
        ids = index._bm25.get_tokens_ids(analyzer.tokens(query))
        expected = index._bm25.get_scores_from_ids(ids) if ids else np.zeros(len(FIXTURE))
        assert np.allclose(index.scores(query), expected) and np.allclose(mapped.scores(query), expected)
        numpy_sum = lexical._sum_columns_numpy(m["data"], m["indptr"], m["indices"], len(FIXTURE),
                                               np.asarray(ids, dtype=np.int64))
        assert np.allclose(numpy_sum, expected)
