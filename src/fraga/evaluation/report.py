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
    "pick_accuracy": "Rätt mening vald",
    "citation_accuracy": "Källriktighet",
    "abstention_precision": "Avstår, precision",
    "abstention_recall": "Avstår, recall",
    "latency_p50_ms": "Svarstid p50 (ms)",
    "latency_p95_ms": "Svarstid p95 (ms)",
}
SHORT: dict[str, str] = {"recall@1": "R@1", "recall@5": "R@5", "answer_accuracy": "Svar"}
# Metrics that are shares (0–1), shown as percentages in report.md; MRR and nDCG are scores.
SHARES = frozenset(
    {
        "recall@1",
        "recall@3",
        "recall@5",
        "recall@10",
        "answer_accuracy",
        "pick_accuracy",
        "citation_accuracy",
        "abstention_precision",
        "abstention_recall",
    }
)
WEAKEST_SHOWN = 3  # question kinds named in the summary
# The question kinds of the gold file (eval/GOLD.md), explained in Swedish.
KINDS: dict[str, tuple[str, str]] = {
    "fact": ("Fakta", "sakuppgifter som står i svarsavsnitten, frågade med ungefär dokumentets ord"),
    "paraphrase": (
        "Omformulering",
        'samma slags sakuppgifter frågade med andra ord än dokumentets (t.ex. "säkerhetsansvarig" eller "gå till polisen")',
    ),
    "district_form": ("Stadsdelsnamn", 'stadsdelen skriven på olika sätt: "Skarpnäcks", "skarpnack", "SDN Skarpnäck", gemener'),
    "ocr": ("OCR-text", "frågor som bara Norra innerstadens skannade, OCR-skadade dokument besvarar"),
    "cross_district": (
        "Flera stadsdelar",
        "jämförelser mellan stadsdelar och dokument (t.ex. nolltolerans, vem som polisanmäler)",
    ),
    "metadata": ("Dokumentuppgifter", "handläggare, datum, diarienummer, undertecknare och partierna bakom skrivelsen"),
    "english": ("Engelska", "frågor på engelska om den svenska texten"),
    "unanswerable": ("Obesvarbar", "rimliga frågor som dokumenten inte besvarar; rätt är att fraga avstår"),
    "followup": ("Följdfråga", 'en följdfråga ("och i norra innerstan?") som läses tillsammans med frågan före'),
    "skrivelse": ("Skrivelse", "vad en skrivelse eller dess författare frågar eller vill, besvarat ur skrivelsen"),
    "feedback": ("Återkoppling", "frågor från användarnas återkoppling som ännu inte fått en frågetyp"),
}

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
- **Rätt mening vald**: som svarsriktigheten, men för den mening svarsmodellen valde, också när fraga \
avstod och inte citerade den: hur väl meningarna rangordnas, skilt från tröskeln för att avstå.
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


def pct(metric: str, value: float | None) -> str:
    """A metric value for report.md: shares as whole percentages ("72 %"), the rest as ``fmt``."""
    if value is None:
        return "–"
    return f"{value * 100:.0f} %" if metric in SHARES else fmt(metric, value)


def kind_name(kind: str) -> str:
    """ "Fakta (fact)": the Swedish name with the gold file's own."""
    return f"{KINDS[kind][0]} ({kind})" if kind in KINDS else kind


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


def _table_rows(metrics: Mapping[str, Mapping[str, float | None]], *, show=fmt) -> tuple[list[str], list[list[str]]]:
    modes = list(metrics)
    header = ["Mått", *modes]
    rows = [[LABELS.get(m, m), *(show(m, metrics[mode].get(m)) for mode in modes)] for m in METRICS]
    return header, rows


def _kind_rows(
    by_kind: Mapping[str, Mapping[str, Mapping[str, float | None]]], modes: Sequence[str], *, show=fmt, name=str
) -> tuple[list[str], list[list[str]]]:
    header = ["Frågetyp", "n"] + [f"{mode} {SHORT[m]}" for mode in modes for m in KIND_METRICS]
    rows = []
    for kind, per_mode in by_kind.items():
        n = next((int(f["n"] or 0) for f in per_mode.values() if f.get("n") is not None), 0)
        cells = [show(m, _kind_value(m, per_mode.get(mode, {}))) for mode in modes for m in KIND_METRICS]
        rows.append([name(kind), str(n), *cells])
    return header, rows


def best_mode(metrics: Mapping[str, Mapping[str, float | None]]) -> str:
    """The mode with the highest answer accuracy (then Recall@5, then the lower p50 latency)."""

    def key(mode: str) -> tuple[float, float, float]:
        m = metrics[mode]
        return (m.get("answer_accuracy") or 0.0, m.get("recall@5") or 0.0, -(m.get("latency_p50_ms") or 0.0))

    return max(metrics, key=key)


