"""Indicator helpers a freqtrade user knows from ``qtpylib``, written for tradecast.

* :func:`crossed_above` / :func:`crossed_below`: boolean Series, True on the candle where the cross happens.
* :func:`typical_price`: ``(high + low + close) / 3``.
* :func:`bollinger_bands`: rolling mean +/- ``stds`` rolling standard deviations. The deviation is the
  **population** standard deviation (``ddof=0``), as TA-Lib's ``BBANDS`` computes it; rows before a full
  window are NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import talib

__all__ = ["bollinger_bands", "crossed_above", "crossed_below", "typical_price"]

#: column labels of :func:`bollinger_bands`; each result gets a copy (an Index's ``name`` can be set)
_BAND_COLUMNS = pd.Index(["lower", "mid", "upper"])


def _values(other: pd.Series | float | int, like: pd.Series) -> np.ndarray | float:
    """``other`` as float64 values: a number stays a scalar (numpy broadcasts it), anything else an array."""
    if isinstance(other, int | float | np.number) and not isinstance(other, bool | np.bool_):
        return float(other)  # what a float64 Series filled with it would hold, without building one
    if isinstance(other, pd.Series):
        return np.asarray(other, dtype="float64")
    return np.asarray(pd.Series(other, index=like.index, dtype="float64"))


def crossed_above(series1: pd.Series, series2: pd.Series | float | int) -> pd.Series:
    """True where ``series1`` is above ``series2`` now and was at or below it on the previous row.

    ``series2`` may be a Series of the same index or a number. Rows involving NaN are False.
    """
    return _crossing(series1, series2, above=True)


def crossed_below(series1: pd.Series, series2: pd.Series | float | int) -> pd.Series:
    """True where ``series1`` is below ``series2`` now and was at or above it on the previous row."""
    return _crossing(series1, series2, above=False)


def _crossing(series1: pd.Series, series2: pd.Series | float | int, *, above: bool) -> pd.Series:
    # numpy instead of Series arithmetic: this runs a few times per pair per candle on the hot path
    first = np.asarray(series1, dtype="float64")
    second = _values(series2, series1)
    result = np.zeros(len(first), dtype=bool)
    if len(first) > 1:
        if isinstance(second, np.ndarray):
            now_second, before_second = second[1:], second[:-1]
        else:
            now_second = before_second = second
        if above:
            now, before = first[1:] > now_second, first[:-1] <= before_second
        else:
            now, before = first[1:] < now_second, first[:-1] >= before_second
        np.logical_and(now, before, out=result[1:])  # comparisons with NaN are False, as with pandas
    return pd.Series(result, index=series1.index)


def typical_price(dataframe: pd.DataFrame) -> pd.Series:
    """``(high + low + close) / 3`` per row."""
    high, low, close = dataframe["high"], dataframe["low"], dataframe["close"]
    if not high.dtype == low.dtype == close.dtype == np.float64:
        return (high + low + close) / 3
    # float64 columns (candles): the same operations in the same order on the arrays, without the three
    # intermediate Series
    total = high.to_numpy() + low.to_numpy()
    total += close.to_numpy()
    total /= 3
    return pd.Series(total, index=dataframe.index)


def bollinger_bands(series: pd.Series, window: int = 20, stds: float = 2) -> pd.DataFrame:
    """Bollinger bands of ``series``: a frame with ``lower``, ``mid`` and ``upper`` columns, same index.

    ``mid`` is the ``window``-row simple moving average; the bands are ``mid -/+ stds`` population standard
    deviations over the same window.
    """
    if isinstance(window, int) and window >= 2:
        # TA-Lib's BBANDS computes the same population-std bands about 20x faster than pandas rolling
        upper, mid, lower = talib.BBANDS(np.asarray(series, dtype="float64"), timeperiod=window,
                                         nbdevup=float(stds), nbdevdn=float(stds), matype=0)
        # one 2-D block (each column a contiguous row of it) builds the frame in a third of the time
        return pd.DataFrame(np.stack([lower, mid, upper]).T, index=series.index,
                            columns=_BAND_COLUMNS.copy())
    rolling = series.rolling(window=window, min_periods=window)
    mid = rolling.mean()
    deviation = rolling.std(ddof=0)
    return pd.DataFrame(
        {"lower": mid - stds * deviation, "mid": mid, "upper": mid + stds * deviation}, index=series.index
    )
