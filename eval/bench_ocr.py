"""Benchmark the OCR repair (fraga.ingest.ocr) on the bundled corpus.

Run: python eval/bench_ocr.py

For each corpus file, with the other files as vocabulary (as ingestion does): whether
it looks damaged, the valid share before/after, the number of changes and the time
taken; a sample of 30 changes on the damaged file; the score on the hand-checked list
(tests/data/ocr_repairs_checked.tsv); and, as a check on unseen text, the clean files
with å/ä/ö stripped and repaired against the other files (right, wrong and missed).
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:
    from fraga.ingest import lexicon as lexicon_module
    from fraga.ingest.ocr import Lexicon, looks_damaged, repair_text
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(ROOT / "src"))
    from fraga.ingest import lexicon as lexicon_module
    from fraga.ingest.ocr import Lexicon, looks_damaged, repair_text

CORPUS = ROOT / "corpus"
CHECKED = ROOT / "tests" / "data" / "ocr_repairs_checked.tsv"
DAMAGED = "norra-innerstaden-2024-06-13-starkt-skydd.txt"
TOKEN_RE = re.compile(r"(?:[^\W_]|&)+")
STRIP = str.maketrans("åäöÅÄÖ", "aaoAAO")


def context(text: str, start: int, end: int, width: int = 30) -> str:
    left = text[max(0, start - width):start].replace("\n", " ")
    right = text[end:end + width].replace("\n", " ")
    return f"...{left}[{text[start:end]}]{right}..."


def checked_score(text: str, repairs: dict[int, str]) -> tuple[int, int, list[str]]:
    right, wrong, problems = 0, 0, []
    for line in CHECKED.read_text(encoding="utf-8").splitlines()[1:]:
        original, expected, ctx = line.split("\t")
        ctx = ctx.replace("\\n", "\n")
        base = text.index(ctx)
        start = next(base + m.start() for m in TOKEN_RE.finditer(ctx) if m.group() == original)
        got = repairs.get(start, original)
        if got == expected:
            right += 1
        else:
            wrong += 1
            problems.append(f"{original} -> {got} (expected {expected})")
    return right, wrong, problems


def main() -> int:
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))}
    t0 = time.perf_counter()
    lexicon_module.load_hunspell()
    print(f"hunspell-sv load (first, in-process cached after): {time.perf_counter() - t0:.3f} s")

    print(f"\n{'file':48} {'damaged':>7} {'before':>7} {'after':>7} {'changes':>7} "
          f"{'lex s':>6} {'repair s':>8}")
    damaged_result = None
    for name, text in texts.items():
        t1 = time.perf_counter()
        lexicon = Lexicon.default([t for n, t in texts.items() if n != name])
        t2 = time.perf_counter()
        result = repair_text(text, lexicon)
        t3 = time.perf_counter()
        print(f"{name:48} {str(looks_damaged(text, lexicon)):>7} {result.valid_before:7.3f} "
              f"{result.valid_after:7.3f} {len(result.repairs):7d} {t2 - t1:6.3f} {t3 - t2:8.3f}")
        if name == DAMAGED:
            damaged_result = result

    if damaged_result is not None:
        text = texts[DAMAGED]
        repairs = damaged_result.repairs
        print(f"\nSample of 30 of {len(repairs)} changes in {DAMAGED}:")
        step = max(1, len(repairs) // 30)
        for r in repairs[::step][:30]:
            print(f"  {r.original:>24} -> {r.replacement:<24} {context(text, r.start, r.end)}")
        right, wrong, problems = checked_score(text, {r.start: r.replacement for r in repairs})
        print(f"\nHand-checked list: {right} right, {wrong} wrong")
        for problem in problems:
            print(f"  {problem}")

    print("\nClean files with å/ä/ö stripped, repaired against the other files:")
    for name, text in texts.items():
        if name == DAMAGED:
            continue
        lexicon = Lexicon.default([t for n, t in texts.items() if n != name])
        stripped = text.translate(STRIP)
        result = repair_text(stripped, lexicon)
        done = {r.start: r.replacement for r in result.repairs}
        wrong = [(stripped[s:s + len(v)], v, text[s:s + len(v)])
                 for s, v in done.items() if text[s:s + len(v)] != v]
        damaged_words = [m for m in TOKEN_RE.finditer(text)
                         if m.group() != stripped[m.start():m.end()]]
        missed = [m.group() for m in damaged_words if m.start() not in done]
        print(f"  {name:46} damaged words {len(damaged_words):4d}, changed {len(done):4d}, "
              f"wrong {len(wrong)}, missed {len(missed)}")
        for original, got, truth in wrong:
            print(f"    wrong: {original} -> {got} (text has {truth})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
