"""data.frame_rows: candle arithmetic on int64 dates and the object-column check behind the fast append."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradecast.data.frame_rows import NAT, candles_between, is_next_candle, last_ns_of, objects_clean


def ns(text: str) -> int:
    return pd.Timestamp(text, tz="UTC").value


@pytest.mark.parametrize(("last", "first", "timeframe", "expected"), [
    ("2026-01-01 00:00", "2026-01-01 00:05", "5m", True),  # the next candle
    ("2026-01-01 00:00", "2026-01-01 00:09", "5m", True),  # not aligned, still no candle between
    ("2026-01-01 00:00", "2026-01-01 00:10", "5m", False),  # one candle missing
    ("2026-01-01 00:05", "2026-01-01 00:05", "5m", False),  # the same candle
    ("2026-01-01 00:05", "2026-01-01 00:00", "5m", False),  # older
    ("2026-01-01", "2026-02-01", "1M", True),  # calendar months: 31 days
    ("2026-02-01", "2026-03-01", "1M", True),  # 28 days
    ("2026-01-01", "2026-03-01", "1M", False),  # February missing
])
def test_is_next_candle_agrees_with_candles_between(last: str, first: str, timeframe: str, expected: bool) -> None:
    assert is_next_candle(ns(last), ns(first), timeframe) is expected
    if ns(first) > ns(last):
        between = candles_between(pd.Timestamp(last, tz="UTC"), pd.Timestamp(first, tz="UTC"), timeframe)
        assert (between == 0) is expected


def test_last_ns_of_dates() -> None:
    dates = pd.date_range("2026-01-01", periods=3, freq="1min", tz="UTC").array
    assert last_ns_of(dates) == ns("2026-01-01 00:02")
    assert last_ns_of(dates[:0]) is None
    assert last_ns_of(pd.array([pd.NaT], dtype="datetime64[ns, UTC]")) is None
    assert last_ns_of(np.array([1.0, 2.0])) is None  # not dates
    assert pd.NaT.value == NAT


@pytest.mark.parametrize(("values", "clean"), [
    ([None, "dip", None], True),
    ([None, np.nan], False),  # NaN is missing but not None: concat may treat it differently
    ([None, pd.NaT], False),
    (["a", 1, 2.5], True),  # mixed, nothing missing
    ([None] * 40 + ["x"], True),  # long arrays take pandas' check
    ([None] * 40 + [np.nan], False),
])
def test_objects_clean(values: list, clean: bool) -> None:
    assert objects_clean([np.arange(3.0), np.array(values, dtype=object)]) is clean


def test_objects_clean_ignores_non_object_arrays() -> None:
    assert objects_clean([np.array([np.nan, 1.0]), np.array([1, 2])]) is True
