"""merge_informative_pair: freqtrade semantics (fact sheet section 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradecast.data.informative import merge_informative_pair
from tradecast.strategy import merge_informative_pair as reexported


def candles(start: str, periods: int, freq: str, tz: str | None = "UTC", base: float = 0.0) -> pd.DataFrame:
    dates = pd.date_range(start, periods=periods, freq=freq, tz=tz)
    values = np.arange(periods, dtype="float64") + base
    return pd.DataFrame({"date": dates, "open": values, "close": values, "volume": 1.0})


def test_reexported_from_strategy():
    assert reexported is merge_informative_pair


def test_same_timeframe_with_suffix_is_the_producer_idiom():
    base = candles("2024-01-01", 10, "5min")
    producer = base[["date", "close"]].assign(rsi=np.linspace(10, 90, 10), enter_long=[0, 1] * 5)
    merged = merge_informative_pair(base, producer, "5m", "5m", append_timeframe=False, suffix="default")
    assert list(merged.columns) == [
        "date", "open", "close", "volume",
        "date_default", "close_default", "rsi_default", "enter_long_default",
    ]
    assert (merged["date_default"] == merged["date"]).all()
    assert merged["rsi_default"].tolist() == producer["rsi"].tolist()
    assert merged["enter_long_default"].tolist() == [0, 1] * 5


def test_slower_timeframe_has_no_look_ahead():
    base = candles("2024-01-01", 36, "5min")  # 00:00 .. 02:55
    hourly = candles("2024-01-01", 3, "1h", base=100.0)  # 00:00, 01:00, 02:00
    merged = merge_informative_pair(base, hourly, "5m", "1h")
    assert "close_1h" in merged.columns and "date_1h" in merged.columns
    assert "date_merge_1h" not in merged.columns
    by_date = merged.set_index("date")
    # the 00:00 hourly candle closes at 01:00: visible from the 00:55 candle (closing at 01:00), no earlier
    assert np.isnan(by_date.loc[pd.Timestamp("2024-01-01 00:50", tz="UTC"), "close_1h"])
    assert by_date.loc[pd.Timestamp("2024-01-01 00:55", tz="UTC"), "close_1h"] == 100.0
    assert by_date.loc[pd.Timestamp("2024-01-01 01:50", tz="UTC"), "close_1h"] == 100.0
    assert by_date.loc[pd.Timestamp("2024-01-01 01:55", tz="UTC"), "close_1h"] == 101.0
    # every informative candle used closed no later than the base candle it is attached to
    seen = merged.dropna(subset=["date_1h"])
    inf_close = seen["date_1h"] + pd.Timedelta("1h")
    base_close = seen["date"] + pd.Timedelta("5min")
    assert (inf_close <= base_close).all()
    assert list(merged.index) == list(range(len(base)))


def test_ffill_false_leaves_unmatched_rows_empty_and_upcasts_ints():
    base = candles("2024-01-01", 24, "5min")
    hourly = candles("2024-01-01", 2, "1h").assign(count=[7, 8])
    merged = merge_informative_pair(base, hourly, "5m", "1h", ffill=False)
    assert merged["count_1h"].notna().sum() == 2
    assert merged.loc[11, "count_1h"] == 7 and merged.loc[23, "count_1h"] == 8
    assert merged["count_1h"].dtype == "float64"


def test_ffill_matches_pandas_merge_ordered_when_first_row_matches():
    rng = np.random.default_rng(3)
    base = candles("2024-01-01", 200, "5min")
    base = base[rng.random(200) > 0.3].reset_index(drop=True)  # gaps in the base frame
    inf = candles("2024-01-01", 200, "5min", base=1000.0)
    inf = inf[(rng.random(200) > 0.5) | (inf["date"] == base["date"].iloc[0])].reset_index(drop=True)
    inf.loc[5, "close"] = np.nan  # NaN inside a matched row stays NaN
    ours = merge_informative_pair(base, inf, "5m", "5m", append_timeframe=False, suffix="inf")
    renamed = inf.rename(columns=lambda c: f"{c}_inf").assign(date_merge_inf=inf["date"])
    expected = pd.merge_ordered(
        base, renamed, fill_method="ffill", left_on="date", right_on="date_merge_inf", how="left"
    ).drop(columns="date_merge_inf")
    pd.testing.assert_frame_equal(ours, expected)


def test_row_matching_skips_informative_rows_matching_no_base_date():
    base = candles("2024-01-01", 4, "10min")  # 00:00 00:10 00:20 00:30
    inf = pd.DataFrame({
        "date": pd.to_datetime(["2024-01-01 00:00", "2024-01-01 00:15", "2024-01-01 00:20"], utc=True),
        "x": [1.0, 2.0, np.nan],
    })
    merged = merge_informative_pair(base, inf, "10m", "10m", append_timeframe=False, suffix="i")
    # 00:10 repeats 00:00's row; 00:15 matches nothing and is never used; 00:20 matched with x NaN stays NaN
    assert merged["x_i"].tolist()[:2] == [1.0, 1.0]
    assert np.isnan(merged["x_i"].iloc[2])
    assert merged["date_i"].iloc[3] == pd.Timestamp("2024-01-01 00:20", tz="UTC")
    assert np.isnan(merged["x_i"].iloc[3])


def test_leading_rows_are_filled_from_the_last_earlier_informative_row():
    base = candles("2024-01-01 01:00", 24, "5min")  # 01:00 .. 02:55; first hourly match at 01:55
    hourly = candles("2024-01-01", 3, "1h", base=100.0)  # keys 00:55, 01:55, 02:55
    merged = merge_informative_pair(base, hourly, "5m", "1h")
    # rows 01:00..01:50 take the 00:00 candle (key 00:55 < 01:55): past data only
    assert merged.loc[:10, "close_1h"].tolist() == [100.0] * 11
    assert (merged.loc[:10, "date_1h"] == pd.Timestamp("2024-01-01 00:00", tz="UTC")).all()
    assert merged.loc[11, "close_1h"] == 101.0
    assert merged.loc[23, "close_1h"] == 102.0


def test_leading_rows_stay_empty_without_earlier_informative_rows_or_without_ffill():
    base = candles("2024-01-01", 24, "5min")
    hourly = candles("2024-01-01", 2, "1h")
    merged = merge_informative_pair(base, hourly, "5m", "1h")
    assert merged.loc[:10, "close_1h"].isna().all()
    late = candles("2024-01-01 01:00", 24, "5min")
    unfilled = merge_informative_pair(late, candles("2024-01-01", 3, "1h"), "5m", "1h", ffill=False)
    assert unfilled.loc[:10, "close_1h"].isna().all()


def test_monthly_informative_uses_calendar_months():
    base = candles("2024-01-01", 70, "1D")
    monthly = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-02-01"], utc=True), "m": [1.0, 2.0]})
    merged = merge_informative_pair(base, monthly, "1d", "1M").set_index("date")
    assert np.isnan(merged.loc[pd.Timestamp("2024-01-30", tz="UTC"), "m_1M"])
    assert merged.loc[pd.Timestamp("2024-01-31", tz="UTC"), "m_1M"] == 1.0  # closes with January
    assert merged.loc[pd.Timestamp("2024-02-28", tz="UTC"), "m_1M"] == 1.0
    assert merged.loc[pd.Timestamp("2024-02-29", tz="UTC"), "m_1M"] == 2.0  # leap year month end


def test_suffix_and_append_timeframe_together_is_refused():
    base = candles("2024-01-01", 5, "5min")
    with pytest.raises(ValueError, match=r"append_timeframe.*suffix"):
        merge_informative_pair(base, base, "5m", "5m", append_timeframe=True, suffix="x")


def test_faster_informative_timeframe_is_refused():
    with pytest.raises(ValueError, match="faster timeframe"):
        merge_informative_pair(candles("2024-01-01", 5, "1h"), candles("2024-01-01", 5, "5min"), "1h", "5m")


def test_empty_informative_gives_empty_columns():
    base = candles("2024-01-01", 6, "5min")
    empty = candles("2024-01-01", 0, "1h")
    merged = merge_informative_pair(base, empty, "5m", "1h")
    assert len(merged) == 6
    assert {"date_1h", "close_1h", "volume_1h"} <= set(merged.columns)
    assert merged["close_1h"].isna().all()


def test_missing_date_columns_are_clear_errors():
    base = candles("2024-01-01", 6, "5min")
    with pytest.raises(ValueError, match="informative dataframe has no 'date' column"):
        merge_informative_pair(base, pd.DataFrame(), "5m", "5m")
    with pytest.raises(ValueError, match="base dataframe has no 'date'"):
        merge_informative_pair(base.drop(columns="date"), base, "5m", "5m")


def test_naive_and_aware_dates_are_refused_but_resolutions_may_differ():
    base = candles("2024-01-01", 12, "5min")
    with pytest.raises(ValueError, match="time-zone aware"):
        merge_informative_pair(base, candles("2024-01-01", 2, "1h", tz=None), "5m", "1h")
    coarse = candles("2024-01-01", 2, "1h")
    coarse["date"] = coarse["date"].astype("datetime64[ms, UTC]")
    merged = merge_informative_pair(base, coarse, "5m", "1h")
    assert merged.loc[11, "close_1h"] == 0.0


def test_no_renaming_collides_like_pandas():
    base = candles("2024-01-01", 3, "5min")
    merged = merge_informative_pair(base, base, "5m", "5m", append_timeframe=False)
    assert "date" not in merged.columns
    assert {"date_x", "date_y", "close_x", "close_y"} <= set(merged.columns)


def test_inputs_are_not_modified_and_index_is_fresh():
    base = candles("2024-01-01", 12, "5min")
    base.index = range(100, 112)
    hourly = candles("2024-01-01", 1, "1h")
    before_base, before_inf = base.copy(), hourly.copy()
    merged = merge_informative_pair(base, hourly, "5m", "1h")
    pd.testing.assert_frame_equal(base, before_base)
    pd.testing.assert_frame_equal(hourly, before_inf)
    assert list(merged.index) == list(range(12))
