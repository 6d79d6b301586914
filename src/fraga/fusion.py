"""Rank fusion as pure functions on plain ``{doc_id: score}`` runs (ranx style)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

Run = Mapping[str, float]


# LOW LEVEL FUNCTIONS ==========================================================
def _ranks(run: Run) -> dict[str, int]:
    """1-based ranks of a run, best score first, ties broken by id for stability."""
    ordered = sorted(run.items(), key=lambda kv: (-kv[1], kv[0]))
    return {doc_id: rank for rank, (doc_id, _) in enumerate(ordered, start=1)}


# HIGH LEVEL FUNCTIONS =========================================================
def rrf(runs: Sequence[Run], *, k: int = 60, weights: Sequence[float] | None = None) -> dict[str, float]:
    """Weighted reciprocal rank fusion.

    score(d) = sum_i w_i / (k + rank_i(d)), over the runs that contain d
    (Cormack, Clarke and Buettcher, SIGIR 2009).

    Args:
        runs: Runs to fuse, each ``{doc_id: score}`` (higher is better).
        k: The RRF constant. Defaults to 60.
        weights: One weight per run. Defaults to 1.0 each.

    Returns:
        The fused run ``{doc_id: score}``.
    """
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    if weights is None:
        weights = [1.0] * len(runs)
    if len(weights) != len(runs):
        raise ValueError(f"got {len(weights)} weights for {len(runs)} runs; give one weight per run")
    fused: dict[str, float] = {}
    for run, weight in zip(runs, weights):
        for doc_id, rank in _ranks(run).items():
            fused[doc_id] = fused.get(doc_id, 0.0) + weight / (k + rank)
    return fused


def top(run: Run, n: int) -> list[tuple[str, float]]:
    """The ``n`` best (doc_id, score) pairs of a run, ties broken by id."""
    return sorted(run.items(), key=lambda kv: (-kv[1], kv[0]))[:max(n, 0)]
