"""Write a Preparation as a draft aid: Word (.docx), Markdown, or plain text for the terminal."""

from __future__ import annotations

import logging
import os
import re
from datetime import date
from typing import IO

from fraga.drafting.match import NOT_FOUND, SAME, Cell, Preparation
from fraga.errors import FragaError
from fraga.records import Citation

logger = logging.getLogger(__name__)

HEADING = "Underlag för svar på skrivelse"
LABEL_SAME = "Tidigare svar på samma fråga"
LABEL_RELATED = "Närliggande tidigare svar (ingen direkt motsvarighet till frågan)"
DRAFT_LABEL = "Utkast till svar:"
SOURCES = "Källor"


MISSING_DNR = "diarienummer saknas"
MISSING_DATE = "datum saknas"


def citation_line(c: Citation, *, numbered: bool = True) -> str:
    """ "[1] Skarpnäck, Titel, Dnr SKA 2024/339, 2024-09-24, avsnitt: …".

    A missing diarienummer or date is said ("diarienummer saknas"), not left out, so whoever
    uses the draft knows to look it up.
    """
    parts = [
        c.district or "okänd stadsdel",
        c.title or c.doc_id,
        f"Dnr {c.dnr}" if c.dnr else MISSING_DNR,
        c.date or MISSING_DATE,
        f"avsnitt: {c.section}",
    ]
    text = ", ".join(parts)
    return f"[{c.n}] {text}" if numbered else text


def counts(prep: Preparation) -> str:
    """ "4 frågor, 3 stadsdelar" (singular when one)."""
    nq, nd = len(prep.questions), len(prep.districts)
    return f"{nq} {'fråga' if nq == 1 else 'frågor'}, {nd} {'stadsdel' if nd == 1 else 'stadsdelar'}"


def _label(cell: Cell) -> str:
    if cell.status == SAME:
        asked = f" (ställd som: \u201d{cell.earlier_question}\u201d)" if cell.earlier_question else ""
        return LABEL_SAME + asked
    if cell.earlier_question:
        return f"Närliggande tidigare svar, på frågan \u201d{cell.earlier_question}\u201d"
    return LABEL_RELATED


def _intro(prep: Preparation) -> list[str]:
    lines = []
    if prep.title:
        lines.append(f"Skrivelse: {prep.title}")
    if prep.district:
        lines.append(f"Stadsdel: {prep.district}")
    found = sum(c.found for c in prep.cells)
    lines.append(
        f"{counts(prep)} med tidigare svar i indexet ({', '.join(prep.districts) or 'inga'}); "
        f"{found} av {len(prep.cells)} rutor har ett tidigare svar."
    )
    lines.append(
        f"Sammanställt av fraga {date.today().isoformat()}. Citaten är ordagranna ur dokumenten; "
        "kontrollera dem mot källan innan de används."
    )
    return lines


# Markdown ----------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_<>|])")


def _md(text: str) -> str:
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return re.sub(r"^([#>+-]|\d+[.)])", r"\\\1", text, flags=re.M)


def to_markdown(prep: Preparation) -> str:
    """The preparation as Markdown: questions as headings, quoted answers, full citations."""
    out = [f"# {HEADING}" + (f": {_md(prep.title)}" if prep.title else ""), ""]
    out += [_md(line) + "  " for line in _intro(prep)]
    for q in prep.questions:
        out += ["", f"## Fråga {q.n}. {_md(q.text)}"]
        for cell in prep.row(q.n):
            out += ["", f"### {cell.district}", ""]
            if cell.citation is None:
                out.append(f"*{NOT_FOUND.capitalize()}.*")
                continue
            out += [f"{_md(_label(cell))}:", ""]
            paras = cell.citation.quote.split("\n\n")
            for k, para in enumerate(paras):
                out.append(f"> {_md(para)}")
                if k + 1 < len(paras):
                    out.append(">")
            out += ["", _md(citation_line(cell.citation))]
        out += ["", f"**{DRAFT_LABEL}**", ""]
    if prep.citations:
        out += ["", f"## {SOURCES}", ""]
        out += [_md(citation_line(c)) + "  " for c in prep.citations]
    return "\n".join(out).rstrip() + "\n"


# Plain text --------------------------------------------------------------------
def to_text(prep: Preparation, *, width: int = 240) -> str:
    """A short view for the terminal: per question, per district, the opening of the answer."""
    out = _intro(prep)
    for q in prep.questions:
        out += ["", f"Fråga {q.n}. {q.text}"]
        for cell in prep.row(q.n):
            if cell.citation is None:
                out.append(f"  {cell.district}: {NOT_FOUND}")
                continue
            kind = "samma fråga" if cell.status == SAME else "närliggande"
            excerpt = cell.excerpt if len(cell.excerpt) <= width else cell.excerpt[:width].rsplit(" ", 1)[0] + " …"
            out.append(f"  {cell.district} ({kind}) [{cell.citation.n}]: {excerpt}")
    if prep.citations:
        out += ["", f"{SOURCES}:"] + [citation_line(c) for c in prep.citations]
    return "\n".join(out)


# Word --------------------------------------------------------------------------
def to_docx(prep: Preparation, target: str | os.PathLike[str] | IO[bytes]) -> None:
    """Write the preparation as a Word document to a path or a binary stream.

    Per question a heading, per district a heading with the quoted answer in italics
    and a full citation line (or "Inget tidigare svar hittat."), an empty draft
    paragraph, and a numbered source list at the end.
    """
    try:
        import docx
        from docx.shared import Pt, RGBColor
    except ImportError as exc:  # pragma: no cover - a dependency
        raise FragaError("Paketet python-docx saknas; installera det med: pip install python-docx") from exc

    doc = docx.Document()
    doc.core_properties.title = f"{HEADING}: {prep.title}" if prep.title else HEADING
    doc.core_properties.language = "sv-SE"
    doc.add_heading(HEADING, level=0)
    for line in _intro(prep):
        doc.add_paragraph(line)
    grey = RGBColor(0x59, 0x59, 0x59)
    for q in prep.questions:
        doc.add_heading(f"Fråga {q.n}. {q.text}", level=1)
        for cell in prep.row(q.n):
            doc.add_heading(cell.district, level=2)
            if cell.citation is None:
                doc.add_paragraph(f"{NOT_FOUND.capitalize()}.")
                continue
            label = doc.add_paragraph()
            label.add_run(_label(cell) + ":").bold = True
            for para in cell.citation.quote.split("\n\n"):
                p = doc.add_paragraph(style="Quote") if "Quote" in doc.styles else doc.add_paragraph()
                run = p.add_run(para)
                run.italic = True
            cite = doc.add_paragraph()
            run = cite.add_run(citation_line(cell.citation))
            run.font.size = Pt(9)
            run.font.color.rgb = grey
        draft = doc.add_paragraph()
        draft.add_run(DRAFT_LABEL).bold = True
        doc.add_paragraph("")
    if prep.citations:
        doc.add_heading(SOURCES, level=1)
        for c in prep.citations:
            doc.add_paragraph(citation_line(c))
    doc.save(target)
    logger.info("wrote docx with %d question(s)", len(prep.questions))


def write(prep: Preparation, path: str | os.PathLike[str]) -> str:
    """Write ``prep`` to ``path`` as .docx or .md (by suffix); returns the format written."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix == ".docx":
        to_docx(prep, path)
        return "docx"
    if suffix in (".md", ".markdown"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(to_markdown(prep))
        return "md"
    raise FragaError(f"Kan inte skriva {os.fspath(path)!r}: välj en fil som slutar på .docx eller .md")
