"""``fraga eval``: argument handling and printing for the gold-set benchmark (``fraga.evaluation``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fraga.evaluation.runner import DEFAULT_SPLITS, default_report_dir, format_model_info, parse_modes, run_benchmark, split_name


def _stderr_progress(mode: str, done: int, total: int) -> None:
    if done == total or sys.stderr.isatty():
        sys.stderr.write(f"\r{mode}: {done}/{total} frågor")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def main_eval(args: argparse.Namespace) -> int:
    """``fraga eval``: run the benchmark and write a report, or compare two reports."""
    from fraga.evaluation.compare import format_comparison, load_metrics, write_comparison
    from fraga.evaluation.gold import load_gold
    from fraga.evaluation.report import format_by_kind, format_table, write_report
    from fraga.api import open as open_fraga

    if getattr(args, "compare", None):
        before, after = (load_metrics(p) for p in args.compare)
        print(format_comparison(before, after))
        if args.out:
            path = write_comparison(args.out, before, after)
            print(f"\nJämförelsen skrevs till {path}")
        return 0
    modes = parse_modes(args.modes)
    files = args.gold or [str(p) for p in DEFAULT_SPLITS.values() if p.exists()] or [str(DEFAULT_SPLITS["dev"])]
    index = open_fraga(
        args.index_dir, store=getattr(args, "store", None), on_build=lambda m: print(m, file=sys.stderr, flush=True)
    ).index
    out = Path(args.out) if args.out else default_report_dir(args.label or "")
    print(format_model_info())
    for path in files:
        gold = load_gold(path)
        result = run_benchmark(
            index,
            gold,
            modes=modes,
            label=args.label or "",
            gold_path=str(path),
            progress=_stderr_progress,
            answers=not getattr(args, "retrieval_only", False),
        )
        folder = write_report(out / split_name(path) if len(files) > 1 else out, result)
        print(f"\n== {split_name(path)} ({path}, {len(gold)} frågor) ==")
        print(format_table(result.metrics))
        print()
        print(format_by_kind(result.by_kind, result.modes))
        print(f"\nRapporten skrevs till {folder}/ (report.md, metrics.json, per_question.jsonl, chart.png)")
    return 0
