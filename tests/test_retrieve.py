"""Retrieval modes, filters and district detection (fake encoder unless marked slow)."""

from __future__ import annotations

import pytest

from fraga.districts import DistrictMatcher
from fraga.errors import EmptyQueryError, QueryTooLongError, UnknownDistrictError
from fraga.index.generation import load_index
from fraga.search.retrieve import Filters, Retriever


@pytest.mark.parametrize(
    "text,expected",
    [
        ("vem polisanmäler i Skarpnäck?", ["Skarpnäck"]),
        ("Skarpnäcks rutiner", ["Skarpnäck"]),
        ("hur gör skarpnack", ["Skarpnäck"]),
        ("Norra innerstadens svar", ["Norra innerstaden"]),
        ("i Hägersten-Älvsjö och Älvsjö", ["Hägersten-Älvsjö", "Älvsjö"]),
        ("hagersten alvsjos fragor", ["Hägersten-Älvsjö"]),
        ("hot mot socialsekreterare", []),
    ],
)
def test_district_forms(text, expected):
    assert DistrictMatcher().names(text) == expected


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_modes_return_ranked_hits(retriever, mode):
    result = retriever.search("polisanmälan chef hot", k=5, mode=mode)
    assert result.mode == mode
    assert [h.rank for h in result.hits] == [1, 2, 3, 4, 5]
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)


def test_district_in_question_narrows(retriever):
    result = retriever.search("vem polisanmäler i Skarpnäck?", k=5)
    assert result.districts_in_query == ("Skarpnäck",)
    assert {h.chunk.doc_id for h in result.hits} == {"skarpnack-2024-09-24-starkt-skydd"}


def test_district_without_documents_is_reported(retriever):
    result = retriever.search("Har Bromma en säkerhetssamordnare?", k=3)
    assert result.missing_districts == ("Bromma",)


def test_filters(retriever):
    idx = retriever.index
    res = retriever.search("hot", k=50, filters=Filters(doc_types=("skrivelse",)))
    assert {idx.documents[h.chunk.doc_id].metadata.doc_type for h in res.hits} == {"skrivelse"}
    res = retriever.search("hot", k=50, filters=Filters(date_from="2024-01-01", date_to="2024-12-31"))
    # Norra innerstaden's letterhead has no date; the one in its file name (2024-06-13) counts.
    assert {h.chunk.doc_id for h in res.hits} == {
        "skarpnack-2024-09-24-starkt-skydd",
        "norra-innerstaden-2024-06-13-starkt-skydd",
    }
    assert idx.documents["norra-innerstaden-2024-06-13-starkt-skydd"].metadata.date_source == "filnamn"
    res = retriever.search("hot", k=50, filters=Filters(districts=("Kungsholmen",)), mode="dense")
    assert {h.chunk.doc_id for h in res.hits} == {"kungsholmen-2022-04-20-tystnadskultur"}


def test_resolve_districts(retriever):
    assert retriever.resolve_districts(["skarpnack", "Norra innerstadens"]) == ("Skarpnäck", "Norra innerstaden")
    with pytest.raises(UnknownDistrictError, match="Skarpnäck"):
        retriever.resolve_districts(["Bromma"])


@pytest.mark.parametrize("query,error", [("", EmptyQueryError), ("  ?!  ", EmptyQueryError), ("a" * 5000, QueryTooLongError)])
def test_bad_queries(retriever, query, error):
    with pytest.raises(error):
        retriever.search(query)


def test_k_is_clamped(retriever):
    assert len(retriever.search("hot", k=10_000, mode="dense").hits) == len(retriever.index.chunks)


@pytest.mark.slow
def test_real_encoder_finds_skarpnack_answer(real_index_dir):
    retriever = Retriever(load_index(real_index_dir))
    for mode in ("bm25", "dense", "hybrid"):
        hits = retriever.search("vem polisanmäler i Skarpnäck?", k=5, mode=mode).hits
        assert any("polisanmälan alltid görs av chef" in h.chunk.text for h in hits), mode


def test_hybrid_fusion_weights_follow_the_query_length(retriever):
    from fraga.search.fusion import convex

    short, long_ = "hot mot personal", " ".join(["hot mot personal och chefer"] * 6)
    assert retriever.fusion_weights(short) == pytest.approx((3 / 17, 14 / 17))
    assert retriever.fusion_weights(long_) == pytest.approx((30 / 44, 14 / 44))
    result = retriever.search(long_, k=5)
    expected = convex([result.bm25_scores, result.dense_scores], weights=(30 / 44, 14 / 44))
    assert [h.chunk.chunk_id for h in result.hits] == [
        cid for cid, _ in sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    ]


def test_fixed_fusion_weights_are_kept(retriever):
    fixed = Retriever(retriever.index, weights=(0.3, 0.7))
    assert fixed.fusion_weights("hot mot personal") == (0.3, 0.7)
