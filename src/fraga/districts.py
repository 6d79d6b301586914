"""Stockholm's districts (stadsdelsnämnder) and how questions name them."""
from __future__ import annotations

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
SETTING_WORDS = frozenset({
    "stadsdel", "stadsdelen", "stadsdelar", "stadsdelarna", "stadsdelsnämnd", "stadsdelsnämnden",
    "stadsdelsförvaltning", "stadsdelsförvaltningen", "förvaltning", "förvaltningen", "nämnd", "nämnden",
    "svar", "svarar", "svarade", "skrivelse", "skrivelsen", "dokument", "dokumenten", "district", "districts",
    # words of comparison: they shape the question, the documents do not contain them
    "respektive", "skiljer", "skilja", "skillnad", "skillnaden", "skillnader", "jämfört", "jämför",
    "olika", "båda", "bägge", "nämns", "nämner", "tar", "upp"})

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


class DistrictMatcher:
    """Finds district names in free text, in any form ("Skarpnäcks", "skarpnack")."""

    def __init__(self, names: tuple[str, ...] | list[str] = KNOWN_DISTRICTS) -> None:
        unique = {district_key(n): n for n in names}
        # Longest names first, so "Hägersten-Älvsjö" wins over "Älvsjö".
        ordered = sorted(unique.values(), key=lambda n: -len(district_key(n)))
        self._patterns = [(n, _pattern(n)) for n in ordered]

    def find(self, text: str) -> list[DistrictMention]:
        """Every district mentioned in ``text``, in order of appearance, without overlaps."""
        folded = fold(text)
        taken = bytearray(len(folded))  # 1 where an earlier (longer) name matched
        found: list[DistrictMention] = []
        for name, pattern in self._patterns:
            for m in pattern.finditer(folded):
                if any(taken[m.start():m.end()]):
                    continue
                taken[m.start():m.end()] = b"\x01" * (m.end() - m.start())
                found.append(DistrictMention(name, m.start(), m.end()))
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
