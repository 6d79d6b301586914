"""Repair Swedish OCR text that lost å, ä and ö ("Forvaltningens forslag", "stdd", "4nd4").

Decided per document: a text whose share of valid Swedish words is low is repaired
word by word; a clean text only gets words with an unmistakable OCR mark (a digit or
"&" inside a word, an unknown word with "é", stray capitals) repaired. Candidates come
from bounded OCR-confusion substitutions; they must be Swedish words (hunspell-sv,
compounds, the clean documents) and are chosen by frequency and neighbouring words.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from fraga.ingest.lexicon import Lexicon, LexiconNotFoundError

logger = logging.getLogger(__name__)

__all__ = [
    "Lexicon",
    "LexiconNotFoundError",
    "Repair",
    "RepairResult",
    "ingest_repair",
    "looks_damaged",
    "repair_text",
    "valid_share",
]

DAMAGED_THRESHOLD = 0.9  # the clean corpus files score 0.99-1.0, the OCR file 0.77
MAX_EDITS = 3  # substitutions per word
MAX_REPAIR_LEN = 40  # longer tokens are not words (broken text): never repaired
MAX_VARIANTS = 20_000  # spellings tried per word at most (bounds time on pathological input)
EDIT_COST = 0.6  # score penalty per substitution
CONTEXT_WEIGHT = 1.5  # weight of log(1 + bigram count) on each side
REPLACE_MARGIN = 1.5  # a valid word is replaced only by a clearly better one
UNSURE_MARGIN = 0.5  # closer unattested candidates: leave the word as it is

# OCR reading -> letters it may stand for.
CONFUSIONS: dict[str, str] = {"a": "äå", "d": "äåö", "é": "äåö", "i": "äå", "o": "ö", "4": "äå", "6": "ö", "0": "ö", "&": "ä"}
PAIRS: dict[str, str] = {"aé": "ä", "éi": "ä", "éd": "ä", "id": "ä", "oé": "ö", "éa": "å"}
# Rare readings cost more: "vild" for "våld" needs support from the neighbouring words
# ("sidan" must not become "sådan").
RARE_COST: dict[tuple[str, str], float] = {("i", "å"): 2.0}
INSERTS = ("å", "ä", "ö")  # a lost letter in a word without vowels ("sl" for "slå")
VOWELS = set("aeiouyåäöéü")
# After a lone "1" these mean a number, not the preposition "i".
COUNT_WORDS = frozenset(
    """januari februari mars april maj juni juli augusti september
