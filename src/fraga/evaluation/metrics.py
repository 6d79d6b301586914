"""Benchmark metrics as pure functions on plain dicts and sequences.

Retrieval metrics are computed with ranx on *evidence groups* (see evidence.py): in
each question's ranking, the first passage relevant to a group is relabelled as
that group, and every other passage keeps its own id (a second passage of an
already found group is not relevant again). Then, with ranx:

- ``recall@k``: share of the question's evidence groups found in the top k. For
  the usual single-document question this is the hit rate (1 when any relevant
  passage is in the top k); for a cross-district question it is the share of the
  districts' documents found.
- ``mrr@10``: 1 / rank of the first relevant passage (0 beyond rank 10).
- ``ndcg@10``: binary nDCG over the groups.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from fraga.districts import district_key

logger = logging.getLogger(__name__)

RETRIEVAL_METRICS: tuple[str, ...] = ("recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10")
GROUP_PREFIX = "evidence:"

Qrels = dict[str, dict[str, int]]
Run = dict[str, dict[str, float]]


# LOW LEVEL FUNCTIONS ==========================================================
def _label(chunk_id: str, group: str | None, seen: set[str]) -> str:
    if group is None or group in seen:
        return chunk_id
    seen.add(group)
    return GROUP_PREFIX + group


# HIGH LEVEL FUNCTIONS =========================================================
def group_qrels_run(
    rankings: Mapping[str, Sequence[tuple[str, str | None]]], groups: Mapping[str, Iterable[str]]
) -> tuple[Qrels, Run]:
    """Qrels and run over evidence groups, in ranx's dict format.

    Args:
        rankings: Per question, the retrieved passages in rank order as
            ``(chunk_id, group)``, where ``group`` is the evidence group the passage
            is relevant to, or None.
        groups: Per question, its evidence groups. Questions without groups
            (unanswerable) are left out of both results.

    Returns:
        ``(qrels, run)``: ``{qid: {"evidence:<group>": 1}}`` and
        ``{qid: {label: score}}``, with scores falling strictly with rank so ranx
        sees fraga's order exactly.
    """
    qrels: Qrels = {}
    run: Run = {}
    for qid, qgroups in groups.items():
        qgroups = list(qgroups)
        if not qgroups:
            continue
        qrels[qid] = {GROUP_PREFIX + g: 1 for g in qgroups}
        ranked = rankings.get(qid, ())
        seen: set[str] = set()
        run[qid] = {_label(cid, grp, seen): float(len(ranked) - i) for i, (cid, grp) in enumerate(ranked)}
    return qrels, run


def retrieval_scores(qrels: Qrels, run: Run, metrics: Sequence[str] = RETRIEVAL_METRICS) -> dict[str, dict[str, float]]:
    """Per-question ranx scores: ``{qid: {metric: value}}``.

    Args:
        qrels: ``{qid: {doc_id: relevance}}``; every question needs one relevant id.
        run: ``{qid: {doc_id: score}}`` with the same questions (an empty dict is
            a question with no results).
        metrics: ranx metric names. Defaults to RETRIEVAL_METRICS.

    Raises:
        ValueError: When the questions of ``qrels`` and ``run`` differ.
    """
    from ranx import Qrels as RanxQrels
    from ranx import Run as RanxRun
    from ranx import evaluate

    if set(qrels) != set(run):
        raise ValueError(f"qrels and run cover different questions: {sorted(set(qrels) ^ set(run))[:5]}")
    if not qrels:
        return {}
    ranx_run = RanxRun({q: dict(d) for q, d in run.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's uint64 -> int64 cast notice
        evaluate(
            RanxQrels({q: dict(d) for q, d in qrels.items()}),
            ranx_run,
            list(metrics),
            return_mean=False,
            save_results_in_run=True,
        )
    return {q: {m: float(ranx_run.scores[m][q]) for m in metrics} for q in qrels}


def mean(values: Iterable[float | None]) -> float | None:
    """Arithmetic mean of the values that are not None; None when there are none."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def answer_score(groups: Sequence[str], quoted: Iterable[str], *, answered: bool) -> float:
    """Share of the evidence groups that the answer's quotes match (0 when not answered).

    One group (most questions): 1 when a quoted sentence matches the evidence, else
    0. Cross-district questions get partial credit per district document.
    """
    if not answered or not groups:
        return 0.0
    got = set(quoted)
    return sum(1 for g in groups if g in got) / len(groups)


def citation_correct(doc_id: str, district: str, gold_doc_ids: Iterable[str], gold_districts: Iterable[str]) -> bool:
    """Whether a citation names a gold document and a gold district.

    Districts are compared in folded form ("Skarpnäck" == "skarpnack"); when the
    gold item names no district, only the document is checked.
    """
    if doc_id not in set(gold_doc_ids):
        return False
    keys = {district_key(d) for d in gold_districts}
    return not keys or district_key(district) in keys


def citation_score(
    citations: Sequence[tuple[str, str]], gold_doc_ids: Sequence[str], gold_districts: Sequence[str]
) -> float | None:
    """Share of ``(doc_id, district)`` citations that are correct; None without citations."""
    if not citations:
        return None
    right = sum(citation_correct(d, dist, gold_doc_ids, gold_districts) for d, dist in citations)
    return right / len(citations)


def abstention_scores(abstained: Mapping[str, bool], answerable: Mapping[str, bool]) -> tuple[float | None, float | None]:
    """Precision and recall of abstaining, the positive class being "fraga abstained".

    Precision: of the questions fraga declined, the share that are unanswerable.
    Recall: of the unanswerable questions, the share fraga declined. None when the
    denominator is 0.
    """
    declined = [q for q, a in abstained.items() if a]
    unanswerable = [q for q, a in answerable.items() if not a]
    both = sum(1 for q in declined if not answerable[q])
    precision = both / len(declined) if declined else None
    recall = both / len(unanswerable) if unanswerable else None
    return precision, recall


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100, linear interpolation) of ``values``; None when empty."""
    if not values:
        return None
    result = float(np.percentile(np.asarray(values, dtype=float), q))
    return None if math.isnan(result) else result
