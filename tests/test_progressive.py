"""BM25 first (fraga.index.progressive): a generation with texts and BM25 is published before the
dense vectors exist; search and answering work on it, and the build then completes it."""

from __future__ import annotations

import numpy as np
import pytest

from fraga.answer.answerer import Answerer
from fraga.index import dense as dense_mod
from fraga.index.build import build_index
from fraga.index.generation import load_index
from fraga.index.progressive import wants_bm25_first
from fraga.index.status import format_status, index_status
from fraga.search.retrieve import Retriever
from fraga.testing import FakeEncoder

QUESTION = "Vem polisanmäler hot mot socialsekreterare?"


# FIXTURES =====================================================================
class Watching(FakeEncoder):
    """The fake encoder; on its first call it loads the published index (the BM25-first one) and
    hands it to ``look``; raises once ``fail_after`` texts are done."""

    def __init__(self, index_dir, look=None, fail_after: int | None = None) -> None:
        self.index_dir, self.look, self.fail_after = index_dir, look, fail_after
        self.texts: list[str] = []

    def encode_passages(self, texts):
        if self.look is not None:
            look, self.look = self.look, None
            look(load_index(self.index_dir))
        if self.fail_after is not None and len(self.texts) + len(texts) > self.fail_after:
            raise RuntimeError("encoder died")
        self.texts.extend(texts)
        return super().encode_passages(texts)


def _check_partial(index, with_vectors: int) -> None:
    assert not index.dense_complete
    assert index.dense_coverage() == (with_vectors, 53)
    missing = index.dense_missing
    assert int(missing.sum()) == 53 - with_vectors
    retriever = Retriever(index)
    dense = retriever.search(QUESTION, k=10, mode="dense")
    assert len(dense.hits) == min(10, with_vectors)
    assert not any(missing[index.row_of[h.chunk.chunk_id]] for h in dense.hits)
    hybrid = retriever.search(QUESTION, k=10)
    assert hybrid.hits and hybrid.to_dict()["dense_coverage"] == round(with_vectors / 53, 4)
    if with_vectors == 0:  # every passage is ranked by BM25 alone
        bm25 = retriever.search(QUESTION, k=10, mode="bm25")
        assert [h.chunk.chunk_id for h in hybrid.hits] == [h.chunk.chunk_id for h in bm25.hits]
    answer = Answerer(retriever).answer(QUESTION)  # zero sentence vectors do not break answering
    assert answer.hits


# TESTS ========================================================================
def test_bm25_first_publishes_a_searchable_generation_then_completes_it(tmp_path, corpus_copy):
    idx = tmp_path / "idx"
    seen = []
    enc = Watching(idx, look=seen.append)
    report = build_index(corpus_copy, idx, encoder=enc, repair_ocr=False, bm25_first=True)
    assert report.bm25_first and len(seen) == 1
    _check_partial(seen[0], 0)
    final = load_index(idx)
    assert final.dense_complete and final.dense_missing is None and final.dense_coverage() == (53, 53)
    assert report.bm25_first != final.folder.name
    clean = tmp_path / "clean"
    build_index(corpus_copy, clean, encoder=FakeEncoder(), repair_ocr=False)
    np.testing.assert_allclose(dense_mod.all_vectors(final.faiss), dense_mod.all_vectors(load_index(clean).faiss), atol=1e-6)
    assert [p.name for p in idx.iterdir() if p.name.startswith("gen-")] == [final.folder.name]


def test_killed_bm25_first_build_resumes_with_what_was_finished(tmp_path, corpus_copy):
    idx = tmp_path / "idx"
    first = Watching(idx, fail_after=40)
    with pytest.raises(RuntimeError):
        build_index(corpus_copy, idx, encoder=first, repair_ocr=False, bm25_first=True)
    partial = load_index(idx)  # the BM25-first generation stays published
    _check_partial(partial, 0)
    lines = "\n".join(format_status(index_status(idx)))
    assert "varav 0 med vektorer (0 %)" in lines and "ofullständigt" in lines and "Avbrutet bygge" in lines

    seen = []
    enc = Watching(idx, look=seen.append)
    report = build_index(corpus_copy, idx, encoder=enc, repair_ocr=False, bm25_first=True)
    _check_partial(seen[0], 32)  # the second BM25-first generation has the checkpointed vectors
    assert report.resumed == 32 and report.reused == 0  # the zero placeholders were not reused as vectors
    assert len(first.texts) == 32 and not set(first.texts) & set(enc.texts)
    assert load_index(idx).dense_complete


