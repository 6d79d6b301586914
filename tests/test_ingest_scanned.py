"""Scanned PDFs: pages without a text layer are read by Swedish OCR (Tesseract), keep their page
numbers and get fraga's OCR repair; without Tesseract the file is skipped with the reason and the fix.

The scanned pages are made here: Swedish text rendered to an image with Pillow, wrapped in a PDF.
"""

from __future__ import annotations

import pytest

from fraga.errors import OcrUnavailableError
from fraga.ingest.corpus import load_corpus, load_document
from fraga.ingest.scanned import OCR_ENCODING, read_pdf_text, remap_pages, tidy_ocr_text
from fraga.records import Page
from fraga.testing import make_mixed_pdf, make_pdf, make_scanned_pdf

# FIXTURES =====================================================================

PAGE_1 = "Sammanfattning\n\nStadsdelsförvaltningen i Skärholmen svarar på skrivelsen om trygghet."
PAGE_2 = "Bakgrund\n\nSäkerhetssamordnaren gör en polisanmälan när en medarbetare hotas."
# As the city's own scanning renders Swedish letters (the Norra innerstaden document).
DAMAGED = (
    "Forvaltningen svarar att det finns en nolltolerans betraffande\n"
    "incidenter som ror hot, vald och otilldten paverkan samt att alla\n"
    "incidenter som sker ska polisanmalas. Forvaltningen har som stod\n"
    "till chefer och medarbetare tagit fram rutiner och checklistor."
)
CLEAN_TXT = "Förvaltningen i Skarpnäck svarar att polisanmälan alltid görs av chef på enheten."


@pytest.fixture
def no_tesseract(monkeypatch):
    """Tesseract is not installed (pytesseract finds no program)."""
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")


# TESTS ========================================================================


@pytest.mark.parametrize("mode", ["L", "1"])  # JPEG (DCT) and CCITT fax images, as scanners write them
def test_scanned_pdf_is_read_with_page_numbers(tmp_path, mode):
    (tmp_path / "skannad.pdf").write_bytes(make_scanned_pdf([PAGE_1, PAGE_2], mode=mode))
    doc = load_document(tmp_path / "skannad.pdf", tmp_path)
    assert doc.encoding == OCR_ENCODING
    assert [p.number for p in doc.pages] == [1, 2]
    first = doc.text.index("Stadsdelsförvaltningen i Skärholmen")
    second = doc.text.index("Säkerhetssamordnaren gör en polisanmälan")
    assert doc.page_at(first) == 1 and doc.page_at(second) == 2
    assert doc.metadata.district == "Skärholmen"


def test_mixed_pdf_reads_only_the_scanned_page_by_ocr():
    pdf = read_pdf_text("blandad.pdf", make_mixed_pdf([("Forsta sidan har ett textlager om budgeten.", False), (PAGE_2, True)]))
    assert pdf.ocr_pages == (2,)
    assert pdf.pages[0].startswith("Forsta sidan har ett textlager")
    assert "polisanmälan" in pdf.pages[1]


def test_born_digital_pdf_is_not_ocred():
    pdf = read_pdf_text("text.pdf", make_pdf([PAGE_1.replace("ö", "o").replace("ä", "a").replace("å", "a")]))
    assert pdf.ocr_pages == ()


def test_scanned_page_gets_the_swedish_ocr_repair_and_keeps_its_page(tmp_path):
    from fraga.ingest.ocr import ingest_repair

    (tmp_path / "skannad.pdf").write_bytes(make_scanned_pdf([PAGE_1, DAMAGED]))
    corpus = load_corpus(tmp_path, repair=ingest_repair)
    (doc,) = corpus.documents
    assert "Förvaltningen svarar att det finns en nolltolerans beträffande" in doc.text
    assert "ska polisanmälas" in doc.text and "Forvaltningen" not in doc.text
    assert doc.metadata.ocr_repaired and doc.metadata.ocr_changes >= 3
    assert doc.page_at(doc.text.index("nolltolerans")) == 2
    assert doc.text[doc.pages[1].start :].startswith("Förvaltningen svarar")
    assert "Stadsdelsförvaltningen i Skärholmen" in doc.text  # the clean page is unchanged


