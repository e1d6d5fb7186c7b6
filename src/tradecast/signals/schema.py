"""The external signal: its strict schema, parsing from stream entries, and the pure acceptance rules.

Nothing here does I/O: the ingester and the sender both call these functions, so a signal the sender
accepts is exactly a signal the bot accepts (apart from the rules that depend on time and the market).

A signal (JSON object; unknown fields are rejected)::

    {"action": "buy",                        # buy | sell | hold
     "pair": "BTC/USDT",
     "signal_type": "anomaly",               # random | test | anomaly
     "confidence": 0.95,                      # number within 0..1
     "timestamp": "2026-01-01T00:00:00Z",     # ISO 8601 with a zone (Z or +hh:mm)
     "metadata": {"detector": "statistical_detector"},  # object, optional (default {})
     "id": "4f1c...",                         # optional; unique per signal (the sender assigns one)
     "ttl_s": 30,                             # optional; overrides the bot's signal_ttl_s
     "stake_amount": 100.0}                   # optional; quote currency to stake on a buy
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tradecast.core.clock import Clock
from tradecast.core.errors import WireError

#: how far in the future a timestamp may lie before it is refused (clocks of two machines disagree a little)
CLOCK_SKEW_S = 5.0

ACTIONS = ("buy", "sell", "hold")
SIGNAL_TYPES = ("random", "test", "anomaly")
_NUMERIC_FIELDS = ("confidence", "ttl_s", "stake_amount")
_JSON_TYPE_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    type(None): "null",
}


class SignalInvalid(WireError):
    """A signal (or the stream entry carrying it) is malformed; ``field`` names the culprit."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", kind="invalid")
        self.field = field
        self.reason = reason


def _type_name(value: Any) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _number(value: Any) -> float:
    # bool is an int in Python but never a sensible confidence or amount, and strings ("0.9") are a
    # typing mistake of the sender that we refuse rather than guess about.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, got {_type_name(value)}")
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value}")
    return float(value)


class Signal(BaseModel):
    """One validated external signal. Timestamps are UTC-aware after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["buy", "sell", "hold"]
    pair: str = Field(pattern=r"^[A-Za-z0-9._-]+/[A-Za-z0-9._:-]+$", max_length=64)
    signal_type: Literal["random", "test", "anomaly"]
    confidence: float
    timestamp: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    ttl_s: float | None = None
    stake_amount: float | None = None

    @field_validator("action", "pair", "signal_type", "id", mode="before")
    @classmethod
    def _strings_only(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            raise ValueError(f"must be a string, got {_type_name(value)}")
        return value

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence(cls, value: Any) -> float:
        number = _number(value)
        if not 0.0 <= number <= 1.0:
            raise ValueError(f"must be between 0 and 1, got {value}")
        return number

    @field_validator("ttl_s", "stake_amount", mode="before")
    @classmethod
    def _positive(cls, value: Any) -> float | None:
        if value is None:
            return None
        number = _number(value)
        if number <= 0:
            raise ValueError(f"must be greater than 0, got {value}")
        return number

    @field_validator("timestamp", mode="before")
    @classmethod
    def _timestamp(cls, value: Any) -> datetime:
        # Pydantic would accept epoch numbers and guess their unit; the schema asks for ISO 8601 text.
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(f"must be an ISO 8601 date and time, got {value!r}") from None
        else:
            raise ValueError(f"must be an ISO 8601 string, got {_type_name(value)}")
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValueError(f"must carry a time zone (e.g. 'Z' or '+00:00'), got {value!s}")
        return parsed.astimezone(UTC)

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError(f"must be an object, got {_type_name(value)}")
        return value

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict of this signal (optional fields left out when unset)."""
        data = self.model_dump(mode="json", exclude_none=True)
        data["timestamp"] = self.timestamp.isoformat().replace("+00:00", "Z")
        return data

    def to_json(self) -> str:
        """Compact JSON text, as written into the stream entry's ``signal`` field."""
        return json.dumps(self.to_wire(), separators=(",", ":"), ensure_ascii=False)


