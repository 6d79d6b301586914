"""Read a skrivelse from a file or an upload: .txt, .md, .pdf (via fraga.ingest.corpus) or .docx."""
from __future__ import annotations

import io
import logging
import os
import tempfile
import unicodedata
from pathlib import Path

from fraga.errors import IngestError
from fraga.ingest.furniture import remove_furniture, remove_repeated_page_lines
from fraga.ingest.corpus import MAX_FILE_BYTES, decode_bytes, read_pdf
from fraga.text import clean_invisible

logger = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".pdf", ".docx")


def read_skrivelse(path: str | os.PathLike[str]) -> str:
    """The text of the skrivelse in ``path``. Raises IngestError."""
    p = Path(path)
    if not p.is_file():
        raise IngestError(f"Filen {str(path)!r} finns inte")
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise IngestError(f"{p.name}: filen är {size / 1e6:.0f} MB, gränsen är {MAX_FILE_BYTES / 1e6:.0f} MB")
        data = p.read_bytes()
    except OSError as exc:
        raise IngestError(f"{p.name}: kan inte läsas ({exc.strerror or exc})") from exc
    return read_upload(p.name, data)


def read_upload(filename: str, data: bytes) -> str:
    """The text of an uploaded skrivelse, by the file name's suffix. Raises IngestError.

    Args:
        filename: The uploaded file's name (only its suffix is used).
        data: The file's bytes.
    """
    name = os.path.basename(filename or "skrivelse.txt")
    suffix = os.path.splitext(name)[1].lower()
    if len(data) > MAX_FILE_BYTES:
        raise IngestError(f"{name}: filen är {len(data) / 1e6:.0f} MB, gränsen är {MAX_FILE_BYTES / 1e6:.0f} MB")
    if suffix in (".txt", ".md", ""):
        if b"\x00" in data:
            raise IngestError(f"{name}: innehåller binärdata, inte text")
        text = remove_furniture(decode_bytes(data)[0])
    elif suffix == ".pdf":
        text = _pdf_text(name, data)
    elif suffix == ".docx":
        text = _docx_text(name, data)
    elif suffix in (".doc", ".rtf", ".odt"):
        raise IngestError(f"{name}: formatet {suffix} stöds inte; spara skrivelsen som .docx, .pdf eller .txt")
    else:
        raise IngestError(f"{name}: okänt filformat; använd {', '.join(SUFFIXES)}")
    text = unicodedata.normalize("NFC", clean_invisible(text))
    if sum(ch.isalpha() for ch in text) < 20:
        raise IngestError(f"{name}: filen innehåller ingen läsbar text")
    return text


def _pdf_text(name: str, data: bytes) -> str:
    with tempfile.TemporaryDirectory(prefix="fraga-upload-") as tmp:
        path = Path(tmp) / "skrivelse.pdf"
        path.write_bytes(data)
        try:
            pages = read_pdf(path)
        except IngestError as exc:
            raise IngestError(str(exc).replace("skrivelse.pdf", name)) from exc
    return "\n\n".join(remove_repeated_page_lines(pages))


def _docx_text(name: str, data: bytes) -> str:
    """Paragraphs and table cells in document order; Word's automatic list numbers written out."""
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
    except ImportError as exc:  # pragma: no cover - a dependency
        raise IngestError("Paketet python-docx saknas; installera det med: pip install python-docx") from exc
    except Exception as exc:  # python-docx raises several types for damaged files
        raise IngestError(f"{name}: trasig eller oläsbar Word-fil ({type(exc).__name__})") from exc
    formats = _numbering_formats(document)
    counters: dict[tuple[str, str], int] = {}
    blocks: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(child, document)
            text = para.text.strip()
            if text:
                blocks.append(_list_prefix(para, formats, counters) + text)
        elif tag == "tbl":
            table = Table(child, document)
            for row in table.rows:
                cells = [c.text.strip() for c in row.cells if c.text.strip()]
                if cells:
                    blocks.append(" | ".join(dict.fromkeys(cells)))
    return "\n\n".join(blocks)


def _numbering_formats(document) -> dict[tuple[str, str], str]:
    """(numId, ilvl) -> numFmt ("decimal", "bullet", …) from the document's numbering part."""
    out: dict[tuple[str, str], str] = {}
    try:
        numbering = document.part.numbering_part.element
    except (AttributeError, KeyError, NotImplementedError):
        return out
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    abstract = {}
    for node in numbering.iter(f"{w}abstractNum"):
        levels = {}
        for lvl in node.iter(f"{w}lvl"):
            fmt = lvl.find(f"{w}numFmt")
            levels[lvl.get(f"{w}ilvl")] = fmt.get(f"{w}val") if fmt is not None else "decimal"
        abstract[node.get(f"{w}abstractNumId")] = levels
    for num in numbering.iter(f"{w}num"):
        ref = num.find(f"{w}abstractNumId")
        if ref is None:
            continue
        for ilvl, fmt in abstract.get(ref.get(f"{w}val"), {}).items():
            out[(num.get(f"{w}numId"), ilvl)] = fmt
    return out


def _list_prefix(para, formats: dict[tuple[str, str], str], counters: dict[tuple[str, str], int]) -> str:
    ppr = para._p.pPr
    numpr = ppr.numPr if ppr is not None else None
    if numpr is None or numpr.numId is None:
        style = (para.style.name or "") if para.style is not None else ""
        if style.startswith("List Number"):
            key = ("style", style)
            counters[key] = counters.get(key, 0) + 1
            return f"{counters[key]}. "
        return "- " if style.startswith("List Bullet") else ""
    key = (str(numpr.numId.val), str(numpr.ilvl.val) if numpr.ilvl is not None else "0")
    if formats.get(key, "decimal") == "bullet":
        return "- "
    counters[key] = counters.get(key, 0) + 1
    return f"{counters[key]}. "
