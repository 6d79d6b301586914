"""Extract a document's metadata from its own text; what is not there stays empty."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import date as _date

from fraga.districts import KNOWN_DISTRICTS, DistrictMatcher, canonical_district
from fraga.ingest.sections import match_heading
from fraga.records import Metadata
from fraga.text import fold, normalize_space

MONTHS = {
    "januari": 1,
    "februari": 2,
    "mars": 3,
    "april": 4,
    "maj": 5,
    "juni": 6,
    "juli": 7,
    "augusti": 8,
    "september": 9,
    "oktober": 10,
    "november": 11,
    "december": 12,
}
PARTIES = {
    "S": "Socialdemokraterna",
    "M": "Moderaterna",
    "L": "Liberalerna",
    "C": "Centerpartiet",
    "KD": "Kristdemokraterna",
    "V": "Vänsterpartiet",
    "MP": "Miljöpartiet",
    "SD": "Sverigedemokraterna",
}
TITLES = (
    "stadsdelsdirektör",
    "avdelningschef",
    "förvaltningschef",
    "enhetschef",
    "biträdande stadsdelsdirektör",
    "stabschef",
    "direktör",
    "verksamhetschef",
)

ISO_DATE_RE = re.compile(r"\b(20\d\d|19\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")
TEXT_DATE_RE = re.compile(r"\b([0-3]?\d)\s+(" + "|".join(MONTHS) + r")\s+(20\d\d|19\d\d)\b", re.IGNORECASE)
DNR_RE = re.compile(r"\bDnr\.?:?\s*([A-ZÅÄÖ]{2,6}[\s-]?\d{4}/\d+(?:[-:.]\d+)*)", re.IGNORECASE)
# A match starts only at the start of a word, and name parts are bounded: otherwise a long
# run of word characters ("AAAA…", "A-A-A…", a base64 blob) is re-scanned quadratically.
DISTRICT_ORG_RE = re.compile(
    r"(?<![\w\-–])([A-ZÅÄÖ][\w\-–]{0,30}(?:[ \-–][a-zåäöA-ZÅÄÖ][\w\-–]{0,30})?)s?"
    r"\s+stadsdels(?:nämnd|namnd|ndmnd|förvaltning|forvaltning)",
)
_LETTERHEAD_RE = re.compile(
    r"^(handläggare|handlaggare|telefon|tel\.?|till|dnr|tjänsteutlåtande|sida|e-post|bilagor?|attesterat)\b",
    re.IGNORECASE,
)


def iso_dates(text: str) -> list[tuple[int, str]]:
    """Every date in ``text`` as (offset, "YYYY-MM-DD"), in order of appearance."""
    found = [(m.start(), m.group(0)) for m in ISO_DATE_RE.finditer(text)]
    for m in TEXT_DATE_RE.finditer(text):
        day, month, year = int(m.group(1)), MONTHS[m.group(2).lower()], m.group(3)
        if 1 <= day <= 31:
            found.append((m.start(), f"{year}-{month:02d}-{day:02d}"))
    return sorted(found)


def _lines(text: str) -> list[str]:
    return [normalize_space(line) for line in text.split("\n")]


def extract_district(text: str) -> str:
    """The district whose stadsdelsnämnd/-förvaltning wrote or received the document."""
    head = text[:3000]
    orgs: Counter[str] = Counter()
    for m in DISTRICT_ORG_RE.finditer(text):
        name = canonical_district(m.group(1), KNOWN_DISTRICTS)
        if name:
            orgs[name] += 2 if m.start() < len(head) else 1
    if orgs:
        return orgs.most_common(1)[0][0]
    mentions = Counter(m.name for m in DistrictMatcher().find(text))
    if mentions:
        return mentions.most_common(1)[0][0]
    return ""


def extract_doc_type(text: str) -> str:
    folded = fold(text[:4000])
    if re.search(r"tjansteutlatande|tjanstutlatande|tjdnsteutlatande|forslag till beslut|svar pa skrivelse", folded):
        return "tjänsteutlåtande"
    if re.search(r"skrivelse|stalla foljande fragor|vill vi stalla|motion", folded):
        return "skrivelse"
    return ""


def extract_title(text: str) -> str:
    """The first short block of heading-like lines that is not letterhead."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in _lines(text)[:80]:
        if line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    for block in blocks:
        cleaned = [re.sub(r"^#+\s*|\*\*|__", "", line).strip() for line in block]
        if cleaned and match_heading(cleaned[0]):
            break  # the body's sections have begun: a title comes before them
        if not cleaned or len(cleaned) > 3:
            continue
        first = cleaned[0]
        if _LETTERHEAD_RE.match(first) or ISO_DATE_RE.search(first) or TEXT_DATE_RE.search(first):
            continue
        if "@" in first or re.fullmatch(r"[\d\s\-+]+", first):
            continue
        if re.match(r"^(svar på|svar pa|skrivelse från|skrivelse fran)\b", first, re.IGNORECASE):
            continue
        if re.search(r"stadsdels(nämnd|förvaltning|namnd|forvaltning)$", first, re.IGNORECASE) and len(block) <= 2:
            continue
        title = normalize_space(" ".join(cleaned))
        if 8 <= len(title) <= 200 and not title.endswith("."):
            return title
    return ""


