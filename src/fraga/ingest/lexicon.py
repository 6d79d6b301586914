"""Swedish word list for OCR repair: hunspell-sv forms and compounds, plus corpus counts.

The hunspell ``sv_SE.dic`` lists stems with affix flags (its ``_expanded`` sibling is
not a full-form list either), so inflected forms are recognised by stripping the
suffixes of ``sv_SE.aff`` (one level; the only continuation classes are compound
flags) and compounds by splitting into parts allowed at the start, middle and end.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import site
import sys
import sysconfig
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fraga.errors import FragaError

logger = logging.getLogger(__name__)

DICTIONARY_NAME = "sv_SE"
ENV_DIR = "FRAGA_HUNSPELL_DIR"
CORPUS_WEIGHT = 10.0  # one occurrence in a clean document is worth this much
PRIOR_WEIGHT = 20.0  # the most common word of COMMON_WORDS (halved every 50 ranks)
NONCORE_WEIGHT = 0.3  # a listed word outside the curated core list (1 inside)
STEM_WEIGHT = 2.0  # one clean-document word with the same Snowball stem
PART_WEIGHT = 0.5  # one clean-document occurrence of a part of a compound
MIN_PART = 2  # shortest compound part (hunspell COMPOUNDMIN)
MAX_COMPOUND_LEN = 60  # longer words are never split into compound parts
MAX_PARTS = 4  # hunspell COMPOUNDWORDMAX
DAMAGED_EXTRA_SHARE = 0.9  # extra texts with fewer valid words give no counts

# Frequent general Swedish words, roughly most frequent first: a small frequency prior
# for when the clean documents say nothing about a word ("är" before "år").
COMMON_WORDS: dict[str, float] = {
    w: PRIOR_WEIGHT * 2 ** (-rank / 50)
    for rank, w in enumerate(
        dict.fromkeys(
            """
