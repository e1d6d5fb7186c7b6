"""``tradecast.v1``: freqtrade's JSON messages, compressed once by the producer, sent as binary frames.

Negotiation (DESIGN.md, "speed by negotiation"): a tradecast consumer offers the websocket subprotocol
``tradecast.v1``; a tradecast producer selects it, a freqtrade producer never does (the consumer then simply
reads JSON text, no second round trip).

Wire format on a ``tradecast.v1`` connection, producer -> consumer:

* a **binary** message is **one or more zlib streams, concatenated** (each RFC 1950: 2-byte header, deflate
  data, Adler-32; nothing before, between or after them). Each stream inflates to one UTF-8 JSON message as
  :func:`tradecast.wire.encode_message` writes it (freqtrade's envelope and dataframe encoding: the codec is
  shared, only the transport differs). The consumer decodes the streams in order, as if each had been its
  own websocket message. A stream may use any window size (the producer picks a small window for a small
  message: about the same output from a tenth of the compressor state);
* a **text** message is one plain JSON message, as on any connection.

Every **broadcast** on ``tradecast.v1`` is binary (compressed once for all v1 subscribers, even a 53-byte
``new_candle``), so that consecutive broadcasts can travel together: when a subscriber's sender finds several
broadcasts queued, it sends them as one binary message holding their streams (:func:`join_frames`, a bytes
join: nothing is compressed per subscriber). No delay is ever added to make a batch; only what is already
queued is coalesced, at most :data:`BATCH_MAX_MESSAGES` messages and :data:`BATCH_MAX_RAW_BYTES` of JSON (the
smallest ``message_size_limit`` a consumer may set), and a larger single message goes alone. One websocket
message per broadcast costs the producer a frame, an ASGI send and a ``send()`` syscall per consumer; a
burst of pairs at a candle close shares them. **Replies** are sent one per websocket message, binary when
their JSON is at least :data:`COMPACT_MIN_BYTES` long, else text.

Requests (consumer -> producer) stay JSON text. Level 1: a 1,500-row sync reply (compressed once per
subscriber) costs about a sixth of the CPU of level 6 for ~6% more bytes; one-row broadcasts compress the
same at any level. A client offering permessage-deflate as well gets binary frames deflated again per
connection; tradecast's client does not. (Batches came with the first release of ``tradecast.v1``: a reader
that takes a binary message for exactly one stream would count a batch as ``bad_compression``.)

Decompression is bounded (:func:`decompress_messages`): the JSON of **all** streams of one binary message
together may not exceed ``max_bytes`` (the consumer's ``message_size_limit``; at most ``max_bytes + 1`` bytes
are ever inflated, so a small frame cannot expand into gigabytes) -> ``WireError(kind="oversize")``; more
than :data:`MAX_STREAMS` streams -> ``bad_compression``; a stream cut short -> ``truncated``; anything that
is not a zlib stream where one must start (garbage between or after streams), or a bad checksum ->
``bad_compression``. Any of these drops the whole binary message (its structure cannot be trusted); a stream
that inflates to a bad JSON message drops only that message (:func:`decode_compact_batch`).
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Sequence

from tradecast.wire.codec import decode_message
from tradecast.wire.dataframe_codec import TAG_COLUMNS
from tradecast.wire.errors import ErrorKind, WireError, wire_error
from tradecast.wire.messages import Message

__all__ = [
    "BATCH_MAX_MESSAGES",
    "BATCH_MAX_RAW_BYTES",
    "COMPACT_MIN_BYTES",
    "COMPRESS_LEVEL",
    "MAX_STREAMS",
    "SUBPROTOCOL",
    "CompactFrame",
    "compress_message",
    "decode_compact",
    "decode_compact_batch",
    "decompress_message",
    "decompress_messages",
    "join_frames",
    "pack",
]

#: the websocket subprotocol name a tradecast consumer offers and a tradecast producer selects
SUBPROTOCOL = "tradecast.v1"
#: zlib level for every compressed message (see the module docstring)
COMPRESS_LEVEL = 1
#: a reply whose JSON is shorter than this stays a text frame (compressing it makes it longer)
COMPACT_MIN_BYTES = 128
#: most messages the producer puts into one binary websocket message
BATCH_MAX_MESSAGES = 64
#: most JSON bytes (all streams inflated) the producer puts into one batch: 1 MiB, the lowest
#: ``message_size_limit`` a consumer may configure, so a batch is never refused where its parts would not be
BATCH_MAX_RAW_BYTES = 1 << 20
#: most zlib streams a consumer accepts in one binary message (the producer sends at most 64)
MAX_STREAMS = 1024
#: input fed to the inflater per call: zlib copies the input left after a stream's end, so feeding the whole
#: message would copy it again for every stream (quadratic on a hostile frame of many tiny streams)
_CHUNK = 16 << 10
#: inputs up to this size get a window that just covers them (same output, far cheaper setup)
_SMALL_INPUT = 1 << 14


class CompactFrame(bytes):
    """A compressed ``tradecast.v1`` binary message: the marker that makes a sender write a binary frame.

    ``raw_size`` is the length of the JSON inside (all streams), ``None`` when unknown; the hub's batching
    bound reads it.
    """

    raw_size: int | None = None


def compress_message(raw: bytes | str, level: int = COMPRESS_LEVEL) -> CompactFrame:
    """The ``tradecast.v1`` binary payload of one JSON message (``raw`` as :func:`encode_message` wrote it)."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    size = len(data)
    if size <= _SMALL_INPUT:
        # zlib.compress sets up a 32 KiB window and ~256 KiB of state per call; where malloc hands that back to
        # the OS after each call (a small heap) the page faults cost ~45 us for a one-row analyzed_df. A window
        # just covering the input finds the same matches with a tenth of the state: ~4-6 us on any heap
        wbits = max(9, (size - 1).bit_length())
        deflater = zlib.compressobj(level, zlib.DEFLATED, wbits, max(1, wbits - 7))
        frame = CompactFrame(deflater.compress(data) + deflater.flush())
    else:
        frame = CompactFrame(zlib.compress(data, level))
    frame.raw_size = size
    return frame


