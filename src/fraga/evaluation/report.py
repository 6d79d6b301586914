"""The benchmark's outputs: the plain-text table, report.md, metrics.json,
per_question.jsonl and chart.png."""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from fraga.evaluation.evidence import MIN_PASSAGE_SHARE, MIN_QUOTE_OVERLAP
from fraga.evaluation.results import KIND_METRICS, METRICS, BenchmarkResult, QuestionResult

logger = logging.getLogger(__name__)

LABELS: dict[str, str] = {
    "recall@1": "Recall@1",
    "recall@3": "Recall@3",
    "recall@5": "Recall@5",
    "recall@10": "Recall@10",
    "mrr@10": "MRR@10",
    "ndcg@10": "nDCG@10",
    "answer_accuracy": "Svarsriktighet",
    "citation_accuracy": "Källriktighet",
    "abstention_precision": "Avstår, precision",
    "abstention_recall": "Avstår, recall",
    "latency_p50_ms": "Svarstid p50 (ms)",
    "latency_p95_ms": "Svarstid p95 (ms)",
}
SHORT: dict[str, str] = {"recall@1": "R@1", "recall@5": "R@5", "answer_accuracy": "Svar"}

DEFINITIONS = f"""\
- **Relevant passage**: täcker minst {MIN_PASSAGE_SHARE:.0%} av ett evidensavsnitt i guldfilen. Evidensen \
letas upp i källfilen (blanktecken normaliserade) och förs över till den rensade texten (sidhuvuden \
borttagna, OCR-fel rättade) som passagerna pekar in i.
- **Recall@k** (ranx `recall@k` över evidensgrupper): andelen av frågans evidensdokument som har en \
relevant passage bland de k första. För en fråga med evidens i ett dokument är det träff@k (1 om någon \
relevant passage finns bland de k första); för frågor över flera stadsdelar är det andelen av \
dokumenten som hittas.
- **MRR@10**, **nDCG@10** (ranx): 1/rang för den första relevanta passagen, och binär nDCG över \
evidensgrupperna, bland de tio första.
- **Svarsriktighet**: besvarbara frågor där fraga svarade och ett citerat stycke överlappar evidensen \
(minst {MIN_QUOTE_OVERLAP:.0%} av det kortare av de två). Frågor med evidens i flera dokument får \
delpoäng: andelen dokument som citeras rätt. Ett avstående ger 0.
- **Källriktighet**: bland besvarade besvarbara frågor, andelen citat vars dokument och stadsdel finns \
i guldfilens `doc_ids` och `districts`.
- **Avstår, precision/recall**: den positiva klassen är "fraga avstod från att svara"; facit är de \
obesvarbara frågorna. Precision: andelen avståenden som gällde obesvarbara frågor. Recall: andelen \
obesvarbara frågor där fraga avstod.
- **Svarstid**: tiden för ett helt svar (sökning + svar), p50 och p95 i millisekunder, efter en \
uppvärmningsfråga.
- Retrievalmåtten och svarsriktigheten räknas över besvarbara frågor; i uppdelningen per frågetyp \
visar `Svar` för obesvarbara frågor andelen där fraga avstod."""


# LOW LEVEL FUNCTIONS ==========================================================
def fmt(metric: str, value: float | None) -> str:
    """A metric value for a table: 3 decimals, 1 for milliseconds, "–" for undefined."""
    if value is None:
        return "–"
    return f"{value:.1f}" if metric.endswith("_ms") else f"{value:.3f}"


def _kind_value(metric: str, figures: Mapping[str, float | None]) -> float | None:
    if metric == "answer_accuracy" and figures.get("answer_accuracy") is None:
        return figures.get("abstention_recall")  # unanswerable kinds: share abstained
    return figures.get(metric)


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """A markdown table; the first ``left`` columns are left-aligned, the rest right-aligned."""
    aligns = ["---"] * left + ["---:"] * (len(header) - left)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"]
    out.extend("| " + " | ".join(r) + " |" for r in rows)
    return "\n".join(out)


def _table_rows(metrics: Mapping[str, Mapping[str, float | None]]) -> tuple[list[str], list[list[str]]]:
    modes = list(metrics)
    header = ["Mått", *modes]
    rows = [[LABELS.get(m, m), *(fmt(m, metrics[mode].get(m)) for mode in modes)] for m in METRICS]
    return header, rows


