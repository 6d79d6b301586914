"""How much of a question's vocabulary a sentence holds, weighted by the index's IDF.

The same stem counts 1.0; the same letters but for diacritics 0.7 ("nämns" is not
"namn", but an OCR'd "polisanmalas" is "polisanmälas"); a shared compound part 0.6
("samordnare" ~ "säkerhetssamordnare"). Words that only name the setting (district
names, "stadsdel", "förvaltningen") do not count. With ``expanded``, a term the text
lacks counts ``NEIGHBOUR`` when the text holds one of its neighbours in the index's
vocabulary (``fraga.search.expand``: "säkerhetsansvarig" ~ "säkerhetssamordnare").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fraga.districts import SETTING_WORDS
from fraga.index.kinds import TermStats
from fraga.index.lexical import bare
from fraga.search.expand import Expansion
from fraga.text import fold, words

EXACT, FOLDED, PART = 1.0, 0.7, 0.6
NEIGHBOUR = 0.6  # a neighbour of the term in the index's vocabulary, found instead of it
SHARED_AFFIX = 7  # letters two stems must share at the start or end to count as one compound part


@dataclass(frozen=True, slots=True)
class Term:
    key: str  # diacritic-free stem
    exact: str  # stem with diacritics
    parts: frozenset[str]  # diacritic-free stems of compound parts
    idf: float
    neighbours: frozenset[str] = frozenset()  # stems (with diacritics) of its vocabulary neighbours


@dataclass(frozen=True, slots=True)
class Overlap:
    """Coverage of the question's terms in a text, and the weight of what is missing."""

    coverage: float  # weighted share of the question's terms found (0..1)
    missing_idf: float  # the highest IDF among the terms not found, over the highest IDF of all terms


def shares_part(a: str, b: str, n: int = SHARED_AFFIX) -> bool:
    """Whether two stems share a compound part: a common prefix or suffix of ``n`` letters.

    The one test for it, in answering and in drafting: "~sakerhetssamordn" and "samordn"
    share one; "polisanmal" and "polis" (too short) do not."""
    a, b = bare(a), bare(b)
    if len(a) < n or len(b) < n:
        return False
    return a[:n] == b[:n] or a[-n:] == b[-n:]


class TermMatcher:
    """Question terms with IDF weights from a BM25 index, and their coverage in texts."""

    def __init__(
        self,
        bm25: TermStats,
        ignore: set[str] = frozenset(),  # type: ignore[assignment]
        expand: Callable[[str], tuple[Expansion, ...]] | None = None,
    ) -> None:
        """``ignore``: words that do not count (district names); ``expand``: a question's
        expansions (``Retriever.expansions``), giving terms their ``neighbours``."""
        self.bm25 = bm25
        self.expand = expand
        self.analyzer = bm25.analyzer
        self.ignore = {fold(w) for w in ignore}
        self._idf: dict[str, float] = {}
        self._keys: dict[str, tuple[set[str], set[str], set[str]]] = {}

    def idf(self, word: str) -> float:
        token = self.analyzer.term(word)
        value = self._idf.get(token)
        if value is None:
            value = self._idf[token] = self.bm25.idf(token)
        return value

    def terms(self, question: str) -> list[Term]:
        near: dict[str, set[str]] = {}
        for e in self.expand(question) if self.expand is not None else ():
            near.setdefault(e.word, set()).add(e.stem)
        out: dict[str, Term] = {}
        for word in self.analyzer.content_words(question):
            low = word.lower()
            if low in SETTING_WORDS or fold(low) in self.ignore or fold(low).rstrip("s") in self.ignore:
                continue
            key, parts = self.analyzer.keys(word)
            if key and key not in out:
                neighbours = frozenset(near.get(low, ()))
                out[key] = Term(key, self.analyzer.exact_key(word), parts, self.idf(word), neighbours)
        return list(out.values())

    def knows_any(self, question: str) -> bool:
        """Whether the index holds any word of ``question`` beyond the setting words: the word,
        its diacritic-free form or one of its compound or hyphen parts. Numbers and words of
        one or two letters do not count."""
        for word in self.analyzer.content_words(question):
            low = fold(word.lower())
            if word.lower() in SETTING_WORDS or low in self.ignore or low.rstrip("s") in self.ignore:
                continue
            for token in self.analyzer.tokens(word):
                letters = bare(token)
                if len(letters) >= 3 and letters.isalpha() and self.bm25.doc_freq(token):
                    return True
        return False

    def _text_keys(self, text: str) -> tuple[set[str], set[str], set[str]]:
        cached = self._keys.get(text)
        if cached is not None:
            return cached
        exact: set[str] = set()
        keys: set[str] = set()
        parts: set[str] = set()
        for word in words(text):
            for piece in [word, *word.split("-")] if "-" in word else [word]:
                key, word_parts = self.analyzer.keys(piece)
                if key:
                    keys.add(key)
                    exact.add(self.analyzer.exact_key(piece))
                    parts |= word_parts
        if len(self._keys) > 4_000:  # about 40 asks; each ask reads the keys of ~100 texts
            self._keys.clear()
        self._keys[text] = (exact, keys, parts)
        return exact, keys, parts

    def overlap(self, terms: list[Term], text: str, *, expanded: bool = False) -> Overlap:
        """Coverage of ``terms`` in ``text``; with ``expanded``, a term's vocabulary neighbour
        found in the text counts ``NEIGHBOUR`` (and the term is not missing)."""
        if not terms:
            return Overlap(0.0, 0.0)
        exact, keys, parts = self._text_keys(text)
        got, missing = 0.0, 0.0
        for t in terms:
            if t.exact in exact:
                got += EXACT * t.idf
            elif t.key in keys:
                got += FOLDED * t.idf
            elif (
                t.key in parts
                or t.parts & (keys | parts)
                or (len(t.key) >= SHARED_AFFIX and any(shares_part(t.key, k) for k in keys))
            ):
                got += PART * t.idf
            elif expanded and t.neighbours & exact:
                got += NEIGHBOUR * t.idf
            else:
                missing = max(missing, t.idf)
        total = sum(t.idf for t in terms)
        top = max(t.idf for t in terms)
        return Overlap(got / total if total else 0.0, missing / top if top else 0.0)


def district_words(names: list[str] | tuple[str, ...]) -> set[str]:
    """The words of district names, folded (they name the setting, not what is asked)."""
    return {fold(w) for name in names for w in re.split(r"[\s\-–]+", name) if w}
