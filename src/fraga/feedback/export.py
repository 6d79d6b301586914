"""Judgments as gold questions (``eval/GOLD.md``), for ``fraga feedback export`` and ``fraga eval``.

What each judgment becomes:

- **Fel svar** with a pointed passage: an answerable question whose evidence is that passage
  (the whole passage: the user vouched for the passage, not for one sentence of it; a reviewer
  may narrow it to the sentence). Any quote from the passage then counts as a correct answer.
- **Fel svar**, "dokumenten svarar inte på detta": an unanswerable question.
- **Bra svar** on an answer: an answerable question whose evidence is the sentences fraga
  quoted, and whose reference answer is fraga's answer.
- **Bra svar** on "no answer" (fraga said the documents do not answer): an unanswerable question.
- **Fel svar** without a passage: not exported (nothing to score it against); listed for review.

A passage is looked up in the current index by id and content hash, or by hash among its
document's passages (ids change when a document is re-cut). One that no longer exists makes
its judgment a *stale* row: reported, never silently dropped, and left out of the file.
Every row carries ``source: "feedback"`` and the judgment's id, time, verdict and comment;
``fraga eval`` ignores these fields.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fraga.evaluation.gold import UNANSWERABLE as UNANSWERABLE_KIND
from fraga.evaluation.gold import parse_gold_row
from fraga.feedback.store import GOOD, UNANSWERABLE, WRONG, Feedback, FeedbackError, PassageRef
from fraga.index.generation import Index
from fraga.records import Chunk

logger = logging.getLogger(__name__)

KIND = "feedback"  # the gold kind of an answerable question from feedback (a reviewer may change it)
NO_ANSWER_TEXT = "Dokumenten svarar inte på frågan."
_MARKER_RE = re.compile(r"\s*\[\d+\]")


@dataclass(frozen=True, slots=True)
class NotExported:
    """A judgment left out of the export, and why (Swedish, for the user)."""

    feedback_id: int
    question: str
    verdict: str
    reason: str
    stale: bool = False  # a passage it names no longer exists in the index


@dataclass(frozen=True, slots=True)
class GoldExport:
    """The gold rows written, and the judgments that were not."""

    rows: tuple[dict[str, Any], ...]
    stale: tuple[NotExported, ...]
    skipped: tuple[NotExported, ...]

    @property
    def answerable(self) -> int:
        return sum(1 for r in self.rows if r["answerable"])


# LOW LEVEL FUNCTIONS ==========================================================
def _squash(text: str) -> str:
    return " ".join(text.split())


def locate(ref: PassageRef, index: Index) -> Chunk | None:
    """The passage ``ref`` names, if it still exists in ``index`` with the same content."""
    row = index.row_of.get(ref.chunk_id)
    if row is not None:
        chunk = index.chunks[row]
        if chunk.doc_id == ref.doc_id and chunk.hash == ref.hash:
            return chunk
    if ref.doc_id not in index.documents:
        return None
    return next((c for c in index.chunks.of_document(ref.doc_id) if c.hash == ref.hash), None)


def _evidence_text(ref: PassageRef, chunk: Chunk) -> str:
    """The quote when it lies in the passage, else the passage text."""
    quote = _squash(ref.quote)
    return quote if quote and quote in _squash(chunk.text) else _squash(chunk.text)


def _base(fb: Feedback) -> dict[str, Any]:
    row: dict[str, Any] = {"id": f"fb{fb.id:05d}", "question": fb.question}
    if fb.previous:
        row["previous"] = fb.previous
    return row


def _extra(fb: Feedback) -> dict[str, Any]:
    return {
        "source": "feedback",
        "feedback_id": fb.id,
        "verdict": fb.verdict,
        "comment": fb.comment,
        "created": fb.created,
        "generation": fb.generation,
        "fraga_answer": fb.answer,
    }


def _unanswerable(fb: Feedback) -> dict[str, Any]:
    return {
        **_base(fb),
        "answer": NO_ANSWER_TEXT,
        "kind": UNANSWERABLE_KIND,
        "districts": list(fb.districts),
        "doc_ids": [],
        "evidence": [],
        "answerable": False,
        **_extra(fb),
    }


def _answerable(fb: Feedback, pairs: list[tuple[PassageRef, Chunk]], answer: str, index: Index) -> dict[str, Any]:
    evidence = list({(c.doc_id, _evidence_text(r, c)): None for r, c in pairs})
    doc_ids = list(dict.fromkeys(doc for doc, _ in evidence))
    districts = list(dict.fromkeys(d for doc in doc_ids if (d := index.documents[doc].metadata.district)))
    return {
        **_base(fb),
        "answer": answer,
        "kind": "followup" if fb.previous else KIND,
        "districts": districts or list(fb.districts),
        "doc_ids": doc_ids,
        "evidence": [{"doc_id": doc, "text": text} for doc, text in evidence],
        "answerable": True,
        **_extra(fb),
    }


def feedback_to_gold(fb: Feedback, index: Index) -> dict[str, Any] | NotExported:
    """The gold row of one judgment, or why it has none."""

    def why(reason: str, *, stale: bool = False) -> NotExported:
        return NotExported(fb.id, fb.question, fb.verdict, reason, stale)

    if fb.verdict == UNANSWERABLE or (fb.verdict == GOOD and not fb.answered):
        return _unanswerable(fb)
    refs = (fb.pointed,) if fb.verdict == WRONG and fb.pointed else fb.cited if fb.verdict == GOOD else ()
    if not refs:
        return why(
            "fel svar utan angivet avsnitt; läs kommentaren och skriv guldfrågan för hand"
            if fb.verdict == WRONG
            else "bra svar utan citerade avsnitt"
        )
    pairs = []
    for ref in refs:
        chunk = locate(ref, index)
        if chunk is None:
            return why(
                f"avsnittet {ref.chunk_id} ({ref.doc_id}) finns inte längre i indexet; dokumentet har "
                "ändrats eller tagits bort sedan omdömet gavs",
                stale=True,
            )
        pairs.append((ref, chunk))
    if fb.verdict == WRONG:
        answer = _squash(pairs[0][1].text)
    else:
        answer = _squash(_MARKER_RE.sub("", fb.answer)) or _squash(pairs[0][1].text)
    return _answerable(fb, pairs, answer, index)


# HIGH LEVEL FUNCTIONS =========================================================
def export_gold(entries: Iterable[Feedback], index: Index) -> GoldExport:
    """Every judgment in ``entries`` as a gold row checked against ``index``; see the module docstring."""
    rows: list[dict[str, Any]] = []
    stale: list[NotExported] = []
    skipped: list[NotExported] = []
    for fb in entries:
        out = feedback_to_gold(fb, index)
        if isinstance(out, NotExported):
            (stale if out.stale else skipped).append(out)
            continue
        parse_gold_row(out, line=len(rows) + 1, source="exporten")  # the row must be valid gold
        rows.append(out)
    return GoldExport(tuple(rows), tuple(stale), tuple(skipped))


def write_gold(path: str | os.PathLike[str], rows: Iterable[dict[str, Any]]) -> Path:
    """Write ``rows`` as JSON lines (the gold format). Raises FeedbackError when it cannot be written."""
    out = Path(path)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        raise FeedbackError(f"Kan inte skriva {str(out)!r} ({exc.strerror or exc}); välj en annan fil med --out.") from exc
    return out
