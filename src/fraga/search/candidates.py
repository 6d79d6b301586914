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
    row: int  # the sentence's key in the index (its row in the file index's sentence store)
    start: int  # offsets in the document's display text
    end: int
    text: str
    position: int  # 0 for the first sentence of its passage
    sim: float
    heading_sim: float
    sym_sim: float = 0.0  # cosine with the question encoded as a passage (symmetric)
    next_span: tuple[int, int] | None = None  # the next sentence of the same passage, if any


def _heading_sims(index, hits: Sequence[Hit], qvec: np.ndarray) -> dict[str, float]:
    """The similarity of each distinct section heading of ``hits`` to the question."""
    out: dict[str, float] = {}
    for hit in hits:
        name = hit.chunk.section
        if name not in out:
            vector = index.heading_vector(name)
            out[name] = float(vector @ qvec) if vector is not None else 0.0
    return out


def candidates(index, hits: Sequence[Hit], qvec: np.ndarray, pvec: np.ndarray | None = None) -> list[Candidate]:
    """The sentences of ``hits`` (each once, with the best-ranked passage holding it).

    ``index`` is a file ``Index`` or a ``PgIndex`` (``passage_sentences``, ``heading_vector``);
    ``qvec`` is the question encoded as a query, ``pvec`` as a passage (optional)."""
    headings = _heading_sims(index, hits, qvec)
    seen: set[int] = set()
    out: list[Candidate] = []
    for hit in hits:
        chunk = hit.chunk
        keys, spans, vectors = index.passage_sentences(chunk)
        if not keys:
            continue
        doc = index.documents[chunk.doc_id]
        sims = vectors @ qvec
        syms = vectors @ pvec if pvec is not None else np.zeros(len(keys))
        text = doc.text
        for i, (key, (s, e)) in enumerate(zip(keys, spans)):
            if key in seen:
                continue
            seen.add(key)
            following = spans[i + 1] if i + 1 < len(spans) else None
            out.append(
                Candidate(
                    hit,
                    key,
                    s,
                    e,
                    normalize_space(text[s:e]),
                    i,
                    float(sims[i]),
                    headings[chunk.section],
                    float(syms[i]),
                    following,
                )
            )
    return out
