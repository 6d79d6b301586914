"""Build or update the index of a corpus folder: ingest, chunk, encode, write a generation.

Unchanged passages and sentences reuse the vectors of the current index (by content
hash), so re-indexing after an edit encodes only what changed.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fraga.errors import IndexNotFoundError
from fraga.index import dense as dense_mod
from fraga.index.checkpoint import Checkpoint, CheckpointingEncoder
from fraga.index.columns import section_list
from fraga.index.embed import Encoder, batch_texts, bulk_encoder, get_encoder, install_hint
from fraga.index.generation import Index, current_generation, default_index_dir, load_index, write_generation
from fraga.index.lexical import Analyzer, AnalyzerSettings, Bm25Index
from fraga.index.progressive import Republisher, publish_bm25_first, wants_bm25_first
from fraga.index.sentences import embed_sentences
from fraga.index.status import ProgressTracker
from fraga.index.vocab import build_vocabulary
from fraga.ingest.corpus import Skipped, TextRepair, load_corpus
from fraga.ingest.sections import chunk_document, context_line
from fraga.records import Chunk, Document, content_hash

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build did."""

    index_dir: str
    documents: int
    chunks: int
    embedded: int  # passages encoded in this build
    reused: int  # passages whose vectors came from the previous index
    skipped: tuple[Skipped, ...]
    duplicates: tuple[tuple[str, str], ...]
    removed: tuple[str, ...]  # documents of the previous index that are gone
    seconds: dict[str, float] = field(default_factory=dict)
    sentences: int = 0  # sentences in the index
    sentences_embedded: int = 0  # sentences and headings encoded in this build
    engine: str = ""  # what computed this build's new vectors ("" when none were, or the encoder has one engine)
    resumed: int = 0  # passages whose vectors came from the checkpoints of an interrupted build
    resumed_sentences: int = 0  # sentences and headings whose vectors came from those checkpoints
    bm25_first: str = ""  # the generation published with BM25 before encoding ("" when none was)
    vocabulary: int = 0  # words in the encoded vocabulary (``fraga.index.vocab``)
    vocabulary_embedded: int = 0  # of them, encoded in this build (the rest were reused)


def embed_text(doc: Document, chunk: Chunk) -> str:
    """The text that is embedded and BM25-indexed: context line + passage."""
    return context_line(doc, chunk.section) + "\n" + chunk.text


def _previous_index(index_dir: Path, encoder: Encoder) -> Index | None:
    """The current index, when its vectors can be reused (same encoder)."""
    try:
        old = load_index(index_dir, verify=False)
    except Exception as exc:
        if not isinstance(exc, IndexNotFoundError):
            logger.info("previous index not reusable (%s); embedding everything", exc)
        return None
    if old.manifest["encoder"]["name"] != encoder.name or old.dim != encoder.dim:
        return None
    return old


def _previous_doc_ids(index_path: Path) -> list[str]:
    try:
        gen = current_generation(index_path)
        if gen is None:
            return []
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        return list(manifest.get("documents", {}))
    except Exception:
        return []


