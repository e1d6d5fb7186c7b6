"""The message-websocket protocol without I/O: message models, the codec, the dataframe codec, size checks.

freqtrade's JSON is the default; ``tradecast.v1`` (:mod:`tradecast.wire.compact`: the same JSON,
zlib-compressed once, in binary frames that may carry several consecutive messages) is used when the
producer selects that subprotocol. Everything here
is pure (bytes in, objects out and back), so the hub, the client and the tests drive it without sockets or an
event loop.
"""

from __future__ import annotations

from tradecast.wire.codec import decode_message, decode_request, encode_message, parse_last_analyzed
from tradecast.wire.compact import (
    SUBPROTOCOL,
    CompactFrame,
    compress_message,
    decode_compact,
    decode_compact_batch,
    decompress_message,
    decompress_messages,
    join_frames,
    pack,
)
from tradecast.wire.dataframe_codec import (
    SIGNAL_COLUMNS,
    TAG_COLUMNS,
    decode_frame,
    decode_frame_json,
    encode_frame,
    encode_frame_json,
)
from tradecast.wire.errors import ErrorKind, WireError
from tradecast.wire.messages import (
    FLAT_EVENT_TYPES,
    FULL_FRAME_LIMIT,
    AnalyzedDfMessage,
    AnalyzedDfRequest,
    CandleType,
    EventMessage,
    ExceptionMessage,
    Message,
    MessageType,
    NewCandleMessage,
    Request,
    RequestType,
    SubscribeRequest,
    WhitelistMessage,
    WhitelistRequest,
)
from tradecast.wire.sizes import DEFAULT_MESSAGE_SIZE_LIMIT_MIB, check_size, mib_to_bytes, payload_size

__all__ = [
    "DEFAULT_MESSAGE_SIZE_LIMIT_MIB",
    "FLAT_EVENT_TYPES",
    "FULL_FRAME_LIMIT",
    "SIGNAL_COLUMNS",
    "SUBPROTOCOL",
    "TAG_COLUMNS",
    "AnalyzedDfMessage",
    "AnalyzedDfRequest",
    "CandleType",
    "CompactFrame",
    "ErrorKind",
    "EventMessage",
    "ExceptionMessage",
    "Message",
    "MessageType",
    "NewCandleMessage",
    "Request",
    "RequestType",
    "SubscribeRequest",
    "WhitelistMessage",
    "WhitelistRequest",
    "WireError",
    "check_size",
    "compress_message",
    "decode_compact",
    "decode_compact_batch",
    "decode_frame",
    "decode_frame_json",
    "decode_message",
    "decode_request",
    "decompress_message",
    "decompress_messages",
    "encode_frame",
    "encode_frame_json",
    "encode_message",
    "join_frames",
    "mib_to_bytes",
    "pack",
    "parse_last_analyzed",
    "payload_size",
]
