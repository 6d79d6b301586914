"""Find gold snippets in a source text and carry their offsets over to the cleaned text.

Gold evidence is copied from the *source file* (``Document.original_text``), while
passages and quotes point into ``Document.text``, where page furniture is removed
and OCR damage may be repaired ("polisanmaélas" -> "polisanmälas"). Two steps bridge
the gap:

1. :func:`find_normalized` finds a snippet in a text after collapsing white space,
   and returns raw offsets of every occurrence.
2. :func:`align` computes an alignment of the two texts (lines first, then
   characters inside changed line blocks), and :func:`project_span` maps an
   ``original_text`` span to a ``text`` span through it.
"""

from __future__ import annotations

import bisect
import difflib
import logging
import re
from dataclasses import dataclass

logger = logging.getLogger(__name__)

_SPACE_RE = re.compile(r"\s+")


# LOW LEVEL FUNCTIONS ==========================================================
def _normalized_with_map(text: str) -> tuple[str, list[int]]:
    """``text`` with white-space runs collapsed to one space, and for each of its
    characters the raw offset it came from (leading/trailing space is kept as one
    space so offsets stay simple)."""
    out: list[str] = []
    raw: list[int] = []
    last = 0
    for m in _SPACE_RE.finditer(text):
        out.append(text[last : m.start()])
        raw.extend(range(last, m.start()))
        out.append(" ")
        raw.append(m.start())
        last = m.end()
    out.append(text[last:])
    raw.extend(range(last, len(text)))
    return "".join(out), raw


@dataclass(frozen=True, slots=True)
class Opcode:
    """One block of an alignment, as in ``difflib.SequenceMatcher.get_opcodes``."""

    tag: str  # "equal" | "replace" | "delete" | "insert"
    a_start: int  # offsets in the original text
    a_end: int
    b_start: int  # offsets in the cleaned text
    b_end: int


def _offsets(lines: list[str]) -> list[int]:
    out = [0]
    for line in lines:
        out.append(out[-1] + len(line))
    return out


# HIGH LEVEL FUNCTIONS =========================================================
def normalize_space(text: str) -> str:
    """Collapse every white-space run to one space and strip the ends (as GOLD.md)."""
    return _SPACE_RE.sub(" ", text).strip()


def find_normalized(text: str, snippet: str) -> list[tuple[int, int]]:
    """Raw ``(start, end)`` spans in ``text`` of every occurrence of ``snippet``.

    Both are compared after collapsing white space, so a snippet matches across line
    breaks, tabs and double spaces; otherwise the match is exact.

    Returns:
        The spans, in order; empty when the snippet does not occur.
    """
    needle = normalize_space(snippet)
    if not needle:
        return []
    hay, raw = _normalized_with_map(text)
    spans = []
    pos = hay.find(needle)
    while pos != -1:
        end = pos + len(needle)
        spans.append((raw[pos], raw[end - 1] + 1))
        pos = hay.find(needle, pos + 1)
    return spans


def align(original: str, text: str) -> tuple[Opcode, ...]:
    """An alignment of ``original`` to ``text`` covering both texts end to end.

    Lines are aligned first (fast, and furniture removal works line by line); only
    blocks of changed lines are aligned character by character. A document of
    ~9,000 characters aligns in a few milliseconds.
    """
    if original == text:
        return (Opcode("equal", 0, len(original), 0, len(text)),)
    a_lines = original.splitlines(keepends=True)
    b_lines = text.splitlines(keepends=True)
    a_off, b_off = _offsets(a_lines), _offsets(b_lines)
    ops: list[Opcode] = []
    matcher = difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        a0, a1, b0, b1 = a_off[i1], a_off[i2], b_off[j1], b_off[j2]
        if tag != "replace":
            ops.append(Opcode(tag, a0, a1, b0, b1))
            continue
        chars = difflib.SequenceMatcher(None, original[a0:a1], text[b0:b1], autojunk=False)
        for ctag, c1, c2, d1, d2 in chars.get_opcodes():
            ops.append(Opcode(ctag, a0 + c1, a0 + c2, b0 + d1, b0 + d2))
    return tuple(ops)


def project_span(ops: tuple[Opcode, ...], start: int, end: int) -> tuple[int, int] | None:
    """The span of ``text`` that corresponds to ``original[start:end]``.

    Characters in equal blocks map one to one; a replaced block maps to the whole
    replacement (so a repaired word maps to the repaired word); deleted characters
    map to nothing.

    Returns:
        ``(start, end)`` in ``text``, or None when every character was deleted.
    """
    if end <= start:
        return None
    blocks = [op for op in ops if op.a_end > op.a_start]  # inserts hold no original characters
    starts = [op.a_start for op in blocks]

    first = last = None
    for op in blocks[max(0, bisect.bisect_right(starts, start) - 1) :]:
        if op.a_start >= end:
            break
        if op.tag == "delete" or op.a_end <= start:
            continue
        lo, hi = max(op.a_start, start), min(op.a_end, end)
        if op.tag == "equal":
            b_lo, b_hi = op.b_start + (lo - op.a_start), op.b_start + (hi - op.a_start)
        else:  # replace
            b_lo, b_hi = op.b_start, op.b_end
        first = b_lo if first is None else min(first, b_lo)
        last = b_hi if last is None else max(last, b_hi)
    if first is None or last is None or last <= first:
        return None
    return first, last
