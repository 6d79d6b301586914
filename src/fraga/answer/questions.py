"""What a question asks for, read from Swedish (and English) grammar, for any topic.

A question word fixes the shape of an answering sentence: "vem" wants an agent (a
person noun, an organisation, a passive "av ..."), "hur många" a quantity, "när" a
time, "varför" a reason, "hur" a manner; a question that opens with a finite verb
("Har ...", "Finns ...") is a yes/no question. These patterns are about the language,
not about the documents' subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fraga.answer.counting import AMOUNT, counted_words, states_count
from fraga.text import words

_NUMBER_WORDS = (
    r"\d+|en|ett|två|tva|tre|fyra|fem|sex|sju|åtta|atta|nio|tio|elva|tolv|tjugo|trettio|fyrtio|"
    r"femtio|hundra|tusen|miljon\w*|miljard\w*|hälften|halva|dubbelt|procent|kronor|kr|mnkr|tkr|"
    r"andel\w*|antal\w*|flera|några|nagra|många|manga|få|inga|ingen|samtliga|alla|varannan|var\s+\w+"
)
_MONTHS = r"januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december"

# (type, question pattern, answer-sentence pattern); the first match wins.
_TYPES: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = (
    (
        "cost",
        re.compile(r"\b(vad kostar|kosta[rd]?|kostnad\w*|hur mycket pengar|budget\w*|i kronor|how much does|cost\w*)\b", re.I),
        re.compile(
            rf"{AMOUNT}|\b(kronor|kr|mnkr|tkr|miljon\w*|miljard\w*|belopp\w*|budget\w*|kostnad\w*|"
            r"kostar|medel|anslag\w*)\b",
            re.I,
        ),
    ),
    (
        "quantity",
        re.compile(
            r"\b(hur (många|manga|mycket|stor|ofta|länge|lange)|antal\w*|andel\w*|"
            r"how (many|much|often|long)|what share|what percentage)\b",
            re.I,
        ),
        re.compile(rf"\b({_NUMBER_WORDS}|varje|dagligen|veckovis|årligen|gång\w*|%)\b|%", re.I),
    ),
    (
        "time",
        re.compile(r"^\W*(när|nar|when)\b|\b(vilket (datum|år|ar)|vilken (dag|tidpunkt|månad)|what date|what year)\b", re.I),
        re.compile(
            rf"\b(\d{{4}}|\d{{4}}-\d\d-\d\d|{_MONTHS}|måndag|tisdag|onsdag|torsdag|fredag|vecka\w*|"
            rf"månad\w*|år|året|tidigare|senare|innan|efter|före|under|sedan|redan|nu|idag)\b",
            re.I,
        ),
    ),
    (
        "agent",
        re.compile(
            r"^\W*(vem|vilka personer|vilken person|who)\b|\b(vem|vilka|vilken|who)\b.{0,40}\b(ansvar\w*|gör|gör\w*|"
            r"anmäl\w*|bestämm\w*|beslut\w*|responsible)\b",
            re.I,
        ),
        # a passive agent ("görs av chef"), a cleft ("det är förvaltningen som"), a responsibility
        # predicate, or a sentence that opens with a person or organisation noun ("Chef gör ...")
        re.compile(
            r"\b\w+(s|as|es) (alltid |oftast |normalt |främst )?av (en |ett |den |det |sin |sina )?\w+|"
            r"\bdet är (alltid |oftast |främst )?\w+( \w+)? som\b|\b(ansvarar|ansvarig\w*|ansvaret)\b|"
            r"^\W*(\w*(are|aren|arna|ör|ören|chef|chefen|förvaltning\w*|nämnd\w*|myndighet\w*))\b",
            re.I,
        ),
    ),
    (
        "reason",
        re.compile(r"^\W*(varför|varfor|why)\b|\b(av vilken anledning|vad beror|vad är skälet|what is the reason)\b", re.I),
        re.compile(
            r"\b(eftersom|därför|darfor|för att|på grund av|pga|med anledning av|syfte\w*|leder till|"
            r"riskerar|beror på|skäl\w*|orsak\w*)\b",
            re.I,
        ),
    ),
    (
        "manner",
        re.compile(r"^\W*(hur|how)\b|\b(på vilket sätt|vilka åtgärder|vilket stöd|vad görs|vad gör\w*)\b", re.I),
        re.compile(
            r"\b(genom|via|med hjälp av|i samråd|rutin\w*|stöd\w*|åtgärd\w*|arbetar|arbetet|erbjud\w*|"
            r"ska|sker|görs|används|finns)\b",
            re.I,
        ),
    ),
)
# A yes/no question opens with a finite verb; its answer usually states or denies something.
_POLAR_Q = re.compile(
    r"^\W*(har|hade|finns|fanns|är|ar|var|ska|skall|skulle|kan|kunde|får|far|fick|gör|gjorde|"
    r"måste|maste|bör|behöver|brukar|blir|blev|används|anser|tycker|jobbar|arbetar|förekommer|"
    r"stämmer|gäller|räknas|ingår|do|does|did|is|are|was|were|has|have|can|should|will)\b",
    re.I,
)
_POLAR_A = re.compile(r"\b(inte|ej|ingen|inga|inget|aldrig|alltid|samtliga|alla|ja|nej|även|också|finns|har)\b", re.I)

# Function words of English and Swedish: a question is English when it has more of the
# English ones (names such as "Skarpnäck" belong to neither).
_ENGLISH = frozenset(
    """the is are does do did what who which how of to a an have has when where why according there
