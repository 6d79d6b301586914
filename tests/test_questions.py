"""Question types from grammar, follow-ups and misspelt district names."""

from __future__ import annotations

import pytest

from fraga.answer.followup import resolve
from fraga.answer.model import choose_threshold
from fraga.answer.questions import analyse, has_answer_shape, is_english
from fraga.districts import KNOWN_DISTRICTS, DistrictMatcher

INDEXED = ("Hägersten-Älvsjö", "Kungsholmen", "Norra innerstaden", "Skarpnäck")
MATCHER = DistrictMatcher(KNOWN_DISTRICTS, preferred=INDEXED)


@pytest.mark.parametrize(
    "question, kind",
    [
        ("Hur många säkerhetssamordnare har Skarpnäck?", "quantity"),
        ("Vad kostar parkskötseln?", "cost"),
        ("När infördes rutinen?", "time"),
        ("Vem beslutar om skolskjuts?", "agent"),
        ("Varför stängdes fritidsgården?", "reason"),
        ("Hur arbetar förvaltningen med brandskydd?", "manner"),
        ("Har Bromma en budget för parker?", "cost"),
        ("Finns det lekplatser i Farsta?", "polar"),
        ("Vilka parker ska rustas upp", "open"),
    ],
)
def test_question_kind_comes_from_the_question_word(question, kind):
    assert analyse(question).kind == kind


def test_answer_shapes():
    assert has_answer_shape("quantity", "Det finns fyra samordnare.")
    assert not has_answer_shape("cost", "Arbetet pågår i förvaltningen.")
    assert has_answer_shape("cost", "Projektet kostar 2,5 miljoner kronor.")
    assert has_answer_shape("agent", "Beslutet fattas av nämnden.")
    assert has_answer_shape("agent", "Det är alltid förvaltningen som anmäler.")
    assert not has_answer_shape("agent", "Vid hot görs en bedömning om händelsen ska anmälas.")


@pytest.mark.parametrize(
    "question, english",
    [
        ("Who files the police report in Skarpnäck?", True),
        ("is there a full time security coordinator in skarpnäck?", True),
        ("vem polisanmäler i skarpnäck", False),
        ("IA vad är det för system", False),
    ],
)
def test_english_is_told_from_function_words(question, english):
    assert is_english(question) is english


def test_skrivelse_questions_are_recognised():
    assert analyse("vad vill liberalerna att nämnden gör").about_skrivelse
    assert analyse("vad frågade SD om").about_skrivelse
    assert not analyse("vem polisanmäler i Skarpnäck").about_skrivelse


@pytest.mark.parametrize(
    "text, names",
    [
        ("skarpnak hur förebygger soc hot", ["Skarpnäck"]),
        ("kungsholmn påverkan", ["Kungsholmen"]),
        ("vem i norra innerstan", ["Norra innerstaden"]),
        ("hur många i hägersten", ["Hägersten-Älvsjö"]),
        ("det är normalt", []),
        ("anmälan till polisen", []),
    ],
)
def test_misspelt_and_shortened_district_names(text, names):
    assert MATCHER.names(text) == names


def test_a_follow_up_with_a_new_district_is_the_previous_question_there():
    resolved = resolve("och i norra innerstan?", "Hur många säkerhetssamordnare har Skarpnäck?", MATCHER)
    assert resolved.question == "Hur många säkerhetssamordnare har Norra innerstaden?"
    assert resolved.interpreted.startswith("Tolkat som:")


def test_a_follow_up_pointing_back_carries_the_previous_question():
    resolved = resolve("finns det nån utbildning om det?", "hur stöttas personalen på kungsholmen", MATCHER)
    assert "utbildning" in resolved.question and "kungsholmen" in resolved.question


def test_a_question_of_its_own_is_left_alone():
    question = "Vem gör bedömningen av hot i Skarpnäck?"
    assert resolve(question, "Har Kungsholmen nolltolerans?", MATCHER).question == question
    assert resolve(question, "", MATCHER).interpreted == ""


def test_threshold_makes_the_most_questions_come_out_right():
    best = {"a": (0.9, True), "b": (0.7, False), "c": (0.2, False), "d": (0.1, False)}
    answerable = {"a": True, "b": True, "c": False, "d": False}
    # cut at 0.45: a answered right, b answered wrong, c and d declined -> 3 right
    assert choose_threshold(best, answerable) == pytest.approx(0.45)


def test_fuzzy_district_matching_skips_words_that_cannot_be_a_name(monkeypatch):
    # Ingesting 15,000 interpellations spent most of its time comparing every word of every
    # text with every district name; a word that neither equals a name part nor shares its
    # first four letters is ruled out without the comparison.
    from fraga import districts

    calls = []
    real = districts._close
    monkeypatch.setattr(districts, "_close", lambda w, p: calls.append(w) or real(w, p))
    matcher = districts.DistrictMatcher()
    text = " ".join(["regeringen föreslår att myndigheten utreder frågan vidare"] * 500)
    assert matcher.names(text + " och i skarpnak") == ["Skarpnäck"]
    assert set(calls) <= {"skarpnak"}
