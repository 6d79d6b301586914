"""Count questions ("hur många X") and the sentences that answer them, topic by topic."""

from __future__ import annotations

import pytest

from fraga.answer.counting import counted_words, same_word, states_count
from fraga.answer.questions import analyse, has_answer_shape


@pytest.mark.parametrize(
    "question, counted",
    [
        ("Hur många lekplatser finns i Farsta?", ("lekplatser",)),
        ("hur många heltidsanställda fritidsledare har Bromma", ("heltidsanställda", "fritidsledare")),
        ("Antal elever per klass i Spånga?", ("elever",)),
        ("how many parks are there", ("parks",)),
        ("Vad kostar parkskötseln?", ()),
        ("Hur ofta töms soptunnorna?", ()),
    ],
)
def test_counted_words_are_the_phrase_after_the_question_word(question, counted):
    assert counted_words(question) == counted


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("lekplats", "lekplatserna", True),
        ("säkerhetssamordnare", "trygghetssamordnarna", True),  # one compound head
        ("elever", "elevernas", True),
        ("skolor", "skolgårdar", False),
        ("fritidsledare", "fritidsgård", False),
    ],
)
def test_same_word_ignores_inflection_and_compound_modifiers(a, b, same):
    assert same_word(a, b) is same


def test_an_amount_answers_a_count_question():
    counted = ("lekplatser",)
    assert states_count("I stadsdelen finns 14 lekplatser.", counted)
    assert states_count("Fyra av dem rustas upp i år.", counted)
    assert states_count("Hälften av lekplatserna är tillgänglighetsanpassade.", counted)
    assert states_count("Andelen var 12 % förra året.", counted)


def test_a_year_a_date_or_a_reference_number_is_no_amount():
    counted = ("lekplatser",)
    assert not states_count("Under 2021 och 2022 rustades parkerna upp.", counted)
    assert not states_count("Beslutet fattades 2024-09-24.", counted)
    assert not states_count("Ärendet har diarienummer SKA 2024/339.", counted)


def test_a_vague_quantifier_counts_only_on_the_counted_noun():
    counted = ("lekplatser",)
    assert states_count("Det finns några mindre lekplatser i parken.", counted)
    assert states_count("I området finns en lekplats.", counted)
    assert not states_count("Förvaltningen gör en bedömning av behovet.", counted)  # the article alone
    assert not states_count("Alla lekplatser besiktigas årligen.", counted)  # which, not how many
    assert not states_count("Varje lekplats besiktigas årligen.", counted)


def test_count_questions_use_the_counted_shape_and_other_quantities_do_not():
    info = analyse("Hur många lekplatser har Farsta?")
    assert info.kind == "quantity" and info.counted == ("lekplatser",)
    assert not has_answer_shape(info.kind, "Förvaltningen gör en bedömning av behovet.", info.counted)
    often = analyse("Hur ofta besiktigas lekplatserna?")
    assert often.counted == () and has_answer_shape(often.kind, "Varje lekplats besiktigas årligen.")


def test_a_cost_needs_an_amount_that_is_not_a_year():
    assert not has_answer_shape("cost", "Arbetet fortsätter under 2025.")
    assert has_answer_shape("cost", "Upprustningen kostar 450 000 kronor.")
    assert has_answer_shape("cost", "Nämnden har avsatt 2,5 mnkr.")