def _kind_rows(by_kind: Mapping[str, Mapping[str, Mapping[str, float | None]]],
               modes: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    header = ["Frågetyp", "n"] + [f"{mode} {SHORT[m]}" for mode in modes for m in KIND_METRICS]
    rows = []
    for kind, per_mode in by_kind.items():
        n = next((int(f["n"] or 0) for f in per_mode.values() if f.get("n") is not None), 0)
        cells = [fmt(m, _kind_value(m, per_mode.get(mode, {}))) for mode in modes for m in KIND_METRICS]
        rows.append([kind, str(n), *cells])
    return header, rows


# HIGH LEVEL FUNCTIONS =========================================================
def format_table(metrics: Mapping[str, Mapping[str, float | None]]) -> str:
    """The main table as aligned plain text: metrics as rows, modes as columns."""
    return _grid(*_table_rows(metrics))


def format_by_kind(by_kind: Mapping[str, Mapping[str, Mapping[str, float | None]]], modes: Sequence[str]) -> str:
    """Recall@1, Recall@5 and answer accuracy per question kind and mode, as plain text."""
    title = "Per frågetyp (R@1, R@5, Svar = svarsriktighet; för obesvarbara: andel där fraga avstod)"
    return title + "\n" + _grid(*_kind_rows(by_kind, modes))


def _misses(rows: Sequence[QuestionResult]) -> list[list[str]]:
    out = []
    for r in rows:
        if r.answerable and (r.retrieval.get("recall@5", 0.0) < 1.0 or (r.answer_score or 0.0) < 1.0):
            rank = str(r.first_relevant_rank) if r.first_relevant_rank else "–"
            status = "avstod" if not r.answered else f"{r.answer_score:.2f}"
        elif not r.answerable and r.answered:
            rank, status = "–", "svarade på obesvarbar"
        else:
            continue
        question = r.question.replace("|", "/")
        out.append([r.id, r.kind, question, rank, fmt("recall@5", r.retrieval.get("recall@5")), status])
    return out


def render_markdown(result: BenchmarkResult) -> str:
    """report.md: settings, the table, the per-kind breakdown, misses and definitions."""
    counts = result.counts()
    idx = result.index
    title = f"# Utvärdering av fraga{' – ' + result.label if result.label else ''}"
    parts = [
        title, "",
        f"- Körd: {result.created}",
        f"- Guldfil: `{result.gold}` ({counts['total']} frågor, varav {counts['answerable']} besvarbara)",
        f"- Index: `{idx.get('folder', '')}` (kodare {idx.get('encoder', '')}, {idx.get('num_chunks', '')} "
        f"passager, {idx.get('documents', '')} dokument)",
        f"- Lägen: {', '.join(result.modes)}", "",
        "## Resultat", "", _markdown(*_table_rows(result.metrics)), "",
        "![Jämförelse av lägena](chart.png)", "",
        "## Per frågetyp", "",
        "R@1, R@5 och Svar (svarsriktighet) per läge. För obesvarbara frågor visar Svar andelen där fraga avstod.",
        "", _markdown(*_kind_rows(result.by_kind, result.modes)), "",
    ]
    for mode in result.modes:
        rows = _misses([q for q in result.questions if q.mode == mode])
        parts += [f"## Missar ({mode})", ""]
        if rows:
            parts += [_markdown(["Id", "Typ", "Fråga", "Första relevanta", "R@5", "Svar"], rows, left=3), ""]
        else:
            parts += ["Inga.", ""]
    parts += ["## Definitioner", "", DEFINITIONS, "",
              "Per fråga: `per_question.jsonl` (hämtade passager med träff/miss, svaret och citaten). "
              "Siffrorna som data: `metrics.json`.", ""]
    return "\n".join(parts)


def write_chart(metrics: Mapping[str, Mapping[str, float | None]], path: str | os.PathLike[str]) -> Path:
    """A PNG bar chart comparing the modes: quality metrics (0–1) and latency."""
    from matplotlib.figure import Figure  # no pyplot: leaves the process's backend alone

    modes = list(metrics)
    quality = [m for m in METRICS if not m.endswith("_ms")]
    latency = [m for m in METRICS if m.endswith("_ms")]
    fig = Figure(figsize=(13, 4.8))
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [4, 1]})
    width = 0.8 / max(len(modes), 1)
    for i, mode in enumerate(modes):
        xs = [j + (i - (len(modes) - 1) / 2) * width for j in range(len(quality))]
        ax1.bar(xs, [metrics[mode].get(m) or 0.0 for m in quality], width, label=mode)
        xs2 = [j + (i - (len(modes) - 1) / 2) * width for j in range(len(latency))]
        ax2.bar(xs2, [metrics[mode].get(m) or 0.0 for m in latency], width, label=mode)
    ax1.set_xticks(range(len(quality)), [LABELS[m] for m in quality], rotation=30, ha="right")
    ax1.set_ylim(0, 1.05)
    ax1.set_ylabel("andel")
    ax1.grid(axis="y", alpha=0.3)
    ax1.legend(title="läge")
    ax2.set_xticks(range(len(latency)), ["p50", "p95"])
    ax2.set_ylabel("svarstid (ms)")
    ax2.grid(axis="y", alpha=0.3)
    fig.suptitle("fraga: jämförelse av sökläge")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    return out


def write_report(folder: str | os.PathLike[str], result: BenchmarkResult, *, chart: bool = True) -> Path:
    """Write report.md, metrics.json, per_question.jsonl and chart.png into ``folder``.

    Returns:
        The folder.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n",
                                      encoding="utf-8")
    with open(out / "per_question.jsonl", "w", encoding="utf-8") as f:
        for q in result.questions:
            f.write(json.dumps(q.to_dict(), ensure_ascii=False) + "\n")
    (out / "report.md").write_text(render_markdown(result), encoding="utf-8")
    if chart:
        write_chart(result.metrics, out / "chart.png")
    logger.info("wrote report to %s", out)
    return out