def test_rebuild_over_an_incomplete_generation_encodes_its_missing_passages(tmp_path, corpus_copy):
    idx = tmp_path / "idx"
    with pytest.raises(RuntimeError):
        build_index(corpus_copy, idx, encoder=Watching(idx, fail_after=0), repair_ocr=False, bm25_first=True)
    enc = Watching(idx)
    report = build_index(corpus_copy, idx, encoder=enc, repair_ocr=False, bm25_first=False)
    assert report.embedded == 53 and not report.bm25_first
    index = load_index(idx)
    assert index.dense_complete
    vectors = dense_mod.all_vectors(index.faiss)
    assert np.all(np.linalg.norm(vectors, axis=1) > 0.99)
    assert len(index.sentences) == report.sentences


def test_bm25_first_is_automatic_for_large_builds_only():
    assert not wants_bm25_first(None, 10) and wants_bm25_first(None, 5000)
    assert wants_bm25_first(True, 10) and not wants_bm25_first(False, 5000)
    assert not wants_bm25_first(True, 0)


def _partial_index(tmp_path, corpus_copy):
    """A BM25-first generation left published by a build that died after 32 passages."""
    idx = tmp_path / "idx"
    with pytest.raises(RuntimeError):
        build_index(corpus_copy, idx, encoder=Watching(idx, fail_after=40), repair_ocr=False, bm25_first=True)
    return idx


def test_adding_and_replacing_documents_keep_the_index_incomplete(tmp_path, corpus_copy):
    from dataclasses import replace

    from fraga.index.append import add_document
    from fraga.index.replace import replace_document
    from fraga.ingest.corpus import load_document

    idx = _partial_index(tmp_path, corpus_copy)
    index = load_index(idx)
    path = corpus_copy / "skarpnack-2024-09-24-starkt-skydd.txt"
    doc = load_document(path, corpus_copy)
    new = replace(doc, doc_id="ny", path="ny.txt")
    add_document(index, new, encoder=FakeEncoder())
    added = len(index.chunks.of_document("ny"))
    assert index.dense_coverage() == (added, 53 + added)
    reloaded = load_index(idx)
    assert reloaded.manifest["dense"] == {"complete": False, "passages_with_vectors": added}
    assert reloaded.dense_coverage() == (added, 53 + added)

    changed = corpus_copy / "changed.txt"
    changed.write_text(path.read_text(encoding="utf-8") + "\n\nEtt nytt stycke om arbetsmiljö.", encoding="utf-8")
    edited = replace(load_document(changed, corpus_copy), doc_id=doc.doc_id)
    replace_document(reloaded, edited, changed)
    after = load_index(idx)
    assert not after.dense_complete
    with_vectors, total = after.dense_coverage()
    assert added <= with_vectors < total


def test_web_status_and_cli_say_how_complete_the_dense_index_is(tmp_path, corpus_copy, capsys):
    from fraga.cli.main import main
    from fraga.webapp import pages
    from fraga.webapp.service import Service

    idx = _partial_index(tmp_path, corpus_copy)
    status = Service(load_index(idx)).status()
    assert status.passages_with_vectors == 0
    html = pages.status_page(status)
    assert "0 av 53 avsnitt (0 %)" in html and "söks med BM25" in html
    assert main(["search", "polisanmälan", "--index-dir", str(idx)]) == 0
    assert "det täta indexet är ofullständigt (0 av 53 passager har vektorer, 0 %)" in capsys.readouterr().out
    assert main(["ask", "Vem polisanmäler hot?", "--index-dir", str(idx), "--mode", "dense"]) == 0
    assert "den täta sökningen når bara passager med vektorer" in capsys.readouterr().out

    build_index(corpus_copy, idx, encoder=FakeEncoder(), repair_ocr=False)
    assert "alla avsnitt (komplett)" in pages.status_page(Service(load_index(idx)).status())
    assert main(["search", "polisanmälan", "--index-dir", str(idx)]) == 0
    assert "ofullständigt" not in capsys.readouterr().out


