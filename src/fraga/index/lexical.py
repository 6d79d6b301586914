"""BM25 for Swedish: Snowball stemming, stop words and diacritic-free matching (bm25s engine)."""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fraga.index import bm25segments, pruning
from fraga.index.bm25segments import Segment
from fraga.index.postings import Postings, sum_columns
from fraga.index.pruning import DEFAULT_PRUNING, PruneSettings
from fraga.ingest.lexicon import MAX_COMPOUND_LEN
from fraga.text import fold, words

logger = logging.getLogger(__name__)

FOLD_PREFIX = "~"


def _bm25s():
    """Import bm25s, undoing the DEBUG level it sets on its own logger at import time."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


@dataclass(frozen=True, slots=True)
class AnalyzerSettings:
    """Tokenizer settings, saved in the index manifest."""

    language: str = "swedish"
    stopwords: str = "sv"
    fold_stream: bool = True  # also index a diacritic-free stream, prefixed "~"
    strip_an: bool = True  # "polisanmälan" -> "polisanmäl" before stemming
    decompound: bool = True  # also index the parts of compounds: "säkerhetssamordnare" -> "samordn"
    min_len: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


class Analyzer:
    """Turns text into BM25 tokens.

    Each word yields its stem ("polisanmäler" -> "polisanmäl") and, when
    ``fold_stream`` is on, a folded stem prefixed with "~" ("~polisanmal"), so a query
    without diacritics ("polisanmaler") or an OCR'd document ("polisanmaélas") still
    matches, while a correctly spelled query scores exact matches higher (they match
    both streams): "får" is not "far".
    """

    def __init__(self, settings: AnalyzerSettings | None = None) -> None:
        import Stemmer

        STOPWORDS_SWEDISH = _bm25s().stopwords.STOPWORDS_SWEDISH  # noqa: N806

        self.settings = settings or AnalyzerSettings()
        self._stemmer = Stemmer.Stemmer(self.settings.language)
        self._stop = {w.lower() for w in STOPWORDS_SWEDISH} if self.settings.stopwords == "sv" else set()
        self._stop_folded = {fold(w) for w in self._stop}
        self._cache: dict[str, tuple[str, ...]] = {}
        self._hunspell = None
        if self.settings.decompound:
            from fraga.ingest.lexicon import LexiconNotFoundError, load_hunspell

            try:
                self._hunspell = load_hunspell()
            except LexiconNotFoundError as exc:  # fall back to whole words only
                logger.warning("no Swedish dictionary for decompounding (%s)", exc)

    def is_stopword(self, word: str) -> bool:
        low = word.lower()
        return low in self._stop or (low == fold(low) and low in self._stop_folded)

    def stem(self, word: str) -> str:
        low = word.lower()
        if self.settings.strip_an and len(low) >= 7 and low.endswith("an"):
            low = low[:-2]
        return self._stemmer.stemWord(low)

    def word_tokens(self, word: str) -> tuple[str, ...]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        if len(word) < self.settings.min_len or self.is_stopword(word):
            out: tuple[str, ...] = ()
        else:
            exact = self.stem(word)
            if self.settings.fold_stream:
                out = (exact, self.fold_token(word))
            else:
                out = (exact,)
            out = out + self._parts(word, exact)
        if len(self._cache) < 200_000:
            self._cache[word] = out
        return out

    def keys(self, word: str) -> tuple[str, frozenset[str]]:
        """Diacritic-free stem of ``word`` and of its compound parts, for matching words.

        ("", frozenset()) for stop words. "Säkerhetssamordnare" -> ("sakerhetssamordn",
        {"sakerhet", "samordn"}).
        """
        tokens = self.word_tokens(word)
        if not tokens:
            return "", frozenset()
        n_main = 2 if self.settings.fold_stream else 1
        return fold(tokens[0]), frozenset(fold(t) for t in tokens[n_main:])

    def fold_token(self, word: str) -> str:
        """The diacritic-free BM25 token of ``word`` ("~polisanmal"), as the index stores it.

        The one place that makes it: the stem of the folded word, which is not always the
        folded stem ("hemlös" -> "~hemlo", where fold(stem) would give "hemlos").
        """
        return FOLD_PREFIX + self.stem(fold(word))

    def term(self, word: str) -> str:
        """The BM25 token that stands for ``word`` when spellings must meet: its diacritic-free
        token ("~polisanmal"; its stem when the index has no diacritic-free stream); "" for stop words.
        Its IDF is ``Bm25Index.idf(term)``."""
        if len(word) < self.settings.min_len or self.is_stopword(word):
            return ""
        return self.fold_token(word) if self.settings.fold_stream else self.stem(word)

    def exact_key(self, word: str) -> str:
        """The stem of ``word`` with its diacritics ("" for stop words)."""
        tokens = self.word_tokens(word)
        return tokens[0] if tokens else ""

    def _parts(self, word: str, exact: str) -> tuple[str, ...]:
        """Stems of a compound's parts ("säkerhetssamordnare" -> "säkerhet", "samordn")."""
        # Real compounds are short enough; a 300,000-letter "word" (broken text) would
        # cost the splitter quadratic time and memory.
        if self._hunspell is None or not 9 <= len(word) <= MAX_COMPOUND_LEN or not word.isalpha():
            return ()
        parts = self._hunspell.split(word.lower())
        if not parts:
            return ()
        stems = []
        for part in parts:
            stem = self.stem(part)
            if len(stem) >= 3 and stem != exact and not self.is_stopword(part):
                stems.append(stem)
        return tuple(dict.fromkeys(stems))

    def tokens(self, text: str) -> list[str]:
        """BM25 tokens of ``text``."""
        out: list[str] = []
        for word in words(text):
            for part in _split_hyphen(word):
                out.extend(self.word_tokens(part))
        return out

    def content_words(self, text: str) -> list[str]:
        """Words of ``text`` that are not stop words (for answer scoring and highlighting)."""
        return [w for w in words(text) if not self.is_stopword(w)]


