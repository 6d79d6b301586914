"""Extractive answers with citations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fraga.answer.answerer import NO_ANSWER, Answerer, format_answer
from fraga.answer.questions import analyse
from fraga.index.generation import load_index
from fraga.search.retrieve import Retriever


def test_answer_quotes_the_document_and_cites_it(answerer):
    answer = answerer.answer("Vem polisanmäler hot i Skarpnäck?")
    assert answer.answered
    doc = answerer.retriever.index.documents[answer.citations[0].doc_id]
    for c in answer.citations:
        assert f"[{c.n}]" in answer.text
        # the quote is the document's own text (white space aside)
        assert " ".join(doc.text[c.start : c.end].split()) == c.quote
        assert c.quote in answer.text


def test_unknown_district_says_so(answerer):
    answer = answerer.answer("Hur många säkerhetssamordnare finns i Bromma?")
    assert not answer.answered
    assert "Bromma" in answer.text and "Skarpnäck" in answer.text


def test_below_the_threshold_it_abstains_and_lists_passages(answerer):
    strict = Answerer(answerer.retriever, dataclasses.replace(answerer.model, threshold=1.01))
    answer = strict.answer("Vem polisanmäler hot i Skarpnäck?")
    assert not answer.answered and answer.text == NO_ANSWER and answer.note == "weak_evidence"
    assert answer.hits
    # the sentence it would have quoted is kept apart, for evaluation, never in the text
    quoted = answerer.answer("Vem polisanmäler hot i Skarpnäck?")
    assert quoted.answered and quoted.withheld is None and "withheld" not in quoted.to_dict()
    assert answer.withheld is not None and answer.withheld.quote == quoted.citations[0].quote
    assert answer.to_dict()["withheld"]["quote"] == answer.withheld.quote and answer.withheld.quote not in answer.text


def test_scores_are_probabilities_in_ranking_order(answerer):
    question = "Vem gör polisanmälan i Skarpnäck?"
    result = answerer.retriever.search(question, k=8)
    scored, answerable = answerer.score(question, analyse(question), result)
    assert scored and all(0.0 <= s.p <= 1.0 for s in scored) and 0.0 <= answerable <= 1.0
    ranks = [answerer.model.rank.logit(np.zeros((1, len(answerer.model.rank.features))))]  # model is usable
    assert len(ranks) == 1
    # every candidate sentence lies inside one of the retrieved passages
    for s in scored:
        assert s.cand.hit.chunk.start <= s.cand.start < s.cand.end <= s.cand.hit.chunk.end


def test_cross_district_answer_has_one_line_per_district(answerer):
    from dataclasses import replace

    from fraga.answer.answerer import Answerer

    # Every district's best sentence counts (threshold 0): this tests the one-line-per-district
    # form, not how the fitted threshold judges the fake encoder's similarities.
    lenient = Answerer(answerer.retriever, replace(answerer.model, threshold=0.0))
    answer = lenient.answer("Vilka stadsdelar har en nolltoleranspolicy där varje hot polisanmäls?")
    assert answer.answered
    lines = answer.text.split("\n")
    districts = [line.split(":")[0] for line in lines]
    assert len(districts) == len(set(districts)) >= 2
    assert "Hägersten-Älvsjö" not in districts  # a skrivelse asks, it does not answer


def test_format_answer_has_sources(answerer):
    text = format_answer(answerer.answer("Vem polisanmäler hot i Skarpnäck?"))
    assert "Källor:" in text and "Dnr SKA 2024/339" in text


@pytest.mark.slow
def test_real_encoder_skarpnack_police_report(real_index_dir):
    answer = Answerer(Retriever(load_index(real_index_dir))).answer("vem polisanmäler i Skarpnäck?")
    assert answer.answered
    assert answer.text.startswith("Av rutinen framgår att polisanmälan alltid görs av chef. [1]")
    assert answer.citations[0].dnr == "SKA 2024/339" and answer.citations[0].district == "Skarpnäck"


@pytest.mark.slow
@pytest.mark.parametrize(
    "question, quote",
    [
        ("Hur många säkerhetssamordnare har Skarpnäck?", "finns en säkerhetssamordnare anställd på heltid"),
        ("Hur många säkerhetssamordnare har Norra innerstaden?", "fyra heltidsanställda"),
    ],
)
def test_real_encoder_how_many_is_answered_with_the_number(real_index_dir, question, quote):
    answer = Answerer(Retriever(load_index(real_index_dir))).answer(question)
    assert answer.answered and quote in answer.text


@pytest.mark.slow
def test_real_encoder_cost_question_without_amounts_abstains(real_index_dir):
    answer = Answerer(Retriever(load_index(real_index_dir))).answer("Vad kostar säkerhetsarbetet?")
    assert not answer.answered and answer.text == NO_ANSWER


def test_a_question_in_words_the_documents_never_use_is_declined(answerer):
    answer = answerer.answer("Vad kostar en ny simhall?")
    assert not answer.answered and answer.note == "unknown_words" and answer.text == NO_ANSWER
