"""Drafting aid (issue 8): questions of a skrivelse, earlier answers per district, exports, CLI."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from fraga.cli.main import main
from fraga.drafting import NOT_FOUND, NoQuestionsError, Question, find_questions, prepare
from fraga.drafting.export import citation_line, to_docx, to_markdown, write
from fraga.drafting.match import NONE, RELATED, SAME, unwrap
from fraga.drafting.reader import read_skrivelse, read_upload
from fraga.drafting.similarity import QuestionSimilarity
from fraga.errors import FragaError, IngestError
from fraga.index.generation import load_index
from fraga.search.retrieve import Retriever
from fraga.testing import make_pdf

ROOT = Path(__file__).resolve().parents[1]
SKRIVELSE = ROOT / "corpus" / "hagersten-alvsjo-skrivelse-starkt-skydd.txt"
NORRA = ROOT / "corpus" / "norra-innerstaden-2024-06-13-starkt-skydd.txt"
ANSWERING = ("Norra innerstaden", "Skarpnäck")

# FIXTURES ======================================================================


@pytest.fixture(scope="module")
def prep(retriever):
    return prepare(SKRIVELSE.read_text(encoding="utf-8"), retriever)


def _texts(text: str) -> list[str]:
    return [q.text for q in find_questions(text)]


def correct_cells(prep) -> int:
    """Cells of Norra innerstaden and Skarpnäck whose answer is the section "… › i. …" for question i."""
    right = 0
    for q in prep.questions:
        for district in ANSWERING:
            cell = prep.cell(q.n, district)
            if cell.citation and re.search(rf"^Förvaltningens synpunkter.* › {q.n}\. ", cell.citation.section):
                right += 1
    return right


# QUESTIONS =====================================================================


def test_bundled_skrivelse_has_four_numbered_questions():
    qs = find_questions(SKRIVELSE.read_text(encoding="utf-8"))
    assert [q.n for q in qs] == [1, 2, 3, 4] and [q.label for q in qs] == ["1.", "2.", "3.", "4."]
    assert qs[0].text.startswith("Hur ser stadsdelsförvaltningens arbete ut")
    assert qs[3].text == "Har socialtjänsten i Hägersten-Älvsjö en nolltoleranspolicy där varje hot polisanmäls?"
    text = SKRIVELSE.read_text(encoding="utf-8")
    assert text[qs[1].start : qs[1].end].startswith("2. Har Hägersten-Älvsjö")


def test_ocr_damaged_marker_and_wrapped_parenthesis_items():
    # The Norra innerstaden reply echoes the skrivelse with OCR damage: "stills f6ljande fragor", "1)".
    qs = find_questions(NORRA.read_text(encoding="utf-8"))
    assert len(qs) == 4 and qs[0].label == "1)"
    assert qs[0].text.startswith("Hur ser stadsdelsforvaltningens arbete ut") and qs[0].text.endswith("hot och vald?")
    assert qs[2].text.endswith("polisanmélan vid hot och véld mot socialsekreterare?")


def test_colon_and_odd_numbering_is_renumbered():
    text = (
        "Vi vill därför ställa följande frågor:\n\n1: Hur många hot har anmälts\nunder året?\n"
        "2: Vem gör polisanmälan?\n2: Finns en säkerhetssamordnare?\n7: Hur följs incidenterna upp?\n"
    )
    qs = find_questions(text)
    assert [q.n for q in qs] == [1, 2, 3, 4]
    assert [q.label for q in qs] == ["1:", "2:", "2:", "7:"]
    assert qs[0].text == "Hur många hot har anmälts under året?"


def test_unnumbered_question_lines_after_marker():
    text = (
        "Om tystnadskultur\n\nMed bakgrund av detta önskar vi svar på följande frågor:\n\n"
        "Hur är situationen för de anställda?\n\nFinns det exempel på hot mot anställda?\n"
        "Finns det rutiner för att motverka\notillbörlig påverkan?\n\nMed vänlig hälsning\nSD"
    )
    assert _texts(text) == [
        "Hur är situationen för de anställda?",
        "Finns det exempel på hot mot anställda?",
        "Finns det rutiner för att motverka otillbörlig påverkan?",
    ]


def test_preamble_question_mark_is_not_a_question():
    text = (
        "Hot mot socialsekreterare ökar. Hur länge ska detta få fortsätta? Det är dags att agera.\n\n"
        "Med anledning av ovanstående vill Liberalerna ställa följande frågor:\n\n"
        "1. Har förvaltningen en säkerhetssamordnare?\n2. Polisanmäls varje hot?\n"
    )
    assert _texts(text) == ["Har förvaltningen en säkerhetssamordnare?", "Polisanmäls varje hot?"]
    # Without the marker sentence, the numbered list still wins over the preamble's "?".
    no_marker = text.replace("Med anledning av ovanstående vill Liberalerna ställa följande frågor:", "Vi undrar.")
    assert _texts(no_marker) == ["Har förvaltningen en säkerhetssamordnare?", "Polisanmäls varje hot?"]


def test_without_marker_or_list_standalone_questions_win_over_prose():
    text = (
        "Vem ska betala? Det frågar sig många i stadsdelen, och svaret är oklart.\n\n"
        "Hur många platser finns i förskolan?\n\nNär öppnar den nya simhallen?\n"
    )
    assert _texts(text) == ["Hur många platser finns i förskolan?", "När öppnar den nya simhallen?"]


def test_inline_list_bullets_letters_and_requests():
    assert _texts("Vi ställer följande frågor: \n1. Hur ser arbetet ut? 2. Vem anmäler hot? 3) Finns en policy?") == [
        "Hur ser arbetet ut?",
        "Vem anmäler hot?",
        "Finns en policy?",
    ]
    assert _texts("Följande frågor:\n- Hur ser arbetet ut?\n• Vem anmäler hot?\n") == ["Hur ser arbetet ut?", "Vem anmäler hot?"]
    assert _texts("Följande frågor:\na) Hur ser arbetet ut?\nb) Vem anmäler hot?\n") == [
        "Hur ser arbetet ut?",
        "Vem anmäler hot?",
    ]
    # Numbered requests without "?" belong to the list; the attachments list after it does not.
    text = (
        "Vi vill ställa följande frågor:\n1. Redovisa antalet polisanmälningar 2023.\n"
        "2. Vem gör polisanmälan?\n\nLiberalerna\n\nBilagor\n1. Rapport om hot\n"
    )
    assert _texts(text) == ["Redovisa antalet polisanmälningar 2023.", "Vem gör polisanmälan?"]


def test_markdown_markup_is_removed():
    text = "## **Frågor**\n\nVi ställer följande frågor:\n\n1. **Hur** ser *arbetet* ut?\n"
    assert _texts(text) == ["Hur ser arbetet ut?"]


def test_no_questions():
    assert find_questions("Nämnden beslutar att godkänna budgeten. Inga frågor här.") == ()
    with pytest.raises(NoQuestionsError) as info:
        prepare("Nämnden beslutar att godkänna budgeten.", retriever=None)  # never reaches the index
    assert isinstance(info.value, FragaError) and "Hittade inga frågor" in str(info.value)


def test_district_names_are_taken_out_of_questions(retriever):
    sim = QuestionSimilarity(retriever.index)
    assert (
        sim.neutral("4. Har socialtjänsten i Hägersten-Älvsjö en nolltoleranspolicy?")
        == "Har socialtjänsten en nolltoleranspolicy?"
    )
    assert "Skarpnäck" not in sim.neutral("Har Skarpnäcks stadsdelsnämnd en säkerhetssamordnare?")
    # Whole-word folded stems, whatever else the analyzer emits (compound parts): OCR'd text still matches.
    assert sim.term("Säkerhetssamordnare") == sim.term("sakerhetssamordnare") != ""
    assert sim.term("Säkerhetssamordnare").startswith("~")


# MATCHING (fake encoder) =======================================================


def test_preparation_shape(prep, retriever):
    assert len(prep.questions) == 4
    assert prep.districts == ("Kungsholmen", "Norra innerstaden", "Skarpnäck")  # Hägersten-Älvsjö only asks
    assert prep.excluded == ("hagersten-alvsjo-skrivelse-starkt-skydd",)
    assert prep.title == "Om behovet av stärkt skydd och stöd för socialtjänstens medarbetare"
    assert len(prep.cells) == 12 and [c.question for c in prep.row(2)] == [2, 2, 2]
    numbers = [c.n for c in prep.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    json.dumps(prep.to_dict(), ensure_ascii=False)


def test_fake_index_finds_the_same_questions(prep):
    assert correct_cells(prep) == 8
    assert all(prep.cell(n, d).status == SAME for n in range(1, 5) for d in ANSWERING)
    assert [prep.cell(n, "Kungsholmen").status for n in range(1, 5)] == [NONE] * 4


def test_quotes_are_answers_with_exact_offsets(prep, retriever):
    docs = retriever.index.documents
    for cell in prep.cells:
        if cell.citation is None:
            assert cell.excerpt == "" and cell.to_dict()["text"] == NOT_FOUND
            continue
        c = cell.citation
        assert docs[c.doc_id].metadata.doc_type != "skrivelse"
        assert c.quote == unwrap(docs[c.doc_id].text[c.start : c.end])
        assert not c.quote.rstrip().endswith("?")  # not the question echoed back
        assert "Stadsdelsdirektör" not in c.quote and "överlämnar förvaltningens" not in c.quote
    sk = prep.cell(3, "Skarpnäck").citation
    assert sk.quote.startswith("Av rutinen framgår att polisanmälan alltid görs av chef.")
    assert sk.dnr == "SKA 2024/339" and sk.date == "2024-09-24"
    assert prep.cell(3, "Skarpnäck").earlier_question.startswith("Har Skarpnäcks stadsdelsnämnd socialtjänst")


def test_district_named_in_question_does_not_steer(retriever):
    prep = prepare("Vi ställer följande frågor:\n1. Har Kungsholmen en nolltoleranspolicy där varje hot polisanmäls?", retriever)
    assert prep.cell(1, "Kungsholmen").status == NONE
    for district in ANSWERING:
        assert " › 4. " in prep.cell(1, district).citation.section


def test_reply_that_quotes_the_questions_is_not_excluded(retriever):
    # Pasting Skarpnäck's own questions: its reply echoes them, but is not the skrivelse.
    text = "\n".join(
        q.text for q in find_questions((ROOT / "corpus" / "skarpnack-2024-09-24-starkt-skydd.txt").read_text(encoding="utf-8"))
    )
    prep = prepare("Följande frågor:\n" + text, retriever)
    assert prep.excluded == () and "Skarpnäck" in prep.districts
    assert prep.cell(2, "Skarpnäck").status == SAME


def test_indexed_reply_given_as_input_is_left_out(retriever):
    # The file as read (OCR-damaged) differs from the indexed, repaired text; it is still the same document.
    prep = prepare(NORRA.read_text(encoding="utf-8"), retriever)
    assert prep.excluded == ("norra-innerstaden-2024-06-13-starkt-skydd",)
    assert "Norra innerstaden" not in prep.districts and prep.cell(4, "Skarpnäck").status == SAME


def test_off_topic_question_finds_nothing(retriever):
    prep = prepare("Följande frågor:\n1. Hur många förskoleplatser finns det?\n", retriever)
    assert all(c.status == NONE for c in prep.cells)


def test_given_questions_are_used(retriever):
    prep = prepare("", retriever, questions=(Question(1, "Polisanmäls varje hot enligt en nolltoleranspolicy?"),))
    assert len(prep.questions) == 1 and prep.cell(1, "Skarpnäck").found


# EXPORT ========================================================================


def test_docx_export(prep, tmp_path):
    import docx

    path = tmp_path / "underlag.docx"
    to_docx(prep, path)
    document = docx.Document(str(path))
    paras = document.paragraphs
    headings = [p.text for p in paras if p.style.name.startswith(("Heading", "Title"))]
    assert headings[0] == "Underlag för svar på skrivelse"
    assert [h for h in headings if h.startswith("Fråga")] == [f"Fråga {q.n}. {q.text}" for q in prep.questions]
    assert headings.count("Skarpnäck") == 4 and "Källor" in headings
    italic = " ".join(r.text for p in paras for r in p.runs if r.italic)
    assert "Av rutinen framgår att polisanmälan alltid görs av chef." in italic
    texts = [p.text for p in paras]
    assert sum(t == "Inget tidigare svar hittat." for t in texts) == 4
    sk = prep.cell(3, "Skarpnäck").citation
    cite = (
        f"[{sk.n}] Skarpnäck, Skrivelse om stärkt skydd och stöd för socialtjänsten, Dnr SKA 2024/339, "
        f"2024-09-24, avsnitt: {sk.section}"
    )
    assert texts.count(cite) == 2  # under the answer and in the source list
    stream = io.BytesIO()
    to_docx(prep, stream)
    assert stream.getvalue()[:2] == b"PK"


def test_docx_export_says_when_dnr_or_date_is_missing(prep, tmp_path):
    import docx

    norra = next(c for c in prep.citations if c.district == "Norra innerstaden")
    assert not norra.dnr  # Norra innerstaden's reply has no diarienummer in its text
    path = tmp_path / "underlag.docx"
    to_docx(prep, path)
    texts = [p.text for p in docx.Document(str(path)).paragraphs]
    line = next(t for t in texts if t.startswith(f"[{norra.n}] Norra innerstaden"))
    assert ", diarienummer saknas, 2024-06-13, avsnitt: " in line  # the date derived from the file name
    undated = replace(norra, dnr="", date="")
    assert citation_line(undated) == (
        f"[{norra.n}] Norra innerstaden, {norra.title}, diarienummer saknas, datum saknas, avsnitt: {norra.section}"
    )


def test_markdown_export(prep, tmp_path):
    md = to_markdown(prep)
    assert md.startswith("# Underlag för svar på skrivelse: Om behovet av stärkt skydd")
    assert "## Fråga 4. Har socialtjänsten i Hägersten-Älvsjö en nolltoleranspolicy där varje hot polisanmäls?" in md
    assert "> Av rutinen framgår att polisanmälan alltid görs av chef." in md
    assert md.count("*Inget tidigare svar hittat.*") == 4
    assert "Dnr SKA 2024/339, 2024-09-24, avsnitt: Förvaltningens synpunkter och förslag › 3. " in md
    assert write(prep, tmp_path / "u.md") == "md" and (tmp_path / "u.md").read_text(encoding="utf-8") == md
    with pytest.raises(FragaError):
        write(prep, tmp_path / "u.pdf")


# READING UPLOADS ===============================================================


def test_read_txt_md_and_unsupported(tmp_path):
    raw = "Följande frågor:\n1. Vem gör polisanmälan på Skärholmen?\n"
    assert read_upload("s.txt", raw.encode("cp1252")) == raw
    assert "polisanmälan" in read_upload("s.md", raw.encode("utf-8"))
    with pytest.raises(IngestError):
        read_upload("s.doc", b"\xd0\xcf\x11\xe0")
    with pytest.raises(IngestError):
        read_upload("s.docx", b"not a zip")
    with pytest.raises(IngestError):
        read_skrivelse(tmp_path / "saknas.txt")


def test_read_docx_writes_out_list_numbers():
    import docx

    document = docx.Document()
    document.add_heading("Om stärkt skydd", level=1)
    document.add_paragraph("Med anledning av ovanstående vill vi ställa följande frågor:")
    document.add_paragraph("Hur ser arbetet ut för att stärka skyddet?", style="List Number")
    document.add_paragraph("Har stadsdelen en nolltoleranspolicy där varje hot polisanmäls?", style="List Number")
    stream = io.BytesIO()
    document.save(stream)
    text = read_upload("skrivelse.docx", stream.getvalue())
    assert "1. Hur ser arbetet ut" in text and "2. Har stadsdelen" in text
    assert [q.label for q in find_questions(text)] == ["1.", "2."]


def test_read_pdf(tmp_path):
    data = make_pdf(
        [
            "Om stärkt skydd\n\nVi ställer följande frågor:\n\n1. Vem gör polisanmälan vid hot?\n"
            "2. Finns en säkerhetssamordnare på heltid?"
        ]
    )
    text = read_upload("skrivelse.pdf", data)
    assert _texts(text) == ["Vem gör polisanmälan vid hot?", "Finns en säkerhetssamordnare på heltid?"]


# COMMAND LINE ==================================================================


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_prepare(fake_index_dir, tmp_path, capsys):
    idx = str(fake_index_dir)
    code, out, _ = run(capsys, "prepare", str(SKRIVELSE), "--index-dir", idx)
    assert code == 0 and "Fråga 3. Har Hägersten-Älvsjö socialtjänst" in out
    assert "Kungsholmen: inget tidigare svar hittat" in out and "Källor:" in out

    code, out, _ = run(capsys, "prepare", str(SKRIVELSE), "--index-dir", idx, "--json")
    data = json.loads(out)
    assert code == 0 and len(data["questions"]) == 4 and len(data["cells"]) == 12
    assert data["cells"][0]["district"] == "Kungsholmen" and data["cells"][0]["found"] is False

    out_file = tmp_path / "underlag.docx"
    code, out, _ = run(capsys, "prepare", str(SKRIVELSE), "--index-dir", idx, "--out", str(out_file))
    assert code == 0 and out_file.is_file() and "8 av 12 rutor" in out

    code, _, err = run(capsys, "prepare", str(SKRIVELSE), "--index-dir", idx, "--out", str(tmp_path / "x.pdf"))
    assert code == 2 and ".docx eller .md" in err
    code, _, err = run(capsys, "prepare", str(tmp_path / "saknas.txt"), "--index-dir", idx)
    assert code == 2 and "finns inte" in err
    empty = tmp_path / "tom.txt"
    empty.write_text("Nämnden beslutar att godkänna budgeten för året.", encoding="utf-8")
    code, _, err = run(capsys, "prepare", str(empty), "--index-dir", idx)
    assert code == 2 and "Hittade inga frågor" in err


# REAL ENCODER ==================================================================


@pytest.mark.slow
def test_real_encoder_eight_cells(real_index_dir):
    prep = prepare(SKRIVELSE.read_text(encoding="utf-8"), Retriever(load_index(real_index_dir)))
    assert len(prep.questions) == 4
    # Measured: 8 of 8 cells (Norra innerstaden and Skarpnäck, questions 1-4) come from section "› i.".
    assert correct_cells(prep) == 8
    # Kungsholmen answered another skrivelse (tystnadskultur): no earlier answer to these questions.
    assert [prep.cell(n, "Kungsholmen").status for n in range(1, 5)] == [NONE] * 4


@pytest.mark.slow
def test_real_encoder_finds_differently_worded_questions(real_index_dir):
    text = (
        "Vi ställer följande frågor:\n"
        "1. Finns det en säkerhetssamordnare anställd på heltid i förvaltningen?\n"
        "2. Polisanmäls alla hot mot medarbetare i socialtjänsten?\n"
        "3. Hur arbetar förvaltningen för att skydda och stödja socialsekreterare som hotas?\n"
        "4. Hur många förskoleplatser finns i stadsdelen?\n"
        "5. Hur stöttas medarbetare som blir utsatta för otillåten påverkan?\n"
    )
    prep = prepare(text, Retriever(load_index(real_index_dir)))
    assert " › 2. " in prep.cell(1, "Skarpnäck").citation.section
    for district in ANSWERING:
        assert " › 4. " in prep.cell(2, district).citation.section
        assert " › 1. " in prep.cell(3, district).citation.section
    assert all(c.status == NONE for c in prep.row(4))
    # Kungsholmen's reply on otillåten påverkan is shown where the question is about that.
    assert prep.cell(5, "Kungsholmen").status == RELATED


# COST ==========================================================================


def test_prepare_reads_the_documents_retrieval_finds_not_the_whole_corpus(tmp_path, fake_encoder, monkeypatch):
    from dataclasses import replace

    from fraga.index import textcolumn
    from fraga.ingest.corpus import load_corpus
    from fraga.ingest.sections import chunk_document
    from fraga.testing import bulk_index

    bundled = list(load_corpus(ROOT / "corpus", repair=None).documents)
    reply = next(d for d in bundled if d.metadata.district == "Skarpnäck")
    filler = []  # 400 short replies from Skarpnäck about something else
    for i in range(400):
        text = f"Parken vid gata {i} får nya bänkar och {i % 7 + 2} träd under året. Arbetet börjar i maj."
        filler.append(replace(reply, doc_id=f"park-{i}", path=f"park-{i}.txt", text=text, original_text=text))
    docs = bundled + filler
    bulk_index(tmp_path / "idx", docs, [c for d in docs for c in chunk_document(d)], fake_encoder)
    read: set[int] = set()
    plain_getitem = textcolumn.TextColumn.__getitem__

    def counting_getitem(self, i):
        if self.folder.name == "documents":
            read.add(int(i))
        return plain_getitem(self, i)

    monkeypatch.setattr(textcolumn.TextColumn, "__getitem__", counting_getitem)
    retriever = Retriever(load_index(tmp_path / "idx"))
    prep = prepare(SKRIVELSE.read_text(encoding="utf-8"), retriever)
    assert len(read) <= len(docs) // 4, f"read {len(read)} of {len(docs)} documents"
    assert correct_cells(prep) == 8  # and the bundled replies are still found
    assert prep.excluded == ("hagersten-alvsjo-skrivelse-starkt-skydd",)
