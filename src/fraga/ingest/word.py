"""Read Word documents (.docx, with python-docx) as fraga text plus the file's own properties.

Headings (paragraph styles "Heading N", Swedish Word's "Rubrik N", or an outline level)
become Markdown headings ("## Bakgrund"), which the section splitter reads as sections;
the Title style ("Rubrik" in Swedish Word) is a plain first line, which the metadata reader
takes as the title. Word's automatic list numbers are written out, tables become one line
per row with its cells separated by " | ", content controls are read through. The core
properties (title, created, modified) are returned apart, for metadata the text lacks.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

from fraga.errors import IngestError

logger = logging.getLogger(__name__)

MAX_HEADING_LEVEL = 6
MAX_UNPACKED_BYTES = 400 * 1024 * 1024  # a .docx/.odt is a zip: more than this unpacked is a zip bomb
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_STYLE_RE = re.compile(r"^(?:heading|rubrik|überschrift|titre)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLES = frozenset({"title", "titel", "rubrik"})
# Titles Word or a converter writes by itself: not the document's own title.
_PLACEHOLDER_TITLE_RE = re.compile(r"^(microsoft word\s*-|untitled|namnlös|dokument\d*$|document\d*$)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class OfficeText:
    """A word-processor file's text and the properties stored in the file (not in its text)."""

    text: str
    title: str = ""  # the title property, else the first paragraph in the Title style
    created: str = ""  # ISO date (YYYY-MM-DD) or ""
    modified: str = ""

    def properties(self) -> dict[str, str]:
        """Metadata fields the file's properties give: ``title`` and ``date`` (created, else modified)."""
        out = {}
        title = " ".join(self.title.split())
        if 3 <= len(title) <= 200 and not _PLACEHOLDER_TITLE_RE.match(title):
            out["title"] = title
        if self.created or self.modified:
            out["date"] = self.created or self.modified
        return out


def iso_date(value: object) -> str:
    """``value`` (a datetime, a date or an ISO string) as "YYYY-MM-DD", or "" when it is no plausible date."""
    if isinstance(value, (datetime, date)):
        text = value.strftime("%Y-%m-%d")
    elif isinstance(value, str):
        m = re.match(r"\s*(\d{4}-\d\d-\d\d)", value)
        text = m.group(1) if m else ""
    else:
        return ""
    return text if "1980-01-01" <= text <= "2100-12-31" else ""