def extract_dnr(text: str) -> str:
    m = DNR_RE.search(text)
    return normalize_space(m.group(1)) if m else ""


def extract_date(text: str) -> str:
    """The document's own date: the one under its Dnr line, else under the "Till" block."""
    lines = _lines(text)
    for i, line in enumerate(lines):
        if DNR_RE.search(line) or line.lower().startswith("tjänsteutlåtande"):
            for nxt in lines[i + 1 : i + 4]:
                dates = iso_dates(nxt)
                if dates:
                    return dates[0][1]
    for i, line in enumerate(lines):
        if line.lower() == "till":
            for nxt in lines[i + 1 : i + 4]:
                dates = iso_dates(nxt)
                if dates:
                    return dates[0][1]
    return ""


def extract_handlaggare(text: str) -> str:
    lines = _lines(text)
    for i, line in enumerate(lines):
        if fold(line).startswith("handlaggare"):
            rest = line[len("handläggare") :].strip(" :")
            if rest:
                return rest
            for nxt in lines[i + 1 : i + 3]:
                if nxt:
                    return nxt
    return ""


def extract_signers(text: str) -> tuple[str, ...]:
    """Names in the signature block, as "Name (Title)"."""
    raw_lines = text.split("\n")
    lines = [normalize_space(line) for line in raw_lines]
    title_re = re.compile("|".join(re.escape(fold(t)) for t in TITLES))
    signers: list[str] = []
    for i, line in enumerate(lines):
        if i == 0 or not line:
            continue
        folded = fold(line)
        titles = title_re.findall(folded)
        if not titles or len(folded) > 60 or title_re.sub("", folded).strip(" ,"):
            continue
        names_line = lines[i - 1]
        if not names_line or title_re.search(fold(names_line)) or ISO_DATE_RE.search(names_line):
            continue
        names = _split_names(raw_lines[i - 1], len(titles))
        for name, title in zip(names, _titles_in(raw_lines[i], len(titles))):
            entry = f"{name} ({title})"
            if entry not in signers and re.fullmatch(r"[A-ZÅÄÖÉÜ][\w\-]+(?: [A-ZÅÄÖÉÜ][\w\-]+)+", name):
                signers.append(entry)
    return tuple(signers)


def _titles_in(line: str, n: int) -> list[str]:
    parts = [p for p in re.split(r"\s{2,}|\t", line.strip()) if p]
    if len(parts) == n:
        return parts
    words = line.split()
    return words if len(words) == n else [line.strip()] * n


