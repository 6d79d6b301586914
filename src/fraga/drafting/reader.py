"""Read a skrivelse from a file or an upload: .txt, .md, .pdf (via fraga.ingest.corpus), .docx or .odt."""

from __future__ import annotations

import logging
import os
import tempfile
import unicodedata
from pathlib import Path

from fraga.errors import IngestError
from fraga.ingest.furniture import remove_furniture, remove_repeated_page_lines
from fraga.ingest.corpus import MAX_FILE_BYTES, decode_bytes, read_pdf
from fraga.ingest.odt import read_odt
from fraga.ingest.word import read_docx
from fraga.text import clean_invisible

logger = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".pdf", ".docx", ".odt")


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
    elif suffix == ".odt":
        text = read_odt(name, data).text
    elif suffix in (".doc", ".rtf"):
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
    """Paragraphs and table rows in document order; Word's automatic list numbers written out."""
    return read_docx(name, data).text