def build_index(
    corpus_dir: str | os.PathLike[str],
    index_dir: str | os.PathLike[str] | None = None,
    *,
    encoder: Encoder | str | None = None,
    repair_ocr: bool = True,
    progress: Progress | None = None,
    bm25_first: bool | None = None,
    on_publish: Callable[[str], None] | None = None,
) -> BuildReport:
    """Build or update the index of ``corpus_dir`` in ``index_dir``.

    Unchanged passages and sentences reuse their vectors; removed documents disappear.
    Encoded vectors are checkpointed (``fraga.index.checkpoint``), so a killed build,
    started again, encodes only what it had not finished. The new index becomes current
    only when it is complete, except that with ``bm25_first`` (None: when at least
    ``progressive.BM25_FIRST_MIN`` passages need encoding) a generation with BM25 and the
    known vectors is published before encoding, and again every
    ``progressive.REPUBLISH_SECONDS`` while encoding (``fraga.index.progressive``);
    ``on_publish`` is called with the name of each.
    """
    t0 = time.perf_counter()
    index_path = Path(index_dir or default_index_dir())
    enc = encoder if encoder is not None and not isinstance(encoder, str) else get_encoder(encoder)
    repair: TextRepair | None = None
    if repair_ocr:
        from fraga.ingest.ocr import ingest_repair

        repair = ingest_repair
    corpus = load_corpus(corpus_dir, repair=repair)
    t_load = time.perf_counter()
    old = _previous_index(index_path, enc)
    previous: dict[str, int] = {}
    if old is not None:  # passages of a BM25-first generation that have no vector yet are not reused
        missing = old.dense_missing
        previous = {h: i for i, h in enumerate(old.columns.hash_hex()) if missing is None or not missing[i]}
    old_docs = _previous_doc_ids(index_path)

    chunks: list[Chunk] = []
    texts: list[str] = []
    docs = {d.doc_id: d for d in corpus.documents}
    for doc in corpus.documents:
        for chunk in chunk_document(doc):
            chunks.append(chunk)
            texts.append(embed_text(doc, chunk))
    hashes = [content_hash(t) for t in texts]
    t_chunk = time.perf_counter()

    vectors = np.zeros((len(texts), enc.dim), dtype=np.float32)
    new_rows = [i for i, h in enumerate(hashes) if h not in previous]
    if old is not None and len(new_rows) < len(hashes):
        old_vectors = dense_mod.all_vectors(old.faiss)
        for i, h in enumerate(hashes):
            if h in previous:
                vectors[i] = old_vectors[previous[h]]
    checkpoint = Checkpoint(index_path, enc.name, enc.dim)
    todo = []
    for i in new_rows:  # vectors finished by an interrupted build
        found = checkpoint.lookup(texts[i])
        if found is None:
            todo.append(i)
        else:
            vectors[i] = found
    resumed = len(new_rows) - len(todo)
    tracker = ProgressTracker(
        progress, checkpoint, documents=len(docs), passages_total=len(chunks), passages_ready=len(chunks) - len(todo)
    )
    analyzer = Analyzer(AnalyzerSettings())
    bm25: Bm25Index | None = None
    published_early = ""
    old_engine = old.manifest.get("encoder", {}).get("engine", "") if old is not None else ""
    old_sentences = (old.sentences, old.columns.sections) if old is not None else None
    republisher: Republisher | None = None
    try:
        if wants_bm25_first(bm25_first, len(todo)):
            bm25 = Bm25Index.build(texts, analyzer)
            built = bm25
            keep = (old.folder.name,) if old is not None else ()  # its sentence vectors are still read

            def publish(remaining: list[int]) -> str:
                return publish_bm25_first(
                    index_path,
                    corpus,
                    docs,
                    chunks,
                    hashes,
                    vectors,
                    remaining,
                    built,
                    enc,
                    checkpoint,
                    old_sentences,
                    engine=old_engine,
                    keep=keep,
                ).name

            published_early = publish(todo)
            if on_publish is not None:
                on_publish(published_early)
            republisher = Republisher(publish, checkpoint, on_publish)
        t_early = time.perf_counter()
        bulk = bulk_encoder(enc, len(todo)) if todo else enc
        engine = str(getattr(bulk, "engine", "")) if todo else ""
        if hint := install_hint(len(todo), engine):
            logger.warning(hint)
        saving = CheckpointingEncoder(bulk, checkpoint)
        batch = batch_texts(saving, 32)
        if todo:
            tracker("embed", 0, len(todo))  # the stage's clock starts now: rates and times left count from here
        for start in range(0, len(todo), batch):
            rows = todo[start : start + batch]
            vectors[rows] = saving.encode_passages([texts[i] for i in rows])
            done = min(start + batch, len(todo))
            tracker.set(passages_ready=len(chunks) - len(todo) + done)
            tracker("embed", done, len(todo))
            if republisher is not None:
                republisher.maybe(todo[done:])
        t_embed = time.perf_counter()
        sentence_encoder = saving if todo else CheckpointingEncoder(bulk_encoder(enc, len(chunks)), checkpoint)
        resumed_before = sentence_encoder.resumed

        def step(stage: str, done: int, total: int) -> None:
            tracker(stage, done, total)
            if republisher is not None:
                republisher.maybe(())

        sentences = embed_sentences(
            list(docs.values()), section_list(chunks), sentence_encoder, progress=step, previous=old_sentences
        )
        t_sentences = time.perf_counter()
        vocab, vocab_encoded = build_vocabulary(texts, analyzer, bulk, previous=old.vocabulary if old is not None else None)
        t_vocab = time.perf_counter()

        if bm25 is None:
            bm25 = Bm25Index.build(texts, analyzer)
        faiss_index = dense_mod.build_faiss(vectors)
        t_index = time.perf_counter()

        write_generation(
            index_path, corpus, docs, chunks, hashes, bm25, faiss_index, enc, sentences, engine=engine or old_engine, vocab=vocab
        )
    except BaseException:
        try:  # keep what was finished for the next build
            checkpoint.flush(stopped=True)
        except Exception as exc:
            logger.warning("could not write the last checkpoint (%s)", exc)
        raise
    checkpoint.clear()
    t_write = time.perf_counter()
    resumed_sentences = sentence_encoder.resumed - resumed_before
    removed = tuple(sorted(set(old_docs) - set(docs)))
    return BuildReport(
        index_dir=str(index_path),
        documents=len(docs),
        chunks=len(chunks),
        embedded=len(todo),
        reused=len(chunks) - len(new_rows),
        skipped=corpus.skipped,
        duplicates=corpus.duplicates,
        removed=removed,
        seconds={
            "load": t_load - t0,
            "chunk": t_chunk - t_load,
            "bm25_first": t_early - t_chunk,
            "embed": t_embed - t_early,
            "sentences": t_sentences - t_embed,
            "vocab": t_vocab - t_sentences,
            "index": t_index - t_vocab,
            "write": t_write - t_index,
            "total": t_write - t0,
        },
        sentences=len(sentences.table),
        sentences_embedded=sentences.encoded - resumed_sentences,
        engine=engine,
        resumed=resumed,
        resumed_sentences=resumed_sentences,
        bm25_first=published_early,
        vocabulary=len(vocab),
        vocabulary_embedded=vocab_encoded,
    )
