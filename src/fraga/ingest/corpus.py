"""Load a corpus folder (txt, md, pdf, docx, odt) into Documents, skipping unreadable files."""

from __future__ import annotations

import codecs
import json
import logging
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from fraga.errors import CorpusError, IngestError
from fraga.ingest.furniture import remove_furniture, remove_repeated_page_lines
from fraga.ingest.metadata import derive_date, extract_metadata, file_properties, with_file_properties
from fraga.ingest.odt import read_odt
from fraga.ingest.scanned import OCR_ENCODING, read_pdf_text, remap_pages
from fraga.ingest.word import read_docx
from fraga.records import Document, Metadata, Page, content_hash
from fraga.text import clean_invisible

logger = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".pdf", ".docx", ".odt")
OFFICE_READERS = {".docx": read_docx, ".odt": read_odt}
SIDECAR_SUFFIX = ".meta.json"
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_SIDECAR_BYTES = 1024 * 1024
MAX_DEPTH = 64  # files in folders deeper than this are reported, not read
BINARY_SHARE = 0.05  # a text with a larger share of control characters is binary data


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file left out of the build, and why (in Swedish, for the user)."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Corpus:
    """The result of loading a folder."""

    root: str
    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...] = ()
    duplicates: tuple[tuple[str, str], ...] = field(default=())  # (kept doc path, duplicate path)


