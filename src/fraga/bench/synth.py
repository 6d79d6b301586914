"""Synthetic collections for the scale benchmark: passages, documents and vectors.

Passages are recombined sentences of the bundled documents: whole sentences in a
random order, 100–150 words, with about a quarter of the longer words replaced by
compounds of the corpus' own words drawn from a Zipf distribution, so the vocabulary
grows with the collection as a real one does (the four bundled documents alone have
about 1,500 distinct words). Documents get a district, a type, a date (2015–2025) and a
diarienummer, and hold 10–40 passages each.

Vectors are synthetic (encoding a million passages with the default encoder takes
hours on two cores) but have the structure of sentence embeddings: a shared direction
(cosine of unrelated passages about 0.6), a topic per document (256 topics), a direction
per document, and noise per passage, L2-normalised. Query vectors are passage vectors
plus noise, so each query has a true nearest neighbour and a neighbourhood to recall.
Sentence and heading vectors (what answering reads) are random unit rows, made lazily
block by block, since five million of them do not fit in memory as float32.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from fraga.districts import KNOWN_DISTRICTS
from fraga.records import Chunk, Document, Metadata

logger = logging.getLogger(__name__)

DIM = 384  # multilingual-e5-small, the default encoder
MIN_WORDS, MAX_WORDS = 100, 150
MIN_PASSAGES, MAX_PASSAGES = 10, 40  # passages per document
REPLACE_SHARE = 0.25  # share of replaceable words swapped for a Zipf-drawn compound
COMPOUNDS = 200_000
ZIPF_EXPONENT = 1.05
TOPICS = 256
# Weights of the vector components: shared direction, topic, document, passage noise.
W_SHARED, W_TOPIC, W_DOC, W_NOISE = 2.2, 1.0, 0.8, 1.0
QUERY_NOISE = 0.6
SECTIONS = (
    "Sammanfattning",
    "Bakgrund",
    "Ärendet",
    "Förvaltningens synpunkter och förslag",
    "Förvaltningens förslag till beslut",
    "Förvaltningens synpunkter och förslag › 1. Hur ser arbetet ut?",
    "Förvaltningens synpunkter och förslag › 2. Vilka rutiner finns?",
    "Förvaltningens synpunkter och förslag › 3. Vem ansvarar för polisanmälan?",
)
DISTRICT_CODES = {d: d[:3].upper().replace("Ä", "A").replace("Ö", "O").replace("Å", "A") for d in KNOWN_DISTRICTS}


@dataclass(frozen=True, slots=True)
class Collection:
    """A synthetic collection: documents, passages in row order, and the document of each row."""

    documents: tuple[Document, ...]
    chunks: tuple[Chunk, ...]
    doc_of_row: np.ndarray  # (n,) int32: index into documents


def source_sentences(corpus_dir: str | os.PathLike[str]) -> list[str]:
    """The sentences of the documents in ``corpus_dir``, white space normalised."""
    from fraga.ingest.corpus import load_corpus
    from fraga.text import normalize_space, split_sentences

    corpus = load_corpus(corpus_dir, repair=None)
    out = []
    for doc in corpus.documents:
        for s, e in split_sentences(doc.text):
            sentence = normalize_space(doc.text[s:e])
            if len(sentence.split()) >= 3:
                out.append(sentence)
    if not out:
        raise ValueError(f"no sentences in {corpus_dir}; the benchmark needs the bundled corpus")
    return out


class _PassageMaker:
    """Makes passages from sentence tokens plus Zipf-drawn compounds."""

    def __init__(self, sentences: list[str], rng: np.random.Generator) -> None:
        vocab: dict[str, int] = {}
        self.sentences = [np.array([vocab.setdefault(w, len(vocab)) for w in s.split()], dtype=np.int32) for s in sentences]
        self.words = np.array(list(vocab), dtype=object)
        self.replaceable = np.array([w.isalpha() and w.islower() and len(w) >= 5 for w in self.words])
        stems = sorted({w for w in self.words[self.replaceable]})
        first = rng.choice(len(stems), size=COMPOUNDS)
        second = rng.choice(len(stems), size=COMPOUNDS)
        linker = np.where(rng.random(COMPOUNDS) < 0.3, "s", "")
        self.compounds = np.array(
            [stems[a][: max(4, len(stems[a]) - 1)] + link + stems[b] for a, b, link in zip(first, second, linker)], dtype=object
        )
        weights = 1.0 / np.arange(1, COMPOUNDS + 1) ** ZIPF_EXPONENT
        self.cumulative = np.cumsum(weights / weights.sum())
        self.rng = rng

    def passage(self) -> str:
        rng = self.rng
        target = int(rng.integers(MIN_WORDS, MAX_WORDS + 1))
        parts, count = [], 0
        while count < target:
            tokens = self.sentences[int(rng.integers(len(self.sentences)))]
            parts.append(tokens)
            count += len(tokens)
        ids = np.concatenate(parts)[:target]
        words = self.words[ids]
        swap = self.replaceable[ids] & (rng.random(len(ids)) < REPLACE_SHARE)
        if swap.any():
            draws = np.searchsorted(self.cumulative, rng.random(int(swap.sum())))
            words[swap] = self.compounds[np.minimum(draws, COMPOUNDS - 1)]
        return " ".join(words.tolist())


def make_collection(n: int, sentences: list[str], *, seed: int = 0) -> Collection:
    """``n`` synthetic passages in documents of 10–40 passages, with metadata."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    rng = np.random.default_rng(seed)
    maker = _PassageMaker(sentences, rng)
    districts = list(KNOWN_DISTRICTS)
    documents: list[Document] = []
    chunks: list[Chunk] = []
    doc_of_row = np.empty(n, dtype=np.int32)
    while len(chunks) < n:
        d = len(documents)
        size = min(int(rng.integers(MIN_PASSAGES, MAX_PASSAGES + 1)), n - len(chunks))
        texts = [maker.passage() for _ in range(size)]
        district = districts[int(rng.integers(len(districts)))]
        year = int(rng.integers(2015, 2026))
        date = f"{year}-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}"
        doc_type = "skrivelse" if rng.random() < 0.15 else "tjänsteutlåtande"
        doc_id = f"syn-{d:06d}"
        text = "\n\n".join(texts)
        meta = Metadata(
            district=district,
            doc_type=doc_type,
            title=" ".join(texts[0].split()[:8]),
            date=date,
            dates=(date,),
            dnr=f"{DISTRICT_CODES[district]} {year}/{d % 1000}",
        )
        documents.append(Document(doc_id=doc_id, path=f"{doc_id}.txt", text=text, original_text=text, metadata=meta))
        start = 0
        for i, t in enumerate(texts):
            doc_of_row[len(chunks)] = d
            chunks.append(Chunk(f"{doc_id}#{i}", doc_id, SECTIONS[int(rng.integers(len(SECTIONS)))], t, start, start + len(t)))
            start += len(t) + 2
    return Collection(tuple(documents), tuple(chunks), doc_of_row)


