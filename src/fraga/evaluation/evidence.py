"""Gold evidence as spans of ``Document.text``, and when a passage or a quote matches it.

Rules (also stated in every report):

- An evidence snippet is looked up in the document's source text
  (``original_text``) after collapsing white space, and projected into the cleaned
  text (``text``) that passages and quotes point into. A snippet that occurs more
  than once yields one span per occurrence; any of them counts.
- A **passage is relevant** to a question when its ``[start, end)`` covers at least
  ``MIN_PASSAGE_SHARE`` (60 %) of one of the question's evidence spans.
- A **quoted sentence is correct** when it overlaps an evidence span by at least
  ``MIN_QUOTE_OVERLAP`` (50 %) of the shorter of the two. So a sentence that
  contains the snippet counts, and so does a short sentence lying inside a snippet
  that runs over a sentence boundary; a sentence that only touches a few words of a
  snippet does not.
- Document-level gold (``"level": "document"``, e.g. SweFAQ) has no snippets: every
  passage and quote of a listed document counts.
- Evidence is grouped by document: a question's **evidence groups** are the
  documents its evidence comes from (one for most questions, one per district for
  cross-district questions). Retrieval recall and answer accuracy count groups.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fraga.evaluation.align import Opcode, align, find_normalized, project_span
from fraga.evaluation.gold import GoldError, GoldItem
from fraga.records import Document

logger = logging.getLogger(__name__)

MIN_PASSAGE_SHARE = 0.6
MIN_QUOTE_OVERLAP = 0.5


@dataclass(frozen=True, slots=True)
class EvidenceSpan:
    """Where one gold snippet lies in ``Document.text``."""

    doc_id: str  # also the evidence group
    start: int
    end: int
    item: int  # position of the snippet in GoldItem.evidence
    whole: bool = False  # document-level gold: any passage of the document matches
    removed: bool = False  # the snippet lies in text removed at indexing: nothing can match it


# LOW LEVEL FUNCTIONS ==========================================================
def overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    """Number of characters two half-open spans share."""
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def passage_covers(span: EvidenceSpan, doc_id: str, start: int, end: int, *, min_share: float = MIN_PASSAGE_SHARE) -> bool:
    """Whether the passage ``doc_id[start:end]`` covers ``min_share`` of ``span``."""
    if doc_id != span.doc_id or span.removed:
        return False
    if span.whole:
        return True
    return overlap(span.start, span.end, start, end) >= min_share * (span.end - span.start)


def quote_matches(span: EvidenceSpan, doc_id: str, start: int, end: int, *, min_overlap: float = MIN_QUOTE_OVERLAP) -> bool:
    """Whether the quote ``doc_id[start:end]`` overlaps ``span`` by ``min_overlap`` of the shorter."""
    if doc_id != span.doc_id or end <= start or span.removed:
        return False
    if span.whole:
        return True
    shorter = min(span.end - span.start, end - start)
    return overlap(span.start, span.end, start, end) >= min_overlap * shorter


def groups_of(spans: Iterable[EvidenceSpan]) -> tuple[str, ...]:
    """The evidence groups (documents) of ``spans``, in first-seen order."""
    return tuple(dict.fromkeys(s.doc_id for s in spans))


def relevant_group(spans: Iterable[EvidenceSpan], doc_id: str, start: int, end: int) -> str | None:
    """The evidence group a passage is relevant to, or None."""
    for span in spans:
        if passage_covers(span, doc_id, start, end):
            return span.doc_id
    return None


def quoted_groups(spans: Iterable[EvidenceSpan], quotes: Iterable[tuple[str, int, int]]) -> set[str]:
    """The evidence groups that at least one quote ``(doc_id, start, end)`` matches."""
    spans = tuple(spans)
    return {s.doc_id for doc_id, start, end in quotes for s in spans if quote_matches(s, doc_id, start, end)}


# HIGH LEVEL FUNCTIONS =========================================================
class EvidenceLocator:
    """Projects gold snippets into ``Document.text``; alignments are cached per document.

    Args:
        documents: The index's documents by id.
    """

    def __init__(self, documents: Mapping[str, Document]) -> None:
        self.documents = documents
        self._alignments: dict[str, tuple[Opcode, ...]] = {}

    def alignment(self, doc_id: str) -> tuple[Opcode, ...]:
        ops = self._alignments.get(doc_id)
        if ops is None:
            doc = self.documents[doc_id]
            ops = align(doc.original_text, doc.text)
            self._alignments[doc_id] = ops
        return ops

    def spans(self, item: GoldItem) -> tuple[EvidenceSpan, ...]:
        """Every span of ``item``'s evidence in the cleaned document text.

        A snippet is looked up in the source text first, then (for gold written
        against the cleaned text) in ``Document.text`` itself.

        A snippet that lies entirely in text removed at indexing (page furniture)
        yields a ``removed`` span: the question is scored, but nothing can match it.

        Raises:
            GoldError: When a snippet's document is not indexed, or the snippet
                cannot be found.
        """
        out: list[EvidenceSpan] = []
        if item.level == "document":
            for doc_id in item.doc_ids:
                doc = self.documents.get(doc_id)
                if doc is None:
                    raise GoldError(f"{item.id} (rad {item.line}): dokumentet {doc_id!r} finns inte i indexet")
                out.append(EvidenceSpan(doc_id, 0, max(len(doc.text), 1), 0, whole=True))
            return tuple(out)
        for n, ev in enumerate(item.evidence):
            doc = self.documents.get(ev.doc_id)
            if doc is None:
                raise GoldError(f"{item.id} (rad {item.line}): dokumentet {ev.doc_id!r} finns inte i indexet")
            found = find_normalized(doc.original_text, ev.text)
            projected = [p for s, e in found if (p := project_span(self.alignment(ev.doc_id), s, e))]
            if not projected:
                projected = find_normalized(doc.text, ev.text)
            if not projected and found:
                logger.warning(
                    "%s: evidence %d %r lies in text removed at indexing; it cannot be matched", item.id, n + 1, ev.text
                )
                out.append(EvidenceSpan(ev.doc_id, 0, 0, n, removed=True))
                continue
            if not projected:
                raise GoldError(
                    f"{item.id} (rad {item.line}): evidence nr {n + 1} {ev.text!r} finns inte i "
                    f"dokumentet {ev.doc_id!r}. Kontrollera texten i guldfilen."
                )
            out.extend(EvidenceSpan(ev.doc_id, s, e, n) for s, e in projected)
        return tuple(out)
