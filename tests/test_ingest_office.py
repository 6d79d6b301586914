"""Word (.docx) and OpenDocument (.odt) files: headings become sections, tables text, the file's
properties fill metadata the text lacks (marked as derived)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraga.ingest.corpus import load_corpus, load_document
from fraga.ingest.sections import SEP, chunk_document, split_sections
from fraga.ingest.word import heading_level, read_docx
from fraga.testing import make_odt

# FIXTURES =====================================================================

ANSWER_1 = "Förvaltningen gör alltid en polisanmälan när en medarbetare utsätts för hot eller våld."
ANSWER_2 = "Säkerhetssamordnaren på Skärholmen följer upp varje anmälan inom en vecka."


def make_docx(
    *,
    title: str = "Hot mot medarbetare i hemtjänsten",
    core_title: str = "",
    created: dt.datetime | None = None,
    with_date_in_text: bool = False,
) -> bytes:
    """A reply as staff write it in Word: Title style, Heading 1/2 styles, a numbered list, a table."""
    import docx

    document = docx.Document()
    document.add_paragraph(title, style="Title")
    if with_date_in_text:
        document.add_paragraph("Dnr SKÄ 2024/17")
        document.add_paragraph("2024-05-02")
    document.add_heading("Sammanfattning", level=1)
    document.add_paragraph("Skrivelsen tar upp hur förvaltningen skyddar sina medarbetare mot hot.")
    document.add_heading("Förvaltningens synpunkter och förslag", level=1)
    document.add_heading("Hot i hemtjänsten", level=2)
    document.add_paragraph(ANSWER_1)
    document.add_heading("Uppföljning", level=2)
    document.add_paragraph(ANSWER_2)
    document.add_paragraph("Rutinen gäller alla enheter.", style="List Number")
    document.add_paragraph("Chefen ansvarar för anmälan.", style="List Number")
    table = document.add_table(rows=3, cols=2)
    for row, (unit, count) in zip(table.rows, [("Enhet", "Antal anmälningar"), ("Hemtjänsten", "12"), ("Förskolan", "3")]):
        row.cells[0].text, row.cells[1].text = unit, count
    document.core_properties.title = core_title
    if created is not None:
        document.core_properties.created = created
        document.core_properties.modified = created + dt.timedelta(days=30)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# TESTS ========================================================================


@pytest.mark.parametrize(
    "name,outline,level",
    [
        ("Heading 1", None, 1),
        ("heading 3", None, 3),
        ("Rubrik 2", None, 2),
        ("Title", None, 0),
        ("Rubrik", None, 0),
        ("Normal", None, None),
        ("Egen rubrik", 1, 2),
        ("Body Text", None, None),
    ],
)
def test_heading_levels_from_styles(name, outline, level):
    assert heading_level(name, outline) == level


def test_docx_headings_become_nested_sections(tmp_path):
    (tmp_path / "svar.docx").write_bytes(make_docx())
    doc = load_document(tmp_path / "svar.docx", tmp_path)
    assert doc.encoding == "docx"
    titles = [s.title for s in split_sections(doc)]
    assert "Sammanfattning" in titles
    synpunkter = "Förvaltningens synpunkter och förslag"
    assert f"{synpunkter}{SEP}Hot i hemtjänsten" in titles and f"{synpunkter}{SEP}Uppföljning" in titles
    chunks = {c.section: c.text for c in chunk_document(doc)}
    assert ANSWER_1 in chunks[f"{synpunkter}{SEP}Hot i hemtjänsten"]
    assert ANSWER_2 in chunks[f"{synpunkter}{SEP}Uppföljning"]
    assert ANSWER_1 not in chunks[f"{synpunkter}{SEP}Uppföljning"]
    assert doc.metadata.title == "Hot mot medarbetare i hemtjänsten"  # the Title style, from the text
    assert "title" not in doc.metadata.derived


def test_docx_title_style_is_the_title_when_the_text_gives_none(tmp_path):
    (tmp_path / "svar.docx").write_bytes(make_docx(title="Svar på skrivelse om hot mot medarbetare"))
    doc = load_document(tmp_path / "svar.docx", tmp_path)
    assert doc.metadata.title == "Svar på skrivelse om hot mot medarbetare"
    assert "title" in doc.metadata.derived


def test_docx_lists_and_tables_are_text(tmp_path):
    text = read_docx("svar.docx", make_docx()).text
    assert "1. Rutinen gäller alla enheter." in text and "2. Chefen ansvarar för anmälan." in text
    lines = text.split("\n\n")
    assert "Enhet | Antal anmälningar" in lines and "Hemtjänsten | 12" in lines and "Förskolan | 3" in lines


def test_docx_properties_fill_missing_metadata_marked_derived(tmp_path):
    created = dt.datetime(2024, 3, 14, 10, 0, tzinfo=dt.timezone.utc)
    (tmp_path / "utan-datum.docx").write_bytes(make_docx(title="Kort", core_title="Svar om hot i hemtjänsten", created=created))
    doc = load_document(tmp_path / "utan-datum.docx", tmp_path)
    assert doc.metadata.date == "2024-03-14"  # created, not modified (2024-04-13)
    assert doc.metadata.title == "Svar om hot i hemtjänsten"
    assert set(doc.metadata.derived) == {"date", "title"}


def test_docx_text_wins_over_properties_and_sidecar_wins_over_both(tmp_path):
    created = dt.datetime(2020, 1, 2, tzinfo=dt.timezone.utc)
    (tmp_path / "med-datum.docx").write_bytes(make_docx(core_title="Dokument1", created=created, with_date_in_text=True))
    doc = load_document(tmp_path / "med-datum.docx", tmp_path)
    assert doc.metadata.date == "2024-05-02" and doc.metadata.dnr == "SKÄ 2024/17"
    assert doc.metadata.derived == ()
    (tmp_path / "med-datum.docx").write_bytes(make_docx(title="Kort", created=created))
    (tmp_path / "med-datum.meta.json").write_text(json.dumps({"date": "2021-06-01"}), encoding="utf-8")
    doc = load_document(tmp_path / "med-datum.docx", tmp_path)
    assert doc.metadata.date == "2021-06-01" and "date" not in doc.metadata.derived


def test_odt_headings_lists_tables_and_properties(tmp_path):
    (tmp_path / "parker.odt").write_bytes(make_odt())
    doc = load_document(tmp_path / "parker.odt", tmp_path)
    assert doc.encoding == "odt"
    lines = doc.text.split("\n\n")
    assert "1. Gångvägarna lyses upp först." in lines and "2. Lekplatsen följer i vår." in lines
    assert "Åtgärd | Kostnad" in lines and "Armaturer | 450 000 kr" in lines
    titles = [s.title for s in split_sections(doc)]
    assert f"Bakgrund{SEP}Belysning" in titles
    chunks = {c.section: c.text for c in chunk_document(doc)}
    assert "trettio armaturer" in chunks[f"Bakgrund{SEP}Belysning"]
    assert doc.metadata.date == "2023-11-20" and doc.metadata.title == "Svar om trygghet i parkerna"
    assert set(doc.metadata.derived) == {"date", "title"}


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("trasig.docx", b"PK\x03\x04 inte en riktig zip", "Word-fil"),
        ("tom.docx", None, "tom"),
        ("trasig.odt", b"not a zip at all", "ODT-fil"),
    ],
)
def test_broken_office_files_are_skipped_with_reason(tmp_path, name, data, reason):
    if data is None:
        import docx

        out = io.BytesIO()
        docx.Document().save(out)
        data = out.getvalue()
    (tmp_path / "bra.docx").write_bytes(make_docx())
    (tmp_path / name).write_bytes(data)
    corpus = load_corpus(tmp_path)
    assert [d.path for d in corpus.documents] == ["bra.docx"]
    assert [s.path for s in corpus.skipped] == [name]
    assert name in corpus.skipped[0].reason and reason in corpus.skipped[0].reason


def test_markdown_heading_as_first_line_is_the_title_not_a_section():
    from fraga.records import Document

    text = "# Svar om parkerna\n\nInledande text.\n\n## Belysning\n\nLampor byts."
    doc = Document("d", "d.md", text, text)
    assert [s.title for s in split_sections(doc)] == ["Inledning", "Belysning"]


def test_drafting_reads_docx_and_odt():
    from fraga.drafting.reader import read_upload

    assert "Hemtjänsten | 12" in read_upload("svar.docx", make_docx())
    assert "Vivstavarvsparken" in read_upload("parker.odt", make_odt())


def test_unsupported_suffix_names_the_supported_ones(tmp_path):
    (tmp_path / "gammal.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "bra.docx").write_bytes(make_docx())
    corpus = load_corpus(tmp_path)
    assert ".docx" in corpus.skipped[0].reason and ".odt" in corpus.skipped[0].reason


def test_zip_bomb_is_refused_before_unpacking(tmp_path, monkeypatch):
    from fraga.ingest import word

    monkeypatch.setattr(word, "MAX_UNPACKED_BYTES", 1000)  # the real limit is 400 MB; any .docx exceeds 1000 B
    (tmp_path / "bomb.docx").write_bytes(make_docx())
    (tmp_path / "svar.txt").write_text(ANSWER_1, encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert [s.path for s in corpus.skipped] == ["bomb.docx"] and "packar upp till" in corpus.skipped[0].reason


def test_word_lock_files_are_left_out_silently(tmp_path):
    (tmp_path / "svar.docx").write_bytes(make_docx())
    (tmp_path / "~$svar.docx").write_bytes(b"\x0bAnna Andersson" + b"\x00" * 140)
    corpus = load_corpus(tmp_path)
    assert [d.path for d in corpus.documents] == ["svar.docx"] and corpus.skipped == ()


@st.composite
def damaged(draw, data: bytes) -> bytes:
    """``data`` cut short or with some bytes overwritten."""
    out = bytearray(data)
    if draw(st.booleans()):
        out = out[: draw(st.integers(0, len(out) - 1))]
    for _ in range(draw(st.integers(0, 20))):
        if out:
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    return bytes(out)


DOCX, ODT = make_docx(), make_odt()


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.one_of(
        st.tuples(damaged(DOCX), st.just(".docx")),
        st.tuples(damaged(ODT), st.just(".odt")),
        st.tuples(st.binary(max_size=2000), st.sampled_from([".docx", ".odt"])),
    )
)
def test_damaged_office_files_are_read_or_reported(tmp_path_factory, case):
    data, suffix = case
    root = tmp_path_factory.mktemp("trasig")
    (root / f"svar{suffix}").write_bytes(data)
    (root / "bra.txt").write_text(ANSWER_1, encoding="utf-8")
    corpus = load_corpus(root)
    names = sorted([d.path for d in corpus.documents] + [s.path for s in corpus.skipped] + [b for _, b in corpus.duplicates])
    assert names == ["bra.txt", f"svar{suffix}"]
    for skip in corpus.skipped:
        assert skip.reason.startswith(f"svar{suffix}: ") and "oväntat fel" not in skip.reason
