"""The FAISS side of the index: choosing, building and searching the vector index.

Below ``EXACT_LIMIT`` passages the index is exact (``IndexFlatIP``). Above it, an
inverted file with 8-bit scalar quantisation (``IVF<nlist>,SQ8``): a quarter of the
memory of a flat index, a build of a minute or two for a million vectors on two cores
(an HNSW graph takes over ten), and recall@10 against exact search measured by
``fraga bench``.

Adding a document (``fraga.index.append``) does not rewrite ``dense.faiss``: the new
generation hard-links it and writes the document's vectors into ``dense_added/NNNNNN.npy``
(listed in the manifest's ``faiss.added``; after ``ADDED_LIMIT`` files they are merged
into one). Loading adds them to the index read from ``dense.faiss``, in order, as the append
added them in memory (an IVF index puts them in its trained lists), so search sees one
index over every row.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import faiss

logger = logging.getLogger(__name__)

KINDS = ("flat", "ivf", "hnsw")
# Exact search below this many passages; approximate (IVF) above.
EXACT_LIMIT = 150_000
IVF_NPROBE = 32  # lists visited per query (recall@10 >= 0.95 at 1M passages, see fraga bench)
IVF_MAX_NPROBE = 256  # ceiling when a filter leaves few rows in each list
IVF_TRAIN_PER_LIST = 64  # training vectors per list (FAISS warns below 39)
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
ADDED_FOLDER = "dense_added"
ADDED_LIMIT = 16  # files of added vectors before an append merges them into one


def choose_kind(n: int) -> str:
    """ "flat" (exact inner product) for small collections, "ivf" for large ones."""
    return "flat" if n < EXACT_LIMIT else "ivf"


def ivf_lists(n: int) -> int:
    """The number of IVF lists for ``n`` vectors: a power of two near 2·√n (2048 for a million)."""
    return max(16, 2 ** round(math.log2(max(2.0 * math.sqrt(max(n, 1)), 1.0))))


def kind_of(index: faiss.Index) -> str:
    """ "flat", "ivf" or "hnsw": the kind of a built or loaded index."""
    if hasattr(index, "hnsw"):
        return "hnsw"
    if hasattr(index, "nprobe"):
        return "ivf"
    return "flat"


def build_faiss(vectors: np.ndarray, *, kind: str | None = None, seed: int = 0) -> faiss.Index:
    """A FAISS inner-product index over L2-normalised ``vectors`` (cosine similarity).

    Args:
        vectors: (n, dim) float32, L2-normalised.
        kind: "flat", "ivf" or "hnsw". Defaults to :func:`choose_kind` of n.
        seed: Seed of the IVF training sample. Defaults to 0.
    """
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    kind = kind or choose_kind(n)
    index: Any  # faiss' stubs know little of its index classes
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif kind == "ivf":
        nlist = ivf_lists(n)
        if n < nlist * 39:
            raise ValueError(f"an IVF index of {nlist} lists needs at least {nlist * 39} vectors, got {n}; use kind='flat'")
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        sample = min(n, nlist * IVF_TRAIN_PER_LIST)
        rows = np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))
        index.train(vectors[rows])
        index.nprobe = IVF_NPROBE
    else:
        raise ValueError(f"unknown FAISS index kind {kind!r}; use one of {', '.join(KINDS)}")
    if n:
        index.add(vectors)
    return index


def save_faiss(index: faiss.Index, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load_faiss(path: Path, *, mmap: bool = False) -> faiss.Index:
    import faiss

    flags = faiss.IO_FLAG_MMAP if mmap else 0
    index = faiss.read_index(str(path), flags)
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif hasattr(index, "nprobe"):
        index.nprobe = IVF_NPROBE
    return index


def write_added(folder: Path, previous: Path, added: Sequence[str], vectors: np.ndarray) -> list[str]:
    """Put the added-vector files of a new generation into ``folder``: ``previous``'s files
    ``added`` (hard-linked; merged into one when there are ``ADDED_LIMIT``), then ``vectors`` in a
    new file. Returns the new generation's list (paths relative to ``folder``)."""
    (folder / ADDED_FOLDER).mkdir(exist_ok=True)
    numbers = [int(Path(rel).stem) for rel in added]
    new_name = lambda: f"{ADDED_FOLDER}/{max(numbers, default=0) + 1:06d}.npy"  # noqa: E731
    out: list[str] = []
    if len(added) + 1 > ADDED_LIMIT:
        merged = np.concatenate([np.load(previous / rel, allow_pickle=False) for rel in added])
        out.append(new_name())
        numbers.append(int(Path(out[-1]).stem))
        np.save(folder / out[-1], merged, allow_pickle=False)
    else:
        for rel in added:
            try:
                os.link(previous / rel, folder / rel)
            except OSError:
                shutil.copyfile(previous / rel, folder / rel)
            out.append(rel)
    out.append(new_name())
    np.save(folder / out[-1], np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    return out


def add_saved(index: faiss.Index, folder: Path, added: Sequence[str]) -> None:
    """Add the vectors of ``folder``'s added-vector files ``added`` to ``index``, in order."""
    for rel in added:
        vectors = np.load(folder / rel, allow_pickle=False)
        if vectors.ndim != 2 or vectors.shape[1] != index.d:
            raise ValueError(f"{rel}: vectors of shape {vectors.shape}, the index has dimension {index.d}")
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))


def all_vectors(index: faiss.Index) -> np.ndarray:
    """Every stored vector, in row order (for reuse when re-indexing).

    For an IVF index the vectors are decoded from 8 bits per dimension, so they are
    close to, not equal to, the vectors that were added.
    """
    if index.ntotal == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    if hasattr(index, "make_direct_map"):
        index.make_direct_map()
    return index.reconstruct_n(0, index.ntotal)


def _search_params(index: Any, k: int, selector, fraction: float):
    import faiss

    if hasattr(index, "hnsw"):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))  # type: ignore[attr-defined]
    if hasattr(index, "nprobe"):
        # A filter that keeps a share f of the rows leaves about f of each list: visit more lists.
        nprobe = min(index.nlist, IVF_MAX_NPROBE, max(index.nprobe, math.ceil(index.nprobe / max(fraction, 1e-6))))
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)  # type: ignore[call-arg]
    return faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]


def search(index: faiss.Index, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` rows for ``query``; ``allowed`` is a boolean mask of rows that may be returned.

    Returns:
        (scores, rows), best first, without the -1 padding FAISS uses for missing results.
    """
    import faiss

    n = index.ntotal
    if n == 0 or k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    k = min(k, n)
    q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    params = None
    if allowed is not None:
        allowed = np.asarray(allowed, dtype=bool)
        if len(allowed) != n:  # a mask from before passages were added: those are not allowed
            allowed = np.concatenate([allowed[:n], np.zeros(max(0, n - len(allowed)), dtype=bool)])
        kept = int(np.count_nonzero(allowed))
        if kept == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        k = min(k, kept)
        # A bitmap, not IDSelectorBatch: no hash set to build per query, and one bit test per
        # scanned vector instead of a hash lookup (which costs cache misses in a big process).
        bits = np.packbits(allowed, bitorder="little")
        params = _search_params(index, k, faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits)), kept / n)
    scores, rows = index.search(q, k, params=params) if params is not None else index.search(q, k)
    keep = rows[0] >= 0
    return scores[0][keep], rows[0][keep]
