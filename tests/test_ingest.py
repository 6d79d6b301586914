"""Ingestion: encodings, PDFs, broken files, furniture, sidecar metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fraga.errors import CorpusError, IngestError
from fraga.ingest.furniture import remove_furniture
from fraga.ingest.corpus import decode_bytes, load_corpus, load_document
from fraga.testing import make_pdf

SWEDISH = "Förvaltningen svarar att polisanmälan alltid görs av chef på enheten i Skärholmen."


def _make_pdf(path: Path, pages: list[str]) -> None:
    path.write_bytes(make_pdf(pages))


def test_decode_utf8_and_latin1_keep_swedish_letters():
    text, enc = decode_bytes(SWEDISH.encode("utf-8"))
    assert (text, enc) == (SWEDISH, "utf-8")
    text, enc = decode_bytes(SWEDISH.encode("cp1252"))
    assert text == SWEDISH and enc == "cp1252"
    text, _ = decode_bytes(b"\xef\xbb\xbf" + "å".encode())
    assert text == "å"


def test_latin1_file_is_read_correctly(tmp_path):
    (tmp_path / "gammal.txt").write_bytes((SWEDISH + "\n").encode("latin-1"))
    doc = load_document(tmp_path / "gammal.txt", tmp_path)
    assert "polisanmälan" in doc.text and "Skärholmen" in doc.text
    assert doc.encoding == "cp1252"


def test_pdf_pages_are_kept(tmp_path):
    _make_pdf(
        tmp_path / "svar.pdf",
        ["Sammanfattning\nForsta sidans text om hot och vald.", "Bakgrund\nAndra sidans text om polisanmalan."],
    )
    doc = load_document(tmp_path / "svar.pdf", tmp_path)
    assert [p.number for p in doc.pages] == [1, 2]
    second = doc.text.index("Andra sidans")
    assert doc.page_at(second) == 2 and doc.page_at(0) == 1


def test_pdf_running_header_removed(tmp_path):
    pages = [f"Tjanstebrev Dnr ABC 2024/1\nText pa sida {i} om arende nummer {i}.\nSida {i} (4)" for i in range(1, 5)]
    _make_pdf(tmp_path / "h.pdf", pages)
    doc = load_document(tmp_path / "h.pdf", tmp_path)
    assert "Tjanstebrev" not in doc.text
    assert "Sida 2 (4)" not in doc.text
    assert "Text pa sida 3" in doc.text


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("tom.txt", b"", "tom"),
        ("binar.txt", bytes(range(256)) * 4, "binärdata"),
        ("trasig.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "PDF"),
        ("bara-siffror.md", b"123 456 789 " * 50, "läsbar text"),
    ],
)
def test_broken_files_are_skipped_with_reason(tmp_path, name, data, reason):
    (tmp_path / "bra.txt").write_text(SWEDISH, encoding="utf-8")
    (tmp_path / name).write_bytes(data)
    corpus = load_corpus(tmp_path)
    assert [d.path for d in corpus.documents] == ["bra.txt"]
    assert len(corpus.skipped) == 1
    assert corpus.skipped[0].path == name and reason in corpus.skipped[0].reason


def test_missing_corpus_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="finns inte"):
        load_corpus(tmp_path / "saknas")


def test_recursive_and_duplicates(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "djup.md").write_text(SWEDISH, encoding="utf-8")
    (tmp_path / "kopia.txt").write_text(SWEDISH, encoding="utf-8")
    (tmp_path / "annat.txt").write_text("Ett helt annat dokument om budget och ekonomi.", encoding="utf-8")
    corpus = load_corpus(tmp_path)
    # A folder's own files are read before its subfolders; the first copy is kept.
    assert sorted(d.doc_id for d in corpus.documents) == ["annat", "kopia"]
    assert corpus.duplicates == (("kopia.txt", "a/b/djup.md"),)


def test_furniture_removed_but_letterhead_kept():
    text = (Path(__file__).resolve().parents[1] / "corpus" / "skarpnack-2024-09-24-starkt-skydd.txt").read_text()
    cleaned = remove_furniture(text)
    assert "Sida 3 (4)" not in cleaned
    assert "daniel.lauridsen@stockholm.se" not in cleaned
    assert cleaned.count("Dnr SKA 2024/339") == 1  # the running header went, the letterhead stayed
    assert cleaned.count("Skrivelse om stärkt skydd och stöd för") == 1
    assert "Av rutinen framgår att polisanmälan alltid görs av chef." in cleaned


def test_sidecar_overrides_metadata(tmp_path):
    (tmp_path / "svar.txt").write_text("Tjänsteutlåtande\nDnr FAR 2023/12\n\n" + SWEDISH, encoding="utf-8")
    (tmp_path / "svar.meta.json").write_text(json.dumps({"district": "Farsta", "date": "2023-05-01"}))
    corpus = load_corpus(tmp_path)
    (doc,) = corpus.documents
    assert doc.metadata.district == "Farsta" and doc.metadata.date == "2023-05-01"
    assert doc.metadata.dnr == "FAR 2023/12"


def test_unreadable_file_raises_ingest_error(tmp_path):
    (tmp_path / "x.txt").write_bytes(b"\x00\x01\x02abc")
    with pytest.raises(IngestError, match="x.txt"):
        load_document(tmp_path / "x.txt", tmp_path)
