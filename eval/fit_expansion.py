"""Choose the query-expansion settings (fraga.search.expand) on the dev gold set, with
nested cross-validation: each fold's held-out questions are ranked with the settings that
do best (MRR@10) on the other folds, so the reported gain comes from questions the choice
never saw.

    python eval/fit_expansion.py [--gold eval/gold.jsonl] [--index-dir index] [--mode hybrid]

A question's rank is that of the first passage holding any of its evidence (answerable
questions only; cross-district questions count their first relevant passage, unlike the
per-group figures of ``fraga eval``). The test split (eval/gold_test.jsonl) is refused.
Word vectors are encoded once and shared by all settings.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The settings tried (threshold, top, weight, max_df): three sweeps, each after the one before
# (a coarse one, then towards lower thresholds and higher weights), 75 with expansion off.
SWEEPS = (
    ((0.5, 0.6, 0.7), (1, 3), (0.3, 0.6, 1.0), (0, 2)),
    ((0.45, 0.5, 0.55), (2, 3), (1.0, 1.5), (2, 5)),
    ((0.3, 0.35, 0.4, 0.45), (2, 4), (1.0,), (2, 3)),
)
DEPTH = 10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold.jsonl")
    parser.add_argument("--index-dir", type=Path, default=ROOT / "index")
    parser.add_argument("--mode", default="hybrid")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="only the settings with top 2, weight 1.0, max_df 2")
    args = parser.parse_args(argv)
    if "test" in args.gold.name:
        print("fel: välj inte inställningar på testdelen; använd dev-delen (eval/gold.jsonl)", file=sys.stderr)
        return 2
    import numpy as np

    from fraga.answer.followup import resolve
    from fraga.evaluation.evidence import EvidenceLocator, relevant_group
    from fraga.evaluation.gold import load_gold
    from fraga.index.generation import load_index
    from fraga.logistic import group_folds
    from fraga.search.expand import ExpansionSettings
    from fraga.search.retrieve import Retriever

    index = load_index(args.index_dir)
    if index.vocabulary is None:
        print("fel: indexet saknar ordförråd (vocab/); bygg om med: fraga index", file=sys.stderr)
        return 2
    items = [g for g in load_gold(args.gold) if g.answerable]
    locator = EvidenceLocator(index.documents)
    spans = {g.id: locator.spans(g) for g in items}
    plain = Retriever(index, expansion=ExpansionSettings(False))
    questions = {g.id: resolve(g.question, g.previous, plain.matcher).question for g in items}
    vectors: dict[str, np.ndarray] = {}

    def encode(words: list[str]) -> np.ndarray:
        new = [w for w in words if w not in vectors]
        if new:
            vectors.update(zip(new, index.encoder.encode_passages(new)))
        return np.array([vectors[w] for w in words])

    def ranks(settings: ExpansionSettings) -> dict[str, int]:
        retriever = Retriever(index, expansion=settings)
        if retriever.expander is not None:
            retriever.expander.encode = encode
        out = {}
        for g in items:
            out[g.id] = DEPTH + 1
            for hit in retriever.search(questions[g.id], k=DEPTH, mode=args.mode).hits:
                c = hit.chunk
                if relevant_group(spans[g.id], c.doc_id, c.start, c.end) is not None:
                    out[g.id] = hit.rank
                    break
        return out

    def stats(run: dict[str, int], ids: list[str]) -> dict[str, float]:
        a = np.array([run[i] for i in ids])
        mrr = float(np.where(a <= DEPTH, 1 / a, 0).mean())
        return {"R@1": float((a <= 1).mean()), "R@5": float((a <= 5).mean()), "MRR@10": mrr}

    combos = sorted({c for sweep in SWEEPS for c in itertools.product(*sweep)})
    if args.quick:
        combos = [c for c in combos if c[1:] == (2, 1.0, 2)]
    grid = [ExpansionSettings(False)] + [ExpansionSettings(True, t, m, w, d) for t, m, w, d in combos]
    t0 = time.perf_counter()
    runs = [ranks(s) for s in grid]
    ids = [g.id for g in items]
    for s, run in zip(grid, runs):
        label = "av" if not s.enabled else f"tröskel {s.threshold} top {s.top} vikt {s.weight} max_df {s.max_df}"
        print(label, {k: round(v, 3) for k, v in stats(run, ids).items()})
    oof: dict[str, int] = {}
    for test in group_folds(ids, args.folds, seed=0):
        held = {ids[i] for i in test}
        train = [i for i in ids if i not in held]
        best = max(range(len(grid)), key=lambda n: (stats(runs[n], train)["MRR@10"], -n))
        print(f"del: {grid[best]}")
        oof.update({i: runs[best][i] for i in held})
    kinds = {g.id: g.kind for g in items}
    for name, subset in (("alla", ids), ("paraphrase", [i for i in ids if kinds[i] == "paraphrase"])):
        cv = {k: round(v, 3) for k, v in stats(oof, subset).items()}
        off = {k: round(v, 3) for k, v in stats(runs[0], subset).items()}
        print(f"{name}: korsvaliderat {cv}, utan expansion {off}")
    print(f"{len(grid)} inställningar, {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