_UTF8_SEQ_RE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_CP1252 = [bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256)]
_BINARY_RE = re.compile(r"[\x00-\x08\x0e-\x1f]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are not UTF-8 are read as Windows-1252 (else Latin-1)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(_CP1252[b] for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error("fraga-cp1252", _cp1252_fallback)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode text in UTF-8 (with or without BOM), UTF-16 (with BOM) or Windows-1252/Latin-1.

    A file that is not valid UTF-8 but holds UTF-8 sequences (texts pasted together from
    two sources) is read as both, "utf-8+cp1252": each valid UTF-8 sequence as UTF-8, every
    other byte as Windows-1252 (Latin-1 for the five bytes Windows-1252 leaves undefined).

    Returns:
        The text (NFC-normalised, newlines unified, form feeds as newlines) and the encoding used.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, encoding = data.decode("utf-16", errors="replace"), "utf-16"
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            if _UTF8_SEQ_RE.search(data):
                text, encoding = data.decode("utf-8", errors="fraga-cp1252"), "utf-8+cp1252"
            else:
                try:
                    text, encoding = data.decode("cp1252"), "cp1252"
                except UnicodeDecodeError:
                    text, encoding = data.decode("latin-1"), "latin-1"
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    return unicodedata.normalize("NFC", text), encoding


def _check_text(text: str, path: Path) -> str:
    controls = _BINARY_RE.subn("", text)[1]
    if controls > BINARY_SHARE * len(text):
        raise IngestError(f"{path.name}: innehåller binärdata ({controls} styrtecken), inte text")
    text = clean_invisible(text)
    if not text.strip():
        raise IngestError(f"{path.name}: filen är tom")
    letters = sum(ch.isalpha() for ch in text)
    if letters < 0.3 * len(text.replace(" ", "").replace("\n", "")) or letters < 20:
        raise IngestError(f"{path.name}: innehåller för lite läsbar text ({letters} bokstäver)")
    return text


def _too_big(path: Path, size: int, limit: int) -> IngestError:
    return IngestError(f"{path.name}: filen är {size / 2**20:.0f} MB, gränsen är {limit / 2**20:.0f} MB; dela upp den")


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (never more is read). Raises IngestError."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
            raise IngestError(f"{path.name}: är ingen vanlig fil")
        if info.st_size > limit:
            raise _too_big(path, info.st_size, limit)
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise IngestError(f"{path.name}: kan inte läsas ({exc.strerror or exc})") from exc
    if len(data) > limit:  # it grew after stat()
        raise _too_big(path, len(data), limit)
    return data


def read_text_file(path: Path) -> tuple[str, str]:
    """Read a .txt/.md file; returns (text, encoding). Raises IngestError."""
    text, encoding = decode_bytes(read_bytes(path))
    return _check_text(text, path), encoding


def read_pdf(path: Path) -> list[str]:
    """Text of each page of a PDF, scanned pages read by Swedish OCR (see ``fraga.ingest.scanned``).

    Raises IngestError for corrupt or empty PDFs, OcrUnavailableError for scans without Tesseract.
    """
    return list(read_pdf_text(path.name, read_bytes(path)).pages)


def doc_id_for(path: Path, root: Path) -> str:
    """Document id: the path below the corpus root, without suffix, with '/' separators."""
    rel = path.relative_to(root).with_suffix("")
    return rel.as_posix()


def read_sidecar(path: Path) -> dict:
    """Metadata overrides from ``NAME.meta.json`` beside the document, or {}."""
    sidecar = path.with_name(path.stem + SIDECAR_SUFFIX)
    if not sidecar.exists():
        return {}
    try:
        data = json.loads(read_bytes(sidecar, MAX_SIDECAR_BYTES).decode("utf-8"))
    except (IngestError, ValueError, RecursionError) as exc:
        logger.warning("%s: ignoring unreadable metadata file (%s)", sidecar.name, exc)
        return {}
    if not isinstance(data, dict):
        logger.warning("%s: ignoring metadata file that is not a JSON object", sidecar.name)
        return {}
    overrides: dict[str, object] = {}
    for key, value in data.items():
        if key not in Metadata.__dataclass_fields__:
            continue
        default = getattr(Metadata(), key)
        if isinstance(default, tuple) and isinstance(value, list) and all(isinstance(v, str) for v in value):
            overrides[key] = [clean_invisible(v) for v in value]
        elif isinstance(default, str) and isinstance(value, str):
            overrides[key] = clean_invisible(value)  # JSON escapes can hold lone surrogates
        elif type(value) is type(default) and not isinstance(default, (tuple, str)):
            overrides[key] = value
        else:
            logger.warning("%s: ignoring %r, which is not a %s", sidecar.name, key, type(default).__name__)
    return overrides


TextRepair = Callable[[str, list[str]], "tuple[str, int] | None"]


def document_metadata(
    text: str, path: Path, *, ocr_changes: int | None = None, properties: dict[str, str] | None = None
) -> Metadata:
    """Metadata extracted from ``text``, completed from the file's ``properties`` (marked as derived),
    marked as OCR-repaired, then overridden by the sidecar."""
    metadata = derive_date(with_file_properties(extract_metadata(text), properties or {}), text, path.stem)
    if ocr_changes is not None:
        metadata = replace(metadata, ocr_repaired=True, ocr_changes=ocr_changes)
    overrides = read_sidecar(path)
    if overrides:
        merged = metadata.to_dict()
        if "date" in overrides and "date_source" not in overrides:
            merged["date_source"] = ""  # the sidecar states the date
        merged.update(overrides)
        merged["derived"] = [k for k in metadata.derived if k not in overrides]
        metadata = Metadata.from_dict(merged)
    return metadata


def load_document(path: Path, root: Path) -> Document:
    """Load one file into a Document (furniture removed, metadata extracted). Raises IngestError."""
    suffix = path.suffix.lower()
    pages: tuple[Page, ...] = ()
    properties: dict[str, str] = {}
    if suffix == ".pdf":
        pdf = read_pdf_text(path.name, read_bytes(path))
        raw_pages = list(pdf.pages)
        original = "\n\n".join(raw_pages)
        cleaned_pages = remove_repeated_page_lines(raw_pages)
        starts, offset = [], 0
        for page in cleaned_pages:
            starts.append(offset)
            offset += len(page) + 2
        text = "\n\n".join(cleaned_pages)
        pages = tuple(Page(i + 1, s) for i, s in enumerate(starts))
        encoding = OCR_ENCODING if pdf.ocr_pages else "pdf"
    elif suffix in OFFICE_READERS:
        office = OFFICE_READERS[suffix](path.name, read_bytes(path))
        original = _check_text(unicodedata.normalize("NFC", office.text), path)
        encoding, properties = suffix[1:], office.properties()
        text = remove_furniture(original)
    else:
        original, encoding = read_text_file(path)
        text = remove_furniture(original)
    return Document(
        doc_id=doc_id_for(path, root),
        path=path.relative_to(root).as_posix(),
        text=text,
        original_text=original,
        metadata=document_metadata(text, path, properties=properties),
        pages=pages,
        encoding=encoding,
    )


def walk_corpus(root: Path) -> Iterator[tuple[Path, str]]:
    """Every file below ``root`` as (path, "") to read or (path, reason) to report as skipped.

    A folder's files come before its subfolders, both sorted. The walk keeps its own stack
    (no recursion limit) and never follows links. Hidden files and folders, Word lock files ("~$…") and metadata
    sidecars are left out silently; links, other file types and files in folders more than
    MAX_DEPTH levels down are reported.
    """
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield folder, f"{folder.name}/: mappen kan inte läsas ({exc.strerror or exc})"
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith((".", "~$")):  # hidden, or a lock file Word keeps beside an open document
                continue
            if entry.is_symlink():
                yield path, f"{entry.name}: är en symbolisk länk; länkar följs inte"
            elif entry.is_dir(follow_symlinks=False):
                subfolders.append(path)
            elif entry.name.endswith(SIDECAR_SUFFIX):
                continue
            elif path.suffix.lower() not in SUFFIXES:
                yield path, f"{entry.name}: filtypen läses inte (bara {', '.join(SUFFIXES)})"
            elif depth > MAX_DEPTH:
                yield path, f"{entry.name}: ligger {depth} mappar ned, gränsen är {MAX_DEPTH}; flytta upp filen"
            else:
                yield path, ""
        stack.extend((sub, depth + 1) for sub in reversed(subfolders))


def _printable(text: str) -> str:
    """``text`` with lone surrogates (undecodable bytes of a file name) as �, so it can be written as UTF-8."""
    return _SURROGATE_RE.sub("\ufffd", text)


def load_corpus(root: str | os.PathLike[str], *, repair: TextRepair | None = None) -> Corpus:
    """Load every document below ``root``; unreadable files are skipped with a reason.

    Raises:
        CorpusError: When ``root`` is not a readable folder or holds no readable document.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        raise CorpusError(f"Korpusmappen {str(root)!r} finns inte eller är ingen mapp")
    documents: list[Document] = []
    skipped: list[Skipped] = []
    duplicates: list[tuple[str, str]] = []
    by_hash: dict[str, Document] = {}
    doc_ids: set[str] = set()
    for path, reason in walk_corpus(root_path):
        rel = path.relative_to(root_path).as_posix()
        if not reason and _SURROGATE_RE.search(rel):
            reason = f"{path.name}: filnamnet är inte giltig UTF-8; byt namn på filen"
        if not reason:
            try:
                doc = load_document(path, root_path)
            except IngestError as exc:
                reason = str(exc)
            except Exception as exc:  # one broken file never stops a build
                reason = f"{path.name}: oväntat fel ({type(exc).__name__}: {exc})"
        if reason:
            skip = Skipped(_printable(rel), _printable(reason))
            logger.warning("skipping %s: %s", skip.path, skip.reason)
            skipped.append(skip)
            continue
        key = content_hash(doc.original_text)
        if key in by_hash:
            first = by_hash[key]
            logger.warning("%s has the same text as %s; indexed once", doc.path, first.path)
            duplicates.append((first.path, doc.path))
            continue
        if doc.doc_id in doc_ids:  # "a.txt" and "a.md": the second keeps its suffix
            doc = replace(doc, doc_id=doc.path)
        by_hash[key] = doc
        doc_ids.add(doc.doc_id)
        documents.append(doc)
    if not documents:
        reasons = "".join(f"; {s.reason}" for s in skipped[:5]) + ("; …" if len(skipped) > 5 else "")
        raise CorpusError(f"Korpusmappen {str(root)!r} har inga läsbara dokument ({', '.join(SUFFIXES)}){reasons}")
    if repair is not None and documents:
        texts = [d.text for d in documents]  # one list for all: a repair may build its vocabulary once
        documents = [_repaired(doc, root_path, repair, texts) for doc in documents]
    return Corpus(str(root_path), tuple(documents), tuple(skipped), tuple(duplicates))


def _repaired(doc: Document, root: Path, repair: TextRepair, texts: list[str]) -> Document:
    """``doc`` with OCR damage repaired when it looks damaged (the other texts are vocabulary)."""
    try:
        result = repair(doc.text, texts)
    except Exception as exc:  # keep the unrepaired document rather than lose it
        logger.warning("%s: OCR repair failed (%s); kept as read", doc.path, exc)
        return doc
    if result is None:
        return doc
    text, changes = result
    pages = remap_pages(doc.text, text, doc.pages)  # a PDF's page starts (the repair keeps its lines)
    if pages is None:
        logger.warning("%s: OCR repair changed the lines; kept as read", doc.path)
        return doc
    logger.info("%s: OCR repair changed %d words", doc.path, changes)
    metadata = document_metadata(text, root / doc.path, ocr_changes=changes, properties=file_properties(doc.metadata))
    return replace(doc, text=text, pages=pages, metadata=metadata)
