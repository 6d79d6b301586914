"""Does query expansion help the answers? The answer model's ranking part, cross-validated
by question on the dev gold set: fitted on candidate rows collected with expansion off or
on, and applied to rows collected with expansion off or on; the share of answerable
questions whose picked sentence matches the evidence (English questions picked by the
encoder's similarities, as ``Answerer`` does), mean of 5 fold seeds.

    python eval/expansion_answers.py [--gold eval/gold.jsonl] [--index-dir index]

The test split (eval/gold_test.jsonl) is refused.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = 5
FOLDS = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold.jsonl")
    parser.add_argument("--index-dir", type=Path, default=ROOT / "index")
    args = parser.parse_args(argv)
    if "test" in args.gold.name:
        print("fel: använd dev-delen (eval/gold.jsonl), inte testdelen", file=sys.stderr)
        return 2
    import numpy as np

    from fraga.answer.features import FEATURES
    from fraga.evaluation.fit import RANK_L2, collect
    from fraga.evaluation.gold import load_gold
    from fraga.index.generation import load_index
    from fraga.logistic import fit_choice
    from fraga.search.expand import DEFAULT_SETTINGS, ExpansionSettings

    index = load_index(args.index_dir)
    gold = load_gold(args.gold)
    on = dataclasses.replace(DEFAULT_SETTINGS, enabled=True)
    sets = {"av": collect(index, gold, expansion=ExpansionSettings(False)), "på": collect(index, gold, expansion=on)}
    questions = sorted(set(sets["av"].answerable) | set(sets["på"].answerable))
    answerable = [q for q in questions if sets["av"].answerable.get(q, sets["på"].answerable.get(q))]
    rows = {name: {} for name in sets}
    for name, ts in sets.items():
        for i, g in enumerate(ts.groups):
            rows[name].setdefault(g, []).append(i)
    col_sim, col_sym = FEATURES.index("sim"), FEATURES.index("sym")
    for fitted in sets:
        for applied in sets:
            shares = []
            for seed in range(SEEDS):
                order = np.random.default_rng(seed).permutation(len(questions))
                fold = {questions[i]: n % FOLDS for n, i in enumerate(order)}
                right = 0
                for f in range(FOLDS):
                    t = sets[fitted]
                    train = [i for q in questions if fold[q] != f for i in rows[fitted].get(q, [])]
                    model = fit_choice(t.x[train], t.y[train], [t.groups[i] for i in train], FEATURES, l2=RANK_L2)
                    a = sets[applied]
                    for q in answerable:
                        rr = rows[applied].get(q, [])
                        if fold[q] != f or not rr:
                            continue
                        x = a.x[rr]
                        score = x[:, col_sim] + x[:, col_sym] if a.english[q] else model.logit(x)
                        right += int(a.y[rr[int(np.argmax(score))]])
                shares.append(right / len(answerable))
            print(f"anpassad med expansion {fitted}, använd med expansion {applied}: rätt mening först {np.mean(shares):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
