"""Small text helpers shared by several stages: folding, words, sentences."""

from __future__ import annotations

import re
import unicodedata

WORD_RE = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_SPACE_RE = re.compile(r"\s+")
# Zero-width characters, soft hyphen, and bidi marks/embeddings/overrides/isolates
# (invisible, and able to make the shown text differ from what is indexed).
_INVISIBLE_RE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad\u202a-\u202e\u2066-\u2069]")
# C0/C1 control characters except tab, newline and CR, and lone surrogates (no valid text holds
# them; they make ``str.encode("utf-8")`` fail further on).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = {
    "m.fl",
    "fl",
    "bl.a",
    "t.ex",
    "ex",
    "dvs",
    "d.v.s",
    "s.k",
    "m.m",
    "mm",
    "osv",
    "o.s.v",
    "resp",
    "jfr",
    "kap",
    "nr",
    "dnr",
    "tel",
    "ca",
    "st",
    "f.d",
    "fr.o.m",
    "t.o.m",
    "p.g.a",
    "bl",
    "t",
    "s",
    "m",
    "d",
    "p",
    "o",
    "e.d",
    "inkl",
    "exkl",
    "enl",
    "ang",
    "avd",
    "etc",
}


def normalize_space(text: str) -> str:
    """Collapse runs of white space to one space and strip the ends."""
    return _SPACE_RE.sub(" ", text).strip()


def clean_invisible(text: str) -> str:
    """Drop zero-width and bidi control characters, soft hyphens, control characters and lone
    surrogates (tabs and newlines stay)."""
    return _CONTROL_RE.sub("", _INVISIBLE_RE.sub("", text))


def strip_diacritics(text: str) -> str:
    """Remove combining marks: "Skarpnäck" -> "Skarpnack", "é" -> "e"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower-case, diacritic-free form used to match spellings that lost å, ä, ö.

    The OCR spelling "aé" of "ä" ("polisanmaélas") folds like "a".
    """
    lowered = text.lower().replace("aé", "a").replace("ae\u0301", "a")
    return strip_diacritics(lowered)


def words(text: str) -> list[str]:
    """The word tokens of ``text`` (letters and digits; inner hyphens kept)."""
    return WORD_RE.findall(text)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` in ``text``.

    Splits after ., ! or ? followed by white space and an upper-case letter, digit or
    quote, unless the dot ends a known abbreviation; a blank line or a line ending in
    "?" or ":" also ends a sentence. Line breaks inside a sentence (PDF wrapping) do not.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        end_here = False
        if ch in ".!?":
            j = i + 1
            while j < n and text[j] in ".!?)\"'”":
                j += 1
            k = j
            while k < n and text[k] in " \t\r\n":
                k += 1
            if j < n and k > j and (k >= n or text[k].isupper() or text[k].isdigit() or text[k] in '"”•-–'):
                if ch != "." or not _is_abbreviation(text, i):
                    end_here = True
                    i = j
            elif j >= n:
                end_here = True
                i = j
        elif ch == "\n":
            nxt = text.find("\n", i + 1)
            blank = nxt != -1 and text[i + 1 : nxt].strip() == ""
            k = i  # the last non-space character before the line break (no slice of the sentence)
            while k > start and text[k - 1].isspace():
                k -= 1
            if blank or (k > start and text[k - 1] in "?:"):
                end_here = True
        if end_here:
            _add_span(text, start, i, spans)
            start = i
        i += 1
    _add_span(text, start, n, spans)
    return spans


def _is_abbreviation(text: str, dot: int) -> bool:
    k = dot
    while k > 0 and (text[k - 1].isalpha() or text[k - 1] == "."):
        k -= 1
    token = text[k:dot].lower().strip(".")
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start and any(c.isalnum() for c in text[start:end]):
        spans.append((start, end))
