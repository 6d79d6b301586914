"""Timing and memory helpers for the benchmark, and the load probe it runs in a subprocess.

Memory is measured in a fresh process (``python -m fraga.bench.measure``) so the figure
is what a server holds after loading the index, not what the benchmark process has
accumulated while building it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 3600


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95 and mean of ``seconds``, in milliseconds."""
    if not seconds:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "mean_ms": 0.0, "n": 0}
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "mean_ms": float(ms.mean()),
        "n": int(len(ms)),
    }


def time_calls(fn: Callable[[int], Any], n: int, *, warmup: int = 3) -> list[float]:
    """Seconds taken by ``fn(i)`` for i in 0..n-1, after ``warmup`` untimed calls."""
    for i in range(min(warmup, n)):
        fn(i)
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out


def proc_status(field: str = "VmRSS") -> int:
    """A memory figure of this process from /proc/self/status, in bytes (0 where unavailable)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def dir_bytes(path: str | os.PathLike[str]) -> int:
    """Total size of the files under ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def machine() -> dict[str, Any]:
    """What the figures were measured on: cores, memory, load average."""
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    try:
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
        with open("/proc/meminfo", encoding="ascii") as f:
            info["mem_total_gb"] = round(int(f.readline().split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return info


def run_probe(
    kind: str, folder: str | os.PathLike[str], *, real_encoder: bool = True, questions: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Run the load probe ``kind`` ("fraga", "baseline" or "txtai") on ``folder`` in a fresh process.

    With ``real_encoder`` the fraga probe also loads the default encoder and answers one
    hybrid query, so ``rss_serving_bytes`` is what a serving process holds. With
    ``questions`` (a JSON list of strings) it then answers each of them with ``ask`` and
    reports the memory again: the index is memory-mapped, so the pages queries touch count
    too (``rss_file_bytes``, file-backed and reclaimable, against ``rss_anon_bytes``).
    """
    cmd = [sys.executable, "-m", "fraga.bench.measure", kind, str(folder)] + ([] if real_encoder else ["--fake"])
    if questions is not None:
        cmd += ["--questions", str(questions)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"load probe {kind} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _probe_fraga(folder: str, real_encoder: bool, questions: list[str]) -> dict[str, Any]:
    from fraga.bench.encoders import register_bench_encoder

    rss0 = proc_status()
    t0 = time.perf_counter()
    from fraga.index.generation import load_index
    from fraga.search.retrieve import Retriever

    t1 = time.perf_counter()
    index = load_index(folder)
    t2 = time.perf_counter()
    rss_load = proc_status()
    retriever = Retriever(index)
    t3 = time.perf_counter()
    encoder = register_bench_encoder(index.dim, real=real_encoder)
    encoder.vector = np.ones(index.dim, dtype=np.float32) / np.sqrt(index.dim)
    retriever.search("Vem gör polisanmälan när en medarbetare hotas?", mode="hybrid")
    t4 = time.perf_counter()
    out = {
        "import_s": t1 - t0,
        "load_s": t2 - t1,
        "retriever_s": t3 - t2,
        "first_query_s": t4 - t3,
        "rss_start_bytes": rss0,
        "rss_after_load_bytes": rss_load,
        "rss_serving_bytes": proc_status(),
    }
    if questions:
        from fraga.answer.answerer import Answerer

        answerer, rng = Answerer(retriever), np.random.default_rng(3)
        for question in questions:
            v = rng.standard_normal(index.dim).astype(np.float32)
            encoder.vector = v / np.linalg.norm(v)
            retriever.clear_cache()
            answerer.answer(question)
        out.update(
            questions=len(questions),
            rss_after_questions_bytes=proc_status(),
            rss_anon_bytes=proc_status("RssAnon"),
            rss_file_bytes=proc_status("RssFile"),
        )
    out["peak_rss_bytes"] = proc_status("VmHWM")
    return out


def _probe_baseline(folder: str) -> dict[str, Any]:
    from fraga.bench.baseline import Baseline

    rss0 = proc_status()
    t1 = time.perf_counter()
    Baseline.load(Path(folder))
    t2 = time.perf_counter()
    return {
        "load_s": t2 - t1,
        "rss_start_bytes": rss0,
        "rss_after_load_bytes": proc_status(),
        "rss_serving_bytes": proc_status(),
        "peak_rss_bytes": proc_status("VmHWM"),
    }


def main(argv: list[str]) -> int:
    real = "--fake" not in argv
    argv = [a for a in argv if a != "--fake"]
    questions: list[str] = []
    if "--questions" in argv[:-1]:
        at = argv.index("--questions")
        questions = json.loads(Path(argv[at + 1]).read_text(encoding="utf-8"))
        del argv[at : at + 2]
    if len(argv) != 2 or argv[0] not in ("fraga", "baseline", "txtai"):
        print("usage: python -m fraga.bench.measure fraga|baseline|txtai FOLDER [--fake] [--questions FILE]", file=sys.stderr)
        return 2
    if argv[0] == "txtai":
        from fraga.bench.txtai_peer import probe

        result = probe(argv[1])
    else:
        result = _probe_fraga(argv[1], real, questions) if argv[0] == "fraga" else _probe_baseline(argv[1])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
