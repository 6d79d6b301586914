"""Figures for ingestion and query robustness (issue 7): a seeded fuzz campaign.

Run: python eval/fuzz_report.py [--files 2000] [--seed 0]

Prints, for random files (bytes, noisy and mixed-encoding Swedish text, truncated and
bit-flipped PDFs) loaded with fraga.ingest.corpus: how many were indexed, skipped (by reason)
or found duplicate, and any crash; the slowest file; the peak memory of skipping a
200 MB file; and, for hostile questions against an index of the bundled corpus (BM25
only, so no model is needed): the outcome and time of each.
"""
from __future__ import annotations

import collections
import logging
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:
    import fraga  # noqa: F401
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(ROOT / "src"))

import numpy as np

from fraga.index.embed import register_encoder
from fraga.errors import FragaError
from fraga.ingest.corpus import load_corpus
from fraga.text import words

WORDS = ("förvaltningen", "polisanmälan", "hot", "våld", "medarbetare", "socialtjänsten", "skydd", "stöd",
         "chef", "rutin", "arbetsmiljö", "Skarpnäck", "och", "att", "är", "som", "ska", "görs", "åtgärder")
NOISE = "\u200b\u200d\ufeff\u00ad\u202e\u2066\x00\x01\x1b\x7f\x85"


