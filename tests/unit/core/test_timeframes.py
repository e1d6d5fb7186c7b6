"""Timeframe maths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tradecast.core.timeframes import (
    SUPPORTED_TIMEFRAMES,
    candle_open,
    ensure_utc,
    from_epoch_ms,
    last_closed_candle_open,
    next_candle_open,
    timeframe_to_minutes,
    timeframe_to_msecs,
    timeframe_to_seconds,
)

WHEN = datetime(2026, 11, 19, 13, 47, 31, 250_000, tzinfo=UTC)  # a Thursday


@pytest.mark.parametrize(("timeframe", "seconds"), [("1m", 60), ("5m", 300), ("1h", 3600), ("4h", 14400),
                                                    ("1d", 86400), ("1w", 604800), ("1M", 2_592_000)])
def test_lengths(timeframe: str, seconds: int) -> None:
    assert timeframe_to_seconds(timeframe) == seconds
    assert timeframe_to_minutes(timeframe) == seconds // 60
    assert timeframe_to_msecs(timeframe) == seconds * 1000


@pytest.mark.parametrize("bad", ["", "5", "m5", "0m", "-1h", "5x", None, 5])
def test_bad_timeframes_name_the_value(bad) -> None:
    with pytest.raises(ValueError, match="invalid timeframe"):
        timeframe_to_seconds(bad)


@pytest.mark.parametrize(("timeframe", "expected"), [
    ("1m", datetime(2026, 11, 19, 13, 47, tzinfo=UTC)),
    ("5m", datetime(2026, 11, 19, 13, 45, tzinfo=UTC)),
    ("1h", datetime(2026, 11, 19, 13, 0, tzinfo=UTC)),
    ("4h", datetime(2026, 11, 19, 12, 0, tzinfo=UTC)),
    ("1d", datetime(2026, 11, 19, tzinfo=UTC)),
    ("1w", datetime(2026, 11, 16, tzinfo=UTC)),  # weekly candles open on Monday
    ("1M", datetime(2026, 11, 1, tzinfo=UTC)),
])
def test_candle_open_aligns_to_boundaries(timeframe: str, expected: datetime) -> None:
    assert candle_open(WHEN, timeframe) == expected


@pytest.mark.parametrize("timeframe", SUPPORTED_TIMEFRAMES)
def test_next_and_last_closed_bracket_the_current_candle(timeframe: str) -> None:
    start = candle_open(WHEN, timeframe)
    following = next_candle_open(WHEN, timeframe)
    closed = last_closed_candle_open(WHEN, timeframe)
    assert closed < start <= WHEN < following
    assert candle_open(following - timedelta(microseconds=1), timeframe) == start
    assert next_candle_open(closed, timeframe) == start


def test_month_steps_are_calendar_months() -> None:
    assert next_candle_open(datetime(2026, 12, 31, tzinfo=UTC), "1M") == datetime(2027, 1, 1, tzinfo=UTC)
    assert last_closed_candle_open(datetime(2026, 1, 15, tzinfo=UTC), "1M") == datetime(2025, 12, 1, tzinfo=UTC)


def test_utc_helpers() -> None:
    naive = datetime(2026, 1, 1, 12, 0)
    assert ensure_utc(naive) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert from_epoch_ms(1_767_225_600_000) == datetime(2026, 1, 1, tzinfo=UTC)
