"""Find the questions a skrivelse asks: numbered lists, bullets, lines ending in "?".

A skrivelse usually ends with "Med anledning av ovanstående vill vi ställa följande
frågor:" and a numbered list. The finder looks for that sentence (tolerant of OCR
damage such as "stills f6ljande fragor") and reads the questions after it; without it,
it takes a numbered list with question marks, or else every question sentence.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from fraga.errors import FragaError
from fraga.text import fold, normalize_space

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 600
MAX_ITEM_LINES = 8

# "följande frågor", "nedanstående frågeställningar", OCR'd "f6ljande fragor" (matched on folded text).
_MARKER_RE = re.compile(
    r"\b(?:f\w{0,2}l\w?jande|nedanst\w{1,3}ende)\s+(?:\w+\s+)?"
    r"(?:fr\w{0,2}g(?:or|orna|a|est\w*)|spor\w*)\b"
    r"|\bvill\s+(?:vi|jag|liberalerna|\w+erna)\s+(?:darfor\s+)?(?:fr\w{0,2}ga|veta)\b"
    r"|\bvi\s+(?:fragar|undrar)\s+(?:darfor|dartill)?",
)
# "1." "1)" "1:" "(1)" "Fråga 1:" "a)", OCR's "l." for "1.", and bullets "-", "•", "–", "*".
_ITEM_RE = re.compile(
    r"^(?:(?P<bullet>[-•–—*·▪])"
    r"|(?:[Ff]r[aå]ga\s*)?\(?(?P<num>\d{1,2}|[lI])\s*[.):]\)?"
    r"|\(?(?P<letter>[a-h])\))\s+(?=[^\W\d_]|[\"'”«(])"
)
# Inline lists: "… våld? 2. Har …" on one line (collapsed line breaks).
_INLINE_ITEM_RE = re.compile(r"(?<=\?)[ \t]+(?=\(?\d{1,2}\s*[.):]\)?[ \t]+[A-ZÅÄÖ])")
_MARKUP_RE = re.compile(r"^\s*#+\s*|\*\*|__|(?<!\w)\*(?=\w)|(?<=\w)\*(?!\w)")


class NoQuestionsError(FragaError):
    """The text holds no question fraga can find."""


@dataclass(frozen=True, slots=True)
class Question:
    """One question of a skrivelse.

    ``n`` is its position (1-based) whatever the skrivelse's own numbering says;
    ``label`` is the numbering as written ("1.", "2)", "" when unnumbered).
    """

    n: int
    text: str
    label: str = ""
    start: int = 0  # offsets in the text the question was found in
    end: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "label": self.label, "text": self.text, "start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class _Line:
    start: int
    end: int
    text: str  # stripped, markup removed


@dataclass(frozen=True, slots=True)
class _Item:
    first: int  # line indexes, inclusive
    last: int
    label: str  # "" for a question sentence outside a list
    text: str

    @property
    def asks(self) -> bool:
        return self.text.rstrip().endswith("?")


def _lines(text: str) -> list[_Line]:
    out, pos = [], 0
    for raw in text.split("\n"):
        # An inline list is cut into one line per item.
        cuts = [0] + [m.start() for m in _INLINE_ITEM_RE.finditer(raw)] + [len(raw)]
        for a, b in zip(cuts, cuts[1:]):
            part = raw[a:b]
            clean = normalize_space(_MARKUP_RE.sub(" ", part))
            out.append(_Line(pos + a, pos + b, clean))
        pos += len(raw) + 1
    return out


def _join(parts: list[str]) -> str:
    """Lines of one question as one line; a hyphen at a line end joins the word."""
    out = ""
    for part in parts:
        if out.endswith("-") and len(out) > 1 and out[-2].isalpha() and part[:1].islower():
            out += part
        else:
            out = f"{out} {part}" if out else part
    return normalize_space(out)


def _item_start(line: _Line) -> re.Match[str] | None:
    return _ITEM_RE.match(line.text) if line.text else None


def _paragraph_end(lines: list[_Line], first: int) -> int:
    last = first
    while last + 1 < len(lines) and lines[last + 1].text and not _item_start(lines[last + 1]):
        last += 1
    return last


def _read_items(lines: list[_Line], begin: int) -> list[_Item | int]:
    """List items from line ``begin`` on; a plain paragraph shows up as the index of its first line."""
    out: list[_Item | int] = []
    i = begin
    while i < len(lines):
        if not lines[i].text:
            i += 1
            continue
        m = _item_start(lines[i])
        if m is None:
            out.append(i)
            i = _paragraph_end(lines, i) + 1
            continue
        parts = [lines[i].text[m.end() :].strip()]
        j = i
        while not parts[-1].endswith("?") and j + 1 < len(lines) and j - i < MAX_ITEM_LINES:
            nxt = lines[j + 1]
            if not nxt.text or _item_start(nxt):
                break
            parts.append(nxt.text)
            j += 1
        label = lines[i].text[: m.end()].strip()
        out.append(_Item(i, j, label, _join(parts)))
        i = j + 1
    return out


def _question_sentences(lines: list[_Line], first: int) -> list[_Item]:
    """Questions in the plain paragraph that starts at line ``first``: each sentence ending in "?"."""
    last = _paragraph_end(lines, first)
    para = _join([ln.text for ln in lines[first : last + 1]])
    out = []
    for piece in re.findall(r"[^?]+\?", para):
        # Keep the question itself, not the statements before it in the same paragraph.
        sentence = re.split(r"(?<=[.!:])\s+(?=[A-ZÅÄÖ])", piece.strip())[-1].strip()
        if len(sentence) >= 12 and len(sentence.split()) >= 3:
            out.append(_Item(first, last, "", sentence))
    return out


def _standalone(item: _Item, lines: list[_Line]) -> bool:
    """Whether the question is its whole paragraph (not a "?" sentence inside prose)."""
    para = _join([ln.text for ln in lines[item.first : item.last + 1]])
    return fold(para) == fold(item.text)


def _after_marker(lines: list[_Line], begin: int) -> list[_Item]:
    """The questions after an "ask the following questions" sentence."""
    found: list[_Item] = []
    for entry in _read_items(lines, begin):
        if isinstance(entry, _Item):
            # A numbered request without "?" ("Redovisa …") counts inside the question list.
            if entry.asks or not found or found[-1].label:
                found.append(entry)
            continue
        asked = _question_sentences(lines, entry)
        if asked:
            found.extend(asked)
        elif found:
            break  # the list is over: signature, "Bilagor", closing words
    return found


def _without_marker(lines: list[_Line]) -> list[_Item]:
    """Questions when no marker sentence is found: lists with "?" items, else "?" sentences."""
    entries = _read_items(lines, 0)
    blocks: list[list[_Item]] = [[]]
    for entry in entries:
        if isinstance(entry, _Item):
            blocks[-1].append(entry)
        elif blocks[-1]:
            blocks.append([])
    asking = [b for b in blocks if b and 2 * sum(it.asks for it in b) >= len(b)]
    if asking:
        # A list that asks is the question list; a rhetorical "?" in the preamble is not.
        return [it for b in asking for it in b]
    sentences: list[_Item] = []
    for entry in entries:
        if isinstance(entry, int):
            sentences.extend(_question_sentences(lines, entry))
    alone = [it for it in sentences if _standalone(it, lines)]
    return alone or sentences


def find_questions(text: str) -> tuple[Question, ...]:
    """The questions asked in ``text``, in order.

    Handles "1." / "1)" / "1:" / "(1)" / "a)" numbering and bullets, questions wrapped
    over several lines, unnumbered lines ending in "?", and OCR damage in the marker
    sentence ("stills f6ljande fragor"). A question mark in the preamble is ignored
    when a question list follows.

    Args:
        text: The skrivelse as plain text.

    Returns:
        The questions (possibly none), numbered 1..n in order of appearance.
    """
    lines = _lines(text.replace("\r\n", "\n").replace("\r", "\n"))
    items: list[_Item] = []
    markers = [i for i, line in enumerate(lines) if line.text and _MARKER_RE.search(fold(line.text))]
    for i in markers:  # the marker followed by the longest list (the last one on ties)
        after = _after_marker(lines, _marker_end(lines, i))
        if after and len(after) >= len(items):
            items = after
    if not items:
        items = _without_marker(lines)
    out: list[Question] = []
    seen: set[str] = set()
    for item in items:
        body = normalize_space(item.text)
        key = fold(body)
        if len(body) < 8 or len(body) > MAX_QUESTION_CHARS or key in seen:
            continue
        seen.add(key)
        out.append(Question(len(out) + 1, body, item.label, lines[item.first].start, lines[item.last].end))
    logger.info("found %d question(s)", len(out))
    return tuple(out)


def _marker_end(lines: list[_Line], i: int) -> int:
    """The line after the marker sentence (which may wrap onto the next lines)."""
    j = i
    while (
        j + 1 < len(lines)
        and j - i < 3
        and lines[j].text
        and not lines[j].text.endswith(":")
        and lines[j + 1].text
        and not _item_start(lines[j + 1])
    ):
        j += 1
    return j + 1


def require_questions(text: str) -> tuple[Question, ...]:
    """Like :func:`find_questions`, but raises NoQuestionsError when there are none."""
    questions = find_questions(text)
    if not questions:
        raise NoQuestionsError(
            'Hittade inga frågor i skrivelsen. fraga letar efter en numrerad lista ("1.", "1)"), '
            'rader som slutar med "?" eller meningen "… ställa följande frågor:". '
            "Kontrollera att texten är en skrivelse med frågor."
        )
    return questions