def _translate(error: ValidationError) -> SignalInvalid:
    """Turn pydantic's first error into ``field: reason`` with wording an operator understands."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "signal"
    kind = first["type"]
    value = first.get("input")
    if kind == "missing":
        reason = "is required"
    elif kind == "extra_forbidden":
        allowed = ", ".join(Signal.model_fields)
        reason = f"unknown field (allowed: {allowed})"
    elif kind == "literal_error":
        choices = ", ".join(ACTIONS if field == "action" else SIGNAL_TYPES)
        reason = f"must be one of {choices}, got {value!r}"
    elif kind == "string_pattern_mismatch":
        reason = f"has an invalid format, got {value!r}" + (
            " (expected BASE/QUOTE)" if field == "pair" else ""
        )
    elif kind == "value_error":
        reason = str(first["ctx"]["error"]) if "ctx" in first else first["msg"]
    else:
        reason = first["msg"].lower()
    count = error.error_count()
    if count > 1:
        reason += f" (and {count - 1} more problem{'s' if count > 2 else ''})"
    return SignalInvalid(field, reason)


def parse_signal(
    raw: bytes | str | Mapping[str, Any],
    *,
    max_bytes: int = 65536,
    now: datetime | None = None,
    skew_s: float = CLOCK_SKEW_S,
) -> Signal:
    """Validate ``raw`` (JSON text/bytes or an already decoded dict) into a :class:`Signal`.

    ``now`` is the time the future check compares with (default: the wall clock). Raises
    :class:`SignalInvalid` naming the field and the reason.
    """
    if isinstance(raw, bytes | str):
        size = len(raw) if isinstance(raw, bytes) else len(raw.encode())
        if size > max_bytes:
            raise SignalInvalid("signal", f"is {size} bytes, the limit is {max_bytes}")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SignalInvalid("signal", f"is not valid JSON ({exc})") from None
    else:
        data = raw
    if not isinstance(data, Mapping):
        raise SignalInvalid("signal", f"must be a JSON object, got {_type_name(data)}")
    try:
        signal = Signal.model_validate(dict(data))
    except ValidationError as exc:
        raise _translate(exc) from None
    now = now or datetime.now(UTC)
    ahead = (signal.timestamp - now).total_seconds()
    if ahead > skew_s:
        raise SignalInvalid("timestamp", f"is {ahead:.1f} s in the future (allowed clock skew {skew_s:g} s)")
    return signal


def decode_entry(
    fields: Mapping[bytes | str, bytes | str], *, max_bytes: int = 65536
) -> dict[str, Any] | bytes:
    """Extract the signal from a stream entry's fields, without validating it.

    Two layouts are accepted:

    * tradecast's: one field ``signal`` holding the JSON text (returned as bytes for :func:`parse_signal`);
    * the seed project's: one field per signal key, all values text. Numeric fields and ``metadata`` are
      decoded as JSON (``"0.95"`` -> 0.95, ``'{"a": 1}'`` -> dict), the other fields stay strings.
    """
    decoded = {_text(key): value for key, value in fields.items()}
    # the size of the JSON text in our layout; of all field names and values in the seed's
    size = sum(len(v) + (0 if k == "signal" else len(k)) for k, v in decoded.items())
    if size > max_bytes:
        raise SignalInvalid("signal", f"is {size} bytes, the limit is {max_bytes}")
    if not decoded:
        raise SignalInvalid("signal", "the stream entry is empty (deleted before it was processed?)")
    if set(decoded) == {"signal"}:
        payload = decoded["signal"]
        return payload if isinstance(payload, bytes) else payload.encode()
    data: dict[str, Any] = {}
    for key, value in decoded.items():
        text = _text(value)
        if key in _NUMERIC_FIELDS or key == "metadata":
            try:
                data[key] = json.loads(text)
            except ValueError:
                raise SignalInvalid(key, f"is not valid JSON, got {text[:80]!r}") from None
        else:
            data[key] = text
    return data


def _text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise SignalInvalid("signal", "is not UTF-8 text") from None
    return value


def claimed_id(payload: Any, max_bytes: int) -> str | None:
    """The ``id`` an invalid signal claims to have, so that its dead letter can be found under that id."""
    if isinstance(payload, bytes | str) and len(payload) <= max_bytes:
        try:
            payload = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return None
    if isinstance(payload, dict) and isinstance(payload.get("id"), str) and len(payload["id"]) <= 128:
        return payload["id"]
    return None


def entry_signal_id(entry_id: str, fields: Mapping[Any, Any], max_bytes: int) -> str | None:
    """The signal id an entry claims, as :func:`screen_entry` would name it, without validating the signal
    (None when the entry cannot be decoded). Cheap: used to look up many ids' records in one query."""
    try:
        payload = decode_entry(fields, max_bytes=max_bytes)
    except SignalInvalid:
        return None
    return claimed_id(payload, max_bytes) or f"stream-{entry_id}"


