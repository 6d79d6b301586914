"""Benchmark records (one per question and mode) and their aggregation into the table."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from fraga.evaluation.metrics import RETRIEVAL_METRICS, abstention_scores, mean, percentile

logger = logging.getLogger(__name__)

RETRIEVAL_ONLY = "retrieval_only"  # the note of a question run without answering (``fraga eval --retrieval-only``)

ANSWER_METRICS: tuple[str, ...] = (
    "answer_accuracy",
    "pick_accuracy",
    "citation_accuracy",
    "abstention_precision",
    "abstention_recall",
)
LATENCY_METRICS: tuple[str, ...] = ("latency_p50_ms", "latency_p95_ms")
METRICS: tuple[str, ...] = RETRIEVAL_METRICS + ANSWER_METRICS + LATENCY_METRICS
# Shown per question kind (the full set is in metrics.json).
KIND_METRICS: tuple[str, ...] = ("recall@1", "recall@5", "answer_accuracy")


@dataclass(frozen=True, slots=True)
class Retrieved:
    """One retrieved passage of a question's ranking."""

    rank: int
    chunk_id: str
    doc_id: str
    score: float
    relevant: bool


@dataclass(frozen=True, slots=True)
class Cited:
    """One citation of an answer, judged against the gold item."""

    doc_id: str
    district: str
    quote: str
    start: int
    end: int
    matches_evidence: bool  # the quote overlaps an evidence span (evidence.quote_matches)
    correct_source: bool  # document and district are gold ones (metrics.citation_correct)


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """How one gold question fared in one retrieval mode."""

    id: str
    kind: str
    mode: str
    question: str
    answerable: bool
    groups: tuple[str, ...]  # evidence groups (documents); empty when unanswerable
    retrieved: tuple[Retrieved, ...]
    retrieval: dict[str, float]  # ranx scores (answerable questions only)
    first_relevant_rank: int | None
    answered: bool
    answer: str
    note: str
    citations: tuple[Cited, ...]
    answer_score: float | None  # share of groups quoted (answerable only)
    citation_score: float | None  # share of correct citations (answered answerable only)
    latency_ms: float
    error: str = ""
    pick_score: float | None = None  # answer_score of the sentence picked, quoted or withheld (answerable only)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class BenchmarkResult:
    """A whole run: settings, per-question results and the aggregated figures."""

    label: str
    created: str
    gold: str  # path of the gold file
    index: dict[str, Any]  # folder, encoder, num_chunks, ...
    modes: tuple[str, ...]
    questions: tuple[QuestionResult, ...]
    metrics: dict[str, dict[str, float | None]] = field(default_factory=dict)  # mode -> metric -> value
    by_kind: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)  # kind -> mode -> ...

    def counts(self) -> dict[str, Any]:
        first = [q for q in self.questions if q.mode == self.modes[0]] if self.modes else []
        kinds: dict[str, int] = {}
        for q in first:
            kinds[q.kind] = kinds.get(q.kind, 0) + 1
        return {"total": len(first), "answerable": sum(q.answerable for q in first), "by_kind": kinds}

    def to_json(self) -> dict[str, Any]:
        """The content of metrics.json."""
        return {
            "label": self.label,
            "created": self.created,
            "gold": self.gold,
            "index": self.index,
            "questions": self.counts(),
            "modes": self.metrics,
            "by_kind": self.by_kind,
        }


# HIGH LEVEL FUNCTIONS =========================================================
def summarize(results: Sequence[QuestionResult]) -> dict[str, float | None]:
    """The table's figures for one mode's results.

    - Retrieval metrics: mean over answerable questions of the ranx scores.
    - answer_accuracy: mean answer_score over answerable questions (an abstention
      scores 0).
    - pick_accuracy: the same for the sentence the answer model picked, whether it was
      quoted or withheld by an abstention: ranking apart from the abstention threshold.
    - citation_accuracy: mean citation_score over answerable questions that were
      answered.
    - abstention precision/recall: see metrics.abstention_scores.
    - latency: p50 and p95 of the time of each answer() call, in milliseconds.
    """
    answerable = [r for r in results if r.answerable]
    out: dict[str, float | None] = {m: mean(r.retrieval.get(m) for r in answerable) for m in RETRIEVAL_METRICS}
    answered_at_all = [r for r in results if r.note != RETRIEVAL_ONLY]
    out["answer_accuracy"] = mean(r.answer_score for r in answerable)
    out["pick_accuracy"] = mean(r.pick_score for r in answerable)
    out["citation_accuracy"] = mean(r.citation_score for r in answerable if r.answered)
    precision, recall = abstention_scores(
        {r.id: not r.answered for r in answered_at_all}, {r.id: r.answerable for r in answered_at_all}
    )
    out["abstention_precision"] = precision
    out["abstention_recall"] = recall
    latencies = [r.latency_ms for r in results]
    out["latency_p50_ms"] = percentile(latencies, 50)
    out["latency_p95_ms"] = percentile(latencies, 95)
    return out


def summarize_by_kind(results: Sequence[QuestionResult]) -> dict[str, dict[str, dict[str, float | None]]]:
    """``{kind: {mode: {metric: value, "n": count}}}`` in the order kinds first appear.

    For a kind without answerable questions (unanswerable) only abstention recall
    and latency are defined; the other figures are None.
    """
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    groups: dict[tuple[str, str], list[QuestionResult]] = {}
    for r in results:
        groups.setdefault((r.kind, r.mode), []).append(r)
    for (kind, mode), rows in groups.items():
        figures = summarize(rows)
        figures["n"] = float(len(rows))
        out.setdefault(kind, {})[mode] = figures
    return out
