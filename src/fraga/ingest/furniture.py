"""Remove page furniture: running headers and footers, page numbers, lone e-mail lines."""

from __future__ import annotations

import functools
import re

from fraga.text import fold, normalize_space

PAGE_MARKER_RE = re.compile(
    r"^\s*(?:sida\s+\d+\s*(?:\(\s*\d+\s*\)|av\s+\d+)?|\d+\s*\(\s*\d+\s*\)|-\s*\d+\s*-|\d{1,3}|page\s+\d+(?:\s+of\s+\d+)?)\s*$",
    re.IGNORECASE,
)
EMAIL_LINE_RE = re.compile(r"^\s*[\w.+-]+@[\w-]+(?:\.[\w-]+)+\s*$")
_HEADER_WORDS_RE = re.compile(r"^\s*(?:tjänsteutlåtande|tjanstutlatande|tjänsteutlatande|dnr\b.*)\s*$", re.IGNORECASE)

# How many lines on either side of a page marker count as header/footer zone.
_ZONE = 6


def remove_furniture(text: str) -> str:
    """The text without running headers/footers, page numbers and lone e-mail lines.

    A line is furniture when it is a page marker ("Sida 3 (4)", "- 2 -"), a lone e-mail
    address, or a short line next to a page marker that also appears elsewhere in the
    document (a running header such as "Tjänsteutlåtande / Dnr SKA 2024/339" or the
    repeated title). Its first occurrence stays, so letterhead data is kept.
    """
    lines = text.split("\n")
    keys = [normalize_space(line).lower() for line in lines]
    counts: dict[str, int] = {}
    for key in keys:
        if key:
            counts[key] = counts.get(key, 0) + 1
    first_seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        first_seen.setdefault(key, i)

    markers = [i for i, line in enumerate(lines) if _is_page_marker(line, lines, i)]
    drop = set(markers)
    for i, line in enumerate(lines):
        if EMAIL_LINE_RE.match(line):
            drop.add(i)
    for m in markers:
        for i in _zone(m, lines):
            key = keys[i]
            if not key or len(key) > 80:
                continue
            repeated = counts.get(key, 0) > 1 and first_seen[key] != i
            if repeated or (_HEADER_WORDS_RE.match(key) and first_seen[key] != i):
                drop.add(i)
    kept = [line for i, line in enumerate(lines) if i not in drop]
    return "\n".join(kept)


def remove_repeated_page_lines(pages: list[str]) -> list[str]:
    """Drop lines that open or close most pages of a PDF (running headers/footers)."""
    if len(pages) < 3:
        return [_drop_page_numbers(p) for p in pages]
    edge_counts: dict[str, int] = {}
    for page in pages:
        for key in {normalize_space(line).lower() for line in _edges(page)}:
            if key:
                edge_counts[key] = edge_counts.get(key, 0) + 1
    common = {k for k, c in edge_counts.items() if c >= max(2, len(pages) // 2) and len(k) <= 100}
    cleaned = []
    for page in pages:
        lines = page.split("\n")
        edge_idx = set(range(min(3, len(lines)))) | set(range(max(0, len(lines) - 3), len(lines)))
        kept = [line for i, line in enumerate(lines) if not (i in edge_idx and normalize_space(line).lower() in common)]
        cleaned.append(_drop_page_numbers("\n".join(kept)))
    return cleaned


def _edges(page: str) -> list[str]:
    lines = [line for line in page.split("\n") if line.strip()]
    return lines[:3] + lines[-3:]


def _drop_page_numbers(page: str) -> str:
    lines = page.split("\n")
    # A lone number on a PDF page is a page number; list markers ("1." "1)") do not match.
    return "\n".join(line for line in lines if not PAGE_MARKER_RE.match(line))


def _is_page_marker(line: str, lines: list[str], i: int) -> bool:
    stripped = line.strip()
    if not stripped or not PAGE_MARKER_RE.match(stripped):
        return False
    if re.fullmatch(r"\d{1,3}", stripped):
        # A lone number counts only when it stands alone between blank lines.
        before = lines[i - 1].strip() if i > 0 else ""
        after = lines[i + 1].strip() if i + 1 < len(lines) else ""
        return not before and not after
    return True


def _zone(marker: int, lines: list[str]) -> range:
    return range(max(0, marker - _ZONE), min(len(lines), marker + _ZONE + 1))


# A signature block: a line of names, then a line of nothing but titles ("Stadsdelsdirektör
# Avdelningschef"), then perhaps the organisation. Cards and passages shown to users stop before it.
_SIGNATURE_TAIL_CHARS = 400  # a block longer than this after the names is not a signature


@functools.cache
def _titles_re() -> re.Pattern[str]:
    from fraga.ingest.metadata import TITLES  # metadata.py is the home of the titles

    return re.compile("|".join(re.escape(fold(t)) for t in sorted(TITLES, key=len, reverse=True)))


def signature_start(text: str) -> int | None:
    """The offset where a closing signature block starts in ``text``, or None when there is none.

    Only a block at the end counts: the names line, a line of titles only, and at most a few
    short lines after it (the organisation), with no sentence among them.
    """
    titles = _titles_re()
    offsets, pos = [], 0
    lines = text.split("\n")
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    for i, line in enumerate(lines):
        folded = fold(line).strip()
        if not folded or not titles.search(folded) or titles.sub("", folded).strip(" ,\t"):
            continue
        names = next((j for j in range(i - 1, -1, -1) if lines[j].strip()), None)
        if names is None or names == 0:
            continue
        name_line = lines[names].strip()
        if len(name_line) > 80 or name_line.endswith((".", ":", "?")) or not name_line[:1].isupper():
            continue
        tail = text[offsets[names] :]
        if len(tail) > _SIGNATURE_TAIL_CHARS or re.search(r"[.?!](\s|$)", tail):
            continue
        return offsets[names]
    return None
