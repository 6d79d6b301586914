"""Follow-up questions read together with the question before them.

"och i norra innerstan?" after "Hur många säkerhetssamordnare har Skarpnäck?" asks the
previous question about another district; "finns det nån utbildning om det?" asks
about the previous question's subject. A follow-up is recognised by Swedish grammar:
few words of its own beyond district names, connectives ("och", "samma", "då") and
pronouns pointing back ("det", "den", "där"), or an opening "och ..." / "men ...".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fraga.districts import CROSS_DISTRICT_RE, DistrictMatcher
from fraga.text import fold, words

# Words that make up a follow-up without saying what it is about.
_FRAME = frozenset(
    fold(w)
    for w in """
och eller men samt i på för från hos vid om med av till än då så ju väl nu också även samma sak sätt
gäller det den detta denna dessa de dem dom där här hur vad vem vilka vilken är var blir har hade
finns fanns ser ut står svarar svarade säger sa tycker anser just respektive resp
and what about in for the same how is it there then also
""".split()
)
# A pronoun as the object of a preposition at the end points back: "... om det?", "... för dem?".
_POINTS_BACK = re.compile(r"\b(om|för|med|till|av|på|kring|mot|i) (det|den|dem|dom|detta|dessa|that|it|them)\W*$", re.I)
_CARRIES_ON = re.compile(r"^\W*(och|men|än|samma|and|what about)\b", re.I)


@dataclass(frozen=True, slots=True)
class Resolved:
    """The question to answer, and how it was read (empty when it stands on its own)."""

    question: str
    interpreted: str = ""  # "Tolkat som: ..." shown with the answer


def _own_words(question: str, matcher: DistrictMatcher) -> list[str]:
    folded = fold(question)
    taken = bytearray(len(folded))
    for m in matcher.find(question):
        taken[m.start : m.end] = b"\x01" * (m.end - m.start)
    own = []
    for w in re.finditer(r"[0-9a-z]+", folded):
        if not any(taken[w.start() : w.end()]) and w.group(0) not in _FRAME:
            own.append(w.group(0))
    return own


def _replace_districts(previous: str, new: list[str], matcher: DistrictMatcher) -> str:
    """``previous`` with its district mention(s) replaced by ``new``, or ``new`` appended."""
    mentions = matcher.find(previous)
    name = " och ".join(new)
    if not mentions or len(fold(previous)) != len(previous):
        return f"{previous.rstrip(' ?')} i {name}?"
    out, last = [], 0
    for n, m in enumerate(mentions):
        out.append(previous[last : m.start])
        if n == 0:
            out.append(name)
        last = m.end
    out.append(previous[last:])
    return "".join(out)


def resolve(question: str, previous: str, matcher: DistrictMatcher) -> Resolved:
    """``question`` as asked after ``previous`` in the same conversation."""
    previous = (previous or "").strip()
    if not previous or not words(question) or CROSS_DISTRICT_RE.search(question):
        return Resolved(question)
    named = matcher.names(question)
    own = _own_words(question, matcher)
    if named and len(own) <= 1:  # "och i Kungsholmen?", "samma sak i skarpnäck"
        rewritten = _replace_districts(previous, named, matcher)
        return Resolved(rewritten, f"Tolkat som: {rewritten}")
    if not named and (
        not own or (_CARRIES_ON.search(question) and len(own) <= 4) or (_POINTS_BACK.search(question) and len(own) <= 2)
    ):
        before = matcher.names(previous)
        context = previous.rstrip(" ?")
        rewritten = f"{question.rstrip(' ?')} ({context})?" if before or own else previous
        return Resolved(rewritten, f"Tolkat som: {rewritten}")
    return Resolved(question)
