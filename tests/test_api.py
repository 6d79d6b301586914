"""The Python API (``fraga.open``, ``Fraga``), the records' ``to_dict`` and building a missing index."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fraga
from fraga.errors import FragaError, IndexNotFoundError

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SKRIVELSE = CORPUS / "hagersten-alvsjo-skrivelse-starkt-skydd.txt"
SKARPNACK = "skarpnack-2024-09-24-starkt-skydd"


@pytest.fixture(scope="module")
def engine(fake_index_dir: Path) -> fraga.Fraga:
    return fraga.open(fake_index_dir)


def test_import_fraga_is_light_and_exports_the_api():
    code = (
        "import sys, fraga; light = 'numpy' not in sys.modules and 'faiss' not in sys.modules; "
        "print(light, fraga.open.__module__, fraga.Fraga.__name__, fraga.Filters.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "fraga.api", "Fraga", "Filters"]
    assert {"open", "Fraga", "Filters", "Answer", "Hit", "Citation", "SearchResult"} <= set(dir(fraga))
    with pytest.raises(AttributeError):
        fraga.no_such_name  # noqa: B018


def test_search_hits_carry_their_documents_metadata(engine):
    result = engine.search("polisanmälan hot chef", k=3, filters=engine.filters(districts=["skarpnack"]))
    assert len(result.hits) == 3
    for hit in result.hits:
        assert hit.metadata is not None and hit.metadata.district == "Skarpnäck"
        row = hit.to_dict()
        assert row["district"] == "Skarpnäck" and row["doc_id"] == hit.chunk.doc_id and row["text"] == hit.chunk.text
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert data["query"] == "polisanmälan hot chef" and [h["rank"] for h in data["hits"]] == [1, 2, 3]


def test_ask_answers_with_citations_and_to_dict_holds_them(engine):
    answer = engine.ask("Vem polisanmäler hot i Skarpnäck?")
    assert answer.answered and answer.citations[0].dnr == "SKA 2024/339"
    data = json.loads(json.dumps(answer.to_dict(), ensure_ascii=False))
    assert data["answer"] == answer.text and data["citations"][0]["dnr"] == "SKA 2024/339"
    assert data["citations"][0]["quote"] == answer.citations[0].quote
    assert all(h["district"] for h in data["hits"])


def test_ask_reads_a_follow_up_with_the_previous_question(engine):
    answer = engine.ask("och i norra innerstan?", previous="Hur många säkerhetssamordnare har Skarpnäck?")
    assert answer.question == "Hur många säkerhetssamordnare har Norra innerstaden?"
    assert answer.note.startswith("Tolkat som: Hur många säkerhetssamordnare har Norra innerstaden?")
    alone = engine.ask("Hur många säkerhetssamordnare har Skarpnäck?", previous="")
    assert not alone.note.startswith("Tolkat som")


def test_filters_are_checked(engine):
    with pytest.raises(FragaError, match="ÅÅÅÅ-MM-DD"):
        engine.filters(date_from="2024-W01-1")
    with pytest.raises(FragaError, match="byt plats"):
        engine.filters(date_from="2024-12-31", date_to="2024-01-01")
    with pytest.raises(FragaError, match="Okänd stadsdel"):
        engine.filters(districts=["Bromma"])


def test_prepare_takes_a_path_or_text_but_never_reads_a_string_as_a_file(engine):
    by_path = engine.prepare(SKRIVELSE)
    by_text = engine.prepare(SKRIVELSE.read_text(encoding="utf-8"))
    assert by_path.questions and by_path.to_dict()["cells"] == by_text.to_dict()["cells"]
    assert by_path.to_dict()["questions"][0]["text"] == by_path.questions[0].text
    with pytest.raises(FragaError, match="inga frågor"):
        engine.prepare(str(SKRIVELSE))  # a file name is text without questions, not a file to read


def _index_without(tmp_path: Path, doc_id: str) -> tuple[Path, Path]:
    from fraga.index.build import build_index

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    left_out = tmp_path / f"{doc_id}.txt"
    shutil.move(corpus / f"{doc_id}.txt", left_out)
    build_index(corpus, tmp_path / "idx", encoder="fake")
    return tmp_path / "idx", left_out


def test_add_appends_a_new_document_and_searches_it_at_once(tmp_path):
    index_dir, new = _index_without(tmp_path, SKARPNACK)
    engine = fraga.open(index_dir)
    assert "Skarpnäck" not in engine.districts()
    report = engine.add(new)
    assert report is not None and report.doc_id == SKARPNACK and report.chunks > 0
    hits = engine.search("polisanmälan", k=3, filters=engine.filters(districts=["Skarpnäck"])).hits
    assert hits and all(h.chunk.doc_id == SKARPNACK for h in hits)
    assert engine.ask("Vem polisanmäler hot i Skarpnäck?").citations[0].dnr == "SKA 2024/339"
    assert engine.index.source_path(SKARPNACK).read_bytes() == new.read_bytes()
    reopened = fraga.open(index_dir)
    assert SKARPNACK in reopened.index.documents and "Skarpnäck" in reopened.districts()
    assert engine.add(new) is None  # unchanged: nothing to do


def test_add_replaces_a_changed_document_reusing_the_other_vectors(tmp_path):
    index_dir, _ = _index_without(tmp_path, SKARPNACK)
    engine = fraga.open(index_dir)
    target = next(iter(engine.index.documents.values()))
    before = {d: engine.index.documents[d].text for d in engine.index.documents}
    chunks_before = len(engine.index.chunks)
    changed = tmp_path / Path(target.path).name
    changed.write_text(
        (CORPUS / target.path).read_text(encoding="utf-8")
        + "\n\nTillägg. Förvaltningen inför zebrakorsningar vid varje skola.\n",
        encoding="utf-8",
    )
    report = engine.add(changed)
    assert report is not None and report.doc_id == target.doc_id
    for current in (engine, fraga.open(index_dir)):
        docs = current.index.documents
        assert set(docs) == set(before) and "zebrakorsningar" in docs[target.doc_id].text
        assert all(docs[d].text == before[d] for d in before if d != target.doc_id)
        assert len(current.index.chunks) >= chunks_before
        hit = current.search("zebrakorsningar", k=1, mode="bm25").hits[0]
        assert hit.chunk.doc_id == target.doc_id and "zebrakorsningar" in hit.chunk.text
        assert current.index.source_path(target.doc_id).read_bytes() == changed.read_bytes()
        others = [d for d in docs if d != target.doc_id and current.index.source_path(d) is not None]
        assert len(others) == len(docs) - 1  # the other originals are still stored
    manifest_corpus = json.loads((engine.index.folder / "manifest.json").read_text(encoding="utf-8"))["corpus"]
    assert manifest_corpus == str((tmp_path / "corpus").resolve())


def test_add_refuses_a_missing_or_empty_file_and_leaves_the_index_as_it_was(engine, tmp_path):
    before = len(engine.index.chunks)
    with pytest.raises(FragaError, match="finns inte"):
        engine.add(tmp_path / "saknas.txt")
    (tmp_path / "tom.txt").write_text("   \n", encoding="utf-8")
    with pytest.raises(FragaError):
        engine.add(tmp_path / "tom.txt")
    assert len(engine.index.chunks) == before and "tom" not in engine.index.documents


# Building a missing index: one rule for every command ================================
def test_open_builds_the_default_index_from_the_bundled_corpus(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FRAGA_INDEX_DIR", raising=False)
    monkeypatch.setenv("FRAGA_ENCODER", "fake")
    with pytest.raises(IndexNotFoundError):  # no ./corpus: nothing to build from
        fraga.open()
    shutil.copytree(CORPUS, tmp_path / "corpus")
    with pytest.raises(IndexNotFoundError):  # a folder named explicitly is never built unasked
        fraga.open(tmp_path / "elsewhere")
    messages: list[str] = []
    engine = fraga.open(on_build=messages.append)
    assert len(engine.index.documents) == 4 and (tmp_path / "index" / "CURRENT").is_file()
    assert messages[0] == "Inget index i index; bygger det från corpus …"
    assert fraga.open(tmp_path / "elsewhere", corpus=tmp_path / "corpus", build=True).index.documents
