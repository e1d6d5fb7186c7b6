"""The stable labels (``WireError.kind``) for every way a peer's message can be wrong.

Callers count errors per kind and log each kind once, so the labels are part of the public contract: add new
ones, never rename. The error class itself lives in :mod:`tradecast.core.errors`.
"""

from __future__ import annotations

from enum import StrEnum

from tradecast.core.errors import WireError

__all__ = ["ErrorKind", "WireError", "snippet", "wire_error"]


class ErrorKind(StrEnum):
    """Why a message was refused; the value is what ``WireError.kind`` holds."""

    OVERSIZE = "oversize"  # longer than the configured limit, not even parsed
    NOT_JSON = "not_json"  # not valid JSON text (or not UTF-8)
    TRUNCATED = "truncated"  # valid JSON so far, but the text ends early (cut message)
    NOT_OBJECT = "not_object"  # JSON, but the top level is not an object
    UNKNOWN_TYPE = "unknown_type"  # "type" is not a message/request type we know
    BAD_ENVELOPE = "bad_envelope"  # known type, wrong shape of "data" or of its fields
    BAD_DATAFRAME = "bad_dataframe"  # the encoded dataframe is malformed
    MISSING_DATE = "missing_date"  # a non-empty dataframe without a usable "date" column
    BAD_REQUEST = "bad_request"  # a request (producer side) with invalid arguments
    BAD_COMPRESSION = "bad_compression"  # a tradecast.v1 binary message that is not a sound zlib stream


def snippet(value: object, limit: int = 40) -> str:
    """A short printable form of a peer value for error messages (never the whole payload)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def wire_error(kind: ErrorKind, message: str) -> WireError:
    """Build a :class:`WireError` whose ``kind`` is the plain string value of ``kind``."""
    return WireError(message, kind=kind.value)
