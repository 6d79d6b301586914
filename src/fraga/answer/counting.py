"""What answers a count question: "hur många X", "antal X", "how many X".

A count question names what it counts (its head noun phrase, X). A sentence answers it
when it states an amount (a cardinal word, digits that are not a year or a date, a share
such as "hälften" or "66 procent"), or when a vague quantifier ("några", "få", "flera",
"en", "inga") stands right before X ("få sådana rapporteringar", "en
säkerhetssamordnare"). The indefinite article alone is not an amount: "en bedömning"
does not answer "hur många hot anmäldes"; nor is a universal or distributive quantifier
("alla", "varje"): it says which, not how many. This is Swedish grammar, not the
documents' vocabulary.
"""

from __future__ import annotations

import re

from fraga.text import fold, words

# The question's counted phrase starts right after these.
_COUNT_Q = re.compile(r"\b(?:hur\s+(?:många|manga)|antal(?:et)?|how\s+many)\s+(.*)", re.I)
# Words that end the counted phrase: function words, prepositions and the common finite verbs.
_PHRASE_END = frozenset(
    """och att som det är ar för har hade vad hur vem vilka vilken inte i på pa en ett av till med om den de
dom var när finns fanns kan ska får fick gör görs jag vi ni man nån någon några något eller men så sig sin sitt
mot från fran under vid inom hos per efter före sedan utav blir blev brukar behöver arbetar jobbar
the is are does do did of to a an have has in on at by from for with were was there""".split()
)
_MAX_COUNTED = 3  # words of the counted phrase
_WINDOW = 3  # words after a vague quantifier where the counted noun may stand

_CARDINALS = frozenset(
    """två tva tre fyra fem sex sju åtta atta nio tio elva tolv tretton fjorton femton sexton sjutton arton nitton
tjugo trettio fyrtio femtio sextio sjuttio åttio attio nittio hundra tusen miljon miljoner miljard miljarder
hälften halva dubbelt procent procentenheter""".split()
)
_VAGUE = frozenset("en ett några nagra flera många manga få fa fåtal fatal enstaka inga ingen inget handfull".split())
# A number that states an amount: digits that are not a year, a date or part of a reference
# number ("2024", "2024-09-24" and "SKA 2024/339" are not amounts; "66", "2,5" and "1 200" are).
AMOUNT = r"(?<![\d/-])(?!(?:19|20)\d\d(?![\d,.]\d))\d+(?:[ ,.]\d+)*(?![\d/-])"
_AMOUNT_RE = re.compile(AMOUNT)
_SUFFIX = re.compile(r"(arna|erna|orna|ernas|arnas|ornas|ens|ets|na|en|et|ar|er|or|a|e|s)$")
_HEAD = 7  # letters two words' ends must share to be one compound head ("säkerhetssamordnare" ~ "trygghetssamordnare")


def counted_words(question: str) -> tuple[str, ...]:
    """The words a count question counts, lower case ("Hur många heltidsanställda
    säkerhetssamordnare har ..." -> ("heltidsanställda", "säkerhetssamordnare")); () when
    ``question`` is no count question."""
    m = _COUNT_Q.search(question)
    if m is None:
        return ()
    out: list[str] = []
    for word in words(m.group(1)):
        low = word.lower()
        if low in _PHRASE_END or len(out) == _MAX_COUNTED:
            break
        out.append(low)
    return tuple(out)


def _stem(word: str) -> str:
    """``word`` folded, without up to two inflection endings ("trygghetssamordnarna" -> "trygghetssamordn")."""
    out = fold(word.lower())
    for _ in range(2):
        cut = _SUFFIX.sub("", out)
        if len(cut) < 3:
            break
        out = cut
    return out


def same_word(a: str, b: str) -> bool:
    """Whether two words are one word inflected ("lekplats" ~ "lekplatserna") or share a
    compound head ("säkerhetssamordnare" ~ "trygghetssamordnarna"), diacritics ignored."""
    sa, sb = sorted((_stem(a), _stem(b)), key=len)
    if sb.startswith(sa) and len(sb) - len(sa) <= 2:
        return True
    return len(sa) >= _HEAD and sa[-_HEAD:] == sb[-_HEAD:]


def states_count(sentence: str, counted: tuple[str, ...]) -> bool:
    """Whether ``sentence`` answers a question that counts ``counted``: an amount anywhere, or
    a vague quantifier with a counted word among the ``_WINDOW`` words after it."""
    if "%" in sentence or _AMOUNT_RE.search(sentence):
        return True
    tokens = [w.lower() for w in words(sentence)]
    for i, token in enumerate(tokens):
        if token in _CARDINALS:
            return True
        if token in _VAGUE and any(same_word(c, t) for t in tokens[i + 1 : i + 1 + _WINDOW] for c in counted):
            return True
    return False
