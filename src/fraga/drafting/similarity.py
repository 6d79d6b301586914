"""How alike two questions are, and how much of a question a passage covers.

Question-to-question similarity mixes a dense score (the index's encoder, both sides
encoded as queries) with IDF-weighted overlap of folded stems. District names are
taken out of both sides first: "Har Hägersten-Älvsjö en …" and "Har Skarpnäcks
stadsdelsnämnd en …" are the same question.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import numpy as np

from fraga.districts import KNOWN_DISTRICTS, DistrictMatcher
from fraga.answer.overlap import shares_part
from fraga.text import fold, normalize_space, words

if TYPE_CHECKING:
    from fraga.index.kinds import AnyIndex

logger = logging.getLogger(__name__)

# Words that name the setting, not the content, of a question.
_GENERIC = {
    "stadsdel",
    "stadsdelen",
    "stadsdelens",
    "stadsdelar",
    "stadsdelarna",
    "stadsdelsnamnd",
    "stadsdelsnamnden",
    "stadsdelsnamndens",
    "stadsdelsforvaltning",
    "stadsdelsforvaltningen",
    "stadsdelsforvaltningens",
    "forvaltning",
    "forvaltningen",
    "forvaltningens",
    "namnden",
    "namndens",
}
_NUMBER_RE = re.compile(r"^\s*\(?\d{1,2}\s*[.):]\)?\s*")
_PREPOSITION_RE = re.compile(r"\b(?:i|inom|på|pa|för|for)\s*$", re.IGNORECASE)


def scale(value: float, floor: float, ceiling: float) -> float:
    """``value`` mapped linearly from [floor, ceiling] to [0, 1], clipped."""
    if ceiling <= floor:
        return 1.0 if value >= ceiling else 0.0
    return min(1.0, max(0.0, (value - floor) / (ceiling - floor)))


class QuestionSimilarity:
    """Scores questions against each other and against passages, over one index.

    Args:
        index: The loaded index (its BM25 statistics and encoder are used).
        districts: District names to take out of questions. Defaults to Stockholm's
            districts plus the index's.
        use_dense: Whether to use the encoder. Defaults to True.
    """

    def __init__(self, index: AnyIndex, *, districts: tuple[str, ...] | None = None, use_dense: bool = True) -> None:
        self.index = index
        self.analyzer = index.bm25.analyzer
        names = districts if districts is not None else tuple(KNOWN_DISTRICTS) + tuple(index.districts())
        self.matcher = DistrictMatcher(names)
        self.use_dense = use_dense
        self._idf: dict[str, float] = {}
        self._vectors: dict[str, np.ndarray] = {}

    # Text --------------------------------------------------------------------
    def neutral(self, question: str) -> str:
        """``question`` without its numbering and without district names (and "i" before them)."""
        text = _NUMBER_RE.sub("", normalize_space(question))
        folded = fold(text)
        if len(folded) != len(text):  # offsets would not line up; work on the folded text
            text = folded
        for mention in reversed(self.matcher.find(text)):
            head = _PREPOSITION_RE.sub("", text[: mention.start])
            text = head.rstrip() + " " + text[mention.end :].lstrip()
        return normalize_space(text)

    def idf(self, term: str) -> float:
        """IDF of a BM25 term in the index (``Bm25Index.idf``), cached."""
        cached = self._idf.get(term)
        if cached is None:
            cached = self._idf[term] = self.index.bm25.idf(term)
        return cached

    def term(self, word: str) -> str:
        """The folded stem of ``word`` ("~polisanmal"): OCR'd and correct spellings meet; "" for stop words
        (``Analyzer.term``)."""
        return self.analyzer.term(word)

    def terms(self, text: str) -> dict[str, float]:
        """Folded stems of the content words of ``text``, with IDF weights."""
        out: dict[str, float] = {}
        for word in self.analyzer.content_words(text):
            if fold(word) in _GENERIC:
                continue
            term = self.term(word)
            if term:
                out[term] = self.idf(term)
        return out

    # Scores ------------------------------------------------------------------
    def lexical(self, a: str, b: str) -> float:
        """Weighted Dice overlap of the content terms of two questions (0..1)."""
        ta, tb = self.terms(a), self.terms(b)
        total = sum(ta.values()) + sum(tb.values())
        if not total:
            return 0.0
        shared = 0.0
        for term, weight in ta.items():
            if term in tb:
                shared += weight + tb[term]
            else:
                part = max((w for t, w in tb.items() if shares_part(term, t)), default=0.0)
                if part:
                    shared += 0.6 * (weight + part)  # "säkerhetssamordnare" ~ "samordnare"
        return min(1.0, shared / total)

    def coverage(self, question: str, passage: str) -> float:
        """Share of the question's weighted content terms that occur in ``passage`` (0..1)."""
        q_terms = self.terms(question)
        total = sum(q_terms.values())
        if not total:
            return 0.0
        p_terms = {self.term(w) for w in words(passage)} - {""}
        got = 0.0
        for term, weight in q_terms.items():
            if term in p_terms:
                got += weight
            elif any(shares_part(term, t) for t in p_terms):
                got += 0.6 * weight
        return got / total

    def vector(self, text: str) -> np.ndarray:
        vec = self._vectors.get(text)
        if vec is None:
            vec = np.asarray(self.index.encoder.encode_query(text), dtype=np.float32).reshape(-1)
            self._vectors[text] = vec
        return vec

    def dense(self, a: str, b: str) -> float:
        """Cosine similarity of two questions, both encoded as queries (0 when dense is off)."""
        if not self.use_dense:
            return 0.0
        return float(self.vector(a) @ self.vector(b))
