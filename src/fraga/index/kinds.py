"""The two kinds of loaded index, for type annotations: a file ``Index`` and a ``PgIndex``
(PostgreSQL). Both offer what retrieval, answering, drafting and the web app read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from fraga.index.generation import Index
    from fraga.index.lexical import Bm25Index
    from fraga.index.postgres.reader import PgIndex, PgTermStats

AnyIndex = Union["Index", "PgIndex"]  # noqa: UP007 (the names exist only for the type checker)
TermStats = Union["Bm25Index", "PgTermStats"]  # noqa: UP007