class _HashEncoder:
    """A model-free encoder so the report runs anywhere (the figures are about robustness)."""

    name, dim = "fuzz-hash", 32

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self.encode_query(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        vec = np.full(self.dim, 0.01, dtype=np.float32)
        for word in words(text.lower()):
            vec[hash(word[:4]) % self.dim] += 1.0
        return vec / np.linalg.norm(vec)


def _pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for text in ("Sammanfattning\nFörvaltningen svarar att polisanmälan görs av chef.", "Bakgrund\nHot och våld."):
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def _random_file(rng: random.Random, pdf: bytes) -> tuple[str, str, bytes]:
    """(kind, suffix, content)."""
    text = "\n".join(" ".join(rng.choice(WORDS) for _ in range(9)).capitalize() + "."
                     for _ in range(rng.randint(1, 12)))
    kind = rng.choice(["bytes", "noisy-utf8", "utf16", "mixed", "cp1252", "pdf-cut", "pdf-flip", "empty", "controls"])
    if kind == "bytes":
        return kind, rng.choice([".txt", ".md", ".pdf"]), rng.randbytes(rng.randint(1, 5000))
    if kind == "noisy-utf8":
        chars = list(text)
        for _ in range(len(text) // 50):
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(NOISE))
        return kind, ".txt", "".join(chars).encode("utf-8")
    if kind == "utf16":
        return kind, ".md", text.encode("utf-16")
    if kind == "mixed":
        cut = len(text) // 2
        return kind, ".txt", text[:cut].encode("utf-8") + text[cut:].encode("cp1252")
    if kind == "cp1252":
        return kind, ".txt", text.encode("cp1252")
    if kind == "controls":  # a third of the characters are control characters: binary
        return kind, ".txt", "".join(c + rng.choice("\x00\x01\x02\x1b") for c in text).encode()
    if kind == "empty":
        return kind, rng.choice([".txt", ".pdf"]), b""
    data = bytearray(pdf[:rng.randrange(len(pdf))] if kind == "pdf-cut" else pdf)
    for _ in range(rng.randint(0, 20) if kind == "pdf-cut" else rng.randint(1, 20)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return kind, ".pdf", bytes(data)


def fuzz_files(n: int, seed: int) -> None:
    rng, pdf = random.Random(seed), _pdf()
    outcome: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    slowest = (0.0, "")
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            kind, suffix, data = _random_file(rng, pdf)
            folder = Path(tmp) / f"r{i}"
            folder.mkdir()
            (folder / f"f{suffix}").write_bytes(data)
            (folder / "bra.txt").write_text(f"Dokument {i}: förvaltningen svarar om polisanmälan.", encoding="utf-8")
            started = time.perf_counter()
            try:
                corpus = load_corpus(folder)
            except Exception as exc:  # noqa: BLE001 - this is what the report looks for
                outcome[kind][f"CRASH {type(exc).__name__}"] += 1
                continue
            seconds = time.perf_counter() - started
            slowest = max(slowest, (seconds, f"{kind} ({len(data)} bytes)"))
            skipped = {s.path: s.reason for s in corpus.skipped}
            if f"f{suffix}" in skipped:
                reason = re.sub(r"\(.*|\d+", "", skipped[f"f{suffix}"].split(": ", 1)[1]).strip()
                outcome[kind][f"skipped: {reason}"] += 1
            elif corpus.duplicates:
                outcome[kind]["duplicate"] += 1
            else:
                outcome[kind]["indexed"] += 1
    print(f"## {n} random files (seed {seed})\n")
    for kind, counts in sorted(outcome.items()):
        print(f"{kind:11s} {sum(counts.values()):5d}  " + "; ".join(f"{k} {v}" for k, v in counts.most_common()))
    print(f"\nslowest file: {slowest[0]:.2f} s, {slowest[1]}")


def huge_file() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with open(Path(tmp) / "enorm.txt", "wb") as f:
            f.truncate(200 * 1024 * 1024)
        (Path(tmp) / "bra.txt").write_text("Förvaltningen svarar om polisanmälan.", encoding="utf-8")
        code = ("from fraga.ingest.corpus import load_corpus; import sys; c = load_corpus(sys.argv[1]); "
                "print(c.skipped[0].reason); "
                "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])")
        out = subprocess.run([sys.executable, "-c", code, tmp], capture_output=True, text=True, check=True).stdout
        reason, peak_kb = out.strip().splitlines()
    print(f"\n## 200 MB file\n\n{reason}\npeak memory of the whole process: {int(peak_kb) / 1024:.0f} MB")


def hostile_queries() -> None:
    from fraga.answer.answerer import Answerer
    from fraga.index.build import build_index
    from fraga.index.generation import load_index
    from fraga.search.retrieve import Retriever

    register_encoder("fuzz-hash", _HashEncoder)
    questions = {
        "100,000 chars": "polisanmälan " * 7_700, "punctuation": "?!.,;:()[]", "stop words": "och att det som",
        "emoji": "😀🔥 hot och våld?", "arabic": "ما هي سياسة الإبلاغ؟", "sql": "'; DROP TABLE x; --",
        "regex": ".*(a+)+$", "script": "<script>alert(1)</script>", "link": "[länk](javascript:alert(1))",
        "NUL": "Vem polisanmäler\x00?", "lone surrogate": "Vem polisanmäler \ud800?", "1,999-char word": "a" * 1999,
    }
    with tempfile.TemporaryDirectory() as tmp:
        build_index(ROOT / "corpus", tmp, encoder="fuzz-hash", repair_ocr=False)
        answerer = Answerer(Retriever(load_index(tmp)))
        print("\n## Hostile questions (fuzz-hash encoder)\n")
        for name, question in questions.items():
            started = time.perf_counter()
            try:
                answer = answerer.answer(question)
                answer.question.encode("utf-8")  # what every output does with it
                result = f"answered={answer.answered} {answer.note}"
            except FragaError as exc:
                result = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # noqa: BLE001
                result = f"CRASH {type(exc).__name__}: {exc}"
            print(f"{name:16s} {1000 * (time.perf_counter() - started):8.2f} ms  {result[:110]}")


def main(argv: list[str]) -> int:
    logging.disable(logging.CRITICAL)  # pypdf and fraga log every skipped file
    n = int(argv[argv.index("--files") + 1]) if "--files" in argv else 2000
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 0
    fuzz_files(n, seed)
    huge_file()
    hostile_queries()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