def check_zip(name: str, data: bytes, kind: str) -> None:
    """Raise IngestError when ``data`` is no zip archive or unpacks to more than MAX_UNPACKED_BYTES."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise IngestError(f"{name}: trasig eller oläsbar {kind} (inget giltigt zip-arkiv: {exc})") from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise IngestError(
            f"{name}: packar upp till {unpacked / 2**20:.0f} MB, gränsen är "
            f"{MAX_UNPACKED_BYTES / 2**20:.0f} MB; spara om filen eller dela upp den"
        )


def heading_level(style_name: str, outline_level: int | None = None) -> int | None:
    """The heading level (1-6) of a paragraph style, 0 for the title style, None for body text."""
    name = (style_name or "").strip()
    if name.lower() in _TITLE_STYLES:
        return 0
    m = _HEADING_STYLE_RE.match(name)
    if m:
        return min(max(int(m.group(1)), 1), MAX_HEADING_LEVEL)
    if outline_level is not None and 0 <= outline_level < 9:
        return min(outline_level + 1, MAX_HEADING_LEVEL)
    return None


def heading_line(text: str, level: int | None) -> str:
    """``text`` as a Markdown heading of ``level``, as is for the title (0) or body text (None)."""
    text = " ".join(text.split()) if level is not None else text
    return f"{'#' * level} {text}" if level else text


def read_docx(name: str, data: bytes) -> OfficeText:
    """The text and properties of the .docx file in ``data``. Raises IngestError.

    Args:
        name: The file's name, for messages.
        data: The file's bytes.
    """
    check_zip(name, data, "Word-fil")
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
    except ImportError as exc:  # pragma: no cover - a dependency
        raise IngestError("Paketet python-docx saknas; installera det med: pip install python-docx") from exc
    except Exception as exc:  # python-docx raises several types for damaged files
        raise IngestError(f"{name}: trasig eller oläsbar Word-fil ({type(exc).__name__}: {exc})") from exc
    try:
        blocks = _Blocks(document)
        text = "\n\n".join(blocks.read(document.element.body))
        props = document.core_properties
        title = props.title if props.title and not _PLACEHOLDER_TITLE_RE.match(props.title.strip()) else ""
        title, created, modified = title or blocks.title, iso_date(props.created), iso_date(props.modified)
    except Exception as exc:  # a well-formed zip with odd XML inside
        raise IngestError(f"{name}: Word-filen kan inte läsas ({type(exc).__name__}: {exc})") from exc
    return OfficeText(text, title, created, modified)


class _Blocks:
    """Paragraph and table blocks of a document body in reading order."""

    def __init__(self, document) -> None:
        self.document = document
        self.formats = _numbering_formats(document)
        self.counters: dict[tuple[str, str], int] = {}
        self.title = ""  # the first paragraph in the Title style

    def read(self, element) -> list[str]:
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        blocks: list[str] = []
        for child in element.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else ""
            if tag == "p":
                para = Paragraph(child, self.document)
                text = para.text.strip()
                if text:
                    level = _paragraph_level(para)
                    if level == 0 and not self.title:
                        self.title = text
                    prefix = _list_prefix(para, self.formats, self.counters) if level is None else ""
                    blocks.append(heading_line(prefix + text, level))
            elif tag == "tbl":
                blocks.extend(_table_rows(Table(child, self.document)))
            elif tag == "sdt":  # a content control wrapping paragraphs or tables
                content = child.find(f"{_W}sdtContent")
                if content is not None:
                    blocks.extend(self.read(content))
        return blocks


def _table_rows(table) -> list[str]:
    """One line per row, cells separated by " | " (a merged cell once)."""
    rows = []
    for row in table.rows:
        cells, last = [], None
        for cell in row.cells:
            if cell._tc is last:  # a cell merged across columns repeats in row.cells
                continue
            last = cell._tc
            text = " ".join(cell.text.split())
            if text:
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


def _paragraph_level(para) -> int | None:
    """The heading level of ``para`` from its style (or the styles it is based on) or outline level."""
    ppr = para._p.pPr
    outline = _outline_level(ppr)
    style = para.style
    for _ in range(5):  # custom heading styles are based on the built-in ones
        if style is None:
            break
        level = heading_level(style.name or "", outline if outline is not None else _outline_level(style.element.pPr))
        if level is not None:
            return level
        style = style.base_style
    return heading_level("", outline)


def _outline_level(ppr) -> int | None:
    node = ppr.find(f"{_W}outlineLvl") if ppr is not None else None
    if node is None:
        return None
    try:
        level = int(node.get(f"{_W}val"))
    except (TypeError, ValueError):
        return None
    return level if level < 9 else None  # 9 is "body text"


def _numbering_formats(document) -> dict[tuple[str, str], str]:
    """(numId, ilvl) -> numFmt ("decimal", "bullet", …) from the document's numbering part."""
    out: dict[tuple[str, str], str] = {}
    try:
        numbering = document.part.numbering_part.element
    except (AttributeError, KeyError, NotImplementedError):
        return out
    abstract = {}
    for node in numbering.iter(f"{_W}abstractNum"):
        levels = {}
        for lvl in node.iter(f"{_W}lvl"):
            fmt = lvl.find(f"{_W}numFmt")
            levels[lvl.get(f"{_W}ilvl")] = fmt.get(f"{_W}val") if fmt is not None else "decimal"
        abstract[node.get(f"{_W}abstractNumId")] = levels
    for num in numbering.iter(f"{_W}num"):
        ref = num.find(f"{_W}abstractNumId")
        if ref is None:
            continue
        for ilvl, fmt in abstract.get(ref.get(f"{_W}val"), {}).items():
            out[(num.get(f"{_W}numId"), ilvl)] = fmt
    return out


def _list_prefix(para, formats: dict[tuple[str, str], str], counters: dict[tuple[str, str], int]) -> str:
    """Word's automatic list mark of ``para`` written out: "1. ", "- " or ""."""
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
