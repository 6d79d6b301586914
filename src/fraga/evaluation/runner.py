"""Run the gold set against an index in each retrieval mode (``fraga eval``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from fraga.answer.followup import resolve
from fraga.errors import FragaError
from fraga.evaluation.evidence import EvidenceLocator, EvidenceSpan, groups_of, quote_matches, quoted_groups, relevant_group
from fraga.evaluation.gold import GoldItem, check_documents
from fraga.evaluation.metrics import answer_score, citation_correct, citation_score, group_qrels_run, retrieval_scores
from fraga.evaluation.results import (
    RETRIEVAL_ONLY,
    BenchmarkResult,
    Cited,
    QuestionResult,
    Retrieved,
    summarize,
    summarize_by_kind,
)
from fraga.index.kinds import AnyIndex
from fraga.search.retrieve import MODES

logger = logging.getLogger(__name__)

SEARCH_K = 10  # depth of the ranking scored with ranx (MRR@10, nDCG@10)
ANSWER_K = 5  # passages the answerer reads, as in `fraga ask`
DEFAULT_REPORTS_DIR = Path("eval") / "reports"
DEFAULT_SPLITS = {"dev": Path("eval") / "gold.jsonl", "test": Path("eval") / "gold_test.jsonl"}

Progress = Callable[[str, int, int], None]


# LOW LEVEL FUNCTIONS ==========================================================
def parse_modes(text: str) -> tuple[str, ...]:
    """``"bm25, hybrid"`` -> ``("bm25", "hybrid")``. Raises FragaError on an unknown mode."""
    modes = tuple(dict.fromkeys(m.strip().lower() for m in text.split(",") if m.strip()))
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise FragaError(
            f"Okänt läge {', '.join(unknown) or repr(text)}; välj bland {', '.join(MODES)} (t.ex. --modes bm25,hybrid)"
        )
    return modes


def default_report_dir(label: str = "", *, now: time.struct_time | None = None) -> Path:
    """``eval/reports/YYYYmmdd-HHMMSS[-label]`` (the label made safe for a folder name)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", now or time.localtime())
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in label.strip()).strip("-.")
    return DEFAULT_REPORTS_DIR / (f"{stamp}-{safe}" if safe else stamp)


def index_info(index: AnyIndex) -> dict[str, object]:
    """What metrics.json records about the index."""
    m = index.manifest
    return {
        "folder": index.location,
        "generation": index.generation,
        "encoder": m.get("encoder", {}).get("name", ""),
        "dim": m.get("encoder", {}).get("dim"),
        "num_chunks": m.get("num_chunks", len(index.chunks)),
        "documents": len(index.documents),
        "fraga_version": m.get("fraga_version", ""),
        "created": m.get("created", ""),
    }


def _question_result(
    item: GoldItem,
    mode: str,
    spans: tuple[EvidenceSpan, ...],
    ranking,
    answer,
    latency_ms: float,
    error: str,
    documents,
    *,
    answers: bool = True,
) -> QuestionResult:
    groups = groups_of(spans)
    retrieved = []
    first = None
    for hit in ranking:
        c = hit.chunk
        relevant = relevant_group(spans, c.doc_id, c.start, c.end) is not None
        if relevant and first is None:
            first = hit.rank
        retrieved.append(Retrieved(hit.rank, c.chunk_id, c.doc_id, round(hit.score, 6), relevant))
    answered = bool(answer is not None and answer.answered)
    cites = []
    for c in answer.citations if answer is not None else ():
        district = c.district or documents[c.doc_id].metadata.district
        cites.append(
            Cited(
                c.doc_id,
                district,
                c.quote,
                c.start,
                c.end,
                any(quote_matches(s, c.doc_id, c.start, c.end) for s in spans),
                citation_correct(c.doc_id, district, item.doc_ids, item.districts),
            )
        )
    quoted = quoted_groups(spans, ((c.doc_id, c.start, c.end) for c in cites))
    withheld = answer.withheld if answer is not None and not answered else None
    picked = quoted_groups(spans, [(withheld.doc_id, withheld.start, withheld.end)]) if withheld is not None else quoted
    return QuestionResult(
        id=item.id,
        kind=item.kind,
        mode=mode,
        question=item.question,
        answerable=item.answerable,
        groups=groups,
        retrieved=tuple(retrieved),
        retrieval={},
        first_relevant_rank=first,
        answered=answered,
        answer=answer.text if answer is not None else "",
        note=(answer.note if answer is not None else "error") if answers else RETRIEVAL_ONLY,
        citations=tuple(cites),
        answer_score=answer_score(groups, quoted, answered=answered) if item.answerable and answers else None,
        pick_score=(
            answer_score(groups, picked, answered=answered or withheld is not None) if item.answerable and answers else None
        ),
        citation_score=(
            citation_score([(c.doc_id, c.district) for c in cites], item.doc_ids, item.districts)
            if item.answerable and answered
            else None
        ),
        latency_ms=round(latency_ms, 3),
        error=error,
    )