def bare(token: str) -> str:
    """``token`` without the diacritic-free stream's prefix ("~polisanmal" -> "polisanmal")."""
    return token.removeprefix(FOLD_PREFIX)


def _split_hyphen(word: str) -> list[str]:
    if "-" not in word:
        return [word]
    parts = [p for p in word.split("-") if p]
    return [word.replace("-", "")] + parts


def _idf(num_docs: int, df: int) -> float:
    """Lucene's BM25 IDF, as bm25s computes it: log(1 + (N - df + 0.5) / (df + 0.5))."""
    return math.log(1 + (num_docs - df + 0.5) / (df + 0.5))


class Bm25Index:
    """A bm25s index over passage texts, saved as plain files, plus appended segments.

    The only module that touches bm25s' internals (its CSC score matrix, one column per
    term, one row per passage): other modules ask this class for document frequencies,
    IDFs, scores, or for a copy with passages appended. Passages appended since the last
    full build are ``segments`` (``fraga.index.bm25segments``, which explains the IDF rule),
    rows after the base matrix's.
    """

    def __init__(
        self,
        retriever,
        analyzer: Analyzer,
        segments: Sequence[Segment] = (),
        *,
        doc_freq: np.ndarray | None = None,
        pruned: dict | None = None,
        postings: Postings | None = None,
    ) -> None:
        self._bm25 = retriever
        self.analyzer = analyzer
        self.segments: tuple[Segment, ...] = tuple(segments)
        self._base_docs = int(retriever.scores["num_docs"])
        self._num_docs = self._base_docs + sum(s.rows for s in self.segments)
        # The base matrix's true document frequencies when columns were pruned (None: the
        # column lengths are), and the record of the pruning a new build did, for ``save``.
        self._doc_freq = doc_freq
        self._pruned = pruned
        # Opened once per loaded matrix and shared by its appended copies: the open files keep
        # a generation's postings readable after a newer generation replaced its folder.
        self._postings = postings or Postings(retriever.scores["data"], retriever.scores["indices"])

    @classmethod
    def build(
        cls,
        texts: list[str],
        analyzer: Analyzer,
        *,
        k1: float = 1.2,
        b: float = 0.75,
        prune: PruneSettings = DEFAULT_PRUNING,
    ) -> Bm25Index:
        """Index ``texts``, then prune the columns of very common terms (``fraga.index.pruning``)."""
        bm25s = _bm25s()
        corpus_tokens = [analyzer.tokens(t) or [""] for t in texts]
        retriever = bm25s.BM25(k1=k1, b=b)
        retriever.index(corpus_tokens, show_progress=False)
        m = retriever.scores
        done = pruning.prune_columns(m["data"], m["indptr"], m["indices"], prune.keep(len(texts)))
        if done.columns_pruned == 0:
            return cls(retriever, analyzer)
        logger.info(
            "BM25: %d columns pruned to %d postings (%d -> %d postings)",
            done.columns_pruned,
            prune.keep(len(texts)),
            done.postings_before,
            len(done.data),
        )
        m["data"], m["indptr"], m["indices"] = done.data, done.indptr, done.indices
        return cls(retriever, analyzer, doc_freq=done.doc_freq, pruned=pruning.record(done, prune))

    @property
    def num_docs(self) -> int:
        return self._num_docs

    def _base_df(self, tid: int) -> int:
        if self._doc_freq is not None:
            return int(self._doc_freq[tid])
        indptr = self._bm25.scores["indptr"]
        return int(indptr[tid + 1] - indptr[tid])

    def doc_freq(self, token: str) -> int:
        """How many passages hold ``token`` (an analyzer token, e.g. "~polisanmal")."""
        tid = self._bm25.vocab_dict.get(token)
        base = 0 if tid is None else self._base_df(tid)
        return base + sum(s.doc_freq(token) for s in self.segments)

    def idf(self, token: str) -> float:
        """BM25's IDF of ``token``: log(1 + (N - df + 0.5) / (df + 0.5))."""
        return _idf(self.num_docs, self.doc_freq(token))

    def _rescale(self, token: str, tid: int | None) -> float:
        """The factor turning the base matrix's scores of ``token`` into scores with today's IDF."""
        if not self.segments or tid is None:
            return 1.0
        df = self._base_df(tid)
        return _idf(self.num_docs, self.doc_freq(token)) / _idf(self._base_docs, df)

    @property
    def k1(self) -> float:
        return float(self._bm25.k1)

    @property
    def b(self) -> float:
        return float(self._bm25.b)

    def appended(self, token_lists: list[list[str]], avgdl: float) -> Bm25Index:
        """A copy with ``token_lists`` (analyzer tokens, one list per new passage) as new rows in
        a new segment; Lucene BM25 with average passage length ``avgdl``. After
        ``SEGMENT_LIMIT`` segments they are merged into one. ``self`` is not changed."""
        segs = list(self.segments)
        new = bm25segments.make_segment(bm25segments.next_name(segs), token_lists, k1=self.k1, b=self.b, avgdl=avgdl)
        segs.append(new)
        if len(segs) > bm25segments.SEGMENT_LIMIT:
            segs = [bm25segments.merge(segs, bm25segments.next_name(segs))]
        return Bm25Index(self._bm25, self.analyzer, segs, doc_freq=self._doc_freq, pruned=self._pruned, postings=self._postings)

    def _weighted_ids(self, counts: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        vocab = self._bm25.vocab_dict
        ids, weights = [], []
        for token, w in counts.items():
            tid = vocab.get(token)
            if tid is not None and w != 0:
                ids.append(tid)
                weights.append(w * self._rescale(token, tid))
        return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float32)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for ``query`` (zeros when nothing matches)."""
        tokens = self.analyzer.tokens(query)
        if self.segments:
            counts: dict[str, float] = {t: float(c) for t, c in Counter(tokens).items()}
            ids, weights = self._weighted_ids(counts)
            out = self._column_sum(ids, weights)  # the base matrix's rows come first
            self._add_segments(out, counts)
            return out
        found = self._bm25.get_tokens_ids(tokens)
        if not found:
            return np.zeros(self.num_docs, dtype=np.float32)
        return self._column_sum(np.asarray(found, dtype=np.int64), None)

    def _column_sum(self, ids: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
        """Sum of the base matrix's columns ``ids`` (times ``weights``), one score per passage."""
        indptr = self._bm25.scores["indptr"]
        data, local, indices = self._postings.take([(int(indptr[t]), int(indptr[t + 1])) for t in ids.tolist()])
        return sum_columns(data, local, indices, self.num_docs, np.arange(len(ids), dtype=np.int64), weights)

    def _add_segments(self, scores: np.ndarray, weights: dict[str, float]) -> None:
        offset = self._base_docs
        idf = {token: self.idf(token) for token in weights}
        for seg in self.segments:
            for token, w in weights.items():
                seg.add_into(scores, offset, token, w * idf[token])
            offset += seg.rows

    def add_weighted(self, scores: np.ndarray, weights: dict[str, float]) -> None:
        """Add to ``scores`` (one per passage, in place) the BM25 scores of ``weights``' tokens,
        each times its weight (tokens the index lacks add nothing). A column holds each
        passage once, so one vectorised add per token is exact."""
        indptr = self._bm25.scores["indptr"]
        vocab = self._bm25.vocab_dict
        for token, w in weights.items():
            tid = vocab.get(token)
            if tid is None or w == 0:
                continue
            data, _, indices = self._postings.take([(int(indptr[tid]), int(indptr[tid + 1]))])
            scores[indices] += np.float32(w * self._rescale(token, tid)) * data
        if self.segments:
            self._add_segments(scores, weights)

    def save(self, folder: Path, *, previous: Path | None = None) -> list[str]:
        """Write the index into ``folder``; returns the names of its segments (the manifest's
        ``bm25_segments``). With ``previous``, the folder of the generation this one extends, its
        base matrix and the segments it holds are hard-linked instead of written."""
        folder.mkdir(parents=True, exist_ok=True)
        if previous is None:
            self._bm25.save(str(folder), show_progress=False, allow_pickle=False)
            if self._pruned is not None and self._doc_freq is not None:
                pruning.save(folder, self._doc_freq, self._pruned)
            (folder / "analyzer.json").write_text(json.dumps(self.analyzer.settings.to_dict()), encoding="utf-8")
        else:
            for path in previous.iterdir():  # the base matrix's files (and stats.json)
                if path.is_file():
                    bm25segments.link(path, folder / path.name)
        for seg in self.segments:
            bm25segments.link_or_save(seg, previous, folder)
        return [s.name for s in self.segments]

    @classmethod
    def load(
        cls, folder: Path, *, mmap: bool = False, analyzer: Analyzer | None = None, segments: Sequence[str] = ()
    ) -> Bm25Index:
        """Load a saved index; ``mmap`` maps the score matrix instead of reading it, and
        ``analyzer`` reuses one already built with the same settings (defaults to a new one);
        ``segments`` names the appended segments to load, in order (the manifest's ``bm25_segments``)."""
        bm25s = _bm25s()
        settings = AnalyzerSettings(**json.loads((folder / "analyzer.json").read_text(encoding="utf-8")))
        retriever = bm25s.BM25.load(str(folder), mmap=mmap, allow_pickle=False, show_progress=False)
        retriever.unique_token_ids_set = None  # read only by bm25s' own retrieve, which fraga never calls
        if analyzer is None or analyzer.settings != settings:
            analyzer = Analyzer(settings)
        segs = [bm25segments.load(folder, name) for name in segments]
        return cls(retriever, analyzer, segs, doc_freq=pruning.load_doc_freq(folder))