def test_text_layer_from_a_scanner_gets_the_repair_page_by_page(tmp_path):
    from fraga.ingest.ocr import ingest_repair

    # A scan whose text layer the scanner's own OCR wrote, as damaged as the Norra innerstaden document.
    (tmp_path / "lager.pdf").write_bytes(make_pdf(["Sammanfattning\nStadsdelsnamnden har fatt en skrivelse.", DAMAGED]))
    (tmp_path / "ren.pdf").write_bytes(make_pdf([PAGE_1, PAGE_2]))
    docs = {d.path: d for d in load_corpus(tmp_path, repair=ingest_repair).documents}
    damaged, clean = docs["lager.pdf"], docs["ren.pdf"]
    assert damaged.encoding == "pdf" and damaged.metadata.ocr_repaired
    assert "Förvaltningen svarar att det finns en nolltolerans beträffande" in damaged.text
    assert damaged.page_at(damaged.text.index("nolltolerans")) == 2
    assert damaged.text[damaged.pages[1].start :].startswith("Förvaltningen svarar")
    assert not clean.metadata.ocr_repaired and "Stadsdelsförvaltningen i Skärholmen" in clean.text


def test_page_starts_follow_a_repair_that_changes_word_lengths():
    old = "aa bb\n\ncc dd\nee\n\nff"
    pages = (Page(1, 0), Page(2, 7), Page(3, 17))
    new = "aa bb\n\ncccc dd\neeee\n\nff"
    moved = remap_pages(old, new, pages)
    assert moved == (Page(1, 0), Page(2, 7), Page(3, 21)) and new[moved[2].start :] == "ff"
    assert remap_pages(old, new.replace("dd\n", "dd "), pages) is None  # a line lost: not mapped
    assert remap_pages(old, new, (Page(1, 0), Page(2, 8))) is None  # not at a line start


def test_without_tesseract_the_file_is_skipped_with_reason_and_fix(tmp_path, no_tesseract):
    (tmp_path / "skannad.pdf").write_bytes(make_scanned_pdf([PAGE_1]))
    (tmp_path / "text.pdf").write_bytes(make_pdf(["Sammanfattning\nForvaltningen svarar om budgeten for skolan."]))
    (tmp_path / "svar.txt").write_text(CLEAN_TXT, encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert sorted(d.path for d in corpus.documents) == ["svar.txt", "text.pdf"]  # born-digital PDFs need no OCR
    (skip,) = corpus.skipped
    assert skip.path == "skannad.pdf"
    assert "skannad.pdf" in skip.reason and "Tesseract saknas" in skip.reason
    assert "apt-get install -y tesseract-ocr tesseract-ocr-swe" in skip.reason
    with pytest.raises(OcrUnavailableError, match="Tesseract saknas"):
        read_pdf_text("skannad.pdf", make_scanned_pdf([PAGE_1]))


def test_without_swedish_language_data_the_fix_names_the_package(tmp_path, monkeypatch):
    import pytesseract

    monkeypatch.setattr(pytesseract, "get_languages", lambda config="": ["eng", "osd"])
    (tmp_path / "skannad.pdf").write_bytes(make_scanned_pdf([PAGE_1]))
    (tmp_path / "svar.txt").write_text(CLEAN_TXT, encoding="utf-8")
    corpus = load_corpus(tmp_path)
    (skip,) = corpus.skipped
    assert "svenska språkdata saknas" in skip.reason and "tesseract-ocr-swe" in skip.reason


def test_blank_scan_is_reported_not_indexed_empty(tmp_path):
    (tmp_path / "blank.pdf").write_bytes(make_scanned_pdf([""]))
    (tmp_path / "svar.txt").write_text(CLEAN_TXT, encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert [d.path for d in corpus.documents] == ["svar.txt"]
    assert corpus.skipped[0].path == "blank.pdf" and "ingen text" in corpus.skipped[0].reason


def test_tidy_ocr_text_joins_words_broken_at_line_ends():
    assert (
        tidy_ocr_text("förvalt-\nningen, svarar\fsäkerhets- och\ntrygghets-\nsamordnare")
        == "förvaltningen,\nsvarar\nsäkerhets- och\ntrygghetssamordnare"
    )
