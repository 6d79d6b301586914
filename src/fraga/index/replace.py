"""Replace one document of an index with a new version of it, reusing every unchanged vector.

``append.add_document`` adds a document the index does not hold. A changed version of one
it does hold cannot be appended (its old passages would stay), so this module writes a
whole new generation from what the loaded index holds: the other documents' passages,
vectors and sentence vectors are copied, only the new version is chunked and encoded, and
the stored original files are carried over. The generation is written and published as
``build_index`` writes one, so an interrupted replace leaves the previous index current.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from fraga.index import dense as dense_mod
from fraga.index.build import embed_text
from fraga.index.columns import section_list
from fraga.index.embed import bulk_encoder
from fraga.index.generation import Index, load_index, write_generation
from fraga.index.progressive import MISSING_NORM, dense_entry
from fraga.index.lexical import Bm25Index
from fraga.index.sentences import embed_sentences
from fraga.ingest.corpus import Corpus, Skipped
from fraga.ingest.sections import chunk_document
from fraga.records import Chunk, Document, content_hash

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReplaceReport:
    """What replacing a document did; ``index`` is the new generation, loaded."""

    doc_id: str
    chunks: int
    generation: str
    index: Index
    seconds: dict[str, float] = field(default_factory=dict)


def _link_sources(index: Index, docs: dict[str, Document], new: Document, source: Path, into: Path) -> None:
    """Lay out the stored original files under ``into`` at their documents' paths (hard links)."""
    for doc in docs.values():
        src = source if doc.doc_id == new.doc_id else index.source_path(doc.doc_id)
        if src is None:
            continue
        target = into / doc.path
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, target)
        except OSError:
            shutil.copyfile(src, target)


def replace_document(index: Index, doc: Document, source: str | os.PathLike[str]) -> ReplaceReport:
    """Write a new generation of ``index`` where ``doc`` replaces the document of the same id.

    Args:
        index: The loaded index; it is not changed (use the report's ``index``).
        doc: The new version; its ``doc_id`` must be in the index.
        source: Its original file, stored in the index.

    Raises:
        ValueError: when the index has no document ``doc.doc_id`` or the new version has no passages.
    """
    if doc.doc_id not in index.documents:
        raise ValueError(f"document {doc.doc_id!r} is not in the index")
    t0 = time.perf_counter()
    new_chunks = chunk_document(doc)
    if not new_chunks:
        raise ValueError(f"document {doc.doc_id!r} has no passages to index")
    docs = {d: (doc if d == doc.doc_id else old) for d, old in index.documents.items()}
    doc = replace_path(doc, index.documents[doc.doc_id].path)
    docs[doc.doc_id] = doc
    chunks: list[Chunk] = []
    for doc_id in docs:
        chunks.extend(new_chunks if doc_id == doc.doc_id else index.chunks.of_document(doc_id))
    texts = [embed_text(docs[c.doc_id], c) for c in chunks]
    hashes = [content_hash(t) for t in texts]
    old_rows = {h: i for i, h in enumerate(index.columns.hash_hex())}
    old_vectors = dense_mod.all_vectors(index.faiss)
    vectors = np.zeros((len(chunks), index.dim), dtype=np.float32)
    todo = [i for i, h in enumerate(hashes) if h not in old_rows]
    for i, h in enumerate(hashes):
        if h in old_rows:
            vectors[i] = old_vectors[old_rows[h]]
    encoder = bulk_encoder(index.encoder, max(len(todo), 1))
    if todo:
        vectors[todo] = encoder.encode_passages([texts[i] for i in todo])
    incomplete = index.dense_missing is not None  # a BM25-first generation: its placeholders stay for the build
    sentences = embed_sentences(
        list(docs.values()),
        section_list(chunks),
        encoder,
        previous=(index.sentences, index.columns.sections),
        keep_placeholders=incomplete,
    )
    t_embed = time.perf_counter()
    bm25 = Bm25Index.build(texts, index.bm25.analyzer)
    faiss_index = dense_mod.build_faiss(vectors, kind=dense_mod.kind_of(index.faiss))
    report = index.report or {}
    skipped = tuple(Skipped(str(s.get("path", "")), str(s.get("reason", ""))) for s in report.get("skipped", []))
    duplicates = tuple((str(x.get("kept", "")), str(x.get("duplicate", ""))) for x in report.get("duplicates", []))
    index_path = index.folder.parent
    links = Path(tempfile.mkdtemp(prefix=".sources-", dir=index_path))
    try:
        _link_sources(index, docs, doc, Path(source), links)
        corpus = Corpus(str(links), tuple(docs.values()), skipped, duplicates)
        engine = str(index.manifest.get("encoder", {}).get("engine", ""))
        dense = None
        if incomplete:
            with_vectors = int(np.count_nonzero(np.linalg.norm(vectors, axis=1) >= MISSING_NORM))
            dense = dense_entry(with_vectors, len(chunks)) if with_vectors < len(chunks) else None
        gen = write_generation(
            index_path,
            corpus,
            docs,
            chunks,
            hashes,
            bm25,
            faiss_index,
            index.encoder,
            sentences,
            engine=engine,
            dense=dense,
            vocab=index.vocabulary,  # the last full build's: the new version's new words wait for the next
        )
    finally:
        shutil.rmtree(links, ignore_errors=True)
    _keep_corpus_folder(gen, str(index.manifest.get("corpus", "")))
    t_write = time.perf_counter()
    loaded = load_index(index_path)
    seconds = {"embed": t_embed - t0, "write": t_write - t_embed, "total": time.perf_counter() - t0}
    logger.info("replaced %s: %d passages encoded, %d reused", doc.doc_id, len(todo), len(chunks) - len(todo))
    return ReplaceReport(doc.doc_id, len(new_chunks), gen.name, loaded, seconds)


def replace_path(doc: Document, path: str) -> Document:
    """``doc`` under the corpus path of the version it replaces (it keeps its place in the corpus)."""
    return doc if Path(doc.path).suffix != Path(path).suffix else replace(doc, path=path)


def _keep_corpus_folder(gen: Path, corpus: str) -> None:
    """Record the corpus folder the index was built from (not the temporary folder of links)."""
    manifest_path = gen / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["corpus"] = corpus
    tmp = manifest_path.with_name(".manifest.json.tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, manifest_path)
