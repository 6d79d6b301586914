"""The feedback database: one SQLite file beside the index, append-only, safe for many writers.

``INDEX_DIR/feedback.sqlite`` lies outside the generation folders (``gen-NNNNNN/``), which a
rebuild replaces, so judgments survive re-indexing and app restarts. Each judgment names the
generation it was given under and the content hashes of the passages involved, so an export
can tell whether those passages still exist. The database runs in WAL mode with a busy
timeout; every write is one short transaction on its own connection, so concurrent sessions
(threads or processes) lose nothing. No user identity and no address is stored.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from fraga.errors import FragaError

logger = logging.getLogger(__name__)

FILE_NAME = "feedback.sqlite"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
MAX_COMMENT_CHARS = 2000

GOOD = "good"  # "Bra svar"
WRONG = "wrong"  # "Fel svar" (with or without a passage that does answer)
UNANSWERABLE = "unanswerable"  # "Fel svar": the documents do not answer the question
VERDICTS = (GOOD, WRONG, UNANSWERABLE)
VERDICT_LABELS = {GOOD: "Bra svar", WRONG: "Fel svar", UNANSWERABLE: "Dokumenten svarar inte"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,          -- UTC, YYYY-MM-DDTHH:MM:SSZ
    question TEXT NOT NULL,         -- as the user typed it
    asked TEXT NOT NULL DEFAULT '', -- the question as searched, when a follow-up was read with the previous one
    previous TEXT NOT NULL DEFAULT '', -- the previous question, when this one was read with it
    answer TEXT NOT NULL,           -- fraga's answer text, [n] markers included
    answered INTEGER NOT NULL,      -- 0 when fraga said the documents do not answer
    verdict TEXT NOT NULL CHECK (verdict IN ('good', 'wrong', 'unanswerable')),
    comment TEXT NOT NULL DEFAULT '',
    cited TEXT NOT NULL,            -- JSON list of passage references (the answer's citations)
    pointed TEXT,                   -- JSON passage reference the user says answers it, or NULL
    districts TEXT NOT NULL,        -- JSON list: the districts the question concerns
    generation TEXT NOT NULL        -- the index generation the answer came from
);
CREATE INDEX IF NOT EXISTS feedback_created ON feedback (created);
"""


class FeedbackError(FragaError):
    """The feedback database cannot be read or written, or a judgment is malformed."""


@dataclass(frozen=True, slots=True)
class PassageRef:
    """A passage as it was when judged: its id, document, content hash (``Chunk.hash``) and offsets.

    ``quote`` is the cited sentence for a citation, or the passage text for a pointed passage.
    """

    chunk_id: str
    doc_id: str
    hash: str
    start: int  # the passage's offsets in Document.text
    end: int
    quote: str = ""
    district: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "hash": self.hash,
            "start": self.start,
            "end": self.end,
            "quote": self.quote,
            "district": self.district,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PassageRef:
        return cls(
            str(data["chunk_id"]),
            str(data["doc_id"]),
            str(data["hash"]),
            int(data["start"]),
            int(data["end"]),
            str(data.get("quote", "")),
            str(data.get("district", "")),
        )


@dataclass(frozen=True, slots=True)
class Feedback:
    """One judgment of one answer. ``id`` and ``created`` are set when it is stored."""

    question: str
    answer: str
    answered: bool
    verdict: str
    cited: tuple[PassageRef, ...] = ()
    pointed: PassageRef | None = None
    comment: str = ""
    districts: tuple[str, ...] = ()
    generation: str = ""
    asked: str = ""
    previous: str = ""
    id: int = 0
    created: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": self.created,
            "question": self.question,
            "asked": self.asked,
            "previous": self.previous,
            "answer": self.answer,
            "answered": self.answered,
            "verdict": self.verdict,
            "comment": self.comment,
            "cited": [c.to_dict() for c in self.cited],
            "pointed": self.pointed.to_dict() if self.pointed else None,
            "districts": list(self.districts),
            "generation": self.generation,
        }


# LOW LEVEL FUNCTIONS ==========================================================
def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def parse_since(text: str | None) -> str:
    """``"2026-12-01"`` -> the same, checked; "" for none. Raises FeedbackError for a malformed date."""
    text = (text or "").strip()
    if not text:
        return ""
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise FeedbackError(f'--since "{text[:40]}" är inget datum; skriv det som ÅÅÅÅ-MM-DD, t.ex. 2026-12-01.') from None


