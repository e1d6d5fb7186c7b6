"""Encode and decode message-websocket text: bytes in, typed messages out, and back.

Envelopes (freqtrade's, byte for byte where it matters)::

    {"type":"analyzed_df","data":{"key":[pair,tf,ctype],"df":{"__type__":"dataframe","__value__":"..."},
                                  "la":"2026-11-20T23:02:09.847130+00:00"}}
    {"type":"whitelist","data":["BTC/USDT", ...]}
    {"type":"new_candle","data":["BTC/USDT","5m","spot"]}
    {"type":"exception","data":"Invalid request type: foo"}
    {"type":"entry","trade_id":1,"pair":"BTC/USDT",...}              flat events: fields beside "type"
    {"type":"subscribe","data":["whitelist","analyzed_df"]}          requests
    {"type":"whitelist"}
    {"type":"analyzed_df","data":{"limit":1500,"pair":null}}

:func:`encode_message` is deterministic (same message -> same bytes), so a hub encodes a broadcast once and
sends the bytes to every subscriber. Decoders validate strictly and raise ``WireError`` with a stable
``kind`` (see :class:`tradecast.wire.errors.ErrorKind`); messages name the problem, never the payload.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import orjson

from tradecast.core.timeframes import ensure_utc, timeframe_to_seconds
from tradecast.wire.dataframe_codec import TAG_COLUMNS, decode_frame, encode_frame, json_default
from tradecast.wire.errors import ErrorKind, WireError, snippet, wire_error
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
from tradecast.wire.sizes import check_size

__all__ = ["decode_message", "decode_request", "encode_message", "parse_last_analyzed"]

# pydantic's rule, which freqtrade consumers apply: an epoch number above this is milliseconds, not seconds
_EPOCH_MS_THRESHOLD = 2e10


# ------------------------------------------------------------------------------------------------ encode


def encode_message(msg: Message | Request) -> bytes:
    """UTF-8 JSON text of a message or request (deterministic; encode once per broadcast)."""
    return orjson.dumps(_envelope(msg), default=json_default)


def _envelope(msg: Message | Request) -> dict[str, Any]:
    if isinstance(msg, AnalyzedDfMessage):
        data = {
            "key": [msg.pair, msg.timeframe, msg.candle_type.value],
            "df": encode_frame(msg.frame),
            "la": ensure_utc(msg.last_analyzed).isoformat(),
        }
        return {"type": MessageType.ANALYZED_DF.value, "data": data}
    if isinstance(msg, EventMessage):
        return {"type": msg.type.value, **msg.fields}
    if isinstance(msg, WhitelistMessage):
        return {"type": MessageType.WHITELIST.value, "data": list(msg.pairs)}
    if isinstance(msg, NewCandleMessage):
        key = [msg.pair, msg.timeframe, msg.candle_type.value]
        return {"type": MessageType.NEW_CANDLE.value, "data": key}
    if isinstance(msg, ExceptionMessage):
        return {"type": MessageType.EXCEPTION.value, "data": msg.text}
    if isinstance(msg, SubscribeRequest):
        return {"type": RequestType.SUBSCRIBE.value, "data": [t.value for t in msg.topics]}
    if isinstance(msg, WhitelistRequest):
        return {"type": RequestType.WHITELIST.value}
    if isinstance(msg, AnalyzedDfRequest):
        # "everything" is sent as limit 0, never null: a freqtrade producer closes the connection on null,
        # and treats 0 (falsy after its 1500 cap) as "the whole cached frame".
        limit = 0 if msg.limit is None else msg.limit
        return {"type": RequestType.ANALYZED_DF.value, "data": {"limit": limit, "pair": msg.pair}}
    raise TypeError(f"not a wire message: {type(msg).__name__}")


# ------------------------------------------------------------------------------------------------ decode


def _parse_json(raw: bytes | bytearray | memoryview | str, max_bytes: int | None) -> dict[str, Any]:
    check_size(raw, max_bytes)
    if isinstance(raw, memoryview):
        raw = bytes(raw)
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        obj = _parse_json_fallback(raw)
    if not isinstance(obj, dict):
        raise wire_error(ErrorKind.NOT_OBJECT, f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _parse_json_fallback(raw: bytes | bytearray | str) -> Any:
    """The stdlib parser: accepts NaN/Infinity literals and tells a cut message from garbage."""
    try:
        text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise wire_error(ErrorKind.NOT_JSON, f"message is not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise wire_error(ErrorKind.NOT_JSON, "message nested too deep") from None
    except json.JSONDecodeError as exc:
        cut = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        kind = ErrorKind.TRUNCATED if cut and text.strip() else ErrorKind.NOT_JSON
        raise wire_error(kind, f"invalid JSON: {exc.msg} at char {exc.pos} of {len(text)}") from None


def _message_type(obj: dict[str, Any], known: type[MessageType] | type[RequestType]) -> Any:
    raw_type = obj.get("type")
    if not isinstance(raw_type, str):
        raise wire_error(ErrorKind.BAD_ENVELOPE, f"'type' must be a string, got {snippet(raw_type)}")
    try:
        return known(raw_type)
    except ValueError:
        noun = "request" if known is RequestType else "message"
        # freqtrade's producer writes the type bare (no quotes); match it for strings, show anything else
        shown = raw_type[:64] if isinstance(raw_type, str) else snippet(raw_type)
        raise wire_error(ErrorKind.UNKNOWN_TYPE, f"Invalid {noun} type: {shown}") from None


def decode_message(
    raw: bytes | bytearray | memoryview | str,
    max_bytes: int | None = None,
    *,
    int_columns: Collection[str] = (),
    object_columns: Collection[str] = TAG_COLUMNS,
) -> Message:
    """Decode a producer -> consumer message; raise ``WireError`` (with ``kind``) when it is not valid."""
    obj = _parse_json(raw, max_bytes)
    kind = _message_type(obj, MessageType)
    if kind in FLAT_EVENT_TYPES:
        return EventMessage(kind, {k: v for k, v in obj.items() if k != "type"})
    if "data" not in obj:
        raise _envelope_error(kind, "has no 'data'")
    data = obj["data"]
    if kind is MessageType.WHITELIST:
        if not isinstance(data, list) or not all(isinstance(p, str) for p in data):
            raise _envelope_error(kind, "data must be a list of pair strings")
        return WhitelistMessage(tuple(data))
    if kind is MessageType.EXCEPTION:
        if not isinstance(data, str):
            raise _envelope_error(kind, f"data must be a string, got {type(data).__name__}")
        return ExceptionMessage(data)
    if kind is MessageType.NEW_CANDLE:
        pair, timeframe, candle_type = _decode_key(kind, data)
        return NewCandleMessage(pair, timeframe, candle_type)
    if not isinstance(data, dict):  # analyzed_df
        raise _envelope_error(kind, f"data must be an object, got {type(data).__name__}")
    pair, timeframe, candle_type = _decode_key(kind, data.get("key"))
    if "la" not in data or "df" not in data:
        raise _envelope_error(kind, "data needs 'key', 'df' and 'la'")
    try:
        last_analyzed = parse_last_analyzed(data["la"])
    except ValueError as exc:
        raise _envelope_error(kind, f"la: {exc}") from None
    frame = decode_frame(data["df"], int_columns=int_columns, object_columns=object_columns)
    return AnalyzedDfMessage(pair, timeframe, candle_type, frame, last_analyzed)


def _envelope_error(kind: MessageType, problem: str) -> WireError:
    return wire_error(ErrorKind.BAD_ENVELOPE, f"{kind.value} message {problem}")


def _decode_key(kind: MessageType, key: Any) -> tuple[str, str, CandleType]:
    if not isinstance(key, list) or len(key) != 3 or not all(isinstance(part, str) for part in key):
        raise _envelope_error(kind, f"key must be [pair, timeframe, candle_type], got {snippet(key)}")
    pair, timeframe, candle_type = key
    try:
        timeframe_to_seconds(timeframe)
    except ValueError:
        raise _envelope_error(kind, f"has an invalid timeframe {snippet(timeframe)}") from None
    try:
        return pair, timeframe, CandleType(candle_type)
    except ValueError:
        raise _envelope_error(kind, f"has an unknown candle type {snippet(candle_type)}") from None


def parse_last_analyzed(value: Any) -> datetime:
    """``la`` as a UTC-aware datetime.

    Accepts what freqtrade consumers accept: ISO 8601 with ``T`` or a space, with ``Z`` or an offset, or
    naive (taken as UTC here, where pydantic would keep it naive), and epoch numbers (seconds, or
    milliseconds above 2e10 as pydantic decides), also as numeric strings. Raises ``ValueError``.
    """
    if isinstance(value, bool):
        raise ValueError("expected a datetime, got a boolean")
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                return ensure_utc(datetime.fromisoformat(text))
            except ValueError:
                raise ValueError(f"not an ISO 8601 datetime: {snippet(value)}") from None
        value = number
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite epoch: {value!r}")
        seconds = value / 1000 if abs(value) > _EPOCH_MS_THRESHOLD else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"epoch out of range: {value!r}") from None
    raise ValueError(f"expected an ISO string or an epoch number, got {type(value).__name__}")


def decode_request(raw: bytes | bytearray | memoryview | str, max_bytes: int | None = None) -> Request:
    """Decode a consumer -> producer request.

    Unknown types raise ``unknown_type`` (the producer replies ``Invalid request type: X``); invalid
    arguments raise ``bad_request`` instead of killing the connection as freqtrade does. Limit rules
    (freqtrade's, except negatives): no/falsy ``data`` -> ``limit=None`` (everything); ``limit`` missing ->
    1500; numbers above 1500 -> 1500; floats truncated; 0 -> ``None`` (everything). Negative limits, null,
    strings, booleans and non-finite numbers are ``bad_request``: freqtrade would serve "all rows except
    the first |n|", an accident of slicing that no consumer relies on. An empty or falsy ``pair`` means every
    pair. Subscribe keeps the known topics and reports the unknown ones (see :class:`SubscribeRequest`).
    """
    obj = _parse_json(raw, max_bytes)
    kind = _message_type(obj, RequestType)
    data = obj.get("data")
    if kind is RequestType.WHITELIST:
        return WhitelistRequest()
    if kind is RequestType.SUBSCRIBE:
        if not isinstance(data, list):
            problem = f"subscribe data must be a list, got {type(data).__name__}"
            raise wire_error(ErrorKind.BAD_REQUEST, problem)
        topics: list[MessageType] = []
        unknown: list[str] = []
        for topic in data:
            try:
                parsed = MessageType(topic) if isinstance(topic, str) else None
            except ValueError:
                parsed = None
            if parsed is None:
                unknown.append(topic if isinstance(topic, str) else snippet(topic))
            elif parsed not in topics:
                topics.append(parsed)
        return SubscribeRequest(tuple(topics), tuple(unknown))
    if not data:
        return AnalyzedDfRequest(limit=None, pair=None)
    if not isinstance(data, dict):
        problem = f"analyzed_df data must be an object, got {type(data).__name__}"
        raise wire_error(ErrorKind.BAD_REQUEST, problem)
    pair = data.get("pair") or None
    if pair is not None and not isinstance(pair, str):
        raise wire_error(ErrorKind.BAD_REQUEST, f"pair must be a string or null, got {snippet(pair)}")
    return AnalyzedDfRequest(limit=_request_limit(data.get("limit", FULL_FRAME_LIMIT)), pair=pair)


def _request_limit(limit: Any) -> int | None:
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not math.isfinite(limit):
        raise wire_error(ErrorKind.BAD_REQUEST, f"limit must be a non-negative number, got {snippet(limit)}")
    if limit < 0:
        raise wire_error(ErrorKind.BAD_REQUEST, f"limit must be a non-negative number, got {limit!r}")
    capped = int(min(limit, FULL_FRAME_LIMIT))
    return capped or None
