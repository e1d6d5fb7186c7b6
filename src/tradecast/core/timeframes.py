"""Timeframe maths: pure functions on freqtrade/ccxt timeframe strings ("1m", "5m", "1h", "1d", "1w", "1M").

Candles are identified by their open time. All datetimes are UTC-aware; integer times are epoch milliseconds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^(\d+)([smhdwM])$")

#: timeframes the simulated market and the config accept
SUPPORTED_TIMEFRAMES = (
    "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
)


def _parse(timeframe: str) -> tuple[int, str]:
    match = _PATTERN.match(timeframe) if isinstance(timeframe, str) else None
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"invalid timeframe {timeframe!r}: expected a number and a unit, like 5m, 1h or 1d")
    return int(match.group(1)), match.group(2)


def timeframe_to_seconds(timeframe: str) -> int:
    """Length of one candle in seconds (a month counts as 30 days, as ccxt does)."""
    count, unit = _parse(timeframe)
    if unit == "M":
        return count * 30 * 86400
    return count * _UNIT_SECONDS[unit]


def timeframe_to_minutes(timeframe: str) -> int:
    """Length of one candle in whole minutes."""
    return timeframe_to_seconds(timeframe) // 60


def timeframe_to_msecs(timeframe: str) -> int:
    """Length of one candle in milliseconds."""
    return timeframe_to_seconds(timeframe) * 1000


def timeframe_to_timedelta(timeframe: str) -> timedelta:
    """Length of one candle as a timedelta."""
    return timedelta(seconds=timeframe_to_seconds(timeframe))


def _month_start(dt: datetime, months_ahead: int = 0) -> datetime:
    month_index = dt.year * 12 + (dt.month - 1) + months_ahead
    return datetime(month_index // 12, month_index % 12 + 1, 1, tzinfo=UTC)


def candle_open(when: datetime, timeframe: str) -> datetime:
    """Open time of the candle that contains ``when``."""
    count, unit = _parse(timeframe)
    when = ensure_utc(when)
    if unit == "M":
        start = _month_start(when)
        index = start.year * 12 + start.month - 1
        return _month_start(start, -(index % count))
    step = timeframe_to_seconds(timeframe)
    epoch_s = int(when.timestamp())
    if unit == "w":
        # ccxt aligns weekly candles on Monday; the Unix epoch was a Thursday (3 days later).
        shift = 4 * 86400
        return datetime.fromtimestamp(((epoch_s - shift) // step) * step + shift, UTC)
    return datetime.fromtimestamp((epoch_s // step) * step, UTC)


def next_candle_open(when: datetime, timeframe: str) -> datetime:
    """Open time of the candle after the one containing ``when``."""
    start = candle_open(when, timeframe)
    count, unit = _parse(timeframe)
    if unit == "M":
        return _month_start(start, count)
    return start + timedelta(seconds=timeframe_to_seconds(timeframe))


def last_closed_candle_open(when: datetime, timeframe: str) -> datetime:
    """Open time of the newest candle that is fully closed at ``when``."""
    start = candle_open(when, timeframe)
    count, unit = _parse(timeframe)
    if unit == "M":
        return _month_start(start, -count)
    return start - timedelta(seconds=timeframe_to_seconds(timeframe))


def ensure_utc(when: datetime) -> datetime:
    """Return ``when`` as a UTC-aware datetime; naive values are taken to be UTC already."""
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def to_epoch_ms(when: datetime) -> int:
    """UTC datetime to integer epoch milliseconds."""
    return round(ensure_utc(when).timestamp() * 1000)


def from_epoch_ms(ms: int | float) -> datetime:
    """Epoch milliseconds to a UTC-aware datetime."""
    return datetime.fromtimestamp(ms / 1000, UTC)
