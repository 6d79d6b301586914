"""Time ``add_document`` by stage on a synthetic index, and query latency before and after.

Run:
    python eval/bench_add.py build 1000000 /tmp/segbench/idx-1000000
    python eval/bench_add.py add /tmp/segbench/idx-1000000 --runs 3 [--queries 60] [--sources 40000] [--json FILE]

``build`` writes a synthetic index as ``fraga bench`` does (``fraga.bench.synth`` passages of the
bundled corpus's sentences, random vectors, ``fraga.index.bulk.write_index``). ``add`` makes a
hard-linked copy of it (``cp -al``; an add never changes a file in place), loads it, times bm25
and hybrid queries (p50/p95, random query vectors, no query encoding), adds ``--runs`` synthetic
documents one after the other with random passage vectors (encoding excluded, as ``fraga bench``
does), then times the queries again. ``--sources N`` first gives the copy N stored source
files, as an index built from a corpus folder has one per document. Each add's seconds are given by stage: the ``AddReport``'s
stages, and within them the functions ``fraga.index.append`` calls (wrapped with timers, so the
same script measures an older ``append.py``). The load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def build(n: int, folder: Path) -> None:
    from fraga.bench import synth
    from fraga.bench.encoders import NAME
    from fraga.index.bulk import EncoderInfo, write_index

    t = time.perf_counter()
    sentences = synth.source_sentences(ROOT / "corpus")
    coll = synth.make_collection(n, sentences, seed=n)
    vectors = synth.make_vectors(coll.doc_of_row, seed=n)
    report = write_index(
        folder,
        coll.documents,
        coll.chunks,
        vectors,
        encoder=EncoderInfo(NAME, synth.DIM),
        sentences=synth.sentence_vectors(coll, seed=n),
    )
    print(json.dumps({"passages": n, "faiss": report.faiss_kind, "seconds": report.seconds, "total_s": time.perf_counter() - t}))


def _timers(stages: dict[str, float]):
    """Wrap the functions ``fraga.index.append`` calls with timers adding to ``stages``."""
    from fraga.index import append
    from fraga.index import dense as dense_mod
    from fraga.index.lexical import Bm25Index

    def wrap(owner, name: str, label: str) -> None:
        fn = getattr(owner, name, None)
        if fn is None:
            return

        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                stages[label] += time.perf_counter() - t

        setattr(owner, name, timed)

    for name in ("write_store", "write_sentences", "file_table", "publish_generation", "remove_old_generations"):
        wrap(append, name, name)
    wrap(dense_mod, "save_faiss", "save_faiss")
    for name in ("save", "append", "appended", "load"):
        if name in Bm25Index.__dict__:
            wrap(Bm25Index, name, "bm25." + name)


def _latency(index, questions: list[str], n: int) -> dict[str, dict[str, float]]:
    from fraga.bench import measure
    from fraga.bench.encoders import register_bench_encoder
    from fraga.bench.synth import DIM
    from fraga.search.retrieve import Retriever

    encoder = register_bench_encoder(DIM, real=False)
    rng = np.random.default_rng(5)
    qvecs = rng.standard_normal((n, DIM)).astype(np.float32)
    qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
    retriever = Retriever(index)

    def search(mode: str):
        def run(i: int) -> None:
            encoder.vector, encoder.encode = qvecs[i % n], False
            retriever.clear_cache()
            retriever.search(questions[i % len(questions)], mode=mode)

        return run

    return {mode: measure.percentiles(measure.time_calls(search(mode), n)) for mode in ("bm25", "hybrid")}


def _fake_sources(index_dir: Path, n: int) -> None:
    """Give the current generation ``n`` stored source files (3 kB each, in its manifest), as an
    index built from a corpus folder has one per document; the synthetic one has none."""
    gen = index_dir / (index_dir / "CURRENT").read_text().strip()
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    (gen / "sources").mkdir(exist_ok=True)
    for i in range(n):
        (gen / "sources" / f"{i}.txt").write_bytes(b"x" * 3000)
        manifest["files"][f"sources/{i}.txt"] = {"sha256": None, "bytes": 3000}
    (gen / "manifest.json").unlink()  # a hard link to the original's: replace, not rewrite
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    os.sync()


def add(folder: Path, runs: int, queries: int, sources: int = 0) -> dict:
    from fraga.bench import synth
    from fraga.bench.encoders import register_bench_encoder
    from fraga.index.append import add_document
    from fraga.index.generation import load_index

    work = folder.with_name(folder.name + ".run")
    shutil.rmtree(work, ignore_errors=True)
    subprocess.run(["cp", "-al", str(folder), str(work)], check=True)
    try:
        if sources:
            _fake_sources(work, sources)
        encoder = register_bench_encoder(synth.DIM, real=False)
        encoder.encode = False
        t = time.perf_counter()
        index = load_index(work, verify=False)
        load_s = time.perf_counter() - t
        questions = [
            json.loads(line)["question"]
            for line in (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        before = _latency(index, questions, queries) if queries else {}
        sentences = synth.source_sentences(ROOT / "corpus")
        docs = synth.make_collection(max(75, 25 * runs), sentences, seed=len(index.chunks) + 1).documents
        out = []
        for r in range(runs):
            STAGES.clear()
            new = replace(docs[r], doc_id=f"syn-added-{r}", path=f"syn-added-{r}.txt")
            load = os.getloadavg()[0]
            added = add_document(index, new, encoder=encoder)
            out.append(
                {
                    "passages": added.chunks,
                    "seconds": {k: round(v, 4) for k, v in added.seconds.items()},
                    "inner": {k: round(v, 4) for k, v in STAGES.items()},
                    "load_average": round(load, 2),
                }
            )
        after = _latency(index, questions, queries) if queries else {}
        t = time.perf_counter()
        load_index(work, verify=False)
        reload_s = time.perf_counter() - t
        return {
            "passages": len(index.chunks),
            "source_files": sources,
            "load_s": round(load_s, 2),
            "reload_after_adds_s": round(reload_s, 2),
            "adds": out,
            "latency_before": before,
            "latency_after": after,
            "load_average": os.getloadavg(),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


STAGES: dict[str, float] = defaultdict(float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("n", type=int)
    b.add_argument("folder", type=Path)
    a = sub.add_parser("add")
    a.add_argument("folder", type=Path)
    a.add_argument("--runs", type=int, default=3)
    a.add_argument("--queries", type=int, default=60)
    a.add_argument("--json", type=Path)
    a.add_argument("--sources", type=int, default=0, help="stored source files to give the index first (one per document)")
    args = parser.parse_args()
    if args.command == "build":
        build(args.n, args.folder)
        return
    _timers(STAGES)
    result = add(args.folder, args.runs, args.queries, args.sources)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