their for with many much get they if in any about and or it its be been was were can should will would this that
these those on at by from not no yes staff""".split()
)
_SWEDISH = frozenset(
    """och att som det är för har vad hur vem vilka vilken inte i på en ett av till med om den de
dom var när finns kan ska får fick gör görs jag vi ni man nån någon några något eller men så sig sin sitt""".split()
)

# Questions about what a skrivelse (the politicians' letter) asks or wants, rather than
# about what the administration does: the party names and abbreviations of Swedish
# politics, and the verbs of asking and demanding.
_PARTIES = (
    r"liberalerna|moderaterna|centerpartiet|centern|sverigedemokraterna|kristdemokraterna|"
    r"socialdemokraterna|vänsterpartiet|vansterpartiet|miljöpartiet|miljopartiet"
)
_ABOUT_SKRIVELSE = re.compile(
    rf"\b(skrivelse\w*|motion\w*|{_PARTIES}|politiker\w*|oppositionen|majoritet\w*)\b|"
    r"\b(frågar|fragar|frågade|fragade|frågorna|undrar|undrade|kräver|krävde|yrkar|"
    r"vill\s+(de|hen|partiet|partierna|skrivelsen)|enligt\s+(L|M|C|KD|SD|S|V|MP)\b)",
    re.I,
)
_PARTY_ABBR = re.compile(r"(?<![\w-])(L|M|C|KD|SD|S|V|MP)(?![\w-])")


@dataclass(frozen=True, slots=True)
class QuestionInfo:
    """What answering needs to know about a question."""

    kind: str  # "cost" | "quantity" | "time" | "agent" | "reason" | "manner" | "polar" | "open"
    english: bool
    about_skrivelse: bool
    counted: tuple[str, ...] = ()  # what a count question counts ("hur många X"), else ()


def is_english(question: str) -> bool:
    tokens = [w.lower() for w in words(question)]
    english = sum(t in _ENGLISH for t in tokens)
    swedish = sum(t in _SWEDISH for t in tokens)
    return len(tokens) >= 2 and english >= 2 and english > swedish


def analyse(question: str) -> QuestionInfo:
    """The expected answer type and the other traits of ``question``."""
    kind = next((name for name, asks, _ in _TYPES if asks.search(question)), None)
    if kind is None:
        kind = "polar" if _POLAR_Q.search(question) else "open"
    about = bool(_ABOUT_SKRIVELSE.search(question) or _PARTY_ABBR.search(question))
    counted = counted_words(question) if kind == "quantity" else ()
    return QuestionInfo(kind, is_english(question), about, counted)


def has_answer_shape(kind: str, sentence: str, counted: tuple[str, ...] = ()) -> bool:
    """Whether ``sentence`` has the shape an answer of ``kind`` has (a number for a quantity...).

    ``counted``: what a count question counts (``QuestionInfo.counted``); its answer needs
    an amount, or a quantifier on those words (``fraga.answer.counting``)."""
    if counted:
        return states_count(sentence, counted)
    if kind == "polar":
        return bool(_POLAR_A.search(sentence))
    for name, _, shape in _TYPES:
        if name == kind:
            return bool(shape.search(sentence))
    return False
