"""Swedish BM25: stemming, stop words, diacritic-free matching; bm25s against rank-bm25."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fraga.index.lexical import Analyzer, AnalyzerSettings, Bm25Index
from fraga.index.postings import top_rows

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
            np.argsort(-np.where(matched, theirs, -np.inf), kind="stable")[: matched.sum()]
        ), query


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
    from fraga.index import postings

    index = Bm25Index.build(FIXTURE, analyzer)
    index.save(tmp_path / "bm25")
    mapped = Bm25Index.load(tmp_path / "bm25", mmap=True, analyzer=analyzer)
    assert mapped.analyzer is analyzer
    m = index._bm25.scores
    for query in ["polisanmälan chef chef", "hot mot medarbetare", "far", "okänt ord"]:
        ids = index._bm25.get_tokens_ids(analyzer.tokens(query))
        expected = index._bm25.get_scores_from_ids(ids) if ids else np.zeros(len(FIXTURE))
        assert np.allclose(index.scores(query), expected) and np.allclose(mapped.scores(query), expected)
        numpy_sum = postings._sum_columns_numpy(
            m["data"], m["indptr"], m["indices"], len(FIXTURE), np.asarray(ids, dtype=np.int64)
        )
        assert np.allclose(numpy_sum, expected)


# The BM25 index's own statistics (no module but lexical reads bm25s' matrix) ===========
PLAIN = AnalyzerSettings(stopwords="none", fold_stream=False, decompound=False)


def test_doc_freq_and_idf_by_hand():
    index = Bm25Index.build(["hot chef", "stöd chef", "hot hot"], Analyzer(PLAIN))
    assert (index.num_docs, index.doc_freq("chef"), index.doc_freq("hot"), index.doc_freq("saknas")) == (3, 2, 2, 0)
    assert index.idf("chef") == pytest.approx(math.log(1 + (3 - 2 + 0.5) / (2 + 0.5)))
    assert index.idf("stöd") == pytest.approx(math.log(1 + (3 - 1 + 0.5) / (1 + 0.5)))
    assert index.idf("saknas") == pytest.approx(math.log(1 + 3.5 / 0.5))  # the highest possible


def test_append_scores_new_rows_by_hand_and_rescales_the_terms_they_use():
    analyzer = Analyzer(PLAIN)
    index = Bm25Index.build(["hot chef", "stöd chef"], analyzer)  # two tokens per passage: avgdl 2
    index = index.appended([analyzer.tokens("hot våld")], avgdl=2.0)
    k1 = index.k1
    assert index.num_docs == 3 and index.doc_freq("hot") == 2 and index.doc_freq("våld") == 1
    hot = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5)) * 1 / (k1 * 1 + 1)  # tf 1, passage length = avgdl
    vald = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5)) * 1 / (k1 * 1 + 1)
    assert np.allclose(index.scores("hot"), [hot, 0, hot])
    assert np.allclose(index.scores("våld"), [0, 0, vald])
    rebuilt = Bm25Index.build(["hot chef", "stöd chef", "hot våld"], analyzer)  # the same, for terms it used
    assert np.allclose(index.scores("hot våld"), rebuilt.scores("hot våld"))


@pytest.mark.parametrize("word", ["hemlös", "Hemlösa", "föräldrar", "får", "polisanmälan", "säkerhetssamordnare"])
def test_one_function_makes_the_diacritic_free_token_for_index_and_lookups(analyzer, word):
    # "hemlös": the stem of the folded word is "hemlo", the folded stem "hemlos"
    assert analyzer.fold_token(word) in analyzer.word_tokens(word)
    assert analyzer.term(word) == analyzer.fold_token(word) == analyzer.word_tokens(word)[1]
    assert analyzer.term("och") == ""


def test_a_word_with_a_diacritic_dependent_stem_gets_its_own_idf(analyzer):
    from fraga.answer.overlap import TermMatcher

    index = Bm25Index.build(["Hemlös person söker stöd.", "Stöd ges av förvaltningen.", "Inget här."], analyzer)
    matcher = TermMatcher(index)
    assert matcher.idf("hemlös") == pytest.approx(math.log(1 + 2.5 / 1.5))  # df 1, not the unseen-term IDF
    assert matcher.idf("hemlös") < index.idf("~okantord")


def test_shares_part_is_one_test_for_answering_and_drafting():
    from fraga.answer.overlap import shares_part
    from fraga.drafting import similarity

    assert similarity.shares_part is shares_part
    assert shares_part("~sakerhetssamordn", "samordn") and shares_part("polisanmal", "~polisanmalan")
    assert not shares_part("polisanmal", "polis") and not shares_part("brandskydd", "samordn")


def test_one_compound_length_limit_for_bm25_and_ocr_repair(analyzer):
    from fraga.index import lexical
    from fraga.ingest import lexicon

    assert lexical.MAX_COMPOUND_LEN is lexicon.MAX_COMPOUND_LEN
    word = "säkerhetssamordnare" * (lexicon.MAX_COMPOUND_LEN // 19 + 1)
    assert len(word) > lexicon.MAX_COMPOUND_LEN and len(analyzer.tokens(word)) == 2  # stem and folded stem only


def test_only_the_bm25_index_reads_bm25s_internals():
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src" / "fraga"
    internals = ("._bm25.", ".vocab_dict", '["indptr"]', '["data"]', '["num_docs"]', ".get_tokens_ids(")
    reaching = sorted(
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if p.name != "lexical.py" and any(s in p.read_text(encoding="utf-8") for s in internals)
    )
    assert reaching == []