def weakest_kinds(
    by_kind: Mapping[str, Mapping[str, Mapping[str, float | None]]], mode: str, n: int = WEAKEST_SHOWN
) -> list[tuple[str, float]]:
    """The ``n`` question kinds with the lowest "Svar" in ``mode`` (for unanswerable: share abstained)."""
    values = [(kind, _kind_value("answer_accuracy", per_mode.get(mode, {}))) for kind, per_mode in by_kind.items()]
    known = [(kind, v) for kind, v in values if v is not None]
    return sorted(known, key=lambda kv: kv[1])[:n]


def summary_lines(result: BenchmarkResult) -> list[str]:
    """The report's opening three lines: best mode, answer accuracy, weakest question kinds."""
    if not result.metrics:
        return ["- Inga lägen kördes."]
    best = best_mode(result.metrics)
    m = result.metrics[best]
    others = [
        f"{mode} {pct('answer_accuracy', result.metrics[mode].get('answer_accuracy'))}" for mode in result.modes if mode != best
    ]
    weak = weakest_kinds(result.by_kind, best)
    weak_text = ", ".join(f"{kind_name(k)} {pct('answer_accuracy', v)}" for k, v in weak) or "–"
    first = (
        f"- **Bästa läge: {best}** (Recall@5 {pct('recall@5', m.get('recall@5'))}, "
        f"svarstid p50 {fmt('latency_p50_ms', m.get('latency_p50_ms'))} ms)."
    )
    second = (
        f"- **Svarsriktighet: {pct('answer_accuracy', m.get('answer_accuracy'))}** av de besvarbara frågorna "
        f"besvarades rätt med {best}" + (f" (övriga lägen: {', '.join(others)})." if others else ".")
    )
    return [first, second, f"- **Svagast i {best}:** {weak_text}."]


def _kind_explanations(kinds: Sequence[str]) -> str:
    lines = []
    for kind in kinds:
        name, what = KINDS.get(kind, (kind, "frågetyp utan beskrivning"))
        lines.append(f"- **{name}** (`{kind}`): {what}.")
    return "\n".join(lines)


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
            status = "avstod" if not r.answered else pct("answer_accuracy", r.answer_score)
        elif not r.answerable and r.answered:
            rank, status = "–", "svarade på obesvarbar"
        else:
            continue
        question = r.question.replace("|", "/")
        out.append([r.id, r.kind, question, rank, pct("recall@5", r.retrieval.get("recall@5")), status])
    return out


def render_markdown(result: BenchmarkResult) -> str:
    """report.md: a three-line summary, settings, the tables in percentages, the question kinds
    explained, definitions, and the misses in an appendix."""
    counts = result.counts()
    idx = result.index
    title = f"# Utvärdering av fraga{' – ' + result.label if result.label else ''}"
    parts = [
        title,
        "",
        *summary_lines(result),
        "",
        "## Körning",
        "",
        f"- Körd: {result.created}",
        f"- Guldfil: `{result.gold}` ({counts['total']} frågor, varav {counts['answerable']} besvarbara)",
        f"- Index: `{idx.get('folder', '')}` (kodare {idx.get('encoder', '')}, {idx.get('num_chunks', '')} "
        f"passager, {idx.get('documents', '')} dokument)",
        f"- Lägen: {', '.join(result.modes)}",
        "",
        "## Resultat",
        "",
        "Andelar i procent; MRR och nDCG är poäng mellan 0 och 1. Måtten förklaras under Definitioner.",
        "",
        _markdown(*_table_rows(result.metrics, show=pct)),
        "",
        "![Jämförelse av lägena](chart.png)",
        "",
        "## Per frågetyp",
        "",
        ("R@1, R@5 och Svar (svarsriktighet) per läge, i procent. För obesvarbara frågor visar Svar andelen där fraga avstod."),
        "",
        _markdown(*_kind_rows(result.by_kind, result.modes, show=pct, name=kind_name)),
        "",
        "### Frågetyperna",
        "",
        _kind_explanations(list(result.by_kind)),
        "",
        "## Definitioner",
        "",
        DEFINITIONS,
        "",
        (
            "Per fråga: `per_question.jsonl` (hämtade passager med träff/miss, svaret och citaten). "
            "Siffrorna som data: `metrics.json`."
        ),
        "",
        "## Bilaga: missar",
        "",
        (
            "Besvarbara frågor där ingen relevant passage fanns bland de fem första eller svaret inte var helt rätt, "
            "och obesvarbara frågor som fraga ändå svarade på."
        ),
        "",
    ]
    for mode in result.modes:
        rows = _misses([q for q in result.questions if q.mode == mode])
        parts += [f"### Missar ({mode}, {len(rows)} st.)", ""]
        if rows:
            parts += [_markdown(["Id", "Typ", "Fråga", "Första relevanta", "R@5", "Svar"], rows, left=3), ""]
        else:
            parts += ["Inga.", ""]
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
    (out / "metrics.json").write_text(json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    with open(out / "per_question.jsonl", "w", encoding="utf-8") as f:
        for q in result.questions:
            f.write(json.dumps(q.to_dict(), ensure_ascii=False) + "\n")
    (out / "report.md").write_text(render_markdown(result), encoding="utf-8")
    if chart:
        write_chart(result.metrics, out / "chart.png")
    logger.info("wrote report to %s", out)
    return out
