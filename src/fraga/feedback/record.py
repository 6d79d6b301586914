"""A judgment built from an answer, the passages it showed and the user's choice."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fraga.feedback.store import GOOD, UNANSWERABLE, VERDICTS, WRONG, Feedback, FeedbackError, PassageRef
from fraga.index.kinds import AnyIndex
from fraga.records import Answer, Chunk

logger = logging.getLogger(__name__)

SHOWN_PASSAGES = 5  # passages of an answer a user may point at (cited first, then the others read)


def passage_ref(chunk: Chunk, index: AnyIndex, *, quote: str = "") -> PassageRef:
    """``chunk`` as a reference: its id, document, content hash, offsets, and ``quote`` or its text."""
    doc = index.documents.get(chunk.doc_id)
    district = doc.metadata.district if doc is not None else ""
    return PassageRef(chunk.chunk_id, chunk.doc_id, chunk.hash, chunk.start, chunk.end, quote or chunk.text, district)


def chunk_of(index: AnyIndex, chunk_id: str) -> Chunk | None:
    row = index.row_of.get(str(chunk_id or ""))
    return None if row is None else index.chunks[row]


def shown_passages(answer: Answer, index: AnyIndex, *, limit: int = SHOWN_PASSAGES) -> tuple[Chunk, ...]:
    """The passages a user may say answers the question: the cited ones, then the others fraga read."""
    out: dict[str, Chunk] = {}
    for c in answer.citations:
        chunk = chunk_of(index, c.chunk_id)
        if chunk is not None:
            out.setdefault(chunk.chunk_id, chunk)
    for hit in answer.hits:
        out.setdefault(hit.chunk.chunk_id, hit.chunk)
    return tuple(out.values())[: max(limit, len({c.chunk_id for c in answer.citations}))]


def make_feedback(
    question: str,
    answer: Answer,
    verdict: str,
    index: AnyIndex,
    *,
    pointed: str = "",
    comment: str = "",
    districts: Sequence[str] = (),
    asked: str = "",
    previous: str = "",
) -> Feedback:
    """The judgment ``verdict`` of ``answer`` to ``question``.

    Args:
        question: The question as the user typed it.
        answer: fraga's answer.
        verdict: GOOD, WRONG or UNANSWERABLE ("dokumenten svarar inte på detta").
        index: The index the answer came from (for the passages' hashes and the generation).
        pointed: For WRONG, the id of the passage that does answer the question, or "".
        comment: The user's comment. Defaults to "".
        districts: The districts the question concerns; defaults to the cited (or pointed) passages'.
        asked: The question as searched, when it differs (a follow-up read with the previous one).
        previous: The previous question, when this one was read with it.

    Judging an abstention "the documents do not answer" agrees with fraga: it is stored as GOOD.

    Raises:
        FeedbackError: An unknown verdict, or a pointed passage that is not in the index.
    """
    if verdict not in VERDICTS:
        raise FeedbackError(f"Okänt omdöme {verdict!r}; välj bland {', '.join(VERDICTS)}.")
    if verdict == UNANSWERABLE and not answer.answered:
        verdict = GOOD
    cited: list[PassageRef] = []
    for c in answer.citations:
        chunk = chunk_of(index, c.chunk_id)
        if chunk is None:
            logger.warning("cited passage %s is not in the index", c.chunk_id)
            continue
        cited.append(passage_ref(chunk, index, quote=c.quote))
    ref = None
    if pointed:
        if verdict != WRONG:
            raise FeedbackError("Ett avsnitt kan bara anges för ett fel svar.")
        chunk = chunk_of(index, pointed)
        if chunk is None:
            raise FeedbackError("Avsnittet finns inte i indexet; välj ett av avsnitten som visades.")
        ref = passage_ref(chunk, index)
    if not districts:
        districts = tuple(dict.fromkeys(r.district for r in (*cited, *((ref,) if ref else ())) if r.district))
    return Feedback(
        question=question.strip(),
        answer=answer.text,
        answered=answer.answered,
        verdict=verdict,
        cited=tuple(cited),
        pointed=ref,
        comment=comment or "",
        districts=tuple(districts),
        generation=index.generation,
        asked=asked if asked != question else "",
        previous=previous,
    )
