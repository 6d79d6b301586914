"""The peer in the benchmark: txtai's hybrid index, the one users would otherwise pick.

``txtai.Embeddings(hybrid=True, method="external", transform=...)``: txtai's own BM25
(its default ``terms`` index and tokenizer, which keeps Swedish letters but does not
stem) beside its default FAISS index, fused its default way (a convex combination of
normalised scores). The vectors are the benchmark's: the ``external`` method hands
every batch txtai asks to encode to a transform function, which returns the synthetic
passage vectors in indexing order and, for a query, the query vector the benchmark set,
after encoding the query text with fraga's real encoder when that is timed (exactly as
``BenchEncoder`` does for fraga). No model is ever loaded or downloaded.

txtai is optional (``pip install txtai``, in the ``bench`` extra): without it the
benchmark reports :data:`INSTALL_HINT` and runs the rest. Content storage is off (as
for the baseline: the engines are compared, not document stores).
"""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from fraga.bench import measure

logger = logging.getLogger(__name__)

INSTALL_HINT = "txtai not measured: install it with `pip install txtai` (part of the `bench` extra) and run again."
DEPTH = 50  # candidates per retriever: txtai's hybrid search asks each for 10 × the limit
LIMIT = 5  # results of a hybrid search, as the baseline's


def available() -> bool:
    """Whether txtai is installed."""
    return importlib.util.find_spec("txtai") is not None


class Feed:
    """What txtai's external transform returns: ``rows`` in order while indexing, then
    ``query`` for every text, after encoding it with ``real`` when ``encode`` is on."""

    def __init__(self, rows: np.ndarray | None = None, real=None) -> None:
        self.rows = rows
        self.cursor = 0
        self.query: np.ndarray | None = None
        self.real = real
        self.encode = False

    def transform(self):
        """A plain function (txtai calls anything else to get one) over this feed."""

        def transform(texts: list[str]) -> np.ndarray:
            if self.rows is not None:
                start, self.cursor = self.cursor, self.cursor + len(texts)
                if self.cursor > len(self.rows):
                    raise RuntimeError(f"txtai asked for {self.cursor} vectors, {len(self.rows)} supplied")
                return self.rows[start : self.cursor]
            if self.query is None:
                raise RuntimeError("no query vector set for txtai")
            if self.encode and self.real is not None:
                for text in texts:
                    self.real.encode_query(text)
            return np.tile(self.query, (len(texts), 1))

        return transform

    def querying(self) -> None:
        """Indexing is over: hand out query vectors from now on."""
        self.rows, self.cursor = None, 0


