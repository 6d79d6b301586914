"""``fraga bench``: argument handling and printing for the scale benchmark (``fraga.bench``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fraga.errors import FragaError


def parse_sizes(text: str) -> list[int]:
    """``"10000,100_000"`` -> [10000, 100000]. Raises FragaError for anything else or sizes below 100."""
    try:
        sizes = [int(s.replace("_", "")) for s in str(text).split(",") if s.strip()]
    except ValueError as exc:
        raise FragaError(f"--sizes {text!r} är ingen kommaseparerad lista av antal avsnitt; ange t.ex. 10000,100000") from exc
    if not sizes or min(sizes) < 100:
        raise FragaError(f"--sizes {text!r}: ange antal avsnitt på minst 100, t.ex. 10000,100000")
    return sizes


def main_bench(args: argparse.Namespace) -> int:
    """Run the benchmark for ``args.sizes``, write bench.json and table.md to ``args.out`` and print the table."""
    from fraga.bench import report, txtai_peer
    from fraga.bench.runner import run_bench

    sizes = parse_sizes(args.sizes)
    if not txtai_peer.available():
        print("txtai är inte installerat och mäts inte; installera det med: pip install txtai", file=sys.stderr)
    out = Path(args.out or f"eval/reports/bench-{time.strftime('%Y%m%d-%H%M%S')}")
    result = run_bench(
        sizes,
        out,
        corpus=args.corpus,
        queries=args.queries,
        real_encoder=getattr(args, "real_encoder", True),
        store=getattr(args, "store", None),
    )
    print(report.format_table(result))
    print(f"\nSkrev {out / 'bench.json'} och {out / 'table.md'}")
    return 0