och i att det som en på är av för med till den har de inte om ett men var sig från
vi så kan man när år hon under också efter eller nu sin där vid mot ska skulle kommer
ut får finns vara hade alla andra mycket än här då sedan över bara in blir upp även
vad få två vill ha många hur mer går sitt någon bli något några utan inom mellan
själv både ändå därför genom åt nya samt fått gör göra görs kunna vår våra dessa
detta dem denna hos redan sätt fall första större stor se ger tid dag del just samma
olika enligt före sådan sådana bör måste kanske väl rätt nästa står gäller behöver
behövs hela därmed följande fråga frågor dock ju nej ja blev varit kunde sina vårt
ert era dess vars vilka vilket vilken såsom såväl samtidigt härmed nämligen
""".split()
        )
    )
}


_TOKEN_RE = re.compile(r"[^\W\d_]+", re.UNICODE)  # letters only; hyphens split words


class LexiconNotFoundError(FragaError):
    """The Swedish hunspell dictionary (package hunspell-sv) was not found."""


@dataclass(frozen=True, slots=True)
class _Suffix:
    flag: str
    strip: str
    add: str
    cond: re.Pattern[str]
    cont: str  # continuation flags (only compound flags in sv_SE.aff)


def dictionary_dirs() -> Iterator[Path]:
    """Folders where hunspell-sv may have put its files, most specific first."""
    if os.environ.get(ENV_DIR):
        yield Path(os.environ[ENV_DIR])
    bases = [sys.prefix, sys.exec_prefix, sys.base_prefix, site.getuserbase()]
    for scheme in sysconfig.get_scheme_names():
        try:
            bases.append(sysconfig.get_path("data", scheme))
        except (KeyError, ValueError):  # scheme not usable on this platform
            continue
    seen: set[Path] = set()
    for base in bases:
        folder = Path(base) / "share" / "hunspell"
        if folder not in seen:
            seen.add(folder)
            yield folder
    yield Path("/usr/share/hunspell")
    yield Path("/usr/local/share/hunspell")


def find_dictionary(name: str = DICTIONARY_NAME) -> tuple[Path, Path]:
    """Paths of ``name.dic`` and ``name.aff``.

    Raises:
        LexiconNotFoundError: When no searched folder holds both files.
    """
    searched = []
    for folder in dictionary_dirs():
        dic, aff = folder / f"{name}.dic", folder / f"{name}.aff"
        if dic.is_file() and aff.is_file():
            return dic, aff
        searched.append(str(folder))
    raise LexiconNotFoundError(
        f"Hittar inte den svenska ordlistan {name}.dic (installera paketet hunspell-sv, "
        f"eller ange mappen i {ENV_DIR}); sökte i: {', '.join(searched)}"
    )


class Hunspell:
    """Stems and suffix rules of a hunspell dictionary, with word and compound checks."""

    def __init__(self, dic: Path, aff: Path, core: Path | None = None) -> None:
        self.flags: dict[str, str] = {"begin": "X", "middle": "U", "end": "Y", "only": "Z", "needaffix": "¤", "forbidden": "%"}
        self.suffixes: dict[str, list[_Suffix]] = {}
        self._read_aff(aff)
        self.max_add = max((len(a) for a in self.suffixes), default=0)
        self.stems: dict[str, str] = {}  # lower-case stem -> flags of all its entries
        self.proper: set[str] = set()  # stems only listed with a capital
        common: set[str] = set()
        stems = self.stems
        for line in dic.read_text(encoding="utf-8").splitlines()[1:]:  # after the count
            word, _, flags = line.partition("/")
            if not word:
                continue
            key = word.lower()
            if key == word:
                common.add(key)
            elif word[0].isupper():
                self.proper.add(key)
            stems[key] = stems[key] + flags + "|" if key in stems else flags + "|"
        self.proper -= common
        # One string object per distinct flag set (2,609 for 268,300 stems): -14 MB.
        shared: dict[str, str] = {}
        for key, flags in stems.items():
            stems[key] = shared.setdefault(flags, flags)
        # Stems of the smaller curated list (sv_SE_expanded.dic): everyday words, without
        # the rare and odd entries of the full list ("låmnäs", "näva").
        self.core: set[str] = set()
        if core is not None and core.is_file():
            lines = core.read_text(encoding="utf-8").lower().splitlines()[1:]
            same = {key: key for key in stems}  # core words as the stems' own string objects: -11 MB
            self.core = {same.get(w, w) for w in (line.partition("/")[0] for line in lines)}
        self._memo: dict[tuple[str, str], bool] = {}
        self._splits: dict[tuple[str, int], tuple[str, ...] | None] = {}

    def _read_aff(self, aff: Path) -> None:
        keys = {
            "COMPOUNDBEGIN": "begin",
            "COMPOUNDMIDDLE": "middle",
            "COMPOUNDEND": "end",
            "ONLYINCOMPOUND": "only",
            "NEEDAFFIX": "needaffix",
            "FORBIDDENWORD": "forbidden",
        }
        with aff.open(encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) == 2 and parts[0] in keys:
                    self.flags[keys[parts[0]]] = parts[1]
                elif len(parts) >= 5 and parts[0] == "SFX":
                    strip = "" if parts[2] == "0" else parts[2]
                    add, _, cont = parts[3].partition("/")
                    add = "" if add == "0" else add
                    cond = re.compile("" if parts[4] == "." else f"(?:{parts[4]})$")
                    self.suffixes.setdefault(add, []).append(_Suffix(parts[1], strip, add, cond, cont))

    def _analyses(self, word: str) -> Iterator[tuple[str, str, _Suffix | None]]:
        """(stem, flags, suffix rule or None) for each way ``word`` derives from a stem."""
        flags = self.stems.get(word)
        if flags is not None:
            for entry in flags.split("|")[:-1]:
                yield word, entry, None
        for k in range(0, min(self.max_add, len(word) - 1) + 1):
            rules = self.suffixes.get(word[len(word) - k :] if k else "")
            if not rules:
                continue
            base = word[: len(word) - k]
            for rule in rules:
                stem = base + rule.strip
                flags = self.stems.get(stem)
                if flags is None or rule.flag not in flags or not rule.cond.search(stem):
                    continue
                for entry in flags.split("|")[:-1]:
                    if rule.flag in entry:
                        yield stem, entry, rule

    def _check(self, word: str, role: str) -> bool:
        key = (word, role)
        hit = self._memo.get(key)
        if hit is None:
            hit = any(
                self._fits(flags, rule, role) and (role != "core" or stem in self.core)
                for stem, flags, rule in self._analyses(word)
            )
            if len(self._memo) > 500_000:
                self._memo.clear()
            self._memo[key] = hit
        return hit

    def _fits(self, flags: str, rule: _Suffix | None, role: str) -> bool:
        f = self.flags
        if f["forbidden"] in flags:
            return False
        if role in ("word", "core"):
            if rule is None:
                return f["needaffix"] not in flags and f["only"] not in flags
            return f["only"] not in rule.cont
        if role == "end":
            return f["end"] in flags and (rule is None or not rule.cont)
        flag = f[role]
        return flag in flags if rule is None else flag in rule.cont

    def is_word(self, word: str) -> bool:
        """A listed form (stem or stem + suffix), lower-case."""
        return self._check(word, "word")

    def is_core(self, word: str) -> bool:
        """A form of a stem in the curated core list."""
        return self._check(word, "core")

    def can_begin(self, word: str) -> bool:
        """``word`` may start a compound (e.g. "säkerhets")."""
        return self._check(word, "begin")

    def is_compound(self, word: str) -> bool:
        """``word`` splits into 2-4 parts allowed at the start, middle and end."""
        return self.split(word) is not None

    def split(self, word: str, depth: int = 0) -> tuple[str, ...] | None:
        """The parts of the first compound split of ``word`` found, or None."""
        if len(word) > MAX_COMPOUND_LEN:  # broken text, not a compound: splitting is quadratic
            return None
        key = (word, depth)
        if key in self._splits:
            return self._splits[key]
        found: tuple[str, ...] | None = None
        role = "begin" if depth == 0 else "middle"
        for i in range(MIN_PART, len(word) - MIN_PART + 1):
            if not self._check(word[:i], role):
                continue
            tail = word[i:]
            if self._check(tail, "end"):
                found = (word[:i], tail)
            elif depth + 2 < MAX_PARTS and (rest := self.split(tail, depth + 1)):
                found = (word[:i], *rest)
            if found:
                break
        if len(self._splits) > 200_000:
            self._splits.clear()
        self._splits[key] = found
        return found


_CACHE: dict[Path, Hunspell] = {}
_LOCK = threading.Lock()


def load_hunspell(name: str = DICTIONARY_NAME) -> Hunspell:
    """The dictionary, read once per process."""
    dic, aff = find_dictionary(name)
    with _LOCK:
        if dic not in _CACHE:
            t0 = time.perf_counter()
            _CACHE[dic] = Hunspell(dic, aff, dic.with_name(f"{name}_expanded.dic"))
            logger.info("read %s (%d stems) in %.2f s", dic, len(_CACHE[dic].stems), time.perf_counter() - t0)
        return _CACHE[dic]


@functools.lru_cache(maxsize=1)
def _snowball() -> Any:
    """The Snowball Swedish stemmer (PyStemmer, a dependency of fraga)."""
    import Stemmer

    return Stemmer.Stemmer("swedish")


@functools.lru_cache(maxsize=512)
def _text_stats(
    hunspell: Hunspell | None, stemmer: Any, text: str
) -> tuple[Counter[str], Counter[tuple[str, str]], Counter[str], frozenset[str]] | None:
    """Word, bigram and stem counts and capitalised forms of a text, or None when it
    looks OCR-damaged itself (cached: a lexicon is often built again over the same texts)."""
    tokens = _TOKEN_RE.findall(text)
    lower = [t.lower() for t in tokens]
    plain = [t for t in lower if len(t) > 1]
    if hunspell is not None and plain:
        valid = sum(hunspell.is_word(t) or hunspell.is_compound(t) for t in plain)
        if valid / len(plain) < DAMAGED_EXTRA_SHARE:
            logger.info("extra text ignored for word counts: %.0f %% valid words", 100 * valid / len(plain))
            return None
    stems = Counter(stemmer.stemWords(lower))
    return (Counter(lower), Counter(zip(lower, lower[1:])), stems, frozenset(t for t in tokens if t[:1].isupper()))


class Lexicon:
    """Lower-case word -> frequency: hunspell-sv forms and compounds, weighted up by
    counts from clean documents and a small prior for common words."""

    def __init__(
        self,
        hunspell: Hunspell | None = None,
        counts: Mapping[str, int] | None = None,
        bigrams: Mapping[tuple[str, str], int] | None = None,
        cased: Iterable[str] = (),
    ) -> None:
        self.hunspell = hunspell
        self.counts = Counter(counts or {})
        self.bigrams = Counter(bigrams or {})
        self.cased = frozenset(cased)  # capitalised forms seen in clean documents
        self.stems: Counter[str] = Counter()
        self._stemmer = _snowball()

    @classmethod
    def default(cls, extra_texts: Iterable[str] = ()) -> Lexicon:
        """hunspell-sv plus the words of ``extra_texts`` (texts that look OCR-damaged
        themselves are left out of the counts)."""
        lex = cls(load_hunspell())
        for text in extra_texts:
            lex.add_text(text)
        return lex

    def add_text(self, text: str) -> bool:
        """Count the words and bigrams of a clean text; False if it looks damaged."""
        stats = _text_stats(self.hunspell, self._stemmer, text)
        if stats is None:
            return False
        counts, bigrams, stems, cased = stats
        self.counts.update(counts)
        self.bigrams.update(bigrams)
        self.stems.update(stems)
        self.cased = self.cased | cased
        return True

    def is_known(self, word: str) -> bool:
        """In the clean documents or listed in hunspell (no compound splitting)."""
        return word in self.counts or (self.hunspell is not None and self.hunspell.is_word(word))

    def stem_count(self, word: str) -> int:
        """Clean-document words sharing the Snowball stem of ``word`` ("nivåer" for "nivå")."""
        return self.stems.get(self._stemmer.stemWord(word), 0)

    def is_proper(self, word: str) -> bool:
        """Listed only as a proper noun (e.g. a surname) and unseen in lower case."""
        return self.hunspell is not None and word in self.hunspell.proper and word not in self.counts

    def is_compound(self, word: str) -> bool:
        """Valid only as a compound of listed parts."""
        return self.hunspell is not None and len(word) >= 2 * MIN_PART and self.hunspell.is_compound(word)

    def can_begin(self, word: str) -> bool:
        """May start a compound ("säkerhets-" in "säkerhets- och trygghetssamordnare")."""
        return self.hunspell is not None and self.hunspell.can_begin(word)

    def __contains__(self, word: str) -> bool:
        word = word.lower()
        return self.is_known(word) or self.is_compound(word)

    def frequency(self, word: str) -> float:
        """Weighted clean-document counts of the word and of its stem, a prior for common
        words, + 1 for a listed word (0.3 outside the core list); for a compound 0.5 +
        counts of its parts; 0 for an unknown word."""
        word = word.lower()
        score = CORPUS_WEIGHT * self.counts.get(word, 0) + STEM_WEIGHT * self.stem_count(word)
        score += COMMON_WORDS.get(word, 0.0)
        if self.hunspell is not None and self.hunspell.is_word(word):
            score += 1.0 if self.hunspell.is_core(word) else NONCORE_WEIGHT
        elif score == 0 and len(word) >= 2 * MIN_PART and self.hunspell is not None:
            parts = self.hunspell.split(word)
            if parts:  # a compound: by how often its parts occur ("stöd" + "material")
                score = 0.5 + PART_WEIGHT * sum(
                    self.counts.get(p, 0) or self.counts.get(p[:-1], 0) * (p[-1] == "s") for p in parts
                )
        return score

    def attested(self, word: str) -> bool:
        """Seen in the clean documents or a common word: evidence beyond the word list."""
        return self.counts.get(word, 0) > 0 or word in COMMON_WORDS

    def log_bigram(self, left: str, right: str) -> float:
        """log(1 + count) of ``left right`` in the clean documents."""
        return math.log1p(self.bigrams.get((left, right), 0))
