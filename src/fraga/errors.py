"""The error hierarchy. Only the command line (``fraga.cli``) and the web app's UI turn these into user messages."""

from __future__ import annotations


class FragaError(Exception):
    """Base class: an error with a message fit to show the user."""


class CorpusError(FragaError):
    """The corpus folder is missing, unreadable or holds no readable documents."""


class IngestError(FragaError):
    """One file could not be read (the build skips it and reports why)."""


class OcrUnavailableError(IngestError):
    """A PDF has scanned pages, but Tesseract (or its Swedish data, or pytesseract) is missing."""


class IndexNotFoundError(FragaError):
    """No index at the given folder."""


class IndexMismatchError(FragaError):
    """The index was built with another encoder or an older format."""


class IndexCorruptError(FragaError):
    """A file of the index is missing, truncated or edited."""


class EmptyQueryError(FragaError):
    """The question is empty or has no searchable words."""


class QueryTooLongError(FragaError):
    """The question is longer than the limit."""


class UnknownDistrictError(FragaError):
    """A district filter names a district the index has no documents for."""


class EncoderError(FragaError):
    """The encoder could not be loaded or is unknown."""
