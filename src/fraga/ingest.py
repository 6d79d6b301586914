"""Load a corpus folder (txt, md, pdf) into Documents, skipping unreadable files."""
from __future__ import annotations

import json
import logging
import os
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from fraga.errors import CorpusError, IngestError
from fraga.furniture import remove_furniture, remove_repeated_page_lines
from fraga.metadata import extract_metadata
from fraga.records import Document, Metadata, Page, content_hash
from fraga.text import clean_invisible

logger = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".pdf")
SIDECAR_SUFFIX = ".meta.json"
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 64


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


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode text in UTF-8 (with or without BOM) or, failing that, Windows-1252/Latin-1.

    Returns:
        The text (NFC-normalised, newlines unified) and the encoding used.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text), encoding


def _check_text(text: str, path: Path) -> str:
    if "\x00" in text:
        raise IngestError(f"{path.name}: innehåller binärdata (NUL-tecken), inte text")
    text = clean_invisible(text)
    if not text.strip():
        raise IngestError(f"{path.name}: filen är tom")
    letters = sum(ch.isalpha() for ch in text)
    if letters < 0.3 * len(text.replace(" ", "").replace("\n", "")) or letters < 20:
        raise IngestError(f"{path.name}: innehåller för lite läsbar text ({letters} bokstäver)")
    return text


def read_text_file(path: Path) -> tuple[str, str]:
    """Read a .txt/.md file; returns (text, encoding). Raises IngestError."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise IngestError(
            f"{path.name}: filen är {size / 1e6:.0f} MB, gränsen är {MAX_FILE_BYTES / 1e6:.0f} MB; dela upp den"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path.name}: kan inte läsas ({exc.strerror or exc})") from exc
    text, encoding = decode_bytes(data)
    return _check_text(text, path), encoding


def read_pdf(path: Path) -> list[str]:
    """Text of each page of a text PDF. Raises IngestError for corrupt or image-only PDFs."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise IngestError(f"{path.name}: filen är {size / 1e6:.0f} MB, gränsen är {MAX_FILE_BYTES / 1e6:.0f} MB")
    try:
        from pypdf import PdfReader

        reader = PdfReader(str(path), strict=False)
        pages = [(page.extract_text() or "") for page in reader.pages]
    except Exception as exc:  # pypdf raises many types for damaged files
        raise IngestError(f"{path.name}: trasig eller oläsbar PDF ({type(exc).__name__}: {exc})") from exc
    pages = [unicodedata.normalize("NFC", clean_invisible(p.replace("\r\n", "\n"))) for p in pages]
    if not any(p.strip() for p in pages):
        raise IngestError(f"{path.name}: PDF:en har ingen textrad (skannad bild utan OCR?)")
    return pages


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
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("%s: ignoring unreadable metadata file (%s)", sidecar.name, exc)
        return {}
    if not isinstance(data, dict):
        logger.warning("%s: ignoring metadata file that is not a JSON object", sidecar.name)
        return {}
    return data


TextRepair = Callable[[str, list[str]], "tuple[str, int] | None"]


def document_metadata(text: str, path: Path, *, ocr_changes: int | None = None) -> Metadata:
    """Metadata extracted from ``text``, marked as OCR-repaired, then overridden by the sidecar."""
    metadata = extract_metadata(text)
    if ocr_changes is not None:
        metadata = replace(metadata, ocr_repaired=True, ocr_changes=ocr_changes)
    overrides = read_sidecar(path)
    if overrides:
        merged = metadata.to_dict()
        merged.update(overrides)
        metadata = Metadata.from_dict(merged)
    return metadata


def load_document(path: Path, root: Path) -> Document:
    """Load one file into a Document (furniture removed, metadata extracted). Raises IngestError."""
    suffix = path.suffix.lower()
    pages: tuple[Page, ...] = ()
    if suffix == ".pdf":
        raw_pages = read_pdf(path)
        original = "\n\n".join(raw_pages)
        cleaned_pages = remove_repeated_page_lines(raw_pages)
        starts, offset = [], 0
        for page in cleaned_pages:
            starts.append(offset)
            offset += len(page) + 2
        text = "\n\n".join(cleaned_pages)
        pages = tuple(Page(i + 1, s) for i, s in enumerate(starts))
        encoding = "pdf"
    else:
        original, encoding = read_text_file(path)
        text = remove_furniture(original)
    return Document(
        doc_id=doc_id_for(path, root),
        path=path.relative_to(root).as_posix(),
        text=text,
        original_text=original,
        metadata=document_metadata(text, path),
        pages=pages,
        encoding=encoding,
    )


def iter_files(root: Path) -> Iterator[Path]:
    """Document files below ``root``, sorted, recursively (links not followed)."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        depth = len(Path(dirpath).relative_to(root).parts)
        if depth >= MAX_DEPTH:
            dirnames[:] = []
            logger.warning("%s: deeper than %d folders, not read", dirpath, MAX_DEPTH)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or name.endswith(SIDECAR_SUFFIX):
                continue
            path = Path(dirpath) / name
            if path.suffix.lower() in SUFFIXES and not path.is_symlink():
                yield path


def load_corpus(root: str | os.PathLike[str], *, repair: TextRepair | None = None) -> Corpus:
    """Load every document below ``root``; unreadable files are skipped with a reason.

    Raises:
        CorpusError: When ``root`` is not a readable folder.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        raise CorpusError(f"Korpusmappen {str(root)!r} finns inte eller är ingen mapp")
    paths = list(iter_files(root_path))
    documents: list[Document] = []
    skipped: list[Skipped] = []
    duplicates: list[tuple[str, str]] = []
    by_hash: dict[str, Document] = {}
    for path in paths:
        try:
            doc = load_document(path, root_path)
        except IngestError as exc:
            logger.warning("skipping %s: %s", path, exc)
            skipped.append(Skipped(path.relative_to(root_path).as_posix(), str(exc)))
            continue
        except Exception as exc:  # one broken file never stops a build
            logger.warning("skipping %s: unexpected %s: %s", path, type(exc).__name__, exc)
            skipped.append(Skipped(path.relative_to(root_path).as_posix(),
                                   f"{path.name}: oväntat fel ({type(exc).__name__}: {exc})"))
            continue
        key = content_hash(doc.original_text)
        if key in by_hash:
            first = by_hash[key]
            logger.warning("%s has the same text as %s; indexed once", doc.path, first.path)
            duplicates.append((first.path, doc.path))
            continue
        by_hash[key] = doc
        documents.append(doc)
    if repair is not None and documents:
        documents = [_repaired(doc, root_path, repair, [d.text for d in documents]) for doc in documents]
    return Corpus(str(root_path), tuple(documents), tuple(skipped), tuple(duplicates))


def _repaired(doc: Document, root: Path, repair: TextRepair, texts: list[str]) -> Document:
    """``doc`` with OCR damage repaired when it looks damaged (the other texts are vocabulary)."""
    if doc.pages:  # PDFs keep page offsets; their text is shown as extracted
        return doc
    try:
        result = repair(doc.text, texts)
    except Exception as exc:  # keep the unrepaired document rather than lose it
        logger.warning("%s: OCR repair failed (%s); kept as read", doc.path, exc)
        return doc
    if result is None:
        return doc
    text, changes = result
    logger.info("%s: OCR repair changed %d words", doc.path, changes)
    return replace(doc, text=text, metadata=document_metadata(text, root / doc.path, ocr_changes=changes))