class TxtaiPeer:
    """A ``txtai.Embeddings`` hybrid index over the benchmark's texts and vectors."""

    def __init__(self, embeddings, feed: Feed) -> None:
        self.embeddings = embeddings
        self.feed = feed

    @staticmethod
    def _config(feed: Feed) -> dict[str, Any]:
        return {"hybrid": True, "method": "external", "transform": feed.transform(), "backend": "faiss"}

    @classmethod
    def build(cls, texts: list[str], vectors: np.ndarray) -> tuple[TxtaiPeer, dict[str, float]]:
        """The index over ``texts`` and their ``vectors`` (row i gets id i), and seconds taken."""
        from txtai import Embeddings

        feed = Feed(np.ascontiguousarray(vectors, dtype=np.float32))
        t0 = time.perf_counter()
        embeddings = Embeddings(cls._config(feed))
        if type(embeddings.model).__name__ != "External":
            raise RuntimeError(f"txtai chose the vector model {type(embeddings.model).__name__}, not the external vectors")
        embeddings.index((i, text, None) for i, text in enumerate(texts))
        seconds = time.perf_counter() - t0
        if feed.cursor != len(texts):
            raise RuntimeError(f"txtai encoded {feed.cursor} of {len(texts)} passages")
        feed.querying()
        return cls(embeddings, feed), {"total": seconds}

    def save(self, folder: Path) -> None:
        self.embeddings.save(str(folder))

    @classmethod
    def load(cls, folder: Path, real=None) -> TxtaiPeer:
        from txtai import Embeddings

        feed = Feed(real=real)
        embeddings = Embeddings().load(str(folder), config={"transform": feed.transform()})
        return cls(embeddings, feed)

    @property
    def components(self) -> str:
        """The FAISS index txtai chose, e.g. "IDMap,Flat" or "IVF1265,Flat", with its nprobe."""
        ann = self.embeddings.ann
        text = str(self.embeddings.config.get("build", {}).get("settings", {}).get("components", "?"))
        return text + (f" nprobe={ann.nprobe()}" if hasattr(ann.backend, "nprobe") else "")

    # Search ------------------------------------------------------------------
    def _set(self, vector: np.ndarray, encode: bool) -> None:
        self.feed.query, self.feed.encode = np.asarray(vector, dtype=np.float32), encode

    def search_hybrid(self, query: str, vector: np.ndarray, *, encode: bool = False, k: int = LIMIT) -> list[tuple[int, float]]:
        """txtai's own hybrid search: BM25 and FAISS, DEPTH candidates each, fused."""
        self._set(vector, encode)
        return self.embeddings.search(query, k)

    def search_dense(self, query: str, vector: np.ndarray, *, encode: bool = False, k: int = DEPTH) -> list[tuple[int, float]]:
        """The dense half of a hybrid search: the query through txtai's vector model, then its FAISS index."""
        self._set(vector, encode)
        return self.embeddings.ann.search(self.embeddings.batchtransform([(None, query, None)]), k)[0]

    def search_bm25(self, query: str, k: int = DEPTH) -> list[tuple[int, float]]:
        """The sparse half of a hybrid search: txtai's BM25 over its terms index."""
        return self.embeddings.scoring.search(query, k)

    def neighbours(self, queries: np.ndarray, k: int) -> np.ndarray:
        """Rows of txtai's dense top ``k`` for each query vector (-1 where fewer)."""
        out = np.full((len(queries), k), -1, dtype=np.int64)
        for i, hits in enumerate(self.embeddings.ann.search(np.ascontiguousarray(queries, dtype=np.float32), k)):
            out[i, : len(hits)] = [row for row, _ in hits]
        return out


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact top-k rows found, over all queries."""
    k = exact.shape[1]
    return sum(len(set(f.tolist()) & set(e.tolist())) for f, e in zip(found, exact)) / (k * len(exact))


def _latency(peer: TxtaiPeer, questions: list[str], qvecs: np.ndarray, n: int, n_enc: int) -> dict[str, Any]:
    q = lambda i: questions[i % len(questions)]  # noqa: E731
    v = lambda i: qvecs[i % len(qvecs)]  # noqa: E731
    out = {
        "bm25": measure.percentiles(measure.time_calls(lambda i: peer.search_bm25(q(i)), n)),
        "dense": measure.percentiles(measure.time_calls(lambda i: peer.search_dense(q(i), v(i)), n)),
        "hybrid": measure.percentiles(measure.time_calls(lambda i: peer.search_hybrid(q(i), v(i)), n)),
    }
    if peer.feed.real is not None:
        out["dense+enc"] = measure.percentiles(measure.time_calls(lambda i: peer.search_dense(q(i), v(i), encode=True), n_enc))
        out["hybrid+enc"] = measure.percentiles(measure.time_calls(lambda i: peer.search_hybrid(q(i), v(i), encode=True), n_enc))
    return out


def bench(
    texts: list[str],
    vectors: np.ndarray,
    questions: list[str],
    qvecs: np.ndarray,
    exact: np.ndarray,
    folder: Path,
    *,
    real=None,
    queries: int,
    encoded_queries: int,
    added: list[str],
) -> dict[str, Any]:
    """Every txtai figure for one collection: build, disk, load (in a fresh process), latency,
    recall of its dense index against ``exact`` and the time to add the passages ``added``
    (upsert and save). ``{"missing": INSTALL_HINT}`` when txtai is not installed."""
    if not available():
        logger.warning(INSTALL_HINT)
        return {"missing": INSTALL_HINT}
    from importlib.metadata import version

    peer, build_s = TxtaiPeer.build(texts, vectors)
    t = time.perf_counter()
    peer.save(folder)
    build_s["save"] = time.perf_counter() - t
    res: dict[str, Any] = {
        "version": version("txtai"),
        "build_s": build_s,
        "disk_bytes": measure.dir_bytes(folder),
    }
    peer.feed.real = real
    res["latency"] = _latency(peer, questions, qvecs, queries, encoded_queries)
    found = peer.neighbours(qvecs, exact.shape[1])
    res["dense_index"] = {"components": peer.components, f"recall@{exact.shape[1]}": recall(found, exact)}
    res["load"] = measure.run_probe("txtai", folder)
    rng = np.random.default_rng(len(texts))
    new = rng.standard_normal((len(added), vectors.shape[1])).astype(np.float32)
    peer.feed.rows, peer.feed.cursor = new / np.linalg.norm(new, axis=1, keepdims=True), 0
    t = time.perf_counter()
    peer.embeddings.upsert((len(texts) + i, text, None) for i, text in enumerate(added))
    t_upsert = time.perf_counter() - t
    peer.save(folder)
    res["add_document"] = {"passages": len(added), "upsert_s": t_upsert, "total_s": time.perf_counter() - t}
    return res


def probe(folder: str) -> dict[str, Any]:
    """Load figures in this (fresh) process: import, load, one hybrid query; for ``fraga.bench.measure``."""
    rss0 = measure.proc_status()
    t0 = time.perf_counter()
    import txtai  # noqa: F401 - its import cost is part of loading

    t1 = time.perf_counter()
    rss_import = measure.proc_status()
    peer = TxtaiPeer.load(Path(folder))
    t2 = time.perf_counter()
    rss_load = measure.proc_status()
    dim = peer.embeddings.ann.backend.d
    peer.search_hybrid("Vem gör polisanmälan när en medarbetare hotas?", np.ones(dim, dtype=np.float32) / np.sqrt(dim))
    t3 = time.perf_counter()
    return {
        "import_s": t1 - t0,
        "load_s": t2 - t1,
        "first_query_s": t3 - t2,
        "rss_start_bytes": rss0,
        "rss_after_import_bytes": rss_import,
        "rss_after_load_bytes": rss_load,
        "rss_serving_bytes": measure.proc_status(),
        "peak_rss_bytes": measure.proc_status("VmHWM"),
    }
