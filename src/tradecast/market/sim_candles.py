"""Candles of the simulated market: timeframe boundaries and OHLCV built from a :class:`PricePath`.

Timeframes up to :data:`EXACT_MAX_MINUTES` are aggregated from the one-minute path, so a 1h high is exactly
the highest of its 1m highs and a 1h volume the sum of its 1m volumes. Larger timeframes sample the exact path
on a coarser grid (12 to 24 points per candle) and add a small random excursion for what happens
between the points, which keeps a daily candle about as cheap as a five-minute one. Opens and closes are
the exact path everywhere, so the close of a 1d candle is the close of its last 1m candle.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from tradecast.core.timeframes import timeframe_to_minutes
from tradecast.market.sim_prices import PricePath, hash64, uniforms3_from

#: timeframes up to this many minutes are exact aggregations of one-minute candles
EXACT_MAX_MINUTES = 60
_WEEK_SHIFT_MIN = 4 * 1440  # ccxt weeks start on Monday; 1970-01-01 was a Thursday
_MONTH_MINUTES = 43200  # nominal, only used to choose the sampling grid of 1M
#: intra-minute excursion beyond open/close, in units of the minute sigma
_WIGGLE = 0.6
#: extra volume in busy minutes: per minute sigma of absolute move
_VOLUME_PER_MOVE = 0.35


@dataclass(frozen=True, slots=True)
class TimeframeGrid:
    """How candles of one timeframe are laid out in time and sampled from the path."""

    timeframe: str
    minutes: int  # nominal length
    shift: int  # offset of candle boundaries from the epoch, in minutes
    monthly: bool
    level: int  # the path is sampled every 2**level minutes
    aligned: bool  # every boundary lies on the sampling grid

    def index_at(self, minute: float) -> int:
        """Index of the candle that contains ``minute`` (minutes since the epoch)."""
        if self.monthly:
            day = np.datetime64(math.floor(minute), "m").astype("datetime64[M]")
            return int(day.astype(np.int64))
        return (math.floor(minute) - self.shift) // self.minutes

    def bounds(self, first: int, count: int) -> np.ndarray:
        """Open minutes of candles ``first .. first + count`` (``count + 1`` values: the last is a close)."""
        idx = np.arange(first, first + count + 1, dtype=np.int64)
        if self.monthly:
            return idx.astype("datetime64[M]").astype("datetime64[m]").astype(np.int64)
        return idx * self.minutes + self.shift


@functools.lru_cache(maxsize=64)
def timeframe_grid(timeframe: str) -> TimeframeGrid:
    """The layout of ``timeframe`` (which must be valid; see ``core.timeframes``)."""
    minutes = timeframe_to_minutes(timeframe)
    monthly = timeframe.endswith("M")
    shift = _WEEK_SHIFT_MIN if timeframe.endswith("w") else 0
    if minutes <= EXACT_MAX_MINUTES:
        return TimeframeGrid(timeframe, minutes, shift, monthly, 0, True)
    nominal = _MONTH_MINUTES * int(timeframe[:-1]) if monthly else minutes
    # prefer a grid that holds every boundary (opens and closes come free) with 12..24 points per candle,
    # otherwise about 24 points per candle and exact evaluation at the boundaries; more points cost more
    # than they add (the excursion below stands in for what happens between them)
    for level in range(12, -1, -1):
        step = 1 << level
        if nominal % step == 0 and shift % step == 0 and 12 <= nominal // step <= 24:
            return TimeframeGrid(timeframe, minutes, shift, monthly, level, not monthly)
    level = max(0, math.ceil(math.log2(nominal / 24)))
    return TimeframeGrid(timeframe, minutes, shift, monthly, level, False)


@dataclass(slots=True)
class CandleArrays:
    """Candles as parallel arrays; ``open_minute`` is the candle open in minutes since the epoch."""

    open_minute: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.open_minute)

    def slice(self, start: int, stop: int) -> CandleArrays:
        return CandleArrays(*(a[start:stop] for a in self._arrays()))

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return (self.open_minute, self.open, self.high, self.low, self.close, self.volume)

    @staticmethod
    def concat(parts: list[CandleArrays]) -> CandleArrays:
        columns = zip(*(p._arrays() for p in parts), strict=True)
        return CandleArrays(*(np.concatenate(col) for col in columns))


def build_candles(
    path: PricePath,
    base_price: float,
    volume_per_minute: float,
    grid: TimeframeGrid,
    bounds: np.ndarray,
    end: float | None = None,
) -> CandleArrays:
    """Candles between consecutive ``bounds`` (int minutes); with ``end``, the last one is cut at ``end``.

    ``end`` (real minutes, within the last candle) makes the last candle the forming one: it holds only the
    path up to ``end``.
    """
    if grid.level == 0:
        logs = _exact_candles(path, volume_per_minute, bounds, end)
    else:
        logs = _sampled_candles(path, volume_per_minute, grid, bounds, end)
    o, h, low, c, v = logs
    # one exp over the stacked price columns is cheaper than four
    prices = np.exp(np.stack([o, h, low, c]))
    prices *= base_price
    return CandleArrays(bounds[:-1].copy(), prices[0], prices[1], prices[2], prices[3], v)


def _exact_candles(
    path: PricePath, volume_per_minute: float, bounds: np.ndarray, end: float | None
) -> tuple[np.ndarray, ...]:
    start = int(bounds[0])
    if end is None:
        points = path.grid(start, int(bounds[-1]), 0)
        partial = 1.0
    else:
        # the forming minute: the path is linear within a minute, so interpolate up to `end`
        minute = math.floor(end)
        partial = end - minute
        points = path.grid(start, minute + 1, 0)
        points[-1] = points[-2] + (points[-1] - points[-2]) * partial
    moves = np.diff(points)
    minutes = np.arange(start, start + len(moves), dtype=np.int64)
    u_high, u_low, u_vol = uniforms3_from(hash64(path.noise_key, minutes))
    regime = path.vol_minutes(start, len(moves))
    scale = regime * (path.sigma_minute * _WIGGLE)
    minute_high = np.maximum(points[:-1], points[1:])
    minute_high += u_high * scale
    minute_low = np.minimum(points[:-1], points[1:])
    minute_low -= u_low * scale
    volume = (0.25 + 1.5 * u_vol) * regime
    volume *= 1.0 + np.abs(moves) * (_VOLUME_PER_MOVE / path.sigma_minute)
    volume *= volume_per_minute
    if end is not None:
        # the forming minute has only seen part of its excursion and volume
        top, bottom = max(points[-2], points[-1]), min(points[-2], points[-1])
        minute_high[-1] = top + (minute_high[-1] - top) * partial
        minute_low[-1] = bottom - (bottom - minute_low[-1]) * partial
        volume[-1] *= partial
    starts = bounds[:-1] - start
    closes = bounds[1:] - start
    if end is not None:
        closes[-1] = len(points) - 1
    return (
        points[starts],
        np.maximum.reduceat(minute_high, starts),
        np.minimum.reduceat(minute_low, starts),
        points[closes],
        np.add.reduceat(volume, starts),
    )


def _sampled_candles(
    path: PricePath, volume_per_minute: float, grid: TimeframeGrid, bounds: np.ndarray, end: float | None
) -> tuple[np.ndarray, ...]:
    level, step = grid.level, 1 << grid.level
    last = end if end is not None else float(bounds[-1])
    k_lo = -((-int(bounds[0])) >> level)
    k_hi = math.floor(last) >> level
    samples = path.grid(k_lo, k_hi, level)
    times = np.arange(k_lo, k_hi + 1, dtype=np.int64) << level
    if end is None and grid.aligned:
        edge_logs = samples[(bounds - (k_lo << level)) >> level]
    else:
        edge_points = bounds.astype(np.float64)
        if end is not None:
            edge_points[-1] = end
        edge_logs = path.at(edge_points)
    opens, closes = edge_logs[:-1], edge_logs[1:]
    starts = np.searchsorted(times, bounds[:-1], side="left")
    inside = int(np.searchsorted(times, bounds[-1], side="left"))
    samples, times = samples[:inside], times[:inside]  # a sample on the last close belongs to the next candle
    empty = starts == np.append(starts[1:], inside)
    # the sentinels make reduceat valid when the last candle has no sample yet
    inner_high = np.maximum.reduceat(np.append(samples, -np.inf), starts)
    inner_low = np.minimum.reduceat(np.append(samples, np.inf), starts)
    inner_high[empty] = -np.inf
    inner_low[empty] = np.inf
    u_high, u_low, _ = uniforms3_from(hash64(path.noise_key ^ (level << 56), bounds[:-1]))
    # sampling every `step` minutes hides part of the extremes; the factors below were tuned so that these
    # highs and lows match the one-minute candles on average (tests/unit/market/test_sim_prices.py)
    excursion = path.vol_at(bounds[:-1]) * (path.sigma_minute * math.sqrt(step))
    if end is not None:
        # the forming candle has only seen part of its between-sample excursion
        span = float(bounds[-1] - bounds[-2])
        excursion[-1] *= min(1.0, (end - float(bounds[-2])) / span)
    highs = np.maximum(np.maximum(opens, closes), inner_high) + (0.1 + 0.4 * u_high) * excursion
    lows = np.minimum(np.minimum(opens, closes), inner_low) - (0.1 + 0.4 * u_low) * excursion
    # each sample stands for the `step` minutes after it
    _, _, u_vol = uniforms3_from(hash64(path.noise_key ^ (level << 48), times))
    sample_volume = (0.25 + 1.5 * u_vol) * (volume_per_minute * step)
    if len(times):
        sample_volume *= path.vol_at(times)
    volumes = np.add.reduceat(np.append(sample_volume, 0.0), starts)
    volumes[empty] = 0.0
    return opens, highs, lows, closes, volumes


__all__ = ["EXACT_MAX_MINUTES", "CandleArrays", "TimeframeGrid", "build_candles", "timeframe_grid"]
