"""Candidate sentences of retrieved passages, with their similarity to the question.

Every sentence and section heading was encoded at index time (``fraga.index.sentences``),
so comparing a question with the sentences of the passages it retrieved costs one
``pread`` per passage and a small matrix product, not an encoder call per sentence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fraga.index.generation import Index
from fraga.records import Hit
from fraga.text import normalize_space

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One sentence of a retrieved passage.

    ``sim`` is the cosine of the sentence's vector and the question's, ``heading_sim``
    the cosine of the passage's section heading and the question, ``sym_sim`` the cosine
    of the sentence and the question encoded as a passage too (e5 compares two texts of
    one kind better that way).
    """

    hit: Hit  # the best-ranked passage holding the sentence
    row: int  # sentence row in the index's sentence store
    start: int  # offsets in the document's display text
    end: int
    text: str
    position: int  # 0 for the first sentence of its passage
    sim: float
    heading_sim: float
    sym_sim: float = 0.0  # cosine with the question encoded as a passage (symmetric)


def _heading_sims(index: Index, hits: Sequence[Hit], qvec: np.ndarray) -> dict[str, float]:
    """The similarity of each distinct section heading of ``hits`` to the question."""
    out: dict[str, float] = {}
    section_no = index.columns.section_numbers()
    for hit in hits:
        name = hit.chunk.section
        if name not in out:
            n = section_no.get(name)
            out[name] = float(index.sentences.headings.read(n, n + 1)[0] @ qvec) if n is not None else 0.0
    return out


def candidates(index: Index, hits: Sequence[Hit], qvec: np.ndarray, pvec: np.ndarray | None = None) -> list[Candidate]:
    """The sentences of ``hits`` (each once, with the best-ranked passage holding it).

    ``qvec`` is the question encoded as a query, ``pvec`` as a passage (optional)."""
    store = index.sentences
    headings = _heading_sims(index, hits, qvec)
    seen: set[int] = set()
    out: list[Candidate] = []
    for hit in hits:
        chunk = hit.chunk
        doc = index.documents[chunk.doc_id]
        lo, hi = store.rows(index.columns.doc_pos[chunk.doc_id], chunk.start, chunk.end)
        if hi <= lo:
            continue
        vectors = store.vectors.read(lo, hi)
        sims = vectors @ qvec
        syms = vectors @ pvec if pvec is not None else np.zeros(hi - lo)
        text = doc.text
        for i, (s, e) in enumerate(store.spans(lo, hi)):
            if lo + i in seen:
                continue
            seen.add(lo + i)
            out.append(
                Candidate(
                    hit, lo + i, s, e, normalize_space(text[s:e]), i, float(sims[i]), headings[chunk.section], float(syms[i])
                )
            )
    return out