def test_the_app_follows_a_bm25_first_build_to_its_complete_generation(tmp_path, corpus_copy):
    from fraga.webapp.live import LiveService
    from fraga.webapp.service import Service
    from fraga.webapp.ui import Handlers

    idx = _partial_index(tmp_path, corpus_copy)
    live = LiveService(Service(load_index(idx)), idx, check_seconds=0, background=False, open_service=Service)
    handlers = Handlers(live)
    assert "0 av 53 avsnitt" in handlers.status_page()
    assert "passager utan vektor söks med BM25." in handlers.search("polisanmälan", None, None, "", "", "hybrid", 5)
    assert "det täta indexet är ofullständigt" in handlers.ask("Vem polisanmäler hot?", (), "hybrid", 5)[0]
    build_index(corpus_copy, idx, encoder=FakeEncoder(), repair_ocr=False)  # the build completes
    assert "alla avsnitt (komplett)" in handlers.status_page()
    assert "ofullständigt" not in handlers.search("polisanmälan", None, None, "", "", "hybrid", 5)
    assert live.index.dense_complete


def test_a_bm25_first_build_publishes_its_progress_while_it_encodes(tmp_path, corpus_copy, monkeypatch):
    import fraga.index.progressive as progressive

    monkeypatch.setattr(progressive, "REPUBLISH_SECONDS", 0.0)  # after every batch
    idx = tmp_path / "idx"
    seen = []

    def look(name):
        index = load_index(idx)
        assert index.folder.name == name and not index.dense_complete
        seen.append(
            (
                index.dense_coverage()[0],
                int(np.count_nonzero(np.linalg.norm(index.sentences.vectors.read(0, len(index.sentences)), axis=1) > 0.5)),
            )
        )

    report = build_index(corpus_copy, idx, encoder=FakeEncoder(), repair_ocr=False, bm25_first=True, on_publish=look)
    passages = [p for p, _ in seen]
    assert passages[:3] == [0, 32, 53] and all(p == 53 for p in passages[2:])
    with_sentences = [s for _, s in seen]
    assert with_sentences == sorted(with_sentences) and with_sentences[-1] > with_sentences[2]
    final = load_index(idx)
    assert final.dense_complete and final.folder.name not in {report.bm25_first}
    assert [p.name for p in idx.iterdir() if p.name.startswith("gen-")] == [final.folder.name]


def test_republishing_keeps_the_previous_index_readable_for_reuse(tmp_path, corpus_copy, monkeypatch):
    import fraga.index.progressive as progressive

    monkeypatch.setattr(progressive, "REPUBLISH_SECONDS", 0.0)
    idx = tmp_path / "idx"
    build_index(corpus_copy, idx, encoder=FakeEncoder(), repair_ocr=False)
    (corpus_copy / "ny.txt").write_text("Ett nytt dokument om arbetsmiljö.\n\nHot mot chefer anmäls av chefen.", encoding="utf-8")
    published = []
    enc = Watching(idx)
    report = build_index(corpus_copy, idx, encoder=enc, repair_ocr=False, bm25_first=True, on_publish=published.append)
    assert len(published) >= 2 and report.reused == 53 and report.embedded == report.chunks - 53
    assert len(enc.texts) == report.embedded + report.sentences_embedded + report.vocabulary_embedded
    assert report.vocabulary_embedded == 2  # "arbetsmiljö", "nytt": the vocabulary reuses the rest
    index = load_index(idx)
    assert index.dense_complete and len(index.sentences) == report.sentences
    vectors = index.sentences.vectors.read(0, len(index.sentences))
    assert np.all(np.linalg.norm(vectors, axis=1) > 0.9)  # no placeholder left behind
