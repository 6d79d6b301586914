"""Split a Document into sections by its own structure, then into passages (Chunks)."""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass

from fraga.records import Chunk, Document
from fraga.text import fold, normalize_space, split_sentences

logger = logging.getLogger(__name__)

SEP = " › "
MAX_CHARS = 900  # about 250 e5 tokens with the context line; e5-small reads 512
OVERLAP_MAX_CHARS = 250

# Standard headings of a tjänsteutlåtande (canonical spelling).
HEADINGS = (
    "Förvaltningens förslag till beslut",
    "Sammanfattning",
    "Bakgrund",
    "Ärendet",
    "Ärendets beredning",
    "Förvaltningens synpunkter och förslag",
    "Förvaltningens synpunkter",
    "Förslag till beslut",
    "Beslut",
    "Bilagor",
    "Bilaga",
    "Attesterat av",
    "Reservation",
    "Särskilt uttalande",
)
_HEADING_KEYS = {fold(h): h for h in HEADINGS}
_QUESTION_START_RE = re.compile(r"^\s*(?:(\d{1,2})\s*[.)]\s*)?([A-ZÅÄÖ])")
_LETTERHEAD_LINE_RE = re.compile(
    r"^(handläggare|handlaggare|telefon|tel\b|till$|tjänsteutlåtande$|tjanstutlatande$|dnr\b|e-post|"
    r".*stadsdels(nämnd|förvaltning|namnd|forvaltning)$|\d{4}-\d\d-\d\d$|\d{1,2} \w+ \d{4}$)",
    re.IGNORECASE,
)
# A Markdown heading ("## Hemtjänsten"), as written by the .docx/.odt readers for Word's heading styles.
_MD_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
MAX_MD_HEADING_CHARS = 150
_FRAGOR_RE = re.compile(r"(följande|foljande|f6ljande)\s+(frågor|fragor|frågeställningar)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Section:
    """A contiguous part of a document with its path of headings."""

    path: tuple[str, ...]
    start: int  # body offsets in Document.text (heading lines excluded)
    end: int

    @property
    def title(self) -> str:
        return SEP.join(self.path)


def match_heading(line: str) -> str | None:
    """The canonical heading ``line`` is (tolerant of OCR damage), or None."""
    text = normalize_space(re.sub(r"[#*_]+", " ", line)).rstrip(":")
    if not text or len(text) > 60:
        return None
    key = fold(text)
    if key in _HEADING_KEYS:
        return _HEADING_KEYS[key]
    best, best_ratio = None, 0.0
    for hkey, canonical in _HEADING_KEYS.items():
        if abs(len(hkey) - len(key)) > 3:
            continue
        ratio = difflib.SequenceMatcher(None, key, hkey).ratio()
        if ratio > best_ratio:
            best, best_ratio = canonical, ratio
    return best if best_ratio >= 0.88 else None


def markdown_heading(line: str) -> tuple[int, str] | None:
    """(level, text) of a Markdown heading line, or None (a long line or one without letters is none)."""
    m = _MD_HEADING_RE.match(line)
    if not m:
        return None
    text = normalize_space(re.sub(r"\*\*|__", "", m.group(2)))
    if not text or len(text) > MAX_MD_HEADING_CHARS or not any(c.isalpha() for c in text):
        return None
    return len(m.group(1)), text


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def split_sections(doc: Document) -> list[Section]:
    """Sections of ``doc``: front matter, letterhead, standard headings, Markdown headings
    (nested by level below the standard heading they follow), one per question."""
    text = doc.text
    lines = _line_spans(text)
    raw = [text[s:e] for s, e in lines]
    marks: list[tuple[int, tuple[str, ...], int]] = []  # (line index, path, body start line)
    top: str | None = None
    top_level = 0  # Markdown level of the standard heading ``top`` (0: a plain line)
    nested: list[tuple[int, str]] = []  # open Markdown headings below ``top``: (level, text)
    started = False  # a non-empty line came before line i
    i = 0
    while i < len(lines):
        line = raw[i].strip()
        heading = match_heading(line)
        md = markdown_heading(line) if started else None  # a heading as first line is the title
        started = started or bool(line)
        if heading:
            top, top_level, nested = heading, md[0] if md else 0, []
            marks.append((i, (heading,), i + 1))
        elif md:
            level = md[0]
            if top is not None and level <= top_level:  # a sibling of the standard heading ends it
                top = None
            nested = [h for h in nested if h[0] < level] + [md]
            marks.append((i, ((top,) if top else ()) + tuple(t for _, t in nested), i + 1))
        elif fold(line).startswith("handlaggare") and len(line) < 60:
            j = _letterhead_end(raw, i)
            marks.append((i, ("Dokumentuppgifter",), i))
            marks.append((j, (top or "Inledning",), j))
            i = j
            continue
        i += 1
    if not marks or marks[0][0] > 0:
        marks.insert(0, (0, ("Inledning",), 0))
    sections: list[Section] = []
    for k, (_, path, body_line) in enumerate(marks):
        end_line = marks[k + 1][0] if k + 1 < len(marks) else len(lines)
        if body_line >= end_line:
            continue
        start, end = lines[body_line][0], lines[end_line - 1][1]
        sections.extend(_split_questions(text, Section(path, start, end)))
    return [s for s in sections if text[s.start : s.end].strip()]


def _letterhead_end(raw: list[str], i: int) -> int:
    """First line after the letterhead block that starts at ``i`` ("Handläggare")."""
    j = i + 1
    prev_org = False
    while j < len(raw):
        line = normalize_space(raw[j])
        if not line:
            j += 1
            continue
        if match_heading(line):
            break
        is_head = bool(_LETTERHEAD_LINE_RE.match(line))
        after_label = fold(normalize_space(raw[j - 1])).startswith("handlaggare")
        if not (is_head or after_label or (prev_org and len(line) < 50 and "." not in line)):
            break
        prev_org = bool(re.search(r"stadsdels(nämnd|förvaltning)$", line, re.IGNORECASE))
        j += 1
    return j


def _split_questions(text: str, section: Section) -> list[Section]:
    """Sub-sections, one per question answered (or asked) inside ``section``."""
    body = text[section.start : section.end]
    in_answers = section.path[0] in ("Förvaltningens synpunkter och förslag", "Förvaltningens synpunkter")
    lines = _line_spans(body)
    questions: list[tuple[int, int, str]] = []  # (start line, first answer line, question text)
    if in_answers:
        questions = _find_questions(body, lines, need_answer=True)
    else:
        m = _FRAGOR_RE.search(body)
        if m and section.path[0] not in _HEADING_KEYS.values():  # the front matter or an own heading
            questions = [q for q in _find_questions(body, lines, need_answer=False) if lines[q[0]][0] > m.end()]
    if not questions:
        return [section]
    out = []
    first_start = lines[questions[0][0]][0]
    if body[:first_start].strip():
        out.append(Section(section.path, section.start, section.start + first_start))
    label = () if in_answers else ("Frågor",)
    for n, (q_line, a_line, question) in enumerate(questions):
        end_line = questions[n + 1][0] if n + 1 < len(questions) else len(lines)
        numbered = re.match(r"^\d{1,2}\s*[.)]\s*", question)
        title = question if numbered else f"{n + 1}. {question}"
        title = re.sub(r"^(\d{1,2})\s*[.)]\s*", r"\1. ", title)
        body_start = a_line if in_answers else q_line
        if body_start >= end_line:
            continue
        start = section.start + lines[body_start][0]
        end = section.start + lines[end_line - 1][1]
        out.append(Section(section.path + label + (title,), start, end))
    return out


def _find_questions(body: str, lines: list[tuple[int, int]], *, need_answer: bool) -> list[tuple[int, int, str]]:
    found = []
    raw = [body[s:e] for s, e in lines]
    i = 0
    while i < len(raw):
        para_start = i == 0 or not raw[i - 1].strip() or bool(re.match(r"^\s*\d{1,2}\s*[.)]\s", raw[i]))
        if para_start and raw[i].strip() and _QUESTION_START_RE.match(raw[i]):
            acc = []
            for j in range(i, min(i + 5, len(raw))):
                if not raw[j].strip():
                    break
                acc.append(raw[j].strip())
                if raw[j].rstrip().endswith("?"):
                    question = normalize_space(" ".join(acc))
                    bare = re.sub(r"^\d{1,2}\s*[.)]\s*", "", question)
                    if len(question) <= 400 and not re.search(r"[.!]\s", bare[:-1]):
                        has_answer = any(x.strip() for x in raw[j + 1 : j + 4])
                        if has_answer or not need_answer:
                            found.append((i, j + 1, question))
                            i = j
                    break
        i += 1
    return found


def context_line(doc: Document, section: str) -> str:
    """The context prepended to a passage for embedding and BM25."""
    meta = doc.metadata
    parts = [meta.district, meta.doc_type, meta.title, "" if section == "Inledning" else section]
    return " · ".join(p for p in parts if p)


def section_sentences(doc: Document, *, max_chars: int = MAX_CHARS) -> list[tuple[Section, list[tuple[int, int]]]]:
    """Each section of ``doc`` with its sentences: ``(start, end)`` offsets in ``doc.text``.

    These are the units passages are packed from (a sentence longer than ``max_chars`` is
    cut at white space), so every passage is a run of whole sentences of one section.
    """
    out = []
    for section in split_sections(doc):
        body = doc.text[section.start : section.end]
        spans = [(section.start + s, section.start + e) for s, e in split_sentences(body)]
        out.append((section, _cut_long(doc.text, spans, max_chars)))
    return out


def sentence_spans(doc: Document, *, max_chars: int = MAX_CHARS) -> list[tuple[int, int]]:
    """Every sentence of ``doc`` that a passage holds, in text order (see ``section_sentences``)."""
    return [span for _, spans in section_sentences(doc, max_chars=max_chars) for span in spans]


def chunk_document(doc: Document, *, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Passages of ``doc``: sections cut at sentence boundaries with a small overlap."""
    chunks: list[Chunk] = []
    for section, spans in section_sentences(doc, max_chars=max_chars):
        for start, end in _pack(spans, max_chars):
            n = len(chunks)
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.doc_id}#{n}",
                    doc_id=doc.doc_id,
                    section=section.title,
                    text=doc.text[start:end].strip(),
                    start=start,
                    end=end,
                    page=doc.page_at(start),
                )
            )
    return chunks


def _cut_long(text: str, spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    """``spans`` with every span longer than ``max_chars`` (a text without full stops) cut at
    white space, or anywhere when a word is longer, so no passage outgrows ``max_chars``."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        while end - start > max_chars:
            cut = start + max_chars
            while cut > start + max_chars // 2 and not text[cut].isspace():
                cut -= 1
            cut = cut if text[cut].isspace() else start + max_chars
            out.append((start, cut))
            start = cut
            while start < end and text[start].isspace():
                start += 1
        if end > start:
            out.append((start, end))
    return out


def _pack(spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    """Group sentence spans into windows of at most ``max_chars``, overlapping by one sentence."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(spans):
        start = spans[i][0]
        j = i
        while j + 1 < len(spans) and spans[j + 1][1] - start <= max_chars:
            j += 1
        out.append((start, spans[j][1]))
        if j + 1 >= len(spans):
            break
        last = spans[j]
        # Overlap: the next window repeats the last sentence when it is short.
        i = j if (last[1] - last[0] <= OVERLAP_MAX_CHARS and j > i) else j + 1
    return out
