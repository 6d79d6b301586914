"""Read OpenDocument text files (.odt, with odfpy) as fraga text plus the file's own properties.

The same conventions as :mod:`fraga.ingest.word`: headings (``text:h`` with an outline level)
become Markdown headings the section splitter reads, list items get their marks ("1. ", "- "),
tables one line per row with cells separated by " | ", and the file's title, creation and
modification dates are returned apart.
"""

from __future__ import annotations

import io
import logging

from fraga.errors import IngestError
from fraga.ingest.word import MAX_HEADING_LEVEL, OfficeText, check_zip, heading_line, iso_date

logger = logging.getLogger(__name__)

_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_DC = "http://purl.org/dc/elements/1.1/"
_META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_MAX_DEPTH = 50  # nested lists/sections deeper than this are read flat


def read_odt(name: str, data: bytes) -> OfficeText:
    """The text and properties of the .odt file in ``data``. Raises IngestError.

    Args:
        name: The file's name, for messages.
        data: The file's bytes.
    """
    try:
        from odf.opendocument import load
    except ImportError as exc:
        raise IngestError(f"{name}: paketet odfpy saknas för .odt-filer; installera det med: pip install odfpy") from exc
    check_zip(name, data, "ODT-fil")
    try:
        document = load(io.BytesIO(data))
        reader = _Reader(_numbered_list_styles(document))
        text = "\n\n".join(reader.blocks(document.text, 0))
        props = {child.qname: str(child) for child in document.meta.childNodes if hasattr(child, "qname")}
    except Exception as exc:  # odfpy raises zip, XML and attribute errors for damaged files
        raise IngestError(f"{name}: trasig eller oläsbar ODT-fil ({type(exc).__name__}: {exc})") from exc
    return OfficeText(
        text,
        props.get((_DC, "title"), ""),
        iso_date(props.get((_META, "creation-date"), "")),
        iso_date(props.get((_DC, "date"), "")),
    )


def _numbered_list_styles(document) -> set[str]:
    """Names of list styles whose first level is numbered (not bullets)."""
    names = set()
    for container in (document.automaticstyles, document.styles):
        for style in container.childNodes:
            if getattr(style, "qname", None) != (_TEXT, "list-style"):
                continue
            levels = [c for c in style.childNodes if hasattr(c, "qname")]
            if levels and levels[0].qname == (_TEXT, "list-level-style-number"):
                names.add(style.getAttrNS(_STYLE, "name") or style.getAttrNS(_TEXT, "name") or "")
    return names


class _Reader:
    def __init__(self, numbered: set[str]) -> None:
        self.numbered = numbered

    def blocks(self, element, depth: int, list_style: str = "") -> list[str]:
        out: list[str] = []
        for child in element.childNodes:
            qname = getattr(child, "qname", None)
            if qname == (_TEXT, "h"):
                text = _text(child)
                if text.strip():
                    try:
                        level = int(child.getAttrNS(_TEXT, "outline-level") or 1)
                    except ValueError:
                        level = 1
                    out.append(heading_line(text.strip(), min(max(level, 1), MAX_HEADING_LEVEL)))
            elif qname == (_TEXT, "p"):
                text = _text(child).strip()
                if text:
                    out.append(text)
            elif qname == (_TEXT, "list"):
                style = child.getAttrNS(_TEXT, "style-name") or list_style
                out.extend(self._list(child, depth, style))
            elif qname == (_TABLE, "table"):
                out.extend(_table_rows(child))
            elif qname is not None and depth < _MAX_DEPTH and child.childNodes:  # sections, frames, …
                out.extend(self.blocks(child, depth + 1, list_style))
        return out

    def _list(self, element, depth: int, style: str) -> list[str]:
        out: list[str] = []
        n = 0
        for item in element.childNodes:
            if getattr(item, "qname", None) != (_TEXT, "list-item") or depth >= _MAX_DEPTH:
                continue
            n += 1
            mark = f"{n}. " if style in self.numbered else "- "
            inner = self.blocks(item, depth + 1, style)
            if inner:
                out.append(mark + inner[0])
                out.extend(inner[1:])
        return out


def _text(element) -> str:
    from odf import teletype

    return teletype.extractText(element)


def _table_rows(table) -> list[str]:
    """One line per row, cells separated by " | "."""
    rows: list[str] = []
    for node in table.getElementsByType(_row_type()):
        cells = []
        for cell in node.childNodes:
            if getattr(cell, "qname", None) == (_TABLE, "table-cell"):
                text = " ".join(" ".join(_text(part) for part in cell.childNodes).split())
                if text:
                    cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


def _row_type():
    from odf.table import TableRow

    return TableRow
