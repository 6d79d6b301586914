"""Splitting documents into sections and passages."""

from __future__ import annotations

from fraga.records import Document
from fraga.ingest.sections import SEP, chunk_document, match_heading, split_sections


def doc(text: str, doc_id: str = "d") -> Document:
    return Document(doc_id=doc_id, path=f"{doc_id}.txt", text=text, original_text=text)


def test_ocr_damaged_headings_are_recognised():
    assert match_heading("Arendet") == "Ärendet"
    assert match_heading(" Forvaltningens synpunkter och forslag") == "Förvaltningens synpunkter och förslag"
    assert match_heading("Férvaltningens forslag till beslut") == "Förvaltningens förslag till beslut"
    assert match_heading("Arendets beredning") == "Ärendets beredning"
    assert match_heading("Ärendet har beretts inom avdelningen.") is None


def test_one_section_per_answered_question():
    text = (
        "Sammanfattning\nKort sammanfattning.\n\nFörvaltningens synpunkter och förslag\n"
        "Nedan svarar förvaltningen.\n\n1. Har nämnden en samordnare?\nJa, en samordnare finns.\n\n"
        "2) Vem polisanmäler\nhot mot medarbetare?\nChef gör alltid polisanmälan.\n"
    )
    sections = split_sections(doc(text))
    titles = [s.title for s in sections]
    assert titles == [
        "Sammanfattning",
        "Förvaltningens synpunkter och förslag",
        f"Förvaltningens synpunkter och förslag{SEP}1. Har nämnden en samordnare?",
        f"Förvaltningens synpunkter och förslag{SEP}2. Vem polisanmäler hot mot medarbetare?",
    ]
    last = sections[-1]
    assert text[last.start : last.end].strip() == "Chef gör alltid polisanmälan."


def test_unnumbered_questions_are_numbered_in_order(fake_index_dir):
    from fraga.index.generation import load_index

    index = load_index(fake_index_dir)
    sections = {c.section for c in index.chunks if c.doc_id.startswith("skarpnack")}
    assert any(
        s.endswith(
            "› 3. Har Skarpnäcks stadsdelsnämnd socialtjänst som rutin att chefer eller även i "
            "vissa fall sociala delegationen står för polisanmälan vid hot och våld mot "
            "socialsekreterare?"
        )
        for s in sections
    )
    (chunk,) = [c for c in index.chunks if "polisanmälan alltid görs av chef" in c.text]
    assert "› 3. Har Skarpnäcks" in chunk.section


def test_long_sections_are_cut_at_sentences_with_overlap():
    sentences = [f"Mening nummer {i} handlar om arbetsmiljö och säkerhet på enheten." for i in range(40)]
    text = "Bakgrund\n" + " ".join(sentences)
    chunks = chunk_document(doc(text), max_chars=300)
    assert len(chunks) > 5
    for c in chunks:
        assert len(c.text) <= 300
        assert c.text.endswith(".") and c.text[0].isupper()
        assert c.section == "Bakgrund"
    # neighbouring passages share one sentence
    first_last = chunks[0].text.split(". ")[-1]
    assert chunks[1].text.startswith(first_last.rstrip("."))


def test_skrivelse_questions_become_sections():
    text = (
        "## **Om behovet av skydd**\n\nText om behovet.\n\nMed anledning av ovanstående vill Liberalerna "
        "ställa följande frågor:\n\n1. Har stadsdelen en samordnare?\n2. Har stadsdelen en policy?"
    )
    titles = [s.title for s in split_sections(doc(text))]
    assert titles[-2:] == [
        f"Inledning{SEP}Frågor{SEP}1. Har stadsdelen en samordnare?",
        f"Inledning{SEP}Frågor{SEP}2. Har stadsdelen en policy?",
    ]
