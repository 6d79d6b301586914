"""Load and validate a gold question-answer file (format: eval/GOLD.md)."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fraga.errors import FragaError

logger = logging.getLogger(__name__)

UNANSWERABLE = "unanswerable"
_FIELDS: dict[str, type] = {
    "id": str,
    "question": str,
    "answer": str,
    "kind": str,
    "districts": list,
    "doc_ids": list,
    "evidence": list,
    "answerable": bool,
}
_TYPE_NAMES = {str: "en sträng", list: "en lista", bool: "true eller false"}


class GoldError(FragaError):
    """The gold file is missing, malformed, or does not fit the index."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """A literal snippet of a source file that supports the reference answer."""

    doc_id: str
    text: str


@dataclass(frozen=True, slots=True)
class GoldItem:
    """One gold question with its reference answer and evidence."""

    id: str
    question: str
    answer: str
    kind: str
    districts: tuple[str, ...]
    doc_ids: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    answerable: bool
    line: int = 0  # line number in the gold file (for messages)
    level: str = "passage"  # "document": any passage of doc_ids is relevant (e.g. SweFAQ)
    previous: str = ""  # a follow-up's previous question in the same conversation


# LOW LEVEL FUNCTIONS ==========================================================
def _fail(where: str, message: str) -> GoldError:
    return GoldError(f"{where}: {message}")


def _strings(value: list[Any], where: str, name: str) -> tuple[str, ...]:
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise _fail(where, f"fältet {name!r} får bara innehålla icke-tomma strängar, inte {item!r}")
    return tuple(value)


def _evidence(value: list[Any], where: str) -> tuple[Evidence, ...]:
    out = []
    for n, item in enumerate(value, 1):
        if not isinstance(item, dict) or set(item) != {"doc_id", "text"}:
            raise _fail(where, f'evidence nr {n} ska vara ett objekt med exakt fälten "doc_id" och "text"')
        doc_id, text = item["doc_id"], item["text"]
        if not isinstance(doc_id, str) or not doc_id.strip():
            raise _fail(where, f'evidence nr {n}: "doc_id" ska vara en icke-tom sträng')
        if not isinstance(text, str) or not text.strip():
            raise _fail(where, f'evidence nr {n}: "text" ska vara en icke-tom sträng')
        out.append(Evidence(doc_id, text))
    return tuple(out)


# HIGH LEVEL FUNCTIONS =========================================================
def parse_gold_row(row: Any, *, line: int = 0, source: str = "guldfilen") -> GoldItem:
    """Validate one decoded JSON object of a gold file.

    Args:
        row: The decoded JSON value.
        line: Its line number, for messages. Defaults to 0.
        source: The file name, for messages. Defaults to "guldfilen".

    Raises:
        GoldError: naming the line, the field and what is wrong.
    """
    where = f"{source} rad {line}"
    if not isinstance(row, dict):
        raise _fail(where, "raden ska vara ett JSON-objekt")
    if isinstance(row.get("id"), str) and row["id"].strip():
        where += f" ({row['id']})"
    missing = [name for name in _FIELDS if name not in row]
    if missing:
        raise _fail(where, f"fält saknas: {', '.join(missing)}")
    for name, typ in _FIELDS.items():
        if not isinstance(row[name], typ):
            raise _fail(where, f"fältet {name!r} ska vara {_TYPE_NAMES[typ]}, inte {type(row[name]).__name__}")
    for name in ("id", "question", "answer", "kind"):
        if not row[name].strip():
            raise _fail(where, f"fältet {name!r} är tomt")
    evidence = _evidence(row["evidence"], where)
    doc_ids = _strings(row["doc_ids"], where, "doc_ids")
    districts = _strings(row["districts"], where, "districts")
    level = row.get("level", "passage")
    if level not in ("passage", "document"):
        raise _fail(where, f'fältet \'level\' ska vara "passage" eller "document", inte {level!r}')
    if level == "document":
        if row["answerable"] and not doc_ids:
            raise _fail(where, 'en besvarbar fråga med level "document" behöver minst ett doc_id')
    elif row["answerable"]:
        if not evidence or not doc_ids:
            raise _fail(where, "en besvarbar fråga behöver minst en evidence och ett doc_id")
    elif evidence or doc_ids:
        raise _fail(where, "en obesvarbar fråga (answerable: false) ska ha tomma evidence och doc_ids")
    if row["kind"] == UNANSWERABLE and row["answerable"]:
        raise _fail(where, 'kind "unanswerable" kräver answerable: false')
    previous = row.get("previous", "")
    if not isinstance(previous, str):
        raise _fail(where, f"fältet 'previous' ska vara en sträng, inte {type(previous).__name__}")
    stray = sorted({e.doc_id for e in evidence} - set(doc_ids))
    if stray:
        raise _fail(where, f"evidence pekar på dokument som inte står i doc_ids: {', '.join(stray)}")
    return GoldItem(
        id=row["id"],
        question=row["question"],
        answer=row["answer"],
        kind=row["kind"],
        districts=districts,
        doc_ids=doc_ids,
        evidence=evidence,
        answerable=row["answerable"],
        line=line,
        level=level,
        previous=previous.strip(),
    )


def parse_gold_lines(lines: Iterable[str], *, source: str = "guldfilen") -> tuple[GoldItem, ...]:
    """Gold items from JSON lines (blank lines are skipped). Raises GoldError."""
    items: list[GoldItem] = []
    seen: dict[str, int] = {}
    for line_no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _fail(f"{source} rad {line_no}", f"ogiltig JSON ({exc.msg}, kolumn {exc.colno})") from exc
        item = parse_gold_row(row, line=line_no, source=source)
        if item.id in seen:
            raise _fail(f"{source} rad {line_no}", f"id {item.id!r} finns redan på rad {seen[item.id]}")
        seen[item.id] = line_no
        items.append(item)
    if not items:
        raise GoldError(f"{source} innehåller inga frågor")
    return tuple(items)


def load_gold(path: str | os.PathLike[str]) -> tuple[GoldItem, ...]:
    """Load and validate a gold file (one JSON object per line, see eval/GOLD.md); "-" reads standard input.

    Raises:
        GoldError: When the file is missing or a line is malformed.
    """
    if str(path) == "-":  # standard input
        items = parse_gold_lines(sys.stdin.read().splitlines(), source="stdin")
        logger.info("loaded %d gold questions from standard input", len(items))
        return items
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise GoldError(f"Guldfilen {str(p)!r} finns inte; ange en annan med --gold") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldError(f"Guldfilen {str(p)!r} går inte att läsa ({exc})") from exc
    items = parse_gold_lines(text.splitlines(), source=p.name)
    logger.info("loaded %d gold questions from %s", len(items), p)
    return items


def check_documents(items: Iterable[GoldItem], doc_ids: Iterable[str]) -> None:
    """Raise GoldError when a gold item names a document the index does not have."""
    known = set(doc_ids)
    for item in items:
        missing = [d for d in item.doc_ids if d not in known]
        if missing:
            raise GoldError(
                f"{item.id} (rad {item.line}): dokumentet {missing[0]!r} finns inte i indexet. "
                "Kontrollera att guldfilen hör till indexet (--gold, --index-dir)."
            )
