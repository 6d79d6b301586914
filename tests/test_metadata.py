"""Metadata extracted from the bundled documents' own text."""

from __future__ import annotations

from pathlib import Path

import pytest

from fraga.ingest.furniture import remove_furniture
from fraga.ingest.metadata import extract_metadata, iso_dates

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def meta(name: str):
    return extract_metadata(remove_furniture((CORPUS / name).read_text(encoding="utf-8")))


def test_skarpnack():
    m = meta("skarpnack-2024-09-24-starkt-skydd.txt")
    assert m.district == "Skarpnäck"
    assert m.doc_type == "tjänsteutlåtande"
    assert m.dnr == "SKA 2024/339"
    assert m.date == "2024-09-24"
    assert m.title == "Skrivelse om stärkt skydd och stöd för socialtjänsten"
    assert m.handlaggare == "Sara Uusimäki"
    assert m.signers == ("Karin Bülow (Stadsdelsdirektör)", "Hanna Jakhammer (Avdelningschef)")
    assert m.parties == ("Centerpartiet (C)", "Moderaterna (M)", "Liberalerna (L)")


def test_kungsholmen():
    m = meta("kungsholmen-2022-04-20-tystnadskultur.txt")
    assert (m.district, m.doc_type, m.date) == ("Kungsholmen", "tjänsteutlåtande", "2022-04-20")
    assert m.title == "Om tystnadskultur och otillåten påverkan"
    assert m.dnr == ""  # not in the text: stays empty
    assert m.parties == ("Sverigedemokraterna (SD)",)
    assert m.handlaggare == "Madelen Lyckedal"


def test_hagersten_alvsjo_skrivelse():
    m = meta("hagersten-alvsjo-skrivelse-starkt-skydd.txt")
    assert (m.district, m.doc_type) == ("Hägersten-Älvsjö", "skrivelse")
    assert m.title == "Om behovet av stärkt skydd och stöd för socialtjänstens medarbetare"
    assert (m.date, m.dnr, m.handlaggare) == ("", "", "")
    assert m.parties == ("Liberalerna (L)",)


def test_norra_innerstaden_ocr_text():
    m = meta("norra-innerstaden-2024-06-13-starkt-skydd.txt")
    assert m.district == "Norra innerstaden"
    assert m.doc_type == "tjänsteutlåtande"
    assert m.dnr == "" and m.date == ""
    assert "2024-06-13" in m.dates
    assert len(m.parties) == 4


@pytest.mark.parametrize(
    "text,expected",
    [
        ("den 13 juni 2024", ["2024-06-13"]),
        ("2024-09-24 och 20 april 2022", ["2024-09-24", "2022-04-20"]),
        ("13 juni", []),
    ],
)
def test_dates(text, expected):
    assert [d for _, d in iso_dates(text)] == expected
