"""Fit the answer model on a gold set, with grouped k-fold cross-validation.

Rows are the candidate sentences fraga reads for each gold question (the ``CANDIDATE_K``
best passages); a row is positive when the sentence matches the question's evidence
(``fraga.evaluation.evidence.quote_matches``). Folds keep a question's rows together,
so every cross-validated figure comes from questions the fold's model never saw.

    python eval/fit_answer_model.py   # fits on eval/gold.jsonl (dev), writes the model
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fraga.answer.followup import resolve
from fraga.answer.features import FEATURES, QUESTION_FEATURES, feature_rows, question_row, usable
from fraga.answer.model import CANDIDATE_K, AnswerModel, choose_threshold
from fraga.answer.overlap import TermMatcher, district_words
from fraga.answer.answerer import settled_by_rule
from fraga.answer.facts import fact_question
from fraga.answer.questions import analyse
from fraga.evaluation.evidence import EvidenceLocator, quote_matches
from fraga.evaluation.gold import GoldItem
from fraga.index.generation import Index
from fraga.logistic import fit, fit_choice, group_folds
from fraga.search.candidates import candidates
from fraga.search.expand import ExpansionSettings
from fraga.search.retrieve import Retriever

logger = logging.getLogger(__name__)

RANK_L2 = 3.0  # ridge of the ranking model (conditional logit); 1-10 gave the same CV top-1 on dev


@dataclass(frozen=True, slots=True)
class TrainingSet:
    x: np.ndarray  # (rows, features)
    y: np.ndarray  # (rows,) 1 = the sentence matches the evidence
    groups: tuple[str, ...]  # the question id of each row
    answerable: dict[str, bool]  # per question


def collect(
    index: Index,
    gold: Sequence[GoldItem],
    *,
    mode: str = "hybrid",
    k: int = CANDIDATE_K,
    expansion: ExpansionSettings | None = None,
) -> TrainingSet:
    """Candidate rows for every gold question (a follow-up read with its previous question),
    retrieved with ``expansion`` (default: ``expand.default_settings()``)."""
    retriever = Retriever(index, expansion=expansion)
    matcher = TermMatcher(index.bm25, district_words(retriever.known_districts), retriever.expansions)
    locator = EvidenceLocator(index.documents)
    xs, groups = [], []
    ys: list[float] = []
    answerable = {}
    for item in gold:
        question = resolve(item.question, item.previous, retriever.matcher).question
        spans = locator.spans(item)
        result = retriever.search(question, k=k, mode=mode)
        if result.missing_districts and not result.districts_in_query:
            continue  # answered by a rule: no documents from the district asked about
        if fact_question(result.query) is not None:
            continue  # answered from the document's metadata (fraga.answer.facts)
        info = analyse(result.query)
        if settled_by_rule(index, matcher, result.query, info, result.districts_in_query):
            continue  # declined by a rule (``Answerer.answer``)
        answerable[item.id] = item.answerable
        cands = candidates(index, result.hits, retriever.query_vector(result.query), retriever.passage_vector(result.query))
        cands = [cands[n] for n in usable(index, cands, info)]
        xs.append(feature_rows(index, result.query, info, result, cands, matcher))
        ys.extend(float(any(quote_matches(s, c.hit.chunk.doc_id, c.start, c.end) for s in spans)) for c in cands)
        groups.extend([item.id] * len(cands))
    x = np.vstack(xs) if xs else np.zeros((0, len(FEATURES)))
    return TrainingSet(x, np.asarray(ys), tuple(groups), answerable)


def _rows_of(ts: TrainingSet) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for i, g in enumerate(ts.groups):
        rows.setdefault(g, []).append(i)
    return rows


def question_table(ts: TrainingSet, rank: np.ndarray, accept: np.ndarray) -> tuple[list[str], np.ndarray, dict[str, bool]]:
    """Per question with candidates: its id, ``QUESTION_FEATURES`` and whether the picked
    sentence (the ranking model's first) is right."""
    ids, rows, right = [], [], {}
    for g, rr in _rows_of(ts).items():
        best = rr[int(np.argmax(rank[rr]))]
        ids.append(g)
        rows.append(question_row(ts.x[rr], rr.index(best), float(accept[best])))
        right[g] = bool(ts.y[best])
    return ids, np.array(rows).reshape(-1, len(QUESTION_FEATURES)), right


def picks(ts: TrainingSet, ids: list[str], answerable_p: np.ndarray, right: dict[str, bool]) -> dict[str, tuple[float, bool]]:
    """Per question: the probability that it is answerable and whether the picked sentence
    is right; questions without a candidate have probability 0."""
    out = {g: (float(p), right[g]) for g, p in zip(ids, answerable_p)}
    for g in ts.answerable:
        out.setdefault(g, (0.0, False))
    return out


def cross_validate(ts: TrainingSet, *, folds: int = 5, l2: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold ranking scores and acceptance probabilities for every row."""
    rank, accept = np.zeros(len(ts.y)), np.zeros(len(ts.y))
    groups = list(ts.groups)
    for test in group_folds(groups, folds, seed=seed):
        train = np.setdiff1d(np.arange(len(ts.y)), test)
        rank[test] = fit_choice(ts.x[train], ts.y[train], [groups[i] for i in train], FEATURES, l2=RANK_L2).logit(ts.x[test])
        accept[test] = fit(ts.x[train], ts.y[train], FEATURES, l2=l2).proba(ts.x[test])
    return rank, accept


def summary(ts: TrainingSet, picked: dict[str, tuple[float, bool]], threshold: float) -> dict[str, float]:
    """Answer accuracy (right sentence quoted), top-1 (right sentence picked), abstention
    precision and recall, over the questions the model answers (no rule or metadata)."""
    answerable = [g for g, a in ts.answerable.items() if a]
    unanswerable = [g for g, a in ts.answerable.items() if not a]
    right = sum(1 for g in answerable if picked[g][1] and picked[g][0] >= threshold)
    declined = [g for g in ts.answerable if picked[g][0] < threshold]
    good = sum(1 for g in declined if not ts.answerable[g])
    return {
        "questions": len(ts.answerable),
        "answer_accuracy": right / max(1, len(answerable)),
        "top1": sum(picked[g][1] for g in answerable) / max(1, len(answerable)),
        "abstain_precision": good / len(declined) if declined else float("nan"),
        "abstain_recall": good / max(1, len(unanswerable)),
        "threshold": threshold,
    }


def fit_model(ts: TrainingSet, *, l2: float = 1.0, folds: int = 5, seed: int = 0) -> tuple[AnswerModel, dict]:
    """The models fitted on every row, the abstention threshold chosen on out-of-fold
    predictions, and the cross-validated figures.

    Stacking: the answerability model learns from question rows built with out-of-fold
    acceptance probabilities, and its own out-of-fold probabilities (a second split by
    question) choose the threshold and give the reported figures.
    """
    rank, accept = cross_validate(ts, folds=folds, l2=l2, seed=seed)
    ids, qx, right = question_table(ts, rank, accept)
    qy = np.array([float(ts.answerable[g]) for g in ids])
    oof = np.zeros(len(ids))
    for test in group_folds(ids, folds, seed=seed + 1):
        train = np.setdiff1d(np.arange(len(ids)), test)
        oof[test] = fit(qx[train], qy[train], QUESTION_FEATURES, l2=l2).proba(qx[test])
    picked = picks(ts, ids, oof, right)
    threshold = choose_threshold(picked, ts.answerable)
    cv = summary(ts, picked, threshold)
    model = AnswerModel(
        fit_choice(ts.x, ts.y, list(ts.groups), FEATURES, l2=RANK_L2),
        fit(ts.x, ts.y, FEATURES, l2=l2),
        fit(qx, qy, QUESTION_FEATURES, l2=l2),
        threshold,
    )
    return model, cv
