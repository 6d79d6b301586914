"""The answer model: which candidate sentence answers the question, and whether any does.

Logistic models over ``fraga.answer.features.FEATURES``, fitted on the dev gold set with
cross-validation (``fraga.evaluation.fit``) and shipped as ``fraga/data/answer_model.json``.
fraga quotes the sentence the ranking model picks, and abstains when the probability
that the documents answer the question is below the threshold chosen on out-of-fold
predictions.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from fraga.answer.features import FEATURES, QUESTION_FEATURES
from fraga.errors import FragaError
from fraga.logistic import Logistic

logger = logging.getLogger(__name__)

MODEL_FILE = "answer_model.json"
CANDIDATE_K = 8  # passages whose sentences are candidates
WRONG_QUOTE_COST = 0.0  # a wrong quote costs nothing extra: the threshold makes the most questions come out right


@dataclass(frozen=True, slots=True)
class AnswerModel:
    """Three logistic models.

    ``rank`` is a conditional logit over ``FEATURES`` (which of a question's candidates is
    the answer) and picks the sentence to quote; ``accept`` a plain logistic regression
    over the same features (is this sentence an answer at all); ``answerable`` reads
    ``QUESTION_FEATURES`` (the picked sentence's acceptance and what the other candidates
    hold) and gives the probability that the documents answer the question at all. fraga
    abstains when that is below ``threshold``.
    """

    rank: Logistic
    accept: Logistic
    answerable: Logistic
    threshold: float
    info: dict[str, Any] | None = None  # how it was fitted, and its cross-validated figures

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 3,
            "rank": self.rank.to_dict(),
            "accept": self.accept.to_dict(),
            "answerable": self.answerable.to_dict(),
            "threshold": self.threshold,
            "info": self.info or {},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerModel:
        models = []
        for key, features in (("rank", FEATURES), ("accept", FEATURES), ("answerable", QUESTION_FEATURES)):
            model = Logistic.from_dict(data[key])
            if model.features != features:
                missing = sorted(set(features) ^ set(model.features))
                raise FragaError(
                    f"Svarsmodellen passar inte den här versionen av fraga (egenskaper {missing}); "
                    "anpassa den på nytt med: python eval/fit_answer_model.py"
                )
            models.append(model)
        rank, accept, answerable = models
        return cls(rank, accept, answerable, float(data["threshold"]), data.get("info") or {})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def load_model(path: str | Path | None = None) -> AnswerModel:
    """The model in ``path``, or the one shipped with fraga."""
    if path is not None:
        return AnswerModel.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    return _shipped()


@lru_cache(maxsize=1)
def _shipped() -> AnswerModel:
    text = resources.files("fraga").joinpath("data").joinpath(MODEL_FILE).read_text(encoding="utf-8")
    return AnswerModel.from_dict(json.loads(text))


def choose_threshold(best: dict[str, tuple[float, bool]], answerable: dict[str, bool]) -> float:
    """The abstention threshold with the highest utility over the questions, from each
    question's out-of-fold acceptance probability and whether the picked sentence is right.

    A right quote and a right abstention count +1, a wrong quote -``WRONG_QUOTE_COST`` (it
    misleads: worse than saying the documents hold no clear answer), a needless abstention 0.
    Ties go to the lowest threshold.
    """
    values = sorted({p for p, _ in best.values()})
    if not values:
        return 0.0
    cuts = [values[0]] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 1e-9]
    best_score, best_cut = -float("inf"), 0.0
    for cut in cuts:
        score = 0.0
        for q, (p, right) in best.items():
            if p < cut:
                score += 0.0 if answerable[q] else 1.0
            else:
                score += 1.0 if (answerable[q] and right) else -WRONG_QUOTE_COST
        if score > best_score + 1e-12:
            best_score, best_cut = score, cut
    return float(best_cut)
