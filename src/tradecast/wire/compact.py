"""``tradecast.v1``: freqtrade's JSON messages, compressed once by the producer, sent as binary frames.

Negotiation (DESIGN.md, "speed by negotiation"): a tradecast consumer offers the websocket subprotocol
``tradecast.v1``; a tradecast producer selects it, a freqtrade producer never does (the consumer then simply
reads JSON text, no second round trip).

On a ``tradecast.v1`` connection, producer -> consumer:

* a **binary** message is one zlib stream (RFC 1950: 2-byte header, deflate data, Adler-32) of the UTF-8
  JSON text that :func:`tradecast.wire.encode_message` writes: the same envelope and dataframe encoding as
  freqtrade's, so the codec is shared and only the transport differs;
* a **text** message is plain JSON, as on any connection. The producer keeps messages shorter than
  :data:`COMPACT_MIN_BYTES` as text (compressing ``new_candle`` makes it longer).

Requests (consumer -> producer) stay JSON text. The producer compresses a broadcast **once** and sends the
same :class:`CompactFrame` to every ``tradecast.v1`` subscriber, where permessage-deflate compresses each
message once per connection. Level 1: a 1,500-row sync reply (compressed once per subscriber) costs about a
sixth of the CPU of level 6 for ~6% more bytes; one-row broadcasts compress the same at any level.

Decompression is bounded (:func:`decompress_message`): at most ``max_bytes + 1`` bytes are ever inflated,
so a small frame cannot expand into gigabytes; over the limit is ``WireError(kind="oversize")``.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection

from tradecast.wire.codec import decode_message
from tradecast.wire.dataframe_codec import TAG_COLUMNS
from tradecast.wire.errors import ErrorKind, wire_error
from tradecast.wire.messages import Message

__all__ = [
    "COMPACT_MIN_BYTES",
    "COMPRESS_LEVEL",
    "SUBPROTOCOL",
    "CompactFrame",
    "compress_message",
    "decode_compact",
    "decompress_message",
    "pack",
]

#: the websocket subprotocol name a tradecast consumer offers and a tradecast producer selects
SUBPROTOCOL = "tradecast.v1"
#: zlib level for every compressed message (see the module docstring)
COMPRESS_LEVEL = 1
#: JSON shorter than this stays a text frame on a ``tradecast.v1`` connection
COMPACT_MIN_BYTES = 128


class CompactFrame(bytes):
    """A compressed ``tradecast.v1`` message: the marker that makes a sender write a binary frame."""

    __slots__ = ()


def compress_message(raw: bytes | str, level: int = COMPRESS_LEVEL) -> CompactFrame:
    """The ``tradecast.v1`` binary payload of one JSON message (``raw`` as :func:`encode_message` wrote it)."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    return CompactFrame(zlib.compress(data, level))


def pack(raw: bytes | str) -> bytes | str:
    """What a ``tradecast.v1`` subscriber is sent for ``raw``: compressed, or ``raw`` itself when short.

    Idempotent (a :class:`CompactFrame` is returned as it is) and pure, so it may run in a worker thread.
    """
    if isinstance(raw, CompactFrame) or len(raw) < COMPACT_MIN_BYTES:
        return raw
    return compress_message(raw)


def decompress_message(data: bytes | bytearray | memoryview, max_bytes: int | None = None) -> bytes:
    """The JSON bytes inside a ``tradecast.v1`` binary message, inflating at most ``max_bytes + 1`` bytes.

    Raises ``WireError``: ``oversize`` (more than ``max_bytes`` once inflated), ``truncated`` (the zlib stream
    ends early) or ``bad_compression`` (not zlib, a bad checksum, or bytes after the end of the stream).
    """
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data) if max_bytes is None else inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise wire_error(ErrorKind.BAD_COMPRESSION, f"binary message is not a valid zlib stream: {exc}") from None
    if max_bytes is not None and len(out) > max_bytes:
        raise wire_error(ErrorKind.OVERSIZE, f"compressed message of {len(data)} bytes inflates beyond the limit "
                                             f"of {max_bytes} bytes")
    if not inflater.eof:
        raise wire_error(ErrorKind.TRUNCATED, f"zlib stream of {len(data)} bytes ends early")
    if inflater.unused_data:
        extra = len(inflater.unused_data)
        raise wire_error(ErrorKind.BAD_COMPRESSION, f"{extra} bytes after the end of the zlib stream")
    return out


def decode_compact(
    data: bytes | bytearray | memoryview,
    max_bytes: int | None = None,
    *,
    int_columns: Collection[str] = (),
    object_columns: Collection[str] = TAG_COLUMNS,
) -> Message:
    """Decode a ``tradecast.v1`` binary message: bounded inflate, then :func:`decode_message`."""
    raw = decompress_message(data, max_bytes)
    return decode_message(raw, None, int_columns=int_columns, object_columns=object_columns)