# HIGH LEVEL FUNCTIONS =========================================================
def run_mode(
    index: AnyIndex,
    gold: Sequence[GoldItem],
    spans: dict[str, tuple[EvidenceSpan, ...]],
    mode: str,
    *,
    search_k: int = SEARCH_K,
    answer_k: int = ANSWER_K,
    progress: Progress | None = None,
    answers: bool = True,
) -> list[QuestionResult]:
    """Every gold question in one mode: a ranking of ``search_k`` passages scored
    with ranx, and a timed answer (warmed up once before timing).

    Without ``answers`` (a gold set of relevant documents only, such as an outside
    retrieval benchmark) no answer is made; the latency is the search's."""
    from fraga.answer.answerer import Answerer
    from fraga.search.retrieve import Retriever

    retriever = Retriever(index)
    answerer = Answerer(retriever) if answers else None
    try:  # warm-up: loads the encoder and fills caches, so the first question is not penalised
        if answerer is not None:
            answerer.answer(gold[0].question, k=answer_k, mode=mode)
        else:
            retriever.search(gold[0].question, k=search_k, mode=mode)
    except FragaError:
        pass
    rows: list[QuestionResult] = []
    for n, item in enumerate(gold, 1):
        error = ""
        question = resolve(item.question, item.previous, retriever.matcher).question
        if answerer is None:
            retriever.clear_cache()  # without answers the ranking search is the timed call, encoding included
        t0 = time.perf_counter()
        try:
            ranking = retriever.search(question, k=search_k, mode=mode).hits
        except FragaError as exc:
            ranking, error = (), str(exc)
        latency = (time.perf_counter() - t0) * 1000.0
        answer = None
        if answerer is not None:
            retriever.clear_cache()  # the timed answer includes encoding the question
            t0 = time.perf_counter()
            try:
                answer = answerer.answer(question, k=answer_k, mode=mode)
            except FragaError as exc:  # counted as an abstention
                error = error or str(exc)
            latency = (time.perf_counter() - t0) * 1000.0
        rows.append(
            _question_result(item, mode, spans[item.id], ranking, answer, latency, error, index.documents, answers=answers)
        )
        if progress:
            progress(mode, n, len(gold))
    # A relevant passage's evidence group is its document (evidence.py).
    rankings = {r.id: [(h.chunk_id, h.doc_id if h.relevant else None) for h in r.retrieved] for r in rows}
    qrels, run = group_qrels_run(rankings, {r.id: r.groups for r in rows})
    scores = retrieval_scores(qrels, run)
    return [replace(r, retrieval=scores.get(r.id, {})) for r in rows]


def run_benchmark(
    index: AnyIndex,
    gold: Sequence[GoldItem],
    *,
    modes: Sequence[str] = MODES,
    label: str = "",
    gold_path: str = "",
    search_k: int = SEARCH_K,
    answer_k: int = ANSWER_K,
    progress: Progress | None = None,
    answers: bool = True,
) -> BenchmarkResult:
    """Run ``gold`` against ``index`` in each of ``modes`` (``answers``: see ``run_mode``).

    Raises:
        GoldError: When the gold set names documents the index lacks or evidence
            that cannot be found.
        FragaError: On an unknown mode.
    """
    if not gold:
        raise FragaError("Guldfilen innehåller inga frågor")
    modes = parse_modes(",".join(modes))
    check_documents(gold, index.documents)
    locator = EvidenceLocator(index.documents)
    spans = {item.id: locator.spans(item) for item in gold}
    questions: list[QuestionResult] = []
    metrics = {}
    for mode in modes:
        rows = run_mode(index, gold, spans, mode, search_k=search_k, answer_k=answer_k, progress=progress, answers=answers)
        metrics[mode] = summarize(rows)
        questions.extend(rows)
    return BenchmarkResult(
        label=label,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        gold=gold_path,
        index=index_info(index),
        modes=modes,
        questions=tuple(questions),
        metrics=metrics,
        by_kind=summarize_by_kind(questions),
    )


def split_name(path: str | Path) -> str:
    """ "dev" or "test" for the bundled splits, else the file's stem."""
    for name, split in DEFAULT_SPLITS.items():
        if Path(path).resolve() == split.resolve():
            return name
    return Path(path).stem


def format_model_info() -> str:
    """What the shipped answer model was fitted on, and its cross-validated figures."""
    from fraga.answer.model import load_model

    info = load_model().info or {}
    cv = info.get("cv_5fold", {})
    if not cv:
        return "Svarsmodellen saknar uppgifter om korsvalidering."
    return (
        f"Svarsmodellen anpassades {info.get('fitted', '?')} på {info.get('gold', '?')} "
        f"({info.get('questions', '?')} frågor som modellen besvarar, kodare {info.get('encoder', '?')}). "
        f"Korsvaliderat (5 delar, per fråga): svarsriktighet {cv.get('answer_accuracy', 0):.3f}, "
        f"rätt mening först {cv.get('top1', 0):.3f}, avstår precision {cv.get('abstain_precision', 0):.3f}, "
        f"recall {cv.get('abstain_recall', 0):.3f}."
    )
