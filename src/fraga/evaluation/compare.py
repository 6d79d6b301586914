"""Compare two benchmark runs (``fraga eval --compare BEFORE AFTER``)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fraga.errors import FragaError
from fraga.evaluation.report import LABELS, fmt
from fraga.evaluation.results import METRICS

logger = logging.getLogger(__name__)

Delta = tuple[float | None, float | None, float | None]  # before, after, after - before


class ReportError(FragaError):
    """A report folder or metrics.json is missing or unreadable."""


def load_metrics(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A run's metrics.json, given the report folder or the file itself.

    Raises:
        ReportError: When the file is missing or is not a fraga metrics.json.
    """
    p = Path(path)
    file = p / "metrics.json" if p.is_dir() else p
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReportError(f"Hittar ingen metrics.json i {str(p)!r}; ange en rapportmapp från fraga eval") from exc
    except (OSError, ValueError) as exc:
        raise ReportError(f"{str(file)!r} går inte att läsa ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("modes"), dict):
        raise ReportError(f'{str(file)!r} är ingen metrics.json från fraga eval (fältet "modes" saknas)')
    data.setdefault("label", "")
    data["_path"] = str(file)
    return data


def compare_metrics(
    before: Mapping[str, Mapping[str, float | None]], after: Mapping[str, Mapping[str, float | None]]
) -> dict[str, dict[str, Delta]]:
    """``{mode: {metric: (before, after, after - before)}}`` over the modes and metrics of either run.

    A value missing from one run is None, and so is its delta.
    """
    modes = list(dict.fromkeys([*before, *after]))
    out: dict[str, dict[str, Delta]] = {}
    for mode in modes:
        b, a = before.get(mode, {}), after.get(mode, {})
        names = [m for m in METRICS if m in b or m in a] + [m for m in dict.fromkeys([*b, *a]) if m not in METRICS]
        rows: dict[str, Delta] = {}
        for m in names:
            vb, va = b.get(m), a.get(m)
            rows[m] = (vb, va, va - vb if vb is not None and va is not None else None)
        out[mode] = rows
    return out


def _signed(metric: str, delta: float | None) -> str:
    if delta is None:
        return "–"
    text = fmt(metric, abs(delta))
    if float(text) == 0:
        return " " + fmt(metric, 0.0)
    return ("+" if delta > 0 else "−") + text


def _name(run: Mapping[str, Any]) -> str:
    return run.get("label") or run.get("created") or run.get("_path", "")


def format_comparison(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """Plain-text tables, one per mode: metric, before, after, difference."""
    table = compare_metrics(before["modes"], after["modes"])
    lines = [f"Före:  {_name(before)} ({before.get('_path', '')})", f"Efter: {_name(after)} ({after.get('_path', '')})"]
    for label, key in (("Kodare", "encoder"), ("Passager", "num_chunks")):
        vb, va = before.get("index", {}).get(key), after.get("index", {}).get(key)
        if vb != va:
            lines.append(f"{label}: {vb} → {va}")
    if before.get("gold") != after.get("gold"):
        lines.append(f"Obs: olika guldfiler ({before.get('gold')} → {after.get('gold')})")
    for mode, rows in table.items():
        header = ["Mått", "före", "efter", "skillnad"]
        body = [[LABELS.get(m, m), fmt(m, vb), fmt(m, va), _signed(m, d)] for m, (vb, va, d) in rows.items()]
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(4)]
        lines += ["", f"Läge: {mode}"]
        for r in [header, *body]:
            lines.append("  ".join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]))
    lines += ["", "Svarstid: lägre är bättre; övriga mått: högre är bättre."]
    return "\n".join(lines)


def write_comparison(folder: str | os.PathLike[str], before: Mapping[str, Any], after: Mapping[str, Any]) -> Path:
    """Write comparison.txt and comparison.json into ``folder``; returns the folder."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.txt").write_text(format_comparison(before, after) + "\n", encoding="utf-8")
    data = {
        "before": {"label": before.get("label"), "path": before.get("_path")},
        "after": {"label": after.get("label"), "path": after.get("_path")},
        "modes": {
            mode: {m: {"before": vb, "after": va, "delta": d} for m, (vb, va, d) in rows.items()}
            for mode, rows in compare_metrics(before["modes"], after["modes"]).items()
        },
    }
    (out / "comparison.json").write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return out
