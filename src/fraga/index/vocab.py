"""The index's own vocabulary, encoded: one vector per distinct content word of the passages,
so a question word the documents never use can be matched with the words they do use
(``fraga.search.expand``: "säkerhetsansvarig" -> "säkerhetssamordnare").

A word is a run of at least ``MIN_LEN`` letters that is not a stop word; words with one
stem (``Analyzer.exact_key``) are one entry, represented by their most frequent surface
form, which is what is encoded (e5's "passage: " prefix, as query words are at question
time). At most ``MAX_WORDS`` entries are kept, those in the most passages, so OCR noise
and one-off names do not grow it without bound; an index of more than ``SAMPLE`` passages
is read at an even stride (counting 200,000 passages of 140 words costs about 100 s on two busy cores,
about as much as tokenising them for BM25; the words left out are rare ones).

Vectors are centred on their mean and normalised again when loaded: e5's vectors of
single words all lie in a narrow cone (cosine 0.88-1.0 between unrelated words), and
removing the common direction spreads them (about 0.3 for unrelated words, 0.88 for
"säkerhetsansvarig" / "säkerhetssamordnare").

Stored in a generation's ``vocab/`` folder as plain files (no pickles):

- ``words.json``: {"encoder": name, "words": [...], "stems": [...], "df": [...]};
- ``vectors.npy`` (float16, words x dim): the encoder's vectors as they came.

A rebuild copies the vectors of words the previous generation already had (the word
itself is the content key) and encodes only new ones. Loaded, the vocabulary holds its
centred vectors in float32: 31 MB at the ``MAX_WORDS`` cap with 384 dimensions, which a
question with three unknown words reads once (about 10 ms on two busy cores; 50,000 words
took 25 ms).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from fraga.errors import IndexCorruptError
from fraga.index.lexical import Analyzer
from fraga.text import words

logger = logging.getLogger(__name__)

FOLDER = "vocab"
MIN_LEN = 4  # letters: shorter words are too ambiguous to expand and to expand to
MAX_WORDS = 20_000  # entries kept, by passage frequency
SAMPLE = 200_000  # passages read for the vocabulary at most (every n-th of a larger index)
ENCODE_BATCH = 256


@dataclass(frozen=True)
class Vocabulary:
    """Distinct content words of an index with their encoder vectors (no slots: the centred
    vectors are computed once, on first use)."""

    words: tuple[str, ...]  # the surface form encoded (lower case)
    stems: tuple[str, ...]  # its stem, ``Analyzer.exact_key``
    df: np.ndarray  # (n,) int64: passages holding a word with this stem (of the sample read)
    raw: np.ndarray  # (n, dim): the encoder's vectors
    encoder: str = ""

    def __len__(self) -> int:
        return len(self.words)

    @cached_property
    def mean(self) -> np.ndarray:
        """(dim,) float32: the mean vector, subtracted before comparing."""
        if len(self) == 0:
            return np.zeros(self.raw.shape[1], dtype=np.float32)
        return np.asarray(self.raw, dtype=np.float32).mean(axis=0)

    @cached_property
    def vectors(self) -> np.ndarray:
        """(n, dim) float32: the vectors centred on ``mean`` and normalised again."""
        return self.centre(self.raw)

    def centre(self, vectors: np.ndarray) -> np.ndarray:
        """``vectors`` (encoder output) centred on the vocabulary's mean and normalised again."""
        out = np.asarray(vectors, dtype=np.float32) - self.mean
        return out / np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), 1e-12)

    def nearest(self, vectors: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``m`` entries most similar to each row of ``vectors`` (encoder output), by the
        cosine of the centred vectors: (rows, cosines), both (len(vectors), m), best first."""
        m = min(m, len(self))
        if m <= 0 or len(vectors) == 0:
            return np.zeros((len(vectors), 0), dtype=np.int64), np.zeros((len(vectors), 0), dtype=np.float32)
        sims = self.centre(vectors) @ self.vectors.T
        top = np.argpartition(-sims, m - 1, axis=1)[:, :m]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
        rows = np.take_along_axis(top, order, axis=1)
        return rows, np.take_along_axis(sims, rows, axis=1)


def count_words(texts: Iterable[str], analyzer: Analyzer) -> tuple[dict[str, Counter[str]], Counter[str]]:
    """Per stem: its surface forms (lower case) with their counts, and how many texts hold it."""
    forms: dict[str, Counter[str]] = {}
    df: Counter[str] = Counter()
    known: dict[str, tuple[str, str]] = {}  # word as written -> (stem, lower case); ("", "") when left out
    for text in texts:
        seen: set[str] = set()
        for word in words(text):
            entry = known.get(word)
            if entry is None:
                low = word.lower()
                keep = len(word) >= MIN_LEN and word.isalpha() and not analyzer.is_stopword(word)
                entry = (analyzer.exact_key(low), low) if keep else ("", "")
                if len(known) < 1_000_000:
                    known[word] = entry
            stem, low = entry
            if stem:
                forms.setdefault(stem, Counter())[low] += 1
                seen.add(stem)
        df.update(seen)
    return forms, df


def select_words(forms: dict[str, Counter[str]], df: Counter[str], max_words: int = MAX_WORDS) -> list[tuple[str, str, int]]:
    """(word, stem, df) of the ``max_words`` stems in the most texts (ties by stem), sorted by
    stem; the word is the stem's most frequent form (ties: the alphabetically first)."""
    kept = sorted(df, key=lambda s: (-df[s], s))[:max_words]
    out = []
    for stem in sorted(kept):
        word = min(forms[stem].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        out.append((word, stem, df[stem]))
    return out


def build_vocabulary(
    texts: Sequence[str],
    analyzer: Analyzer,
    encoder,
    *,
    previous: Vocabulary | None = None,
    max_words: int = MAX_WORDS,
) -> tuple[Vocabulary, int]:
    """The vocabulary of ``texts`` encoded with ``encoder`` (``encode_passages``), reusing the
    vectors of ``previous`` (built with the same encoder) for the words it has. Returns
    ``(vocabulary, words encoded)``. Above ``SAMPLE`` texts, every n-th is read (``df``
    then counts texts of that sample)."""
    step = -(-len(texts) // SAMPLE) if len(texts) > SAMPLE else 1
    forms, df = count_words(texts[::step], analyzer)
    entries = select_words(forms, df, max_words)
    raw = np.zeros((len(entries), int(encoder.dim)), dtype=np.float32)
    known: dict[str, int] = {}
    if previous is not None and previous.encoder == encoder.name and previous.raw.shape[1:] == raw.shape[1:]:
        known = {w: i for i, w in enumerate(previous.words)}
    todo = []
    for i, (word, _, _) in enumerate(entries):
        j = known.get(word)
        if j is None:
            todo.append(i)
        else:
            raw[i] = previous.raw[j]  # type: ignore[union-attr]
    for lo in range(0, len(todo), ENCODE_BATCH):
        rows = todo[lo : lo + ENCODE_BATCH]
        raw[rows] = encoder.encode_passages([entries[i][0] for i in rows])
    vocab = Vocabulary(
        tuple(e[0] for e in entries),
        tuple(e[1] for e in entries),
        np.asarray([e[2] for e in entries], dtype=np.int64),
        raw.astype(np.float16),
        str(encoder.name),
    )
    return vocab, len(todo)


def write_vocabulary(folder: Path, vocab: Vocabulary) -> None:
    """Write ``vocab`` into ``folder/vocab/``."""
    d = folder / FOLDER
    d.mkdir(parents=True, exist_ok=True)
    meta = {"encoder": vocab.encoder, "words": list(vocab.words), "stems": list(vocab.stems), "df": vocab.df.tolist()}
    (d / "words.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    np.save(d / "vectors.npy", np.asarray(vocab.raw, dtype=np.float16), allow_pickle=False)


def load_vocabulary(folder: Path) -> Vocabulary | None:
    """The vocabulary in ``folder/vocab/``, or None when the generation has none (built
    before it existed, or by a path that does not write one).

    Raises:
        IndexCorruptError: the files do not fit together.
    """
    d = folder / FOLDER
    if not (d / "words.json").is_file():
        return None
    try:
        meta = json.loads((d / "words.json").read_text(encoding="utf-8"))
        raw = np.load(d / "vectors.npy", allow_pickle=False)
        vocab = Vocabulary(
            tuple(meta["words"]), tuple(meta["stems"]), np.asarray(meta["df"], dtype=np.int64), raw, meta.get("encoder", "")
        )
    except (OSError, ValueError, KeyError) as exc:
        raise IndexCorruptError(f"Ordförrådet i {folder} går inte att läsa ({exc}); bygg om med: fraga index") from exc
    if raw.ndim != 2 or not (len(vocab.stems) == len(vocab.df) == len(raw) == len(vocab)):
        raise IndexCorruptError(f"Ordförrådet i {folder} passar inte ihop; bygg om med: fraga index")
    return vocab
