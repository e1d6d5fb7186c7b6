"""merge_informative_pair's numpy fast path gives exactly the general path's frame (random frames)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradecast.core.timeframes import timeframe_to_minutes
from tradecast.data import informative as mod
from tradecast.data.informative import merge_informative_pair

TIMEFRAMES = [("5m", "5m"), ("5m", "1h"), ("1h", "4h"), ("1d", "1M"), ("1m", "1m")]
FAST = mod._merge_fast
FREQ = {"1m": "1min", "5m": "5min", "1h": "1h", "4h": "4h", "1d": "1D", "1M": "MS"}


def _dates(rng: np.random.Generator, start: pd.Timestamp, rows: int, timeframe: str, tz: str | None,
           unit: str) -> pd.Series:
    """``rows`` candle dates from ``start`` with random gaps (and, rarely, duplicates or disorder)."""
    pool = pd.date_range(start, periods=rows * 3 + 5, freq=FREQ[timeframe], tz=tz)
    picked = np.sort(rng.choice(len(pool), size=rows, replace=False))
    dates = pd.Series(pool[picked]).astype(f"datetime64[{unit}]" if tz is None else f"datetime64[{unit}, {tz}]")
    return dates


def _informative(rng: np.random.Generator, dates: pd.Series) -> pd.DataFrame:
    rows = len(dates)
    close = rng.normal(100, 5, rows)
    close[rng.random(rows) < 0.1] = np.nan  # NaNs inside matched rows stay NaN
    frame = pd.DataFrame({
        "date": dates.to_numpy(),
        "close": close,
        "rsi": rng.uniform(0, 100, rows),
        "enter_long": rng.integers(0, 2, rows),  # int: float64 once a row is unmatched
        "flag": rng.random(rows) < 0.5,  # bool: object once a row is unmatched
        "enter_tag": rng.choice(np.array(["a", None, "b"], dtype=object), rows),
        "when": dates.to_numpy(),  # a second datetime column
    })
    frame.index = rng.permutation(rows) + 1000  # not a fresh index
    return frame


def _case(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, str, str]:
    rng = np.random.default_rng(seed)
    timeframe, timeframe_inf = TIMEFRAMES[seed % len(TIMEFRAMES)]
    tz = "UTC" if rng.random() < 0.7 else None
    units = ("ns", "us", "ms")
    start = pd.Timestamp("2024-01-01")
    shift = pd.Timedelta(minutes=timeframe_to_minutes(timeframe) * int(rng.integers(0, 40)))
    base_rows, inf_rows = int(rng.integers(1, 120)), int(rng.integers(1, 60))
    base_dates = _dates(rng, start + shift, base_rows, timeframe, tz, str(rng.choice(units)))
    if rng.random() < 0.15:  # repeated base dates
        base_dates = pd.concat([base_dates, base_dates.sample(frac=0.2, random_state=seed)]).sort_values()
    if rng.random() < 0.1:  # base frame out of order
        base_dates = base_dates.sample(frac=1.0, random_state=seed)
    base = pd.DataFrame({"date": base_dates.to_numpy(), "open": rng.normal(1, 0.1, len(base_dates)),
                         "volume": rng.integers(0, 9, len(base_dates))})
    base.index = rng.integers(0, 5, len(base))  # duplicate labels: the result index must be fresh anyway
    inf_dates = _dates(rng, start, inf_rows, timeframe_inf, tz, str(rng.choice(units)))
    info = _informative(rng, inf_dates)
    return base, info, timeframe, timeframe_inf


def _both(monkeypatch, base, info, *args, **kwargs) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """(result of merge_informative_pair, result with the fast path disabled, whether the fast path ran)."""
    calls = []

    def spy(*a, **k):
        result = FAST(*a, **k)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(mod, "_merge_fast", spy)
    ours = merge_informative_pair(base, info, *args, **kwargs)
    monkeypatch.setattr(mod, "_merge_fast", lambda *a, **k: None)
    general = merge_informative_pair(base, info, *args, **kwargs)
    return ours, general, calls == [True]


OPTIONS = [
    {"ffill": True, "append_timeframe": False, "suffix": "default"},
    {"ffill": False, "append_timeframe": False, "suffix": "default"},
    {"ffill": True},
    {"ffill": False},
]


@pytest.mark.parametrize("seed", range(120))
def test_fast_path_equals_the_general_path_on_random_frames(monkeypatch, seed):
    base, info, timeframe, timeframe_inf = _case(seed)
    before_base, before_info = base.copy(), info.copy()
    fast_runs = 0
    for options in OPTIONS:
        ours, general, fast = _both(monkeypatch, base, info, timeframe, timeframe_inf, **options)
        pd.testing.assert_frame_equal(ours, general, check_exact=True)
        fast_runs += fast
    assert fast_runs == len(OPTIONS)  # sorted unique informative dates: always the fast path
    pd.testing.assert_frame_equal(base, before_base)
    pd.testing.assert_frame_equal(info, before_info)


@pytest.mark.parametrize("seed", range(40))
def test_unsorted_or_repeated_informative_keys_take_the_general_path(monkeypatch, seed):
    base, info, timeframe, timeframe_inf = _case(seed)
    rng = np.random.default_rng(seed)
    newest_first = rng.random() < 0.5 and len(info) > 1
    info = info.iloc[::-1] if newest_first else pd.concat([info, info.iloc[[0]]])  # or a repeated key
    for options in OPTIONS:
        ours, general, fast = _both(monkeypatch, base, info, timeframe, timeframe_inf, **options)
        assert not fast
        pd.testing.assert_frame_equal(ours, general)


def test_the_consumer_idiom_takes_the_fast_path_and_keeps_dtypes(monkeypatch):
    dates = pd.Series(pd.date_range("2024-01-01", periods=50, freq="5min", tz="UTC"))
    base = pd.DataFrame({"date": dates, "close": np.arange(50.0)})
    info = _informative(np.random.default_rng(1), dates.iloc[:40].reset_index(drop=True))
    ours, general, fast = _both(monkeypatch, base, info, "5m", "5m", append_timeframe=False, suffix="default")
    assert fast
    pd.testing.assert_frame_equal(ours, general)
    # rows 40..49 repeat row 39 (ffill): nothing unmatched, so ints and bools keep their dtypes
    assert ours["enter_long_default"].dtype == "int64" and ours["flag_default"].dtype == bool
    assert ours["date_default"].iloc[-1] == dates.iloc[39]
    unfilled, general, _ = _both(monkeypatch, base, info, "5m", "5m", ffill=False, append_timeframe=False,
                                 suffix="default")
    pd.testing.assert_frame_equal(unfilled, general)
    assert unfilled["enter_long_default"].dtype == "float64" and unfilled["flag_default"].dtype == object
    assert unfilled["date_default"].iloc[40:].isna().all()


def test_leading_rows_fill_from_the_latest_earlier_row_on_the_fast_path(monkeypatch):
    base = pd.DataFrame({"date": pd.date_range("2024-01-01 01:00", periods=24, freq="5min", tz="UTC")})
    hourly = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=3, freq="1h", tz="UTC"),
                           "x": [1, 2, 3]})
    ours, general, fast = _both(monkeypatch, base, hourly, "5m", "1h")
    assert fast
    pd.testing.assert_frame_equal(ours, general)
    assert ours["x_1h"].tolist() == [1] * 11 + [2] * 12 + [3]


def test_name_collisions_and_naive_vs_aware_dates_take_the_general_path(monkeypatch):
    base = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=6, freq="5min", tz="UTC"), "x": 1.0})
    info = base.assign(y=2.0)
    ours, general, fast = _both(monkeypatch, base, info, "5m", "5m", append_timeframe=False)
    assert not fast and "date_x" in ours.columns
    pd.testing.assert_frame_equal(ours, general)
    clash = base.assign(x_default=3.0)
    ours, general, fast = _both(monkeypatch, clash, info, "5m", "5m", append_timeframe=False, suffix="default")
    assert not fast
    pd.testing.assert_frame_equal(ours, general)
    naive = info.assign(date=info["date"].dt.tz_localize(None))
    with pytest.raises(ValueError, match="time-zone aware"):
        merge_informative_pair(base, naive, "5m", "5m", append_timeframe=False, suffix="default")


def test_the_result_shares_no_memory_with_the_inputs():
    base = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=6, freq="5min", tz="UTC"), "x": 1.0})
    info = base.assign(y=2.0)
    merged = merge_informative_pair(base, info, "5m", "5m", append_timeframe=False, suffix="p")
    merged.loc[0, "x"] = 99.0
    merged.loc[0, "y_p"] = 99.0
    assert base.loc[0, "x"] == 1.0 and info.loc[0, "y"] == 2.0


def test_other_time_zones_compare_as_utc(monkeypatch):
    utc = pd.date_range("2024-01-01", periods=48, freq="5min", tz="UTC")
    base = pd.DataFrame({"date": utc.tz_convert("Europe/Berlin"), "close": np.arange(48.0)})
    hourly = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC")
                           .astype("datetime64[us, UTC]").tz_convert("Asia/Tokyo"), "x": [1.0, 2.0, 3.0, 4.0]})
    ours, general, fast = _both(monkeypatch, base, hourly, "5m", "1h")
    assert fast
    pd.testing.assert_frame_equal(ours, general)
    assert ours["x_1h"].iloc[:11].isna().all()  # the 00:00 UTC candle closes with the 00:55 base candle
    assert ours["x_1h"].iloc[11:].tolist() == [1.0] * 12 + [2.0] * 12 + [3.0] * 12 + [4.0]
    same_unit = hourly.assign(date=hourly["date"].astype("datetime64[ns, Asia/Tokyo]"))
    ours, general, fast = _both(monkeypatch, base, same_unit, "5m", "1h")
    assert fast
    pd.testing.assert_frame_equal(ours, general)
