"""Message and request models of the freqtrade message websocket (``/api/v1/message/ws``).

The string values are freqtrade's and travel on the wire unchanged. The models are frozen dataclasses: a
message is built once, encoded once and the same bytes go to every subscriber, so nothing may change it after
it is published. Two models hold mutable payloads by necessity and document it: :class:`AnalyzedDfMessage`
(a DataFrame; the decoder makes a fresh one per message and receivers copy it before a strategy touches it)
and :class:`EventMessage` (its top-level mapping is read-only; nested values are the sender's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import pandas as pd

from tradecast.core.timeframes import ensure_utc

__all__ = [
    "FLAT_EVENT_TYPES",
    "FULL_FRAME_LIMIT",
    "AnalyzedDfMessage",
    "AnalyzedDfRequest",
    "CandleType",
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
]

#: the most rows a freqtrade producer serves per pair for a request with a limit (and what consumers ask for)
FULL_FRAME_LIMIT = 1500


class MessageType(StrEnum):
    """freqtrade's ``RPCMessageType`` values (2026.9; 2024 producers lack ``liquidation_warning``)."""

    STATUS = "status"
    WARNING = "warning"
    EXCEPTION = "exception"
    STARTUP = "startup"
    ENTRY = "entry"
    ENTRY_FILL = "entry_fill"
    ENTRY_CANCEL = "entry_cancel"
    EXIT = "exit"
    EXIT_FILL = "exit_fill"
    EXIT_CANCEL = "exit_cancel"
    PROTECTION_TRIGGER = "protection_trigger"
    PROTECTION_TRIGGER_GLOBAL = "protection_trigger_global"
    LIQUIDATION_WARNING = "liquidation_warning"
    STRATEGY_MSG = "strategy_msg"
    WHITELIST = "whitelist"
    ANALYZED_DF = "analyzed_df"
    NEW_CANDLE = "new_candle"


#: message types whose payload is a flat object (fields beside ``type``), carried by :class:`EventMessage`
FLAT_EVENT_TYPES = frozenset(MessageType) - {
    MessageType.EXCEPTION,
    MessageType.WHITELIST,
    MessageType.ANALYZED_DF,
    MessageType.NEW_CANDLE,
}


class RequestType(StrEnum):
    """Requests a consumer may send to a producer."""

    SUBSCRIBE = "subscribe"
    WHITELIST = "whitelist"
    ANALYZED_DF = "analyzed_df"


class CandleType(StrEnum):
    """freqtrade's candle types (``key[2]`` of an analyzed_df message); ``open_interest`` is 2026.9 only."""

    SPOT = "spot"
    FUTURES = "futures"
    MARK = "mark"
    INDEX = "index"
    PREMIUMINDEX = "premiumIndex"
    FUNDING_RATE = "funding_rate"
    OPEN_INTEREST = "open_interest"


# ----------------------------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class SubscribeRequest:
    """Replace the subscription list of a connection.

    ``unknown`` holds the topics the decoder did not recognise (stringified). freqtrade ignores a whole list
    when one topic is unknown; we keep the known ones and let the caller log the rest, which survives version
    skew (a newer consumer asking for ``liquidation_warning`` still gets ``analyzed_df``).
    """

    topics: tuple[MessageType, ...]
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WhitelistRequest:
    """Ask for the producer's current whitelist; encoded without a ``data`` key, as freqtrade sends it."""


@dataclass(frozen=True, slots=True)
class AnalyzedDfRequest:
    """Ask for analysed frames: one reply per pair (``pair=None``: every whitelisted pair).

    ``limit`` is the number of newest rows wanted; ``None`` means "everything the producer holds" (a
    freqtrade producer may then send more than 1500 rows). Decoded requests always have
    ``limit is None or 1 <= limit <= 1500``.
    """

    limit: int | None = FULL_FRAME_LIMIT
    pair: str | None = None

    def select(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` this request asks for (a tail view; the producer's index is kept)."""
        if self.limit is None or self.limit >= len(frame):
            return frame
        return frame.iloc[-self.limit :]


Request = SubscribeRequest | WhitelistRequest | AnalyzedDfRequest

# ----------------------------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class WhitelistMessage:
    """The producer's active whitelist (it includes pairs with open trades)."""

    pairs: tuple[str, ...]


@dataclass(frozen=True, slots=True, eq=False)
class AnalyzedDfMessage:
    """One pair's analysed frame: the last row (broadcast) or a tail of the history (reply).

    ``last_analyzed`` is UTC-aware (naive values are taken as UTC on construction). Equality is identity
    because DataFrame equality is not a boolean.
    """

    pair: str
    timeframe: str
    candle_type: CandleType
    frame: pd.DataFrame
    last_analyzed: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "candle_type", CandleType(self.candle_type))
        la = self.last_analyzed
        if isinstance(la, pd.Timestamp):  # a plain datetime renders like orjson (no nanoseconds)
            la = la.to_pydatetime()
        object.__setattr__(self, "last_analyzed", ensure_utc(la))

    @property
    def key(self) -> tuple[str, str, CandleType]:
        """``(pair, timeframe, candle_type)``, the ``key`` of the wire envelope."""
        return (self.pair, self.timeframe, self.candle_type)


@dataclass(frozen=True, slots=True)
class NewCandleMessage:
    """Sent right after the analyzed_df broadcast when that pair's last candle date changed."""

    pair: str
    timeframe: str
    candle_type: CandleType

    def __post_init__(self) -> None:
        object.__setattr__(self, "candle_type", CandleType(self.candle_type))


@dataclass(frozen=True, slots=True)
class ExceptionMessage:
    """An error reply, e.g. ``Invalid request type: foo``."""

    text: str


@dataclass(frozen=True, slots=True, eq=False)
class EventMessage:
    """A flat RPC message (status, entry, exit_fill, protection_trigger, ...): fields beside ``type``.

    ``fields`` is stored as a read-only mapping and must not contain ``type``. Values should be
    JSON-friendly (str, numbers, bool, None, lists, dicts, UTC datetimes, enums).
    """

    type: MessageType
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kind = MessageType(self.type)
        if kind not in FLAT_EVENT_TYPES:
            raise ValueError(f"{kind.value!r} is not a flat event type; use its own message class")
        if "type" in self.fields:
            raise ValueError("event fields must not contain 'type'")
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EventMessage):
            return NotImplemented
        return self.type == other.type and dict(self.fields) == dict(other.fields)

    __hash__ = None  # type: ignore[assignment]  # fields may hold unhashable values


Message = WhitelistMessage | AnalyzedDfMessage | NewCandleMessage | ExceptionMessage | EventMessage
