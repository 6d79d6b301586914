"""What the web app does, without Gradio: the loaded index and the calls the UI makes.

Every function here raises FragaError subclasses for bad input; only ``ui.py`` turns
them into messages on screen.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fraga.answer.answerer import Answerer, format_answer
from fraga.answer.followup import resolve
from fraga.districts import CROSS_DISTRICT_RE, KNOWN_DISTRICTS, SETTING_WORDS
from fraga.api import DEFAULT_CORPUS, Fraga
from fraga.api import open as open_fraga
from fraga.errors import FragaError
from fraga.index.kinds import AnyIndex
from fraga.index.lexical import bare
from fraga.records import Answer, Chunk, Document, Hit
from fraga.search.retrieve import MODES, Filters, Retriever, SearchResult
from fraga.text import fold

logger = logging.getLogger(__name__)

MAX_TURNS = 50  # turns kept in one conversation


@dataclass(frozen=True, slots=True)
class Turn:
    """One question in a conversation and what fraga replied.

    ``answer`` is None when the question was refused; ``error`` then says why.
    """

    question: str
    answer: Answer | None = None
    error: str = ""
    context: tuple[str, ...] = ()  # the districts this turn was about (inherited by a follow-up)
    carried: tuple[str, ...] = ()  # districts inherited from the previous turn and searched
    widened: tuple[str, ...] = ()  # inherited districts that had no answer, so all were searched
    interpreted: str = ""  # "Tolkat som: ..." when a follow-up was read with the previous question
    asked: str = ""  # the question that was searched (the follow-up as read), when it differs

    @property
    def plain_text(self) -> str:
        """The answer with its citations as plain text, for pasting into a draft."""
        if self.answer is None:
            return self.error
        return format_answer(self.answer)


@dataclass(frozen=True, slots=True)
class SourceView:
    """A document to show whole, with the passage and quote to highlight (offsets in ``doc.text``)."""

    doc: Document
    passage: tuple[int, int] | None = None
    quote: tuple[int, int] | None = None
    has_file: bool = False


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """What the index holds, for the "Om indexet" page."""

    folder: str
    created: str
    encoder: str
    documents: tuple[Document, ...]
    passages: int
    districts: tuple[tuple[str, int], ...]  # (district, number of documents)
    first_date: str
    last_date: str
    undated: int
    skipped: tuple[tuple[str, str], ...]  # (path, reason)
    duplicates: tuple[tuple[str, str], ...]  # (kept, duplicate)
    passages_with_vectors: int = -1  # passages with a dense vector (-1: all; fewer while a BM25-first build encodes)


class Service:
    """The loaded index with a retriever and an answerer, shared by all users of the app.

    Args:
        index: The loaded index.
    """

    def __init__(self, engine: Fraga | AnyIndex) -> None:
        self.fraga = engine if isinstance(engine, Fraga) else Fraga(engine)
        self.analyzer = self.index.bm25.analyzer
        names = (*KNOWN_DISTRICTS, *self.retriever.known_districts)
        self._ignore = {fold(part) for name in names for part in re.split(r"[\s\-–]+", name) if part}
        self._ignore |= {w + "s" for w in self._ignore}
        self._downloads: Path | None = None
        self._download_lock = threading.Lock()

    @property
    def index(self) -> AnyIndex:
        return self.fraga.index

    @property
    def retriever(self) -> Retriever:
        return self.fraga.retriever

    @property
    def answerer(self) -> Answerer:
        return self.fraga.answerer

    @classmethod
    def open(
        cls,
        index_dir: str | os.PathLike[str] | None = None,
        *,
        corpus: str | os.PathLike[str] = DEFAULT_CORPUS,
        build: bool = True,
        on_build: Callable[[str], None] | None = None,
    ) -> Service:
        """Load the index in ``index_dir``, building it from ``corpus`` first when there is none
        (``fraga.open`` with ``build``).

        Args:
            index_dir: The index folder. Defaults to $FRAGA_INDEX_DIR or "index".
            corpus: The corpus folder to build from. Defaults to "corpus".
            build: Build a missing index. Defaults to True.
            on_build: Called with a message before and after a build.
        """
        return cls(open_fraga(index_dir, corpus=corpus, build=build, on_build=on_build))

    def warm_up(self) -> None:
        """Load the encoder and caches now, so the first user does not wait for them."""
        self.fraga.warm_up()

    # Highlighting --------------------------------------------------------------
    def _stem(self, word: str) -> str | None:
        """The diacritic-free stem of ``word`` ("polisanmäler" -> "polisanmal"); None for a stop word."""
        return bare(self.analyzer.term(word)) or None

    def matcher(self, question: str) -> Callable[[str], bool]:
        """A test telling whether a word of a passage matches a content word of ``question``."""
        stems = set()
        for word in self.analyzer.content_words(question or ""):
            if word.lower() in SETTING_WORDS or fold(word) in self._ignore:
                continue
            for part in [word, *word.split("-")]:
                stem = self._stem(part)
                if stem and len(stem) > 2:
                    stems.add(stem)

        def is_match(word: str) -> bool:
            return bool(stems) and any(self._stem(p) in stems for p in [word, *word.split("-")])

        return is_match

    # Fråga ---------------------------------------------------------------------
    def districts_named(self, question: str) -> tuple[str, ...]:
        """Districts of the index that ``question`` names."""
        return tuple(n for n in self.retriever.matcher.names(question) if n in self.retriever.known_districts)

    def inherited_districts(self, question: str, history: Sequence[Turn]) -> tuple[str, ...]:
        """The districts a follow-up question inherits from the conversation.

        A question that names a district (any, even one without documents) or asks
        across districts inherits nothing; otherwise it inherits the context of the
        last answered turn.
        """
        if self.retriever.matcher.names(question) or CROSS_DISTRICT_RE.search(question):
            return ()
        for turn in reversed(history):
            if turn.answer is not None:
                return turn.context
        return ()

    def ask(self, question: str, history: Sequence[Turn] = (), *, mode: str = "hybrid", k: int = 5) -> Turn:
        """Answer ``question`` as the next turn of a conversation.

        Raises:
            EmptyQueryError, QueryTooLongError: for a question that cannot be searched.
        """
        mode = mode if mode in MODES else "hybrid"
        k = max(1, min(int(k), 50))
        previous = next((t.asked or t.question for t in reversed(history) if t.answer is not None), "")
        resolved = resolve(question, previous, self.retriever.matcher) if previous else None
        if resolved is not None and resolved.interpreted:
            answer = self.answerer.answer(resolved.question, k=k, mode=mode)
            named = self.districts_named(resolved.question)
            return Turn(question, answer, context=named, interpreted=resolved.interpreted, asked=resolved.question)
        carried = self.inherited_districts(question, history)
        widened: tuple[str, ...] = ()
        if carried:
            answer = self.answerer.answer(question, k=k, mode=mode, filters=Filters(districts=carried))
            if not answer.answered:
                wider = self.answerer.answer(question, k=k, mode=mode)
                if wider.answered:
                    answer, widened, carried = wider, carried, ()
        else:
            answer = self.answerer.answer(question, k=k, mode=mode)
        named = self.districts_named(question)
        if named:
            context = named
        elif carried:
            context = carried
        else:
            cited = tuple(dict.fromkeys(c.district for c in answer.citations if c.district))
            context = cited if len(cited) == 1 and answer.note != "per_district" else ()
        return Turn(question, answer, context=context, carried=carried, widened=widened)

    # Sök -----------------------------------------------------------------------
    def filters(
        self, districts: Sequence[str] = (), doc_types: Sequence[str] = (), date_from: str = "", date_to: str = ""
    ) -> Filters:
        """Checked filters. Raises FragaError for an unknown district or a malformed date."""
        return self.fraga.filters(districts, doc_types, date_from, date_to)

    def search(self, query: str, *, filters: Filters | None = None, mode: str = "hybrid", k: int = 20) -> SearchResult:
        """Ranked passages for ``query`` (the Sök page)."""
        mode = mode if mode in MODES else "hybrid"
        return self.fraga.search(query, k=max(1, min(int(k), 100)), mode=mode, filters=filters)

    def compare(
        self, question: str, *, mode: str = "hybrid", doc_types: Sequence[str] = ()
    ) -> tuple[tuple[str, Hit | None], ...]:
        """The best passage of each district for ``question``, in district order."""
        mode = mode if mode in MODES else "hybrid"
        rows = []
        for district in self.index.districts():
            result = self.retriever.search(
                question, k=1, mode=mode, detect_districts=False, filters=Filters((district,), tuple(doc_types or ()))
            )
            rows.append((district, result.hits[0] if result.hits else None))
        return tuple(rows)

    # Källa ---------------------------------------------------------------------
    def document(self, doc_id: str) -> Document:
        doc = self.index.documents.get(str(doc_id or ""))
        if doc is None:
            raise FragaError("Dokumentet finns inte i indexet (det kan ha tagits bort vid en ombyggnad).")
        return doc

    def chunk(self, chunk_id: str) -> Chunk | None:
        row = self.index.row_of.get(str(chunk_id or ""))
        return None if row is None else self.index.chunks[row]

    def source(
        self, doc_id: str, *, chunk_id: str = "", start: int | str | None = None, end: int | str | None = None
    ) -> SourceView:
        """The whole document ``doc_id`` with the passage ``chunk_id`` and the quote ``start:end`` marked."""
        doc = self.document(doc_id)
        n = len(doc.text)
        quote = None
        try:
            s, e = int(start), int(end)  # type: ignore[arg-type]
            if 0 <= s < e <= n:
                quote = (s, e)
        except (TypeError, ValueError, OverflowError):  # crafted offsets ("x", inf, 10**5000 digits)
            pass
        chunk = self.chunk(chunk_id)
        if chunk is not None and chunk.doc_id != doc.doc_id:
            chunk = None
        if chunk is None and quote is not None:
            chunk = next((c for c in self.index.chunks.of_document(doc.doc_id) if c.start <= quote[0] < c.end), None)
        passage = (chunk.start, chunk.end) if chunk is not None else None
        if passage and quote and not (passage[0] <= quote[0] and quote[1] <= passage[1]):
            passage = None  # a quote across passages: mark the quote alone
        return SourceView(doc, passage, quote, self.index.source_path(doc.doc_id) is not None)

    def download(self, doc_id: str) -> Path | None:
        """A copy of the original file of ``doc_id`` under its own name, or None without one."""
        doc = self.document(doc_id)
        stored = self.index.source_path(doc.doc_id)
        if stored is None:
            return None
        with self._download_lock:
            if self._downloads is None:
                self._downloads = Path(tempfile.mkdtemp(prefix="fraga-downloads-"))
            folder = self._downloads / fold(re.sub(r"[^\w\-]+", "_", doc.doc_id))[:80]
            folder.mkdir(exist_ok=True)
            name = re.sub(r"[^\w.\-]+", "_", Path(doc.path).name) or stored.name
            target = folder / name
            if not target.exists():
                shutil.copyfile(stored, target)
        return target

    # Om indexet ----------------------------------------------------------------
    def status(self) -> IndexStatus:
        docs = sorted(self.index.documents.values(), key=lambda d: (d.metadata.district, d.metadata.date, d.metadata.title))
        counts: dict[str, int] = {}
        for d in docs:
            name = d.metadata.district or "okänd stadsdel"
            counts[name] = counts.get(name, 0) + 1
        dates = sorted(d.metadata.date for d in docs if d.metadata.date)
        report = self.index.report or {}
        manifest = self.index.manifest
        return IndexStatus(
            folder=self.index.location,
            created=str(manifest.get("created", "")),
            encoder=str(manifest.get("encoder", {}).get("name", "")),
            documents=tuple(docs),
            passages=len(self.index.chunks),
            districts=tuple(sorted(counts.items())),
            first_date=dates[0] if dates else "",
            last_date=dates[-1] if dates else "",
            undated=sum(1 for d in docs if not d.metadata.date),
            skipped=tuple((str(s.get("path", "")), str(s.get("reason", ""))) for s in report.get("skipped", [])),
            duplicates=tuple((str(x.get("kept", "")), str(x.get("duplicate", ""))) for x in report.get("duplicates", [])),
            passages_with_vectors=self.index.dense_coverage()[0],
        )

    def doc_types(self) -> list[str]:
        return sorted({d.metadata.doc_type for d in self.index.documents.values() if d.metadata.doc_type})
