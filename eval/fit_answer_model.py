"""Fit fraga's answer model on the dev gold set, with cross-validation, and ship it.

    python eval/fit_answer_model.py [--gold eval/gold.jsonl] [--index-dir DIR] [--out FILE]

Builds the bundled corpus's index with the default encoder when ``--index-dir`` has none,
collects the candidate sentences of every dev question, reports 5-fold cross-validated
figures (folds by question), fits on all dev questions and writes
``src/fraga/data/answer_model.json``. The test split (eval/gold_test.jsonl) is never read.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold.jsonl")
    parser.add_argument("--index-dir", type=Path, default=ROOT / "eval" / "reports" / "fit-index")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "src" / "fraga" / "data" / "answer_model.json")
    parser.add_argument("--l2", type=float, default=1.0)
    args = parser.parse_args(argv)
    if "test" in args.gold.name:
        print("fel: anpassa inte på testdelen; använd dev-delen (eval/gold.jsonl)", file=sys.stderr)
        return 2
    from fraga.evaluation.fit import collect, fit_model
    from fraga.evaluation.gold import load_gold
    from fraga.index.build import build_index
    from fraga.index.generation import load_index
    from fraga.search.expand import default_settings

    if not (args.index_dir / "CURRENT").exists():
        build_index(args.corpus, args.index_dir)
    index = load_index(args.index_dir)
    gold = load_gold(args.gold)
    ts = collect(index, gold)
    model, cv = fit_model(ts, l2=args.l2)
    info = {"fitted": time.strftime("%Y-%m-%d"), "gold": args.gold.name, "questions": len(ts.answerable),
            "rows": int(len(ts.y)), "positives": int(ts.y.sum()), "encoder": index.manifest["encoder"]["name"],
            "l2": args.l2, "expansion": dataclasses.asdict(default_settings()),
            "cv_5fold": {k: round(v, 4) for k, v in cv.items()}}
    model = dataclasses.replace(model, info=info)
    model.save(args.out)
    print(json.dumps(info, ensure_ascii=False, indent=1))
    print(f"Modellen skrevs till {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