oktober november december procent kr kronor st år dag dagar vecka veckor månad månader
timme timmar minut minuter gång person personer styck krona""".split()
)
NUMBER_WORDS = frozenset("kapitel sida bilaga punkt paragraf avsnitt nr steg fråga alternativ nivå version tabell figur".split())

_TOKEN_RE = re.compile(r"(?:[^\W_]|&)+", re.UNICODE)
_ABBREV_RE = re.compile(r"\b(?:[^\W\d_]{1,4}\.){2,}|\b(?:[^\W\d_]{1,4}\.)(?=[^\W\d_]{1,4}\.)")
_SENTENCE_END_RE = re.compile(r"[.!?:]|\n[ \t\r]*\n")


@dataclass(frozen=True, slots=True)
class Repair:
    """One changed word."""

    start: int  # offset in the original text
    end: int
    original: str
    replacement: str


@dataclass(frozen=True, slots=True)
class RepairResult:
    """The repaired text and what changed."""

    text: str  # repaired text (same line structure as input)
    repairs: tuple[Repair, ...]
    valid_before: float  # share of word tokens that are valid Swedish, before
    valid_after: float  # after


@dataclass(slots=True)
class _Token:
    start: int
    end: int
    text: str
    initial: bool  # starts a sentence (or a heading / list item)
    hyphen: bool  # followed by "-": a compound start as in "säkerhets- och"
    abbrev: bool  # part of "m.fl." and the like

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def alpha(self) -> bool:
        return any(c.isalpha() for c in self.text)

    @property
    def capital(self) -> bool:
        return self.text[0].isupper() and not self.text.isupper()

    @property
    def acronym(self) -> bool:
        letters = [c for c in self.text if c.isalpha()]
        return len(letters) >= 2 and all(c.isupper() for c in letters)


def _tokens(text: str) -> list[_Token]:
    """Word and number tokens with sentence-start, hyphen and abbreviation marks."""
    abbrev = [m.span() for m in _ABBREV_RE.finditer(text)]
    abbrev_starts = [a for a, _ in abbrev]
    out: list[_Token] = []
    prev_end = 0
    for m in _TOKEN_RE.finditer(text):
        gap = text[prev_end : m.start()]
        if not out:
            initial = True
        elif out[-1].abbrev:  # the dot of "m.fl." ends no sentence
            initial = re.search(r"[!?:]|\n[ \t\r]*\n", gap) is not None
        else:
            initial = (
                _SENTENCE_END_RE.search(gap) is not None
                or (")" in gap and out[-1].text.isdigit())
                or (  # after a list marker "1)"
                    "\n" in gap and _heading(text, prev_end + gap.index("\n"))
                )
            )
        after = text[m.end() + 1 : m.end() + 2]
        hyphen = text.startswith("-", m.end()) and not after.isalnum()
        k = bisect.bisect_right(abbrev_starts, m.start()) - 1
        in_abbrev = k >= 0 and m.start() < abbrev[k][1]
        out.append(_Token(m.start(), m.end(), m.group(), initial, hyphen, in_abbrev))
        prev_end = m.end()
    return out


def _heading(text: str, line_end: int) -> bool:
    """The line ending at ``line_end`` looks like a heading or a signature line."""
    line = text[text.rfind("\n", 0, line_end) + 1 : line_end].strip()
    return bool(line) and line[0].isupper() and len(line.split()) <= 4 and line[-1] not in ".,;:!?-"


def _scored(tok: _Token) -> bool:
    """Whether a token counts for the valid share (names, acronyms, numbers don't)."""
    if not tok.alpha or tok.abbrev or tok.acronym:
        return False
    if len(tok.text) == 1:
        return tok.lower in "iåö"
    return tok.initial or not tok.capital


def _is_valid(word: str, hyphen: bool, lexicon: Lexicon) -> bool:
    if lexicon.is_known(word) or lexicon.is_compound(word):
        return True
    return hyphen and lexicon.can_begin(word)


def valid_share(text: str, lexicon: Lexicon) -> float:
    """Share of word tokens that are valid Swedish (names, acronyms, numbers not counted)."""
    toks = [t for t in _tokens(text) if _scored(t)]
    if not toks:
        return 1.0
    return sum(_is_valid(t.lower, t.hyphen, lexicon) for t in toks) / len(toks)


def looks_damaged(text: str, lexicon: Lexicon, *, threshold: float = DAMAGED_THRESHOLD) -> bool:
    """True when fewer than ``threshold`` of the words are valid Swedish."""
    return valid_share(text, lexicon) < threshold


def _variants(word: str, edits: int) -> Iterator[tuple[str, float]]:
    """(spelling, cost) with exactly ``edits`` confusion substitutions."""
    if edits == 0:
        yield word, 0.0
        return
    for i, ch in enumerate(word):
        head = word[:i]
        for sub in CONFUSIONS.get(ch, ""):
            cost = EDIT_COST + RARE_COST.get((ch, sub), 0.0)
            for rest, more in _variants(word[i + 1 :], edits - 1):
                yield head + sub + rest, cost + more
        pair = word[i : i + 2]
        if pair in PAIRS:
            for rest, more in _variants(word[i + 2 :], edits - 1):
                yield head + PAIRS[pair] + rest, EDIT_COST + more


def _needs_fix(word: str) -> bool:
    """Digits or "&" in a word: never valid as written."""
    return any(c.isdigit() or c == "&" for c in word)


# Ranks of a spelling: what vouches for it.
UNKNOWN, COMPOUND, LISTED, STEM, ATTESTED = range(5)


class _Repairer:
    """Candidate lists and choices for one text."""

    def __init__(self, lexicon: Lexicon, damaged: bool) -> None:
        self.lex = lexicon
        self.damaged = damaged
        self._cands: dict[tuple[str, bool, bool, bool], list[tuple[str, int, float]]] = {}

    def rank(self, word: str, hyphen: bool, *, compounds: bool = True) -> int:
        """ATTESTED (clean documents, common word), STEM (listed, stem seen), LISTED,
        COMPOUND or UNKNOWN (also for proper nouns)."""
        lex = self.lex
        if _needs_fix(word) or lex.is_proper(word):
            return UNKNOWN
        if lex.attested(word):
            return ATTESTED
        if lex.is_known(word) or (hyphen and lex.can_begin(word)):
            return STEM if lex.stem_count(word) else LISTED
        return COMPOUND if compounds and lex.is_compound(word) else UNKNOWN

    def candidates(self, word: str, hyphen: bool, name: bool, valid: bool) -> list[tuple[str, int, float]]:
        """(candidate, rank, cost) for ``word``; names only get forms seen capitalised."""
        key = (word, hyphen, name, valid)
        if key in self._cands:
            return self._cands[key]
        found: dict[str, tuple[int, float]] = {}
        tried = 0
        for edits in range(1, (2 if valid else MAX_EDITS) + 1):
            for cand, cost in _variants(word, edits):
                tried += 1
                if tried > MAX_VARIANTS:
                    break
                if cand in found or _needs_fix(cand):
                    continue
                if name and cand.capitalize() not in self.lex.cased:
                    continue
                if rank := self.rank(cand, hyphen, compounds=edits < 3):
                    found[cand] = (rank, cost)
            if any(r >= STEM for r, _ in found.values()):
                break
        if not found and not VOWELS & set(word) and len(word) <= 3:
            for i in range(len(word) + 1):
                for cand in (word[:i] + ins + word[i:] for ins in INSERTS):
                    if name and cand.capitalize() not in self.lex.cased:
                        continue
                    if (rank := self.rank(cand, hyphen)) >= LISTED:
                        found[cand] = (rank, EDIT_COST)
        best = max((r for r, _ in found.values()), default=UNKNOWN)
        out = [(c, r, e) for c, (r, e) in found.items() if r >= LISTED or best < LISTED]
        self._cands[key] = out
        return out

    def score(self, word: str, cost: float, prev: str, nxt: str) -> float:
        """log frequency + neighbouring-word evidence - substitution cost."""
        lex = self.lex
        freq = max(lex.frequency(word), 0.25)
        ctx = lex.log_bigram(prev, word) + lex.log_bigram(word, nxt)
        return math.log(freq) + CONTEXT_WEIGHT * ctx - cost

    def choose(self, tok: _Token, name: bool, prev: str, nxt: str) -> str | None:
        """The replacement (lower case) for a token, or None to keep it."""
        word = tok.lower
        if len(word) > MAX_REPAIR_LEN:
            return None
        rank = self.rank(word, tok.hyphen)
        if name and (rank >= LISTED or self.lex.is_known(word)):
            return None  # a name or a valid capitalised word stays as written
        mark = (
            _needs_fix(word)
            or ("é" in word and rank == UNKNOWN)
            or (not tok.text[0].isupper() and any(c.isupper() for c in tok.text))
        )
        if not self.damaged and not mark:
            return None
        cands = self.candidates(word, tok.hyphen, name, rank >= LISTED)
        if not cands:
            return None
        scored = sorted(((self.score(c, e, prev, nxt), r, c, e) for c, r, e in cands), reverse=True)
        best_score, best_rank, best, best_cost = scored[0]
        if rank <= COMPOUND:
            if rank == COMPOUND and best_rank < LISTED:
                return None
            if best_rank < ATTESTED and any(best_score + best_cost - cost - sc < UNSURE_MARGIN for sc, _, _, cost in scored[1:]):
                return None  # another candidate is as likely, substitutions aside
            return best
        lex = self.lex
        if rank < ATTESTED:
            own = self.score(word, 0, prev, nxt)
            return best if best_rank == ATTESTED and best_score - own >= REPLACE_MARGIN else None
        # An attested word: only on evidence from both neighbours, none for the original.
        supported = lex.log_bigram(prev, best) > 0 and lex.log_bigram(best, nxt) > 0
        unsupported = lex.log_bigram(prev, word) == 0 and lex.log_bigram(word, nxt) == 0
        return best if best_rank == ATTESTED and supported and unsupported else None


def _lone_one(text: str, toks: list[_Token], i: int) -> bool:
    """A lone "1" read for "i": between words, never in "13 juni", "1)", "1." or "1 juni"."""
    if toks[i].text != "1" or i == 0 or i + 1 >= len(toks):
        return False
    prev, nxt = toks[i - 1], toks[i + 1]
    before = text[prev.end : toks[i].start]
    after = text[toks[i].end : nxt.start]
    return (
        re.fullmatch(r",?\s+", before) is not None
        and re.fullmatch(r"\s+", after) is not None
        and prev.text.isalpha()
        and nxt.text.isalpha()
        and nxt.text.islower()
        and nxt.lower not in COUNT_WORDS
        and prev.lower not in NUMBER_WORDS
    )


def _with_case(original: str, replacement: str) -> str:
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[0].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def repair_text(text: str, lexicon: Lexicon) -> RepairResult:
    """Repair lost Swedish letters; names, numbers and valid words in clean texts stay."""
    before = valid_share(text, lexicon)
    damaged = before < DAMAGED_THRESHOLD
    repairer = _Repairer(lexicon, damaged)
    toks = _tokens(text)
    words = [i for i, t in enumerate(toks) if t.alpha]
    chosen: dict[int, str] = {}
    current = {i: toks[i].lower for i in words}
    for i in range(len(toks)):
        if damaged and _lone_one(text, toks, i):
            chosen[i] = current[i] = "i"
    for _ in range(2):  # second pass sees the neighbours' repairs
        for k, i in enumerate(words):
            tok = toks[i]
            if tok.abbrev or (tok.acronym and len(tok.text) < 5) or len(tok.text) < 2:
                continue
            nxt_tok = toks[words[k + 1]] if k + 1 < len(words) else None
            name = (
                tok.capital
                and (
                    not tok.initial
                    or (  # or "Linnea Sandstrom"
                        nxt_tok is not None
                        and nxt_tok.capital
                        and not nxt_tok.initial
                        and "\n" not in text[tok.end : nxt_tok.start]
                    )
                )
            )
            prev = current.get(i - 1, "") if i > 0 else ""
            nxt = current.get(i + 1, "")
            choice = repairer.choose(tok, name, prev, nxt)
            if choice is not None and choice != tok.lower:
                chosen[i] = current[i] = choice
            else:
                chosen.pop(i, None)
                current[i] = tok.lower
    repairs = []
    parts: list[str] = []
    last = 0
    for i in sorted(chosen):
        tok = toks[i]
        new = _with_case(tok.text, chosen[i])
        repairs.append(Repair(tok.start, tok.end, tok.text, new))
        parts += [text[last : tok.start], new]
        last = tok.end
    parts.append(text[last:])
    out = "".join(parts)
    after = valid_share(out, lexicon) if repairs else before
    logger.info("OCR repair: %d words changed, valid share %.3f -> %.3f (damaged=%s)", len(repairs), before, after, damaged)
    return RepairResult(out, tuple(repairs), before, after)


def ingest_repair(text: str, clean_texts: list[str]) -> tuple[str, int] | None:
    """Adapter for ``fraga.ingest.corpus.load_corpus(repair=...)``: (text, changes) or None.

    Only a text that looks damaged gets the other documents as vocabulary, so a large
    corpus of clean texts costs one hunspell check each. That vocabulary is built once per
    ``clean_texts`` list (``load_corpus`` passes the same list for every document), not
    once per damaged document.
    """
    lexicon = Lexicon.default()
    if not looks_damaged(text, lexicon):
        return None  # clean documents are left alone
    result = repair_text(text, _corpus_lexicon(clean_texts))
    return (result.text, len(result.repairs)) if result.repairs else None


_CORPUS_LEXICON: list[tuple[list[str], int, Lexicon]] = []  # (texts, their number, lexicon): the last corpus
_CORPUS_LOCK = threading.Lock()


def _corpus_lexicon(texts: list[str]) -> Lexicon:
    """``Lexicon.default(texts)``, reused while the same list (same object, same length) comes back."""
    with _CORPUS_LOCK:
        if _CORPUS_LEXICON:
            seen, n, lexicon = _CORPUS_LEXICON[0]
            if seen is texts and n == len(texts):
                return lexicon
        lexicon = Lexicon.default(texts)
        _CORPUS_LEXICON[:] = [(texts, len(texts), lexicon)]
        return lexicon
