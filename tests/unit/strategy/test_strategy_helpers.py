"""crossed_above / crossed_below / typical_price / bollinger_bands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import talib

from tradecast.strategy import bollinger_bands, crossed_above, crossed_below, typical_price


def test_crossed_above_and_below_series():
    a = pd.Series([1.0, 2.0, 3.0, 2.0, 1.0, 2.0])
    b = pd.Series([2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    assert crossed_above(a, b).tolist() == [False, False, True, False, False, False]
    assert crossed_below(a, b).tolist() == [False, False, False, False, True, False]


def test_crossed_against_a_scalar_and_nan():
    rsi = pd.Series([np.nan, 25.0, 35.0, 29.0, 30.0, 31.0], index=list("abcdef"))
    up = crossed_above(rsi, 30)
    assert list(up.index) == list("abcdef")
    assert up.tolist() == [False, False, True, False, False, True]
    assert crossed_below(rsi, 30).tolist() == [False, False, False, True, False, False]


def test_typical_price():
    df = pd.DataFrame({"high": [3.0, 6.0], "low": [0.0, 3.0], "close": [3.0, 3.0]})
    assert typical_price(df).tolist() == [2.0, 4.0]


def test_bollinger_bands_use_population_std_like_talib():
    series = pd.Series(np.random.default_rng(1).normal(100, 2, 200))
    bands = bollinger_bands(series, window=20, stds=2)
    assert list(bands.columns) == ["lower", "mid", "upper"]
    assert bands.iloc[:19].isna().all().all()
    upper, mid, lower = talib.BBANDS(series.to_numpy(), timeperiod=20, nbdevup=2, nbdevdn=2, matype=0)
    np.testing.assert_allclose(bands["upper"].to_numpy()[19:], upper[19:], rtol=1e-9)
    np.testing.assert_allclose(bands["mid"].to_numpy()[19:], mid[19:], rtol=1e-9)
    np.testing.assert_allclose(bands["lower"].to_numpy()[19:], lower[19:], rtol=1e-9)


def test_bollinger_window_and_stds_matter():
    series = pd.Series([1.0, 3.0, 1.0, 3.0])
    bands = bollinger_bands(series, window=2, stds=1)
    assert bands["mid"].tolist()[1:] == [2.0, 2.0, 2.0]
    assert bands["upper"].tolist()[1:] == [3.0, 3.0, 3.0]
    assert bands["lower"].tolist()[1:] == [1.0, 1.0, 1.0]