def _split_names(raw: str, n: int) -> list[str]:
    parts = [p.strip() for p in re.split(r"\s{2,}|\t", raw.strip()) if p.strip()]
    if len(parts) == n:
        return parts
    line = normalize_space(raw)
    words = line.split()
    if n > 1 and len(words) % n == 0:
        size = len(words) // n
        return [" ".join(words[k * size : (k + 1) * size]) for k in range(n)]
    return [line] if n == 1 else []


def extract_parties(text: str) -> tuple[str, ...]:
    """Parties behind the skrivelse, e.g. ("Centerpartiet (C)", "Moderaterna (M)")."""
    head = text[:3000]
    found: list[str] = []
    m = re.search(
        r"(?:skrivelse|svar på skrivelse|svar pa skrivelse)\s+fr[åa]n\b(.{0,400}?)(?:\n\s*\n|\.\s+(?=[A-ZÅÄÖ]))",
        head,
        re.IGNORECASE | re.DOTALL,
    )
    if m:
        for abbr in re.findall(r"\(([A-ZÅÄÖ]{1,2})\)", m.group(1)):
            if abbr in PARTIES:
                entry = f"{PARTIES[abbr]} ({abbr})"
                if entry not in found:
                    found.append(entry)
    if not found:
        m = re.search(r"vill\s+(\w+)\s+ställa\s+följande", text, re.IGNORECASE)
        if m:
            for abbr, name in PARTIES.items():
                if m.group(1).lower() == name.lower():
                    found.append(f"{name} ({abbr})")
    return tuple(found)


def extract_metadata(text: str) -> Metadata:
    """All metadata fields that the text states."""
    dates = tuple(dict.fromkeys(d for _, d in iso_dates(text)))
    return Metadata(
        district=extract_district(text),
        doc_type=extract_doc_type(text),
        title=extract_title(text),
        date=extract_date(text),
        dates=dates,
        dnr=extract_dnr(text),
        handlaggare=extract_handlaggare(text),
        signers=extract_signers(text),
        parties=extract_parties(text),
    )


PROPERTY_FIELDS = ("title", "date")  # the metadata a file's own properties may give


def with_file_properties(metadata: Metadata, properties: dict[str, str]) -> Metadata:
    """``metadata`` with its empty ``title``/``date`` taken from the file's properties, marked as derived.

    What the text states always wins: a property only fills a field the text left empty.
    """
    filled = {k: v for k, v in properties.items() if k in PROPERTY_FIELDS and v and not getattr(metadata, k)}
    if not filled:
        return metadata
    derived = tuple(dict.fromkeys(metadata.derived + tuple(filled)))
    return Metadata.from_dict({**metadata.to_dict(), **filled, "derived": derived})


def file_properties(metadata: Metadata) -> dict[str, str]:
    """The fields of ``metadata`` that came from the file's properties (see ``with_file_properties``)."""
    return {k: getattr(metadata, k) for k in metadata.derived if k in PROPERTY_FIELDS}


def _valid(iso: str) -> bool:
    try:
        _date.fromisoformat(iso)
    except ValueError:
        return False
    return True


def derive_date(metadata: Metadata, text: str, filename: str = "") -> Metadata:
    """``metadata`` with a date derived when the letterhead gave none, marked in ``date_source``.

    The file name's ISO date comes first ("norra-innerstaden-2024-06-13-....txt": archives name
    files by the decision date), then the first full date in the text ("13 juni 2024").
    A document that has a date keeps it, and one with no date anywhere stays undated.
    """
    if metadata.date:
        return metadata
    for _, iso in iso_dates(filename.replace("_", "-")):
        if _valid(iso):
            return replace(metadata, date=iso, date_source="filnamn")
    for _, iso in iso_dates(text):
        if _valid(iso):
            return replace(metadata, date=iso, date_source="text")
    return metadata
