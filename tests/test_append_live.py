"""A retriever and an answerer built before ``add_document`` go on working, and see the new document."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fraga.answer.answerer import Answerer
from fraga.bench import synth
from fraga.index.append import add_document
from fraga.index.generation import load_index
from fraga.records import Metadata
from fraga.search.retrieve import Filters, Retriever
from fraga.testing import bulk_index

WORD = "hemlöshetssamordnaren"  # a word the synthetic collection does not hold


# FIXTURES =====================================================================
@pytest.fixture
def live(tmp_path, sentences, fake_encoder):
    """A loaded index, a Retriever and an Answerer built on it, then one document added."""
    coll = synth.make_collection(80, sentences, seed=21)
    bulk_index(tmp_path / "idx", coll.documents, coll.chunks, fake_encoder)
    index = load_index(tmp_path / "idx")
    retriever = Retriever(index)
    answerer = Answerer(retriever)
    base = coll.documents[0]
    district = base.metadata.district
    before = {
        "bm25": retriever.search("riktlinjer", k=3, mode="bm25", filters=Filters(districts=(district,))),
        "idf": answerer.matcher.idf(WORD),
    }
    text = f"{WORD} {WORD} ansvarar för arbetet.\n\n" + base.text
    new = replace(
        base,
        doc_id="ny",
        path="ny.txt",
        text=text,
        original_text=text,
        metadata=Metadata(
            district="Nyköpings stadsdel", doc_type="tjänsteutlåtande", title="Ny", date="2026-01-02", dates=("2026-01-02",)
        ),
    )
    add_document(index, new, encoder=fake_encoder)
    return index, retriever, answerer, before


# TESTS ========================================================================
@pytest.mark.parametrize("mode", ["bm25", "hybrid", "dense"])
def test_a_filtered_search_after_an_append_finds_the_new_document(live, mode):
    index, retriever, _, _ = live
    filters = Filters(districts=("Nyköpings stadsdel",))
    result = retriever.search(f"{WORD} ansvarar", k=3, mode=mode, filters=filters, detect_districts=False)
    assert result.hits and {h.chunk.doc_id for h in result.hits} == {"ny"}
    other = retriever.search("riktlinjer", k=3, mode=mode, filters=Filters(doc_types=("tjänsteutlåtande",)))
    assert len(other.hits) == 3


def test_the_retriever_knows_the_new_documents_district_after_an_append(live):
    _, retriever, _, _ = live
    assert "Nyköpings stadsdel" in retriever.known_districts
    assert retriever.resolve_districts(["Nyköpings stadsdel"]) == ("Nyköpings stadsdel",)


def test_the_answerers_idf_follows_an_append(live):
    index, _, answerer, before = live
    token = index.bm25.analyzer.fold_token(WORD)
    n = index.bm25.num_docs
    df = index.bm25.doc_freq(token)
    assert df >= 1 and before["idf"] > answerer.matcher.idf(WORD)
    assert answerer.matcher.idf(WORD) == pytest.approx(index.bm25.idf(token))
    import math

    assert answerer.matcher.idf(WORD) == pytest.approx(math.log(1 + (n - df + 0.5) / (df + 0.5)))
    answer = answerer.answer(f"Vem är {WORD}?", mode="bm25")  # and answering goes on
    assert answer.citations and answer.citations[0].doc_id == "ny"
