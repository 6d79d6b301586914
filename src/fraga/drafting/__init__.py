"""Drafting aid: earlier answers, district by district, to each question of a new skrivelse."""

from __future__ import annotations

from fraga.drafting.match import NOT_FOUND, Cell, Preparation, Thresholds, prepare
from fraga.drafting.questions import NoQuestionsError, Question, find_questions

__all__ = [
    "NOT_FOUND",
    "Cell",
    "NoQuestionsError",
    "Preparation",
    "Question",
    "Thresholds",
    "find_questions",
    "prepare",
]
