"""Read PDFs page by page, running Swedish OCR (Tesseract) on pages without a text layer.

A page whose text layer holds fewer than ``MIN_TEXT_LETTERS`` letters but carries images
is a scan: its images are read by pypdf (JPEG, Flate, CCITT fax; no rendering needed) and
recognised with Tesseract's Swedish model through pytesseract. When pypdf cannot decode a
page's image (JBIG2, say) and pypdfium2 is installed, the page is rendered with it instead.

Tesseract is a system program (Debian: ``apt-get install tesseract-ocr tesseract-ocr-swe``).
When it, its Swedish data or pytesseract is missing, a PDF with scanned pages raises
:class:`OcrUnavailableError` naming the fix, so the file is reported as skipped, never
indexed as empty. Fraga's own OCR repair runs on the recognised pages afterwards
(the corpus loader moves the page starts with :func:`remap_pages`).
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from dataclasses import dataclass

from fraga.errors import IngestError, OcrUnavailableError
from fraga.records import Page
from fraga.text import clean_invisible

logger = logging.getLogger(__name__)

OCR_ENCODING = "pdf+ocr"  # Document.encoding of a PDF with at least one OCR'd page
OCR_LANGUAGE = "swe"
MIN_TEXT_LETTERS = 10  # a page with fewer letters in its text layer is read as a scan
MIN_IMAGE_PIXELS = 150  # images narrower or lower than this are logos or specks, not a scanned page
RENDER_DPI = 300
OCR_TIMEOUT_SECONDS = 300  # per image: Tesseract reads an A4 page at 300 dpi in a few seconds
INSTALL_HINT = "installera med: apt-get install -y tesseract-ocr tesseract-ocr-swe && pip install pytesseract"

# A word broken at the end of a line ("förvalt-\nningen"); "säkerhets- och" is a compound part.
_HYPHEN_BREAK_RE = re.compile(r"(\w)-[ \t]*\n[ \t]*(?!(?:och|eller|samt|som)\b)([a-zåäö]\S*)[ \t]*")


@dataclass(frozen=True, slots=True)
class PdfText:
    """The text of each page of a PDF, and which pages (1-based) were read by OCR."""

    pages: tuple[str, ...]
    ocr_pages: tuple[int, ...] = ()


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def tesseract_problem() -> str:
    """Why Swedish OCR cannot run here (in Swedish, with the fix), or "" when it can."""
    try:
        import pytesseract
    except ImportError:
        return f"Python-paketet pytesseract saknas; {INSTALL_HINT}"
    try:
        languages = pytesseract.get_languages(config="")
    except pytesseract.TesseractNotFoundError:
        return f"programmet Tesseract saknas; {INSTALL_HINT}"
    except Exception as exc:  # a broken install: tesseract exists but does not run
        return f"Tesseract går inte att köra ({type(exc).__name__}: {exc}); {INSTALL_HINT}"
    if OCR_LANGUAGE not in languages:
        return "Tesseracts svenska språkdata saknas; installera med: apt-get install -y tesseract-ocr-swe"
    return ""


def tidy_ocr_text(text: str) -> str:
    """Tesseract output as fraga text: NFC, no invisible characters, words broken at line ends joined."""
    text = unicodedata.normalize("NFC", clean_invisible(text.replace("\r\n", "\n").replace("\f", "\n")))
    text = _HYPHEN_BREAK_RE.sub(r"\1\2\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _page_images(page) -> list:
    """The page's images large enough to be a scan, as PIL images, in the page's order."""
    out = []
    for image_file in page.images:
        image = image_file.image
        if image is None or min(image.size) < MIN_IMAGE_PIXELS:
            continue
        if image.mode not in ("1", "L", "RGB"):
            image = image.convert("RGB")
        out.append(image)
    return out


def _render(data: bytes, index: int):
    """Page ``index`` rendered by pypdfium2 (an optional package), or None when it is not installed."""
    try:
        import pypdfium2
    except ImportError:
        return None
    pdf = pypdfium2.PdfDocument(data)
    try:
        return pdf[index].render(scale=RENDER_DPI / 72).to_pil().convert("L")
    finally:
        pdf.close()


def _ocr_page(name: str, data: bytes, page, index: int) -> str:
    """Swedish OCR of page ``index`` (0-based) of the PDF. Raises IngestError."""
    import pytesseract

    failed: Exception | None = None
    try:
        images = _page_images(page)
    except Exception as exc:  # pypdf cannot decode every image filter (JBIG2, damaged streams)
        logger.info("%s: page %d: images not decodable by pypdf (%s)", name, index + 1, exc)
        images, failed = [], exc
    if not images and failed is None:
        return ""  # only logos or specks: nothing to read
    if not images:
        try:
            rendered = _render(data, index)
        except Exception as exc:  # pdfium refuses the page too
            raise IngestError(
                f"{name}: sidan {index + 1} är en bild som inte kan läsas för OCR ({type(exc).__name__}: {exc})"
            ) from exc
        if rendered is None:
            raise IngestError(
                f"{name}: sidan {index + 1} är en bild som inte kan läsas ut för OCR "
                f"({type(failed).__name__}); installera pypdfium2 (pip install pypdfium2) "
                "eller spara om PDF:en"
            )
        images = [rendered]
    try:
        texts = [pytesseract.image_to_string(image, lang=OCR_LANGUAGE, timeout=OCR_TIMEOUT_SECONDS) for image in images]
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrUnavailableError(f"{name}: skannad PDF, men programmet Tesseract saknas; {INSTALL_HINT}") from exc
    except Exception as exc:  # pytesseract.TesseractError, a killed process, an odd image
        raise IngestError(f"{name}: OCR av sidan {index + 1} misslyckades ({type(exc).__name__}: {exc})") from exc
    return tidy_ocr_text("\n\n".join(texts))


def read_pdf_text(name: str, data: bytes) -> PdfText:
    """The text of each page of the PDF in ``data``, scanned pages read by Swedish OCR.

    Args:
        name: The file's name, for messages.
        data: The PDF's bytes.

    Raises:
        OcrUnavailableError: When the PDF has scanned pages and Tesseract cannot run.
        IngestError: When the PDF is damaged or holds no text at all.
    """
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data), strict=False)
        pdf_pages = list(reader.pages)
        texts = [(page.extract_text() or "") for page in pdf_pages]
    except Exception as exc:  # pypdf raises many types for damaged files
        raise IngestError(f"{name}: trasig eller oläsbar PDF ({type(exc).__name__}: {exc})") from exc
    texts = [unicodedata.normalize("NFC", clean_invisible(t.replace("\r\n", "\n"))) for t in texts]
    scanned = [
        i for i, (page, text) in enumerate(zip(pdf_pages, texts)) if _letters(text) < MIN_TEXT_LETTERS and _has_images(page)
    ]
    if scanned:
        problem = tesseract_problem()
        if problem:
            raise OcrUnavailableError(
                f"{name}: skannad PDF ({len(scanned)} av {len(texts)} sidor utan textlager) kan inte läsas: {problem}"
            )
        for i in scanned:
            ocr = _ocr_page(name, data, pdf_pages[i], i)
            logger.info("%s: page %d read by OCR (%d letters)", name, i + 1, _letters(ocr))
            texts[i] = ocr
    if not any(t.strip() for t in texts):
        raise IngestError(f"{name}: PDF:en har ingen text, varken textlager eller läsbar skannad bild")
    return PdfText(tuple(texts), tuple(i + 1 for i in scanned))


def _has_images(page) -> bool:
    """Whether the page draws an image, directly or inside a form (checked without decoding it)."""
    try:
        return _xobjects_hold_image(page.get("/Resources"), depth=2)
    except Exception:  # a damaged resource dictionary: no image to read
        return False


def _xobjects_hold_image(resources, depth: int) -> bool:
    resources = resources.get_object() if resources is not None else None
    xobjects = resources.get("/XObject") if resources is not None else None
    if xobjects is None or depth <= 0:
        return False
    xobjects = xobjects.get_object()
    for key in xobjects:
        obj = xobjects[key].get_object()
        if obj.get("/Subtype") == "/Image":
            return True
        if obj.get("/Subtype") == "/Form" and _xobjects_hold_image(obj.get("/Resources"), depth - 1):
            return True
    return False


def remap_pages(old: str, new: str, pages: tuple[Page, ...]) -> tuple[Page, ...] | None:
    """``pages`` (starts in ``old``) moved to ``new``, a text with the same lines (the OCR repair
    changes words, never line breaks); None when the line counts differ.

    Each page starts at the start of a line (pages are joined by a blank line), so a page
    starts in ``new`` at the line it started at in ``old``.
    """
    if old.count("\n") != new.count("\n"):
        return None
    line_starts = [0] + [m.end() for m in re.finditer("\n", new)]
    out, line, pos = [], 0, 0
    for page in sorted(pages, key=lambda p: p.start):
        if page.start and old[page.start - 1] != "\n":
            return None  # not at a line start: cannot be mapped by lines
        line, pos = line + old.count("\n", pos, page.start), page.start
        out.append(Page(page.number, line_starts[line]))
    return tuple(out)
