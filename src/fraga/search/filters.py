"""Filters: restrict retrieval to documents with given metadata values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fraga.records import Metadata


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrict retrieval to documents with these metadata values (empty = no restriction)."""

    districts: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    date_from: str = ""  # ISO date, inclusive
    date_to: str = ""

    @property
    def empty(self) -> bool:
        return not (self.districts or self.doc_types or self.date_from or self.date_to)

    def admits(self, meta: Metadata) -> bool:
        """Whether a document with ``meta`` passes (an undated one fails a date bound)."""
        if self.districts and meta.district not in self.districts:
            return False
        if self.doc_types and meta.doc_type not in self.doc_types:
            return False
        if self.date_from and (not meta.date or meta.date < self.date_from):
            return False
        if self.date_to and (not meta.date or meta.date > self.date_to):
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "districts": list(self.districts),
            "doc_types": list(self.doc_types),
            "date_from": self.date_from,
            "date_to": self.date_to,
        }