def _check(fb: Feedback) -> Feedback:
    if fb.verdict not in VERDICTS:
        raise FeedbackError(f"Okänt omdöme {fb.verdict!r}; välj bland {', '.join(VERDICTS)}.")
    if not fb.question.strip():
        raise FeedbackError("Omdömet saknar fråga.")
    comment = (fb.comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise FeedbackError(f"Kommentaren har {len(comment)} tecken; gränsen är {MAX_COMMENT_CHARS}. Korta den.")
    return replace(fb, comment=comment)


def _row_to_feedback(row: sqlite3.Row) -> Feedback:
    pointed = json.loads(row["pointed"]) if row["pointed"] else None
    return Feedback(
        question=row["question"],
        answer=row["answer"],
        answered=bool(row["answered"]),
        verdict=row["verdict"],
        cited=tuple(PassageRef.from_dict(c) for c in json.loads(row["cited"])),
        pointed=PassageRef.from_dict(pointed) if pointed else None,
        comment=row["comment"],
        districts=tuple(json.loads(row["districts"])),
        generation=row["generation"],
        asked=row["asked"],
        previous=row["previous"],
        id=int(row["id"]),
        created=row["created"],
    )


# HIGH LEVEL FUNCTIONS =========================================================
def _set_wal(conn: sqlite3.Connection) -> str:
    """Switch the database to WAL; returns the journal mode it has then.

    While another connection is in a write transaction, SQLite answers the change with "database
    is locked" at once, without its busy timeout (twenty app processes opening a new feedback
    database together), so wait here, up to the same timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


class FeedbackStore:
    """The judgments in one SQLite file.

    Args:
        path: The database file; created with its folder on the first write.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._ready = False

    @classmethod
    def beside(cls, index_dir: str | os.PathLike[str]) -> FeedbackStore:
        """The store of the index folder ``index_dir`` (``INDEX_DIR/feedback.sqlite``)."""
        return cls(Path(index_dir) / FILE_NAME)

    def exists(self) -> bool:
        return self.path.is_file()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise FeedbackError(f"Återkopplingsdatabasen {str(self.path)!r} går inte att öppna ({exc}).") from exc
        with closing(conn):
            conn.row_factory = sqlite3.Row
            try:
                yield conn
            except sqlite3.Error as exc:
                raise FeedbackError(
                    f"Återkopplingsdatabasen {str(self.path)!r} går inte att använda ({exc}); "
                    "kontrollera att filen är hel och skrivbar."
                ) from exc

    def _prepare(self, conn: sqlite3.Connection) -> None:
        if self._ready:
            return
        if _set_wal(conn) != "wal":
            logger.warning("%s: WAL mode is not available; concurrent writers wait longer", self.path)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif version > SCHEMA_VERSION:
                raise FeedbackError(
                    f"Återkopplingsdatabasen {str(self.path)!r} har version {version}; den här "
                    f"versionen av fraga läser version {SCHEMA_VERSION}. Uppdatera fraga."
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._ready = True

    def add(self, fb: Feedback) -> Feedback:
        """Store ``fb``; returns it with its ``id`` and ``created`` time (UTC).

        Raises:
            FeedbackError: A malformed judgment, or a database that cannot be written.
        """
        fb = _check(fb)
        created = fb.created or utc_now()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            self._prepare(conn)
            cur = conn.execute(
                "INSERT INTO feedback (created, question, asked, previous, answer, answered, verdict, comment, "
                "cited, pointed, districts, generation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    created,
                    fb.question,
                    fb.asked,
                    fb.previous,
                    fb.answer,
                    int(fb.answered),
                    fb.verdict,
                    fb.comment,
                    json.dumps([c.to_dict() for c in fb.cited], ensure_ascii=False),
                    json.dumps(fb.pointed.to_dict(), ensure_ascii=False) if fb.pointed else None,
                    json.dumps(list(fb.districts), ensure_ascii=False),
                    fb.generation,
                ),
            )
            row_id = int(cur.lastrowid or 0)
        logger.info("feedback %d stored (%s)", row_id, fb.verdict)
        return replace(fb, id=row_id, created=created)

    def entries(self, *, since: str = "") -> tuple[Feedback, ...]:
        """Every judgment, oldest first; ``since`` (YYYY-MM-DD, UTC) keeps those from that day on."""
        since = parse_since(since)
        if not self.exists():
            return ()
        with self._connect() as conn:  # reading needs no schema work, so a read-only copy can be listed
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feedback'").fetchone():
                return ()
            rows = conn.execute("SELECT * FROM feedback WHERE created >= ? ORDER BY id", (since,)).fetchall()
        try:
            return tuple(_row_to_feedback(r) for r in rows)
        except (ValueError, KeyError, TypeError) as exc:
            raise FeedbackError(f"Återkopplingsdatabasen {str(self.path)!r} har en skadad rad ({exc}).") from exc


def counts(entries: tuple[Feedback, ...] | list[Feedback]) -> dict[str, int]:
    """The number of judgments per verdict (every verdict present, zero included)."""
    out = dict.fromkeys(VERDICTS, 0)
    for fb in entries:
        out[fb.verdict] = out.get(fb.verdict, 0) + 1
    return out