@dataclass(frozen=True, slots=True)
class RejectReason:
    """Why a well-formed signal is refused: a stable ``code`` for counting and a ``detail`` for people."""

    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def check_signal(
    signal: Signal,
    now: datetime,
    ttl_s: float,
    min_confidence: float,
    allowed_types: Collection[str],
    tradable_pairs: Collection[str] | None,
) -> RejectReason | None:
    """Apply the bot's acceptance rules; ``None`` means the signal may go to the trading engine.

    ``tradable_pairs`` None skips the pair check (for callers that cannot know the market).
    """
    if signal.signal_type not in allowed_types:
        allowed = ", ".join(allowed_types) or "none"
        return RejectReason("type_not_allowed", f"signal_type {signal.signal_type} is not in {allowed}")
    if tradable_pairs is not None and signal.pair not in tradable_pairs:
        return RejectReason("pair_not_tradable", f"{signal.pair} is not tradable on this bot")
    limit = signal.ttl_s if signal.ttl_s is not None else ttl_s
    age = (now - signal.timestamp).total_seconds()
    if age > limit:
        return RejectReason("expired", f"signal is {age:.1f} s old, its time to live is {limit:g} s")
    if signal.confidence < min_confidence:
        return RejectReason(
            "low_confidence", f"confidence {signal.confidence:g} is below min_confidence {min_confidence:g}"
        )
    return None


class RateLimiter:
    """Sliding one-minute window: at most ``max_per_minute`` calls of :meth:`allow` return True.

    ``max_per_minute <= 0`` disables the limit. Refused calls do not use up the window, so a flood does not
    lock out the signals that follow it once the minute has passed.
    """

    WINDOW_S = 60.0

    def __init__(self, max_per_minute: int, clock: Clock | Callable[[], float]) -> None:
        self.max_per_minute = int(max_per_minute)
        self._now = clock.timestamp if hasattr(clock, "timestamp") else clock
        self._accepted: deque[float] = deque()

    def allow(self) -> bool:
        """Take one slot if there is one in the last minute."""
        if self.max_per_minute <= 0:
            return True
        now = self._now()
        while self._accepted and self._accepted[0] <= now - self.WINDOW_S:
            self._accepted.popleft()
        if len(self._accepted) >= self.max_per_minute:
            return False
        self._accepted.append(now)
        return True

    @property
    def used(self) -> int:
        """Slots taken within the current window (as of the last call)."""
        return len(self._accepted)


@dataclass(frozen=True, slots=True)
class Screened:
    """One stream entry after screening: a ``signal`` for the engine, or the ``reason`` it is refused.

    ``signal_id`` is always set: the signal's own id, or ``stream-<entry id>`` when it has none (stable
    across redeliveries). ``payload`` is what a dead letter shows of a refused entry.
    """

    signal_id: str
    signal: Signal | None
    reason: RejectReason | None
    payload: bytes | str | None = None


def screen_entry(
    entry_id: str,
    fields: Mapping[Any, Any],
    config: Any,
    now: datetime,
    tradable_pairs: Collection[str] | None,
    limiter: RateLimiter | None = None,
) -> Screened:
    """Decode, validate and check one stream entry against ``config`` (an ExternalSignalsConfig-like object).

    The rate limiter is asked last, so only signals that would otherwise be executed use up its slots.
    """
    limit = config.max_entry_bytes
    payload: Any = None
    try:
        payload = decode_entry(fields, max_bytes=limit)
        signal = parse_signal(payload, max_bytes=limit, now=now)
    except SignalInvalid as exc:
        signal_id = claimed_id(payload, limit) or f"stream-{entry_id}"
        shown = _fields_text(fields) if payload is None else payload
        return Screened(signal_id, None, RejectReason("invalid", str(exc)), shown)
    if signal.id is None:
        signal = signal.model_copy(update={"id": f"stream-{entry_id}"})
    signal_id = signal.id or ""
    reason = check_signal(
        signal, now, config.signal_ttl_s, config.min_confidence, config.allowed_signal_types, tradable_pairs
    )
    if reason is None and limiter is not None and not limiter.allow():
        per_minute = config.max_signals_per_minute
        reason = RejectReason("rate_limited", f"more than {per_minute} signals in the last minute")
    if reason is not None:
        return Screened(signal_id, signal, reason, signal.to_json())
    return Screened(signal_id, signal, None)


def _fields_text(fields: Mapping[Any, Any]) -> str:
    """An entry's raw fields as bounded text (a 10 MB entry must not be copied into a dead letter)."""
    items = list(fields.items())[:16]
    return " ".join(f"{_lenient(key)[:256]}={_lenient(value[:2048])}" for key, value in items)


def _lenient(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
