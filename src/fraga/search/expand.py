"""Query expansion from the index's own vocabulary: a question word the documents do not
use is matched with the words they do use that the encoder places nearest to it.

"Hur många säkerhetsansvariga har Skarpnäck?" - no passage holds "säkerhetsansvarig", but
the index's vocabulary (``fraga.index.vocab``) holds "säkerhetssamordnare", at cosine 0.88
(centred vectors); BM25 then also scores that word, with a reduced weight. No word list:
the neighbours come from the encoder and the documents.

The question's words that are expanded are its content words of at least
``vocab.MIN_LEN`` letters that BM25 finds in at most ``max_df`` passages (0: words the
index does not have at all, in any spelling). They are encoded in one call (as passages,
like the vocabulary) and cached.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from fraga.index.kinds import TermStats
from fraga.index.vocab import MIN_LEN, Vocabulary
from fraga.text import words

logger = logging.getLogger(__name__)

CACHE_WORDS = 4096


@dataclass(frozen=True, slots=True)
class ExpansionSettings:
    """How question words are expanded. ``enabled`` False: not at all.

    The values were chosen on the dev gold set (``eval/fit_expansion.py``: 74 settings,
    nested 5-fold cross-validation by question; the folds chose threshold 0.3 or 0.35, top
    2, weight 1.0, max_df 2). Cross-validated, hybrid retrieval's first relevant passage at
    rank 1 went from 0.613 to 0.657 of the answerable dev questions (paraphrases 0.448 to
    0.586), R@5 from 0.912 to 0.927, MRR@10 from 0.735 to 0.762. The answers gain less: the
    ranking model picks the right sentence for 0.526 of them without expansion, 0.538 when
    refitted with it and 0.546 when fitted without it and applied with it (5-fold, mean of 5
    seeds: two or three of 122 questions; ``eval/expansion_answers.py``); the refitted model also lost a known answer ("vem
    polisanmäler i Skarpnäck?"). On SweFAQ dev (settings from the gold set) hybrid nDCG@10
    went from 0.783 to 0.779, BM25's from 0.692 to 0.708. It is on by default; the answer model
    was first fitted without it (the best of the three on dev) and, since 2026-12-07, with it,
    as fraga runs; ``FRAGA_EXPAND=0`` turns it off.
    ``fraga eval`` on dev, hybrid, off -> on: R@1 0.566 -> 0.622, nDCG@10 0.783 -> 0.811, answer
    accuracy 0.580 -> 0.588. The test split (looked at once, after the choice): R@1 0.564 -> 0.582,
    R@5 0.891 -> 0.909, nDCG@10 0.778 -> 0.794, answer accuracy 0.515 both.
    """

    enabled: bool = True
    threshold: float = 0.35  # least cosine (centred vectors) of a neighbour
    top: int = 2  # neighbours per word
    weight: float = 1.0  # BM25 weight of a neighbour's terms, times its cosine
    max_df: int = 2  # words in more passages than this are not expanded


DEFAULT_SETTINGS = ExpansionSettings()
ENV = "FRAGA_EXPAND"  # "1"/"on" or "0"/"off": expansion on or off, whatever the default


def default_settings() -> ExpansionSettings:
    """``DEFAULT_SETTINGS``, switched on or off by ``$FRAGA_EXPAND`` when it is set."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in ("1", "on", "true", "yes"):
        return replace(DEFAULT_SETTINGS, enabled=True)
    if value in ("0", "off", "false", "no"):
        return replace(DEFAULT_SETTINGS, enabled=False)
    return DEFAULT_SETTINGS


@dataclass(frozen=True, slots=True)
class Expansion:
    """A question word and one of its neighbours in the index's vocabulary."""

    word: str  # as in the question, lower case
    neighbour: str  # the vocabulary's word
    stem: str  # the neighbour's stem (``Analyzer.exact_key``)
    similarity: float  # cosine of the centred vectors


class QueryExpander:
    """Finds the neighbours of a question's unknown words in an index's vocabulary.

    Args:
        vocab: The index's vocabulary.
        bm25: The index's BM25 (its analyzer and document frequencies).
        encode: Encodes words (as passages, like the vocabulary): ``encoder.encode_passages``.
        settings: Thresholds and weights.
    """

    def __init__(
        self,
        vocab: Vocabulary,
        bm25: TermStats,
        encode: Callable[[list[str]], np.ndarray],
        settings: ExpansionSettings = DEFAULT_SETTINGS,
    ) -> None:
        self.vocab = vocab
        self.bm25 = bm25
        self.analyzer = bm25.analyzer
        self.encode = encode
        self.settings = settings
        self._stem_row = {s: i for i, s in enumerate(vocab.stems)}
        self._cache: dict[str, tuple[Expansion, ...]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget the cached neighbours (benchmarks time the encoding too)."""
        with self._lock:
            self._cache.clear()

    def expandable(self, query: str) -> list[str]:
        """The words of ``query`` to expand (lower case, each once): content words of at
        least ``MIN_LEN`` letters in at most ``max_df`` passages (by their stem, and by their
        diacritic-free form)."""
        out: list[str] = []
        for word in words(query):
            low = word.lower()
            if len(low) < MIN_LEN or not low.isalpha() or self.analyzer.is_stopword(low) or low in out:
                continue
            tokens = self.analyzer.word_tokens(low)
            n_main = 2 if self.analyzer.settings.fold_stream else 1
            if max((self.bm25.doc_freq(t) for t in tokens[:n_main]), default=0) <= self.settings.max_df:
                out.append(low)
        return out

    def expansions(self, query: str) -> tuple[Expansion, ...]:
        """The neighbours of ``query``'s expandable words (none when expansion is off)."""
        if not self.settings.enabled or len(self.vocab) == 0:
            return ()
        todo = self.expandable(query)
        with self._lock:
            new = [w for w in todo if w not in self._cache]
        if new:
            found = self.neighbours(new, self.encode(new))
            with self._lock:
                if len(self._cache) + len(new) > CACHE_WORDS:
                    self._cache.clear()
                self._cache.update(found)
                cached = {w: self._cache.get(w, found.get(w, ())) for w in todo}
        else:
            with self._lock:
                cached = {w: self._cache.get(w, ()) for w in todo}
        return tuple(e for w in todo for e in cached[w])

    def neighbours(self, words_: list[str], vectors: np.ndarray) -> dict[str, tuple[Expansion, ...]]:
        """Per word (with its encoder vector): its vocabulary neighbours at or above the
        threshold, at most ``top``, best first, leaving out the word's own stem."""
        s = self.settings
        rows, sims = self.vocab.nearest(vectors, s.top + 1)
        out: dict[str, tuple[Expansion, ...]] = {}
        for n, word in enumerate(words_):
            own = self.analyzer.exact_key(word)
            found = []
            for r, sim in zip(rows[n].tolist(), sims[n].tolist()):
                if sim < s.threshold or self.vocab.stems[r] == own:
                    continue
                found.append(Expansion(word, self.vocab.words[r], self.vocab.stems[r], float(sim)))
            out[word] = tuple(found[: s.top])
        return out

    def bm25_weights(self, expansions: tuple[Expansion, ...]) -> dict[str, float]:
        """BM25 tokens of the neighbours (stem, and diacritic-free form) with their weights:
        ``weight`` times the cosine, the highest when two words lead to one token."""
        out: dict[str, float] = {}
        n_main = 2 if self.analyzer.settings.fold_stream else 1
        for e in expansions:
            w = self.settings.weight * e.similarity
            for token in self.analyzer.word_tokens(e.neighbour)[:n_main]:
                if w > out.get(token, 0.0):
                    out[token] = w
        return out
