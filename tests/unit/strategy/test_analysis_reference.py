"""The fast paths of the helpers and of ``IStrategy.analyze`` give bit-identical results to plain pandas.

Every reference below is the straightforward computation (Series arithmetic, ``shift``, ``.loc`` with a new
column, the full signal normalisation); results are compared exactly: values, dtypes, column order, index.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import talib

from tradecast.core.clock import FakeClock
from tradecast.market.sim import SimMarket, candles_to_frame
from tradecast.strategy import IStrategy, bollinger_bands, crossed_above, crossed_below, typical_price
from tradecast.strategy.builtin.producer import ProducerStrategy
from tradecast.strategy.signals import finalise_signal_columns


def sim_candles(pair: str, limit: int = 1000) -> pd.DataFrame:
    market = SimMarket(seed=7, clock=FakeClock(datetime(2026, 3, 4, 5, 0, tzinfo=UTC)))
    return candles_to_frame(market.candles(pair, "5m", limit=limit))


def noisy_series(seed: int, rows: int = 300, index: pd.Index | None = None) -> pd.Series:
    rng = np.random.default_rng(seed)
    values = rng.normal(50, 10, rows)
    values[rng.random(rows) < 0.05] = np.nan
    return pd.Series(values, index=index if index is not None else pd.RangeIndex(rows))


def reference_cross(first: pd.Series, second: pd.Series | float, *, above: bool) -> pd.Series:
    other = second if isinstance(second, pd.Series) else pd.Series(float(second), index=first.index)
    if above:
        return (first > other) & (first.shift(1) <= other.shift(1))
    return (first < other) & (first.shift(1) >= other.shift(1))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("level", [30, 50.5, np.int64(45), np.float32(55.25)])
def test_crossings_with_a_number_match_the_series_expression(seed, level):
    series = noisy_series(seed, index=pd.RangeIndex(10, 310))
    pd.testing.assert_series_equal(crossed_above(series, level), reference_cross(series, level, above=True))
    pd.testing.assert_series_equal(crossed_below(series, level), reference_cross(series, level, above=False))


@pytest.mark.parametrize("seed", range(8))
def test_crossings_of_two_series_match_the_series_expression(seed):
    first, second = noisy_series(seed), noisy_series(seed + 100)
    pd.testing.assert_series_equal(crossed_above(first, second), reference_cross(first, second, above=True))
    pd.testing.assert_series_equal(crossed_below(first, second), reference_cross(first, second, above=False))


def test_crossings_of_tiny_series():
    for rows in (0, 1):
        series = pd.Series(np.arange(rows, dtype="float64"))
        assert crossed_above(series, 0).tolist() == [False] * rows


@pytest.mark.parametrize("seed", range(5))
def test_typical_price_is_bit_identical_to_the_series_expression(seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(100, 5, 500) for name in ("high", "low", "close")},
                         index=pd.RangeIndex(3, 503))
    frame.iloc[7, 1] = np.nan
    expected = (frame["high"] + frame["low"] + frame["close"]) / 3
    pd.testing.assert_series_equal(typical_price(frame), expected, check_exact=True)


def test_typical_price_of_integer_columns_keeps_the_pandas_result():
    frame = pd.DataFrame({"high": [3, 6], "low": [0, 3], "close": [3, 4]})
    pd.testing.assert_series_equal(typical_price(frame), (frame["high"] + frame["low"] + frame["close"]) / 3)


def test_bollinger_bands_are_talib_bbands_exactly_and_own_their_labels():
    series = noisy_series(3, rows=400).ffill().bfill()
    bands = bollinger_bands(series, window=20, stds=2)
    upper, mid, lower = talib.BBANDS(series.to_numpy(), timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0)
    expected = pd.DataFrame({"lower": lower, "mid": mid, "upper": upper}, index=series.index)
    pd.testing.assert_frame_equal(bands, expected, check_exact=True)
    bands.columns.name = "changed"  # a user renaming one result's labels must not touch the next result
    assert bollinger_bands(series).columns.name is None


def reference_producer_analysis(candles: pd.DataFrame, buy_rsi: int = 30, sell_rsi: int = 70) -> pd.DataFrame:
    """ProducerStrategy written out with plain pandas and TA-Lib, as the framework ran it before."""
    frame = candles.copy()
    close = frame["close"].to_numpy()
    frame["rsi"] = talib.RSI(close)
    typical = (frame["high"] + frame["low"] + frame["close"]) / 3
    upper, mid, lower = talib.BBANDS(typical.to_numpy(), timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0)
    frame["bb_lowerband"] = lower
    frame["bb_middleband"] = mid
    frame["bb_upperband"] = upper
    frame["tema"] = talib.TEMA(close, timeperiod=9)
    frame["enter_long"] = 0
    frame["enter_tag"] = pd.Series(None, index=frame.index, dtype=object)
    enter = (reference_cross(frame["rsi"], buy_rsi, above=True) & (frame["tema"] <= frame["bb_middleband"])
             & (frame["tema"] > frame["tema"].shift(1)) & (frame["volume"] > 0))
    frame.loc[enter, "enter_long"] = 1
    frame["exit_long"] = 0
    frame["exit_tag"] = pd.Series(None, index=frame.index, dtype=object)
    exit_ = (reference_cross(frame["rsi"], sell_rsi, above=True) & (frame["tema"] > frame["bb_middleband"])
             & (frame["volume"] > 0))
    frame.loc[exit_, "exit_long"] = 1
    return frame


@pytest.mark.parametrize("pair", ["BTC/USDT", "ETH/USDT", "SIM001/USDT", "SIM077/USDT"])
def test_producer_strategy_analysis_is_bit_identical_to_the_plain_pandas_reference(pair):
    candles = sim_candles(pair)
    before = candles.copy()
    strategy = ProducerStrategy({})
    analysed = strategy.analyze(candles, {"pair": pair})
    pd.testing.assert_frame_equal(analysed, reference_producer_analysis(candles), check_exact=True)
    pd.testing.assert_frame_equal(candles, before, check_exact=True)  # the input is left alone
    assert not np.shares_memory(analysed["close"].to_numpy(), candles["close"].to_numpy())
    # the second analysis of the same candles gives the same frame again
    pd.testing.assert_frame_equal(strategy.analyze(candles, {"pair": pair}), analysed, check_exact=True)


class Writer(IStrategy):
    """Writes whatever signal columns the test gives it, to exercise the normalisation paths."""

    stoploss = -0.1

    def __init__(self, entry, exit_=None) -> None:
        super().__init__({})
        self.entry, self.exit_ = entry, exit_

    def populate_indicators(self, dataframe, metadata):
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        return self.entry(dataframe)

    def populate_exit_trend(self, dataframe, metadata):
        return self.exit_(dataframe) if self.exit_ else dataframe


def _set(**columns):
    def write(frame):
        for name, value in columns.items():
            frame[name] = value(frame) if callable(value) else value
        return frame
    return write


CASES = {
    "nothing written": _set(),
    "tags on some rows": lambda f: f.assign(enter_tag=np.where(f.index % 7 == 0, "dip", None)),
    "empty and NaN tags": lambda f: f.assign(enter_tag=np.where(f.index % 2 == 0, np.array("", dtype=object),
                                                                 np.nan)),
    "float flags": _set(enter_long=lambda f: (f.index % 5 == 0).astype("float64")),
    "bool flags": _set(enter_long=lambda f: f.index % 5 == 0),
    "flag 2 is not 1": _set(enter_long=lambda f: (f.index % 3).astype("int64")),
    "legacy buy": _set(buy=lambda f: (f.index % 4 == 0).astype("int64"), buy_tag="old"),
    "short columns": _set(enter_short=1),
    "dropped tag column": lambda f: f.drop(columns=["enter_tag"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_analyze_normalises_signals_as_the_full_normalisation_does(case):
    candles = sim_candles("ETH/USDT", 200)
    strategy = Writer(CASES[case])
    analysed = strategy.analyze(candles, {"pair": "ETH/USDT"})
    # the reference: the same hooks, then always the full normalisation
    frame = candles.copy()
    frame["enter_long"] = 0
    frame["enter_tag"] = pd.Series(None, index=frame.index, dtype=object)
    frame = CASES[case](frame)
    frame["exit_long"] = 0
    frame["exit_tag"] = pd.Series(None, index=frame.index, dtype=object)
    created = {"enter_long", "enter_tag", "exit_long", "exit_tag"}
    expected, _ = finalise_signal_columns(frame, created)
    pd.testing.assert_frame_equal(analysed, expected, check_exact=True)
