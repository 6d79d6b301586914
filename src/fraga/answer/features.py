"""The signals that say whether a candidate sentence answers a question, as one row each.

Retrieval (rank, BM25, dense), the encoder's similarity of the question to the sentence
and to its section heading, the question's vocabulary found in the sentence (also as the
words of the index nearest to the question's unknown words, ``fraga.search.expand``), the answer
shape the question's grammar asks for, and where the sentence stands in a
tjänsteutlåtande: the administration's reply, or the parts that restate the skrivelse.
A learned model (``fraga.answer.model``) weighs them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from fraga.answer.overlap import TermMatcher
from fraga.answer.questions import QuestionInfo, has_answer_shape
from fraga.index.kinds import AnyIndex
from fraga.index.sentences import heading_text
from fraga.search.candidates import Candidate
from fraga.search.retrieve import SearchResult

FEATURES: tuple[str, ...] = (
    "sim",
    "sim_rel",
    "heading_sim",
    "heading_rel",
    "pass_rr",
    "pass_dense",
    "pass_bm25_rel",
    "lex",
    "lex_ctx",
    "lex_pass",
    "missing",
    "shape",
    "shape_missing",
    "sec_reply",
    "sec_summary",
    "sec_background",
    "sec_letterhead",
    "doc_skrivelse",
    "cites_skrivelse",
    "q_skr_x_premise",
    "q_skr_x_reply",
    "is_question",
    "first",
    "length",
    "en_sim",
    "en_lex",
    "sym",
    "sym_rel",
    "lex_exp",
    "missing_exp",
    "shape_specific",
    "shape_specific_missing",
)

# The standard parts of a tjänsteutlåtande (fraga.ingest.sections.HEADINGS).
_REPLY = ("Förvaltningens synpunkter",)
_SUMMARY = ("Sammanfattning", "Förvaltningens förslag till beslut", "Förslag till beslut", "Beslut")
_BACKGROUND = ("Bakgrund", "Ärendet", "Inledning", "Ärendets beredning")
_LETTERHEAD = ("Dokumentuppgifter", "Attesterat av", "Bilagor", "Bilaga")
_CITES_SKRIVELSE = re.compile(r"\b(skrivelse\w*|motion\w*|frågeställning\w*)\b", re.I)


# Answer types whose shape is narrow (an agent, a time, a reason, an amount), unlike the
# broad shapes of yes/no and manner answers that most sentences have.
SPECIFIC_KINDS = ("agent", "time", "reason", "cost", "quantity")


def _section_flags(section: str) -> tuple[float, float, float, float]:
    return (
        float(section.startswith(_REPLY)),
        float(section.startswith(_SUMMARY)),
        float(section.startswith(_BACKGROUND) or " › Frågor" in section),
        float(section.startswith(_LETTERHEAD)),
    )


def feature_rows(
    index: AnyIndex, question: str, info: QuestionInfo, result: SearchResult, cands: Sequence[Candidate], matcher: TermMatcher
) -> np.ndarray:
    """One row of ``FEATURES`` per candidate."""
    if not cands:
        return np.zeros((0, len(FEATURES)))
    terms = matcher.terms(question)
    max_sim = max(c.sim for c in cands)
    max_sym = max(c.sym_sim for c in cands)
    max_head = max(c.heading_sim for c in cands)
    max_bm25 = max(result.bm25_scores.values(), default=0.0) or 1.0
    docs = index.documents
    typed = info.kind != "open"
    specific = float(info.kind in SPECIFIC_KINDS)
    english = float(info.english)
    about = float(info.about_skrivelse)
    rows = []
    for c in cands:
        chunk = c.hit.chunk
        heading = heading_text(chunk.section)
        lex = matcher.overlap(terms, c.text)
        ctx = matcher.overlap(terms, c.text + " " + heading)
        exp = matcher.overlap(terms, c.text + " " + heading, expanded=True)
        pas = matcher.overlap(terms, chunk.text + " " + heading)
        shape = float(has_answer_shape(info.kind, c.text, info.counted)) if typed else 0.0
        reply, summary, background, letterhead = _section_flags(chunk.section)
        skrivelse_doc = float(docs[chunk.doc_id].metadata.doc_type == "skrivelse")
        cites = float(bool(_CITES_SKRIVELSE.search(c.text)))
        premise = max(skrivelse_doc, background, cites)
        rows.append(
            (
                c.sim,
                c.sim - max_sim,
                c.heading_sim,
                c.heading_sim - max_head,
                1.0 / c.hit.rank,
                result.dense_scores.get(chunk.chunk_id, 0.0),
                result.bm25_scores.get(chunk.chunk_id, 0.0) / max_bm25,
                lex.coverage,
                ctx.coverage,
                pas.coverage,
                ctx.missing_idf,
                shape,
                float(typed) * (1.0 - shape),
                reply,
                summary,
                background,
                letterhead,
                skrivelse_doc,
                cites,
                about * premise,
                about * reply,
                float(c.text.rstrip().endswith("?")),
                float(c.position == 0),
                math.log1p(len(c.text.split())),
                english * (c.sim - max_sim),
                english * lex.coverage,
                c.sym_sim,
                c.sym_sim - max_sym,
                exp.coverage - ctx.coverage,
                exp.missing_idf,
                shape * specific,
                specific * (1.0 - shape),
            )
        )
    return np.asarray(rows, dtype=np.float64)


# Questions whose answer must state an amount: a sentence without one cannot answer them.
NEEDS_SHAPE = ("cost", "quantity")


def usable(index: AnyIndex, cands: Sequence[Candidate], info: QuestionInfo) -> list[int]:
    """Positions of the candidates that can be an answer: not a question echoed back, not
    from a skrivelse (unless the question is about what a skrivelse asks), and holding an
    amount when the question asks for one ("hur många", "vad kostar")."""
    docs = index.documents
    out = []
    for n, c in enumerate(cands):
        skrivelse = docs[c.hit.chunk.doc_id].metadata.doc_type == "skrivelse"
        if not info.about_skrivelse and (skrivelse or c.text.rstrip().endswith("?")):
            continue
        if info.kind in NEEDS_SHAPE and not has_answer_shape(info.kind, c.text, info.counted):
            continue
        out.append(n)
    return out


# What the abstention model reads about a question, from its candidates' rows.
QUESTION_FEATURES: tuple[str, ...] = (
    "accept_logit",
    "max_sym",
    "max_sim",
    "max_lex",
    "missing_best",
    "max_lex_pass",
    "min_missing",
    "max_dense",
    "min_missing_exp",
)


def question_row(rows: np.ndarray, best: int, accept: float) -> np.ndarray:
    """``QUESTION_FEATURES`` for one question: ``rows`` are its candidates' feature rows,
    ``best`` the picked one, ``accept`` its acceptance probability."""
    col = FEATURES.index
    p = min(max(accept, 1e-6), 1 - 1e-6)
    return np.array(
        [
            math.log(p / (1 - p)),
            rows[:, col("sym")].max(),
            rows[:, col("sim")].max(),
            rows[:, col("lex_ctx")].max(),
            rows[best, col("missing")],
            rows[:, col("lex_pass")].max(),
            rows[:, col("missing")].min(),
            rows[:, col("pass_dense")].max(),
            rows[:, col("missing_exp")].min(),
        ]
    )
