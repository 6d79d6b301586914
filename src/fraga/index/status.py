"""How complete an index is: the published generation and a build in progress (``fraga index --status``).

A build reports its progress through :class:`ProgressTracker`, which adds the rate and the
remaining time to each step and leaves them in the work folder's ``progress.json``
(``fraga.index.checkpoint``), where :func:`index_status` finds them from another process.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fraga.index.checkpoint import Checkpoint, checkpointed_vectors, read_progress
from fraga.index.generation import current_generation

Progress = Callable[[str, int, int], None]

STAGES_SV = {"embed": "passager", "sentences": "meningar", "headings": "rubriker"}
STALE_SECONDS = 120.0  # a progress file not updated for this long, by a process that is gone: a killed build


@dataclass(frozen=True, slots=True)
class Rate:
    """Items per second of a stage so far, and the seconds left at that rate (None until known)."""

    per_second: float | None
    eta: float | None


class ProgressTracker:
    """Wraps a build's progress callback: measures each stage's rate and records it in ``checkpoint``."""

    def __init__(self, progress: Progress | None, checkpoint: Checkpoint | None = None, **facts: Any) -> None:
        self._progress = progress
        self._checkpoint = checkpoint
        self._facts = facts
        self._stage = ""
        self._t0 = 0.0
        self._last_write = 0.0
        self.rate = Rate(None, None)

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != self._stage:
            self._stage, self._t0 = stage, now
        elapsed = now - self._t0
        per_second = done / elapsed if done and elapsed > 0 else None
        eta = (total - done) / per_second if per_second else None
        self.rate = Rate(per_second, eta)
        if self._checkpoint is not None:
            self._checkpoint.note(stage, done, total, per_second, eta=eta, **self._facts)
            if now - self._last_write >= 2.0 or done == total:
                self._last_write = now
                self._checkpoint.write_progress()
        if self._progress is not None:
            self._progress(stage, done, total)

    def set(self, **facts: Any) -> None:
        self._facts.update(facts)


def coverage_note(with_vectors: int, passages: int, mode: str = "hybrid", *, hint: bool = True) -> str:
    """A Swedish note on an incomplete dense index ("" when every passage has its vector);
    ``hint`` adds the command that shows the build's progress."""
    if with_vectors >= passages:
        return ""
    share = 100.0 * with_vectors / passages if passages else 100.0
    note = f"Obs: det täta indexet är ofullständigt ({with_vectors} av {passages} passager har vektorer, {share:.0f} %); "
    note += "den täta sökningen når bara passager med vektorer." if mode == "dense" else "passager utan vektor söks med BM25."
    return note + (" Se förloppet med: fraga index --status" if hint else "")


def format_duration(seconds: float) -> str:
    """``3 h 05 min``, ``4 min 10 s``, ``12 s`` (Swedish units)."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def index_status(index_path: Path) -> dict[str, Any]:
    """What ``fraga index --status`` prints, as data.

    Keys: ``published`` (None, or generation, created, documents, passages, passages_with_vectors,
    sentences) and ``build`` (None, or stage, done, total, rate, eta, running, checkpointed, updated).
    """
    out: dict[str, Any] = {"index_dir": str(index_path), "published": None, "build": None}
    gen = current_generation(index_path) if index_path.is_dir() else None
    if gen is not None:
        try:
            manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = None
        if manifest is not None:
            n = int(manifest.get("num_chunks", 0))
            dense = manifest.get("dense") or {}
            out["published"] = {
                "generation": gen.name,
                "created": manifest.get("created", ""),
                "documents": len(manifest.get("documents", {})),
                "passages": n,
                "passages_with_vectors": int(dense.get("passages_with_vectors", n)),
                "sentences": int(manifest.get("num_sentences", 0)),
                "encoder": manifest.get("encoder", {}).get("name", ""),
            }
    progress = read_progress(index_path)
    if progress is not None:
        running = (
            not progress.get("stopped")
            and _alive(progress.get("pid"))
            and time.time() - float(progress.get("updated", 0)) < STALE_SECONDS
        )
        out["build"] = {**progress, "running": running, "checkpointed": checkpointed_vectors(index_path)}
    return out


def format_status(status: dict[str, Any]) -> list[str]:
    """The lines ``fraga index --status`` prints (Swedish)."""
    lines = [f"Index: {status['index_dir']}"]
    pub = status["published"]
    if pub is None:
        lines.append("Inget publicerat index ännu.")
    else:
        n, k = pub["passages"], pub["passages_with_vectors"]
        share = 100.0 * k / n if n else 100.0
        lines.append(f"Publicerad generation: {pub['generation']} ({pub['created']}, kodare {pub['encoder']})")
        lines.append(f"  Dokument: {pub['documents']}")
        lines.append(f"  Passager: {n}, varav {k} med vektorer ({share:.0f} %)")
        lines.append(f"  Meningar: {pub['sentences']}")
        lines.append(
            "  Det täta indexet är komplett."
            if k >= n
            else "  Det täta indexet är ofullständigt: passager utan vektor söks med BM25."
        )
    build = status["build"]
    if build is None:
        lines.append("Inget bygge pågår.")
        return lines
    stage = STAGES_SV.get(str(build.get("stage")), str(build.get("stage")))
    done, total = int(build.get("done", 0)), int(build.get("total", 0))
    pct = 100.0 * done / total if total else 100.0
    where = f"{stage} {done}/{total} kodade ({pct:.0f} %)"
    if build.get("passages_total"):
        where += f"; passager med vektor: {build.get('passages_ready', 0)}/{build['passages_total']}"
    if build["running"]:
        lines.append(f"Bygge pågår: {where}")
        rate, eta = build.get("rate"), build.get("eta")
        if rate:
            lines.append(f"  Takt: {rate:.1f} per sekund" + (f", kvar ca {format_duration(eta)}" if eta else ""))
    else:
        lines.append(f"Avbrutet bygge: kom till {where}.")
        lines.append("  Kör fraga index igen för att fortsätta; redan kodade vektorer återanvänds.")
    lines.append(f"  Sparade vektorer i kontrollpunkter: {build['checkpointed']}")
    return lines
