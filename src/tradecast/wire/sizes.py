"""Message size helpers.

freqtrade configures the consumer's limit in whole MiB (``message_size_limit``, default 8) and shifts it left
by 20 bits; :func:`mib_to_bytes` does the same so both sides agree on the byte count.
"""

from __future__ import annotations

from tradecast.wire.errors import ErrorKind, wire_error

__all__ = ["DEFAULT_MESSAGE_SIZE_LIMIT_MIB", "check_size", "mib_to_bytes", "payload_size"]

#: freqtrade's default ``external_message_consumer.message_size_limit`` (MiB)
DEFAULT_MESSAGE_SIZE_LIMIT_MIB = 8


def mib_to_bytes(n: int | float) -> int:
    """``n`` MiB in bytes (``n << 20`` for whole numbers); negative values are refused."""
    if isinstance(n, bool) or n < 0:
        raise ValueError(f"size in MiB must be a non-negative number, got {n!r}")
    return int(n * (1 << 20))


def payload_size(raw: bytes | bytearray | memoryview | str) -> int:
    """Size of ``raw`` in bytes as it travels on the wire (UTF-8 for text)."""
    if isinstance(raw, str):
        return len(raw.encode("utf-8"))
    return len(raw)


def check_size(raw: bytes | bytearray | memoryview | str, limit: int | None) -> None:
    """Raise ``WireError(kind="oversize")`` when ``raw`` is longer than ``limit`` bytes (``None``: no limit).

    For text the exact UTF-8 length is only computed when it could matter (a character takes 1 to 4
    bytes), because encoding a multi-MiB string just to measure it costs time.
    """
    if limit is None:
        return
    if isinstance(raw, str):
        if len(raw) * 4 <= limit:
            return
        size = len(raw) if len(raw) > limit else payload_size(raw)
    else:
        size = len(raw)
    if size > limit:
        raise wire_error(ErrorKind.OVERSIZE, f"message of {size} bytes exceeds the limit of {limit} bytes")
