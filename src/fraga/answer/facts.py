"""Answers to questions about a document's metadata (diarienummer, handläggare, signers, parties).

The values come from the document's own text (fraga.ingest.metadata); the citation quotes the
lines where they stand, so nothing is invented. An empty field means the document
does not say, and fraga answers that it does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fraga.records import Document
from fraga.text import normalize_space


@dataclass(frozen=True, slots=True)
class FactQuestion:
    field: str  # a Metadata field name
    label: str  # Swedish label for the answer line
    missing: str  # Swedish sentence when the document does not say


_KINDS: tuple[tuple[re.Pattern[str], FactQuestion], ...] = (
    (
        re.compile(r"\b(diarienummer|diarienr|dnr|ärendenummer|arendenummer)\b", re.I),
        FactQuestion("dnr", "Diarienummer", "Dokumentet anger inget diarienummer."),
    ),
    (
        re.compile(
            r"\b(vem|vilken|vilka|who)\b[^?]*\b(handläggare|handlaggare|handlade)\b|"
            r"\b(handläggare|handlaggare)\s+(för|på|till|i)\b[^?]*\b(svar\w*|tjänsteutlåtande\w*|ärende\w*)\b",
            re.I,
        ),
        FactQuestion("handlaggare", "Handläggare", "Dokumentet anger ingen handläggare."),
    ),
    (
        re.compile(
            r"\b(undertecknade|undertecknat|undertecknades|skrev under|skrivit under|signerade|signerat|"
            r"attesterade|attesterat|godkände|signed)\b",
            re.I,
        ),
        FactQuestion("signers", "Undertecknat av", "Dokumentet anger inga undertecknare."),
    ),
    (
        re.compile(
            r"\b(vilka partier|vilket parti|vilka politiker|which part(y|ies))\b[^?]*"
            r"\b(skrivelse\w*|motion\w*|skrev|lämnade|bakom|wrote)\b|"
            r"\b(vem|vilka) (skrev|lämnade in|stod bakom|står bakom|låg bakom) (skrivelsen|motionen)\b",
            re.I,
        ),
        FactQuestion("parties", "Skrivelsen kom från", "Dokumentet anger inte vilka partier som står bakom skrivelsen."),
    ),
    (
        re.compile(r"\b(vilket datum|daterad|daterat|what date)\b", re.I),
        FactQuestion("date", "Datum", "Dokumentet anger inget datum för tjänsteutlåtandet."),
    ),
)


def fact_question(question: str) -> FactQuestion | None:
    """The metadata field ``question`` asks about, or None for a content question."""
    for pattern, kind in _KINDS:
        if pattern.search(question):
            return kind
    return None


def _values(doc: Document, field: str) -> list[str]:
    value = getattr(doc.metadata, field)
    if isinstance(value, tuple):
        return [v for v in value if v]
    return [value] if value else []


def _needles(field: str, value: str) -> list[str]:
    """Strings to look for in the text for one metadata value."""
    if field in ("signers",):
        return [value.split(" (")[0]]
    if field == "parties":
        m = re.search(r"\((\w+)\)$", value)
        return [f"({m.group(1)})", value.split(" (")[0]] if m else [value]
    return [value]


def locate(doc: Document, field: str, values: list[str]) -> tuple[int, int] | None:
    """The span of ``doc.text`` (whole lines) where the values stand, or None."""
    text = doc.text
    spans = []
    for value in values:
        for needle in _needles(field, value):
            # Signatures stand at the end; the first mention elsewhere may be a citation of the name.
            pos = text.rfind(needle) if field == "signers" else text.find(needle)
            if pos >= 0:
                spans.append((pos, pos + len(needle)))
                break
    if not spans:
        return None
    start = text.rfind("\n", 0, min(s for s, _ in spans)) + 1
    end_pos = max(e for _, e in spans)
    end = text.find("\n", end_pos)
    end = len(text) if end < 0 else end
    if field == "signers":  # include the line with the titles under the names
        nxt = text.find("\n", end + 1)
        end = len(text) if nxt < 0 else nxt
    return start, end


def fact_answer_text(kind: FactQuestion, doc: Document) -> str | None:
    """ "Label: values" for ``doc``, or None when the document does not state the field."""
    values = _values(doc, kind.field)
    if not values:
        return None
    return f"{kind.label}: {', '.join(normalize_space(v) for v in values)}"
