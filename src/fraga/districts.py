"""Stockholm's districts (stadsdelsnämnder) and how questions name them."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass

from fraga.text import fold

# A question that asks across districts: answered per district, and a follow-up of this
# kind does not inherit the previous question's district.
CROSS_DISTRICT_RE = re.compile(
    r"\b(vilka|vilken|alla|varje|samtliga|olika|andra|övriga|ovriga)\s+"
    r"(stadsdel\w*|förvaltning\w*|forvaltning\w*|nämnd\w*|namnd\w*)"
    r"|\bjämför\w*|\bjamfor\w*|\bskillnad\w*|\brespektive\b|\bwhich districts\b|\bcompare\b|\bi vilka\b",
    re.IGNORECASE,
)
# Words that name the setting of a question rather than what it is about: they neither
# count towards an answer's coverage of the question nor get highlighted.
SETTING_WORDS = frozenset(
    {
        "stadsdel",
        "stadsdelen",
        "stadsdelar",
        "stadsdelarna",
        "stadsdelsnämnd",
        "stadsdelsnämnden",
        "stadsdelsförvaltning",
        "stadsdelsförvaltningen",
        "förvaltning",
        "förvaltningen",
        "nämnd",
        "nämnden",
        "svar",
        "svarar",
        "svarade",
        "skrivelse",
        "skrivelsen",
        "dokument",
        "dokumenten",
        "district",
        "districts",
        # words of comparison: they shape the question, the documents do not contain them
        "respektive",
        "skiljer",
        "skilja",
        "skillnad",
        "skillnaden",
        "skillnader",
        "jämfört",
        "jämför",
        "olika",
        "båda",
        "bägge",
        "nämns",
        "nämner",
        "tar",
        "upp",
    }
)

# Districts of the City of Stockholm, the current ones and recent former ones, so a
# question about a district without documents can be told apart from a question
# that names no district at all.
KNOWN_DISTRICTS: tuple[str, ...] = (
    "Bromma",
    "Enskede-Årsta-Vantör",
    "Farsta",
    "Hägersten-Liljeholmen",
    "Hägersten-Älvsjö",
    "Hässelby-Vällingby",
    "Kungsholmen",
    "Norra innerstaden",
    "Norrmalm",
    "Rinkeby-Kista",
    "Skarpnäck",
    "Skärholmen",
    "Spånga-Tensta",
    "Södermalm",
    "Södra innerstaden",
    "Västerort",
    "Älvsjö",
    "Östermalm",
)


def district_key(name: str) -> str:
    """Canonical key of a district name: folded, hyphens and spaces unified."""
    key = fold(name)
    key = re.sub(r"[\s\-–]+", " ", key).strip()
    return key


def _pattern(name: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in district_key(name).split(" ")]
    body = r"[\s\-–]+".join(parts)
    # Genitive -s, definite forms are not used for district names.
    return re.compile(rf"(?<![0-9a-z]){body}s?(?![0-9a-z])")


@dataclass(frozen=True, slots=True)
class DistrictMention:
    name: str  # canonical name
    start: int  # offset in the folded question
    end: int


def _close(word: str, part: str) -> bool:
    """Whether the question word ``word`` is a misspelt or shortened ``part`` of a district name
    ("skarpnak", "kungsholmn", "innerstan"); both folded. Short parts must match exactly."""
    if len(part) < 5 or len(word) < 4:
        return False
    if word.endswith("s") and word[:-1] == part:
        return True
    prefix = len(os.path.commonprefix([word, part]))
    if prefix >= max(5, len(part) - 3) and len(word) >= prefix:
        return True  # a shortened form: "innerstan" for "innerstaden"
    return word[:4] == part[:4] and abs(len(word) - len(part)) <= 2 and difflib.SequenceMatcher(None, word, part).ratio() >= 0.84


class DistrictMatcher:
    """Finds district names in free text, in any form ("Skarpnäcks", "skarpnack"), also
    misspelt or shortened ("skarpnak", "norra innerstan"), and, for ``preferred`` districts
    with a two-part name, one part alone ("Hägersten") when no other preferred one shares it.
    """

    def __init__(self, names: tuple[str, ...] | list[str] = KNOWN_DISTRICTS, preferred: tuple[str, ...] | list[str] = ()) -> None:
        unique = {district_key(n): n for n in names}
        # Longest names first, so "Hägersten-Älvsjö" wins over "Älvsjö".
        ordered = sorted(unique.values(), key=lambda n: -len(district_key(n)))
        self._patterns = [(n, _pattern(n)) for n in ordered]
        self._parts = [(n, district_key(n).split(" ")) for n in ordered]
        owners: dict[str, list[str]] = {}
        for name in preferred:
            parts = district_key(name).split(" ")
            if len(parts) >= 2:
                for part in parts:
                    if len(part) >= 6:
                        owners.setdefault(part, []).append(name)
        self._single = {part: names[0] for part, names in owners.items() if len(names) == 1}
        # A word can only start a (fuzzy) match when it equals a name part or shares its first
        # four letters (``_close`` requires that): most words of a long text are ruled out at once.
        parts_all = {p for _, parts in self._parts for p in parts} | set(self._single)
        self._exact = frozenset(parts_all)
        self._prefixes = frozenset(p[:4] for p in parts_all if len(p) >= 5)

    def _fuzzy(self, folded: str, taken: bytearray) -> list[DistrictMention]:
        tokens = [
            (m.group(0), m.start(), m.end()) for m in re.finditer(r"[0-9a-z]+", folded) if not any(taken[m.start() : m.end()])
        ]
        found = []
        i = 0
        while i < len(tokens):
            first = tokens[i][0]
            if first not in self._exact and first[:4] not in self._prefixes:
                i += 1
                continue
            hit = None
            for name, parts in self._parts:
                window = tokens[i : i + len(parts)]
                if (
                    len(window) == len(parts)
                    and all(_close(w, p) or w == p for (w, _, _), p in zip(window, parts))
                    and any(_close(w, p) for (w, _, _), p in zip(window, parts))
                ):
                    hit = (name, window[0][1], window[-1][2], len(parts))
                    break
            if hit is None:
                word = tokens[i][0]
                part = next((p for p in self._single if word == p or _close(word, p)), None)
                if part is not None:
                    hit = (self._single[part], tokens[i][1], tokens[i][2], 1)
            if hit is None:
                i += 1
                continue
            found.append(DistrictMention(hit[0], hit[1], hit[2]))
            i += hit[3]
        return found

    def find(self, text: str) -> list[DistrictMention]:
        """Every district mentioned in ``text``, in order of appearance, without overlaps."""
        folded = fold(text)
        taken = bytearray(len(folded))  # 1 where an earlier (longer) name matched
        found: list[DistrictMention] = []
        for name, pattern in self._patterns:
            for m in pattern.finditer(folded):
                if any(taken[m.start() : m.end()]):
                    continue
                taken[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
                found.append(DistrictMention(name, m.start(), m.end()))
        found.extend(self._fuzzy(folded, taken))
        found.sort(key=lambda d: d.start)
        return found

    def names(self, text: str) -> list[str]:
        """Distinct canonical district names in ``text``, in order of first mention."""
        seen: list[str] = []
        for mention in self.find(text):
            if mention.name not in seen:
                seen.append(mention.name)
        return seen


def canonical_district(name: str, candidates: list[str] | tuple[str, ...]) -> str | None:
    """The candidate that ``name`` denotes ("skarpnacks" -> "Skarpnäck"), or None."""
    key = district_key(name)
    for cand in candidates:
        ckey = district_key(cand)
        if key == ckey or key == ckey + "s":
            return cand
    return None