def pack(raw: bytes | str, min_bytes: int = COMPACT_MIN_BYTES) -> bytes | str:
    """What a ``tradecast.v1`` subscriber is sent for ``raw``: compressed, or ``raw`` itself when shorter
    than ``min_bytes`` (the hub passes 0 for broadcasts: every broadcast is compressed, so it can be batched).

    Idempotent (a :class:`CompactFrame` is returned as it is) and pure, so it may run in a worker thread.
    """
    if isinstance(raw, CompactFrame) or len(raw) < min_bytes:
        return raw
    return compress_message(raw)


def join_frames(frames: Sequence[CompactFrame]) -> CompactFrame:
    """One binary message carrying ``frames`` in order (their zlib streams concatenated; no recompression)."""
    if len(frames) == 1:
        return frames[0]
    joined = CompactFrame(b"".join(frames))
    sizes = [frame.raw_size for frame in frames]
    joined.raw_size = None if None in sizes else sum(sizes)  # type: ignore[arg-type]
    return joined


def decompress_message(data: bytes | bytearray | memoryview, max_bytes: int | None = None) -> bytes:
    """The JSON bytes of a binary message that must hold exactly one stream (a reply, say).

    The same reader as :func:`decompress_messages` (same bounds and errors); a second stream is
    ``bad_compression`` here.
    """
    messages = decompress_messages(data, max_bytes)
    if len(messages) != 1:
        raise wire_error(ErrorKind.BAD_COMPRESSION, f"expected one zlib stream, the message holds {len(messages)}")
    return messages[0]


def decompress_messages(data: bytes | bytearray | memoryview, max_bytes: int | None = None) -> list[bytes]:
    """The JSON bytes of every zlib stream of a ``tradecast.v1`` binary message, in order.

    ``max_bytes`` bounds the inflated total of all streams (at most ``max_bytes + 1`` bytes are inflated).
    Raises ``WireError`` (``oversize``, ``truncated``, ``bad_compression``) as the module docstring says.
    """
    view = memoryview(data).cast("B")
    size = len(view)
    if not size:
        raise wire_error(ErrorKind.TRUNCATED, "empty binary message")
    budget = max_bytes  # JSON bytes still allowed (None: no bound)
    messages: list[bytes] = []
    pos = 0
    while pos < size:
        if len(messages) == MAX_STREAMS:
            raise wire_error(ErrorKind.BAD_COMPRESSION, f"binary message holds more than {MAX_STREAMS} zlib streams")
        inflater = zlib.decompressobj()
        parts: list[bytes] = []
        start = pos
        while not inflater.eof:
            if pos >= size:
                raise wire_error(ErrorKind.TRUNCATED, f"zlib stream {len(messages) + 1} (from byte {start}) of a "
                                                      f"{size}-byte binary message ends early")
            chunk = view[pos:pos + _CHUNK]
            try:
                out = inflater.decompress(chunk) if budget is None else inflater.decompress(chunk, budget + 1)
            except zlib.error as exc:
                what = "is not a valid zlib stream" if pos == start else "is corrupt"
                raise wire_error(ErrorKind.BAD_COMPRESSION, f"zlib stream {len(messages) + 1} (from byte {start}) "
                                                            f"{what}: {exc}") from None
            if budget is not None:
                budget -= len(out)
                if budget < 0:  # the inflater stopped at budget + 1 bytes: the rest is never inflated
                    raise wire_error(ErrorKind.OVERSIZE, f"binary message of {size} bytes inflates beyond the "
                                                         f"limit of {max_bytes} bytes")
            parts.append(out)
            pos += len(chunk) - len(inflater.unused_data)  # unused_data: what follows the stream's end
        messages.append(parts[0] if len(parts) == 1 else b"".join(parts))
    return messages


def decode_compact(
    data: bytes | bytearray | memoryview,
    max_bytes: int | None = None,
    *,
    int_columns: Collection[str] = (),
    object_columns: Collection[str] = TAG_COLUMNS,
) -> Message:
    """Decode a single-stream ``tradecast.v1`` binary message: bounded inflate, then :func:`decode_message`."""
    raw = decompress_message(data, max_bytes)
    return decode_message(raw, None, int_columns=int_columns, object_columns=object_columns)


def decode_compact_batch(
    data: bytes | bytearray | memoryview,
    max_bytes: int | None = None,
    *,
    int_columns: Collection[str] = (),
    object_columns: Collection[str] = TAG_COLUMNS,
) -> list[Message | WireError]:
    """Decode every message of a ``tradecast.v1`` binary message (one or several streams), in order.

    A broken binary message raises ``WireError`` (nothing of it is used); a stream whose JSON is not a valid
    message becomes its ``WireError`` in the list, and the messages around it are still returned.
    """
    decoded: list[Message | WireError] = []
    for raw in decompress_messages(data, max_bytes):
        try:
            decoded.append(decode_message(raw, None, int_columns=int_columns, object_columns=object_columns))
        except WireError as exc:
            decoded.append(exc)
    return decoded
