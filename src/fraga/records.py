"""Frozen records passed between the pipeline stages."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


def content_hash(text: str) -> str:
    """A short, stable SHA-256 hex digest of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Metadata:
    """What a document says about itself; empty fields are unknown, never guessed."""

    district: str = ""
    doc_type: str = ""  # "tjänsteutlåtande" | "skrivelse" | ""
    title: str = ""
    date: str = ""  # ISO date of the document (YYYY-MM-DD) or ""
    date_source: str = ""  # "" = the letterhead's (or a sidecar's) date; "filnamn" / "text" = derived from there
    dates: tuple[str, ...] = ()  # every ISO date found in the text
    dnr: str = ""
    handlaggare: str = ""
    signers: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    source: str = ""  # publishing organisation, when not a district (e.g. an authority's FAQ)
    category: str = ""
    ocr_repaired: bool = False
    ocr_changes: int = 0
    # Fields taken from the file's own properties (a Word file's title or creation date),
    # not stated in its text: shown as such.
    derived: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metadata:
        known = {f for f in cls.__dataclass_fields__}
        clean = {k: v for k, v in data.items() if k in known}
        for key in ("dates", "signers", "parties", "derived"):
            if key in clean:
                clean[key] = tuple(clean[key] or ())
        return cls(**clean)


@dataclass(frozen=True, slots=True)
class Page:
    """A page of a document: its number (1-based) and where it starts in the text."""

    number: int
    start: int


@dataclass(frozen=True, slots=True)
class Document:
    """A loaded source file.

    ``text`` is the cleaned display text (page furniture removed, OCR repaired when
    needed); ``original_text`` is what the file held, decoded.
    """

    doc_id: str
    path: str  # relative to the corpus folder
    text: str
    original_text: str
    metadata: Metadata = field(default_factory=Metadata)
    pages: tuple[Page, ...] = ()
    encoding: str = "utf-8"

    def to_dict(self) -> dict[str, Any]:
        """The document as JSON-ready values (metadata nested, pages as [number, start])."""
        return {
            "doc_id": self.doc_id,
            "path": self.path,
            "metadata": self.metadata.to_dict(),
            "pages": [[p.number, p.start] for p in self.pages],
            "encoding": self.encoding,
            "text": self.text,
            "original_text": self.original_text,
        }

    @property
    def hash(self) -> str:
        return content_hash(self.text + "\x00" + repr(self.metadata.to_dict()))

    def page_at(self, offset: int) -> int | None:
        """The page number holding character ``offset``, or None for non-paged files."""
        number = None
        for page in self.pages:
            if page.start <= offset:
                number = page.number
        return number


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage: part of one section of one document."""

    chunk_id: str
    doc_id: str
    section: str  # section path, "Förvaltningens synpunkter och förslag › 3. Har …"
    text: str  # the passage itself, as shown to the user
    start: int  # offset of the passage in Document.text
    end: int
    page: int | None = None

    @property
    def hash(self) -> str:
        return content_hash(self.section + "\x00" + self.text)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved passage with its score and rank (1-based)."""

    chunk: Chunk
    score: float
    rank: int
    retriever: str  # "bm25" | "dense" | "hybrid"
    metadata: Metadata | None = None  # the passage's document's metadata, when the caller looked it up

    def to_dict(self) -> dict[str, Any]:
        """The hit as one flat JSON object: rank, score, the passage and its document's metadata
        (the metadata fields are empty when ``metadata`` is None)."""
        meta = self.metadata or Metadata()
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "district": meta.district,
            "doc_type": meta.doc_type,
            "title": meta.title,
            "date": meta.date,
            "dnr": meta.dnr,
            "section": c.section,
            "page": c.page,
            "text": c.text,
            "retriever": self.retriever,
        }


@dataclass(frozen=True, slots=True)
class Citation:
    """A numbered pointer from an answer to the passage that supports it."""

    n: int
    chunk_id: str
    doc_id: str
    district: str
    title: str
    dnr: str
    date: str
    section: str
    quote: str
    start: int  # offset of the quote in the document's text
    end: int
    page: int | None = None  # the page the quote starts on (paged documents: PDFs)

    @classmethod
    def of(
        cls, doc: Document, *, n: int, chunk_id: str, section: str, quote: str, start: int, end: int, page: int | None = None
    ) -> Citation:
        """A citation of ``doc[start:end]``, with the document's district, title, dnr and date."""
        meta = doc.metadata
        return cls(
            n=n,
            chunk_id=chunk_id,
            doc_id=doc.doc_id,
            district=meta.district,
            title=meta.title,
            dnr=meta.dnr,
            date=meta.date,
            section=section,
            quote=quote,
            start=start,
            end=end,
            page=page,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Answer:
    """An extractive answer: quoted sentences with citations, or an abstention."""

    question: str
    answered: bool
    text: str
    citations: tuple[Citation, ...] = ()
    hits: tuple[Hit, ...] = ()
    note: str = ""  # why fraga did not answer, or what it narrowed to
    # The sentence fraga would have quoted when it declined for weak evidence (not an answer:
    # evaluation reads it to tell a wrong pick from a refusal).
    withheld: Citation | None = None

    def to_dict(self) -> dict[str, Any]:
        """The answer as JSON-ready values; its text is under "answer" (and the declined
        quote under "withheld", when there is one)."""
        out = {
            "question": self.question,
            "answered": self.answered,
            "answer": self.text,
            "note": self.note,
            "citations": [c.to_dict() for c in self.citations],
            "hits": [h.to_dict() for h in self.hits],
        }
        if self.withheld is not None:
            out["withheld"] = self.withheld.to_dict()
        return out
