"""What became of a signal, and the Redis key layout that the sender and the ingester share.

Keys, all derived from the configured ``stream`` (default ``tradecast:signals``):

* ``<stream>``: the signals. Each entry has one field ``signal`` holding the signal's JSON.
* ``<dead_letter_stream>``: rejected entries, fields ``signal_id, reason, detail, entry, entry_id,
  rejected_at, consumer`` (``entry`` is the first :data:`EXCERPT_BYTES` of the original payload).
* ``<stream>:outcomes``: one entry per decided signal, fields ``signal_id, entry_id, status, reason,
  detail, trade_id, pair, action, at`` (capped at about :data:`OUTCOMES_MAXLEN` entries). It lets the
  sender side see what happened without access to the bot's database.
* ``<stream>:stoploss``: a hash ``pair -> {"ratio": -0.03, "set_at": "<ISO 8601>"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

#: how much of a rejected entry is copied into the dead-letter stream (a 10 MB entry must not be copied)
EXCERPT_BYTES = 1024
#: approximate caps of the streams the ingester writes, so they cannot grow without bound
DEAD_LETTER_MAXLEN = 10_000
OUTCOMES_MAXLEN = 10_000

OutcomeStatus = Literal["executed", "duplicate", "rejected", "ignored"]


@dataclass(frozen=True, slots=True)
class SignalOutcome:
    """The answer of the bot's ``execute`` callback for one signal.

    * ``executed``: a trade was entered or exited; the trade and the signal record are committed.
    * ``duplicate``: the signal id was already recorded; nothing was done this time.
    * ``rejected``: the engine refused (no balance, no open trade to sell, pair locked...); ``reason`` says
      why. The bot records it too, so a redelivery is a duplicate.
    * ``ignored``: nothing to do (a ``hold``); recorded as well.
    """

    status: OutcomeStatus
    reason: str | None = None
    trade_id: int | None = None

    @classmethod
    def executed(cls, trade_id: int | None = None) -> SignalOutcome:
        return cls("executed", None, trade_id)

    @classmethod
    def duplicate(cls, trade_id: int | None = None) -> SignalOutcome:
        return cls("duplicate", "signal id already processed", trade_id)

    @classmethod
    def rejected(cls, reason: str) -> SignalOutcome:
        return cls("rejected", reason)

    @classmethod
    def ignored(cls, reason: str = "hold") -> SignalOutcome:
        return cls("ignored", reason)


@dataclass(frozen=True, slots=True)
class Ack:
    """What acknowledging one stream entry writes: its outcome record and, when refused, a dead letter."""

    entry_id: str
    status: str
    dead: dict[str, str] | None
    outcome: dict[str, str]


def stoploss_key(stream: str) -> str:
    """Name of the custom stoploss hash for ``stream``."""
    return f"{stream}:stoploss"


def outcomes_stream(stream: str) -> str:
    """Name of the outcome log stream for ``stream``."""
    return f"{stream}:outcomes"


def validate_stoploss_ratio(ratio: Any) -> float:
    """A custom stoploss is a ratio strictly between -1 and 0 (-0.03 = exit 3 % below the entry)."""
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not -1.0 < float(ratio) < 0.0:
        raise ValueError(f"stoploss ratio must be a number between -1 and 0 (exclusive), got {ratio!r}")
    return float(ratio)


def encode_stoploss(ratio: float, set_at: datetime) -> str:
    """Hash value of one custom stoploss."""
    return json.dumps({"ratio": validate_stoploss_ratio(ratio), "set_at": set_at.isoformat()})


def decode_stoploss(value: bytes | str) -> float | None:
    """Ratio from a hash value; ``None`` for anything unusable (a bad value must not stop the bot).

    A bare number (``"-0.05"``, as ``redis-cli HSET`` would write) is accepted too.
    """
    try:
        data = json.loads(value)
        ratio = data.get("ratio") if isinstance(data, dict) else data
        return validate_stoploss_ratio(ratio)
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def dead_letter_record(
    signal_id: str,
    entry_id: str,
    reason: str,
    detail: str,
    payload: bytes | str | None,
    at: datetime,
    consumer: str,
) -> dict[str, str]:
    """Fields of one dead-letter entry (``reason`` is the stable code, ``detail`` the sentence)."""
    return {
        "signal_id": signal_id,
        "reason": reason,
        "detail": detail,
        "entry": excerpt(payload),
        "entry_id": entry_id,
        "rejected_at": at.isoformat(),
        "consumer": consumer,
    }


def outcome_record(
    signal_id: str,
    entry_id: str,
    status: str,
    reason: str,
    detail: str,
    trade_id: int | None,
    signal: Any,
    at: datetime,
) -> dict[str, str]:
    """Fields of one entry of the outcome stream; ``signal`` is the parsed Signal or None when invalid."""
    return {
        "signal_id": signal_id,
        "entry_id": entry_id,
        "status": status,
        "reason": reason,
        "detail": detail,
        "trade_id": "" if trade_id is None else str(trade_id),
        "pair": getattr(signal, "pair", ""),
        "action": getattr(signal, "action", ""),
        "at": at.isoformat(),
    }


def decode_stoplosses(raw: dict[Any, Any]) -> tuple[dict[str, float], dict[str, str]]:
    """The stoploss hash as ``({pair: ratio}, {pair: unusable value})``, pairs sorted."""
    good: dict[str, float] = {}
    bad: dict[str, str] = {}
    for pair, value in sorted((text(p), v) for p, v in raw.items()):
        ratio = decode_stoploss(value)
        if ratio is None:
            bad[pair] = text(value)[:100]
        else:
            good[pair] = ratio
    return good, bad


def excerpt(payload: bytes | str | None) -> str:
    """The first :data:`EXCERPT_BYTES` of a payload as text, marked when cut."""
    if payload is None:
        return ""
    data = payload.encode() if isinstance(payload, str) else payload
    text = data[:EXCERPT_BYTES].decode(errors="replace")
    return text + f"...[{len(data)} bytes]" if len(data) > EXCERPT_BYTES else text


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, for logs and status (redis://user:pw@host)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def text(value: bytes | str | None) -> str:
    """Redis reply value as text."""
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