def _unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def vector_blocks(doc_of_row: np.ndarray, *, dim: int = DIM, seed: int = 0, block: int = 100_000) -> Iterator[np.ndarray]:
    """Synthetic passage vectors, ``block`` rows at a time (row order of ``doc_of_row``)."""
    rng = np.random.default_rng(seed + 1)
    shared = _unit_rows(rng, 1, dim)[0]
    topics = _unit_rows(rng, TOPICS, dim)
    n_docs = int(doc_of_row.max()) + 1 if len(doc_of_row) else 0
    topic_of_doc = rng.integers(TOPICS, size=n_docs)
    doc_dirs = _unit_rows(rng, n_docs, dim) if n_docs else np.zeros((0, dim), np.float32)
    for start in range(0, len(doc_of_row), block):
        docs = doc_of_row[start : start + block]
        v = (
            W_SHARED * shared
            + W_TOPIC * topics[topic_of_doc[docs]]
            + W_DOC * doc_dirs[docs]
            + W_NOISE * _unit_rows(rng, len(docs), dim)
        )
        yield (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def make_vectors(doc_of_row: np.ndarray, *, dim: int = DIM, seed: int = 0) -> np.ndarray:
    """All synthetic passage vectors, (n, dim) float32, L2-normalised."""
    out = np.empty((len(doc_of_row), dim), dtype=np.float32)
    start = 0
    for block in vector_blocks(doc_of_row, dim=dim, seed=seed):
        out[start : start + len(block)] = block
        start += len(block)
    return out


def query_vectors(vectors: np.ndarray, n: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` query vectors near random passages. Returns (queries, source rows)."""
    rng = np.random.default_rng(seed + 2)
    rows = rng.choice(len(vectors), size=min(n, len(vectors)), replace=False)
    q = vectors[rows] + QUERY_NOISE * _unit_rows(rng, len(rows), vectors.shape[1])
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32), rows


class UnitRows(Sequence[np.ndarray]):
    """``n`` random unit rows of ``dim``, computed per block of ``BLOCK`` rows when sliced."""

    BLOCK = 8192

    def __init__(self, n: int, dim: int = DIM, *, seed: int = 0) -> None:
        self.n, self.dim, self.seed = n, dim, seed

    def __len__(self) -> int:
        return self.n

    def _block(self, b: int) -> np.ndarray:
        rows = min(self.BLOCK, self.n - b * self.BLOCK)
        return _unit_rows(np.random.default_rng((self.seed, b)), rows, self.dim)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self[key : key + 1][0]
        lo, hi, step = key.indices(self.n)
        if step != 1 or hi <= lo:
            return np.zeros((0, self.dim), dtype=np.float32)[: max(0, hi - lo)]
        blocks = [self._block(b) for b in range(lo // self.BLOCK, (hi - 1) // self.BLOCK + 1)]
        first = (lo // self.BLOCK) * self.BLOCK
        return np.vstack(blocks)[lo - first : hi - first]


def sentence_vectors(coll: Collection, *, dim: int = DIM, seed: int = 0):
    """Synthetic sentence and heading vectors for ``coll`` (``fraga.index.sentences`` layout)."""
    from fraga.index.columns import section_list
    from fraga.index.sentences import SentenceVectors, sentence_table

    table = sentence_table(coll.documents)
    headings = _unit_rows(np.random.default_rng(seed + 3), len(section_list(coll.chunks)), dim)
    return SentenceVectors(table, UnitRows(len(table), dim, seed=seed + 4), headings)  # type: ignore[arg-type]
