"""The share of good answers over time and per district, and a small chart of both."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from fraga.feedback.store import GOOD, Feedback

logger = logging.getLogger(__name__)

NO_DISTRICT = "ingen stadsdel"
DAILY_LIMIT = 31  # more distinct days than this: group by ISO week


@dataclass(frozen=True, slots=True)
class Share:
    """Good answers among the judged ones in one group (a day, a week or a district)."""

    label: str
    good: int
    total: int

    @property
    def share(self) -> float:
        return self.good / self.total if self.total else 0.0


# LOW LEVEL FUNCTIONS ==========================================================
def _week(day: str) -> str:
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-v{week:02d}"


def _group(pairs: Iterable[tuple[str, bool]]) -> list[Share]:
    good: dict[str, int] = {}
    total: dict[str, int] = {}
    for label, is_good in pairs:
        total[label] = total.get(label, 0) + 1
        good[label] = good.get(label, 0) + int(is_good)
    return [Share(k, good[k], total[k]) for k in total]


# HIGH LEVEL FUNCTIONS =========================================================
def share_over_time(entries: Sequence[Feedback]) -> list[Share]:
    """Share of good answers per day (UTC), or per ISO week ("2026-v49") over more than a month of days."""
    days = [fb.created[:10] for fb in entries]
    weekly = len(set(days)) > DAILY_LIMIT
    shares = _group(((_week(d) if weekly else d), fb.verdict == GOOD) for d, fb in zip(days, entries, strict=True))
    return sorted(shares, key=lambda s: s.label)


def share_by_district(entries: Sequence[Feedback]) -> list[Share]:
    """Share of good answers per district the question concerns (a question about two counts for both)."""
    pairs = ((d, fb.verdict == GOOD) for fb in entries for d in (fb.districts or (NO_DISTRICT,)))
    return sorted(_group(pairs), key=lambda s: (s.label == NO_DISTRICT, s.label))


def overall(entries: Sequence[Feedback]) -> Share:
    return Share("alla", sum(1 for fb in entries if fb.verdict == GOOD), len(entries))


def chart_png(entries: Sequence[Feedback]) -> bytes:
    """A small PNG: the share of good answers over time (left) and per district (right)."""
    from matplotlib.figure import Figure  # no pyplot: leaves the process's backend alone

    times, districts = share_over_time(entries), share_by_district(entries)
    fig = Figure(figsize=(9.5, 3.2))
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    if times:
        xs = list(range(len(times)))
        ax1.plot(xs, [s.share for s in times], marker="o", color="#2563eb")
        for x, s in zip(xs, times, strict=True):
            ax1.annotate(f"{s.good}/{s.total}", (x, s.share), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
        step = max(1, len(times) // 8)
        ax1.set_xticks(xs[::step], [s.label for s in times][::step], rotation=30, ha="right", fontsize=8)
    ax1.set_ylim(0, 1.1)
    ax1.set_ylabel("andel bra svar")
    ax1.set_title("Över tid", fontsize=10)
    ax1.grid(axis="y", alpha=0.3)
    if districts:
        ys = list(range(len(districts)))
        ax2.barh(ys, [s.share for s in districts], color="#16a34a")
        ax2.set_yticks(ys, [f"{s.label} ({s.total})" for s in districts], fontsize=8)
        ax2.invert_yaxis()
    ax2.set_xlim(0, 1)
    ax2.set_xlabel("andel bra svar")
    ax2.set_title("Per stadsdel (antal omdömen)", fontsize=10)
    ax2.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()
