"""The price path and candle maths of the simulated market, without the market object."""

from __future__ import annotations

import numpy as np
import pytest

from tradecast.core.timeframes import SUPPORTED_TIMEFRAMES
from tradecast.market.sim_candles import EXACT_MAX_MINUTES, build_candles, timeframe_grid
from tradecast.market.sim_prices import PricePath

NOV_2026 = 29_380_000  # minutes since the epoch, mid November 2026


def test_grid_equals_direct_evaluation_at_every_level() -> None:
    path = PricePath(1, "BTC/USDT", 0.03)
    for level in (0, 3, 5, 8, 11):
        lo = NOV_2026 >> level
        grid = path.grid(lo, lo + 200, level)
        direct = path.at((np.arange(lo, lo + 201) << level).astype(float))
        np.testing.assert_allclose(grid, direct, rtol=0, atol=1e-12)


def test_values_do_not_depend_on_the_range_or_the_cache() -> None:
    path = PricePath(1, "ETH/USDT", 0.03)
    wide = path.grid(NOV_2026 - 300_000, NOV_2026 + 5000, 0)  # too wide for the cache: computed afresh
    narrow = path.grid(NOV_2026 + 17, NOV_2026 + 400, 0)
    fresh = PricePath(1, "ETH/USDT", 0.03).grid(NOV_2026 + 17, NOV_2026 + 400, 0)
    assert np.array_equal(narrow, wide[300_017:300_401])
    assert np.array_equal(narrow, fresh)


def test_between_minutes_the_path_is_linear() -> None:
    path = PricePath(3, "SOL/USDT", 0.05)
    left, right = path.grid(NOV_2026, NOV_2026 + 1, 0)
    assert path.at_one(NOV_2026 + 0.25) == pytest.approx(left + 0.25 * (right - left), abs=1e-12)


def test_seed_and_pair_change_the_path() -> None:
    base = PricePath(1, "BTC/USDT", 0.03).grid(NOV_2026, NOV_2026 + 100)
    assert not np.allclose(base, PricePath(2, "BTC/USDT", 0.03).grid(NOV_2026, NOV_2026 + 100))
    assert not np.allclose(base, PricePath(1, "ETH/USDT", 0.03).grid(NOV_2026, NOV_2026 + 100))


def test_daily_volatility_is_near_the_target_and_varies() -> None:
    daily, hourly_scaled = [], []
    for seed in range(24):
        path = PricePath(seed, "SIM001/USDT", 0.03)
        start = (NOV_2026 >> 5) + seed * 4000
        points = path.grid(start, start + 45 * 200, 5)  # 32-minute grid, 45 points per day
        daily.append(np.diff(points[::45]))
        hourly_scaled.append(np.diff(points[::2]) * np.sqrt(1440 / 64))
    daily_std = np.concatenate(daily).std()
    assert 0.022 < daily_std < 0.04
    assert 0.02 < np.concatenate(hourly_scaled).std() < 0.045
    # a volatility regime: some days are much calmer than others
    by_day = np.abs(np.concatenate(daily))
    assert np.percentile(by_day, 90) > 4 * np.percentile(by_day, 25)


@pytest.mark.parametrize("timeframe", [tf for tf in SUPPORTED_TIMEFRAMES if tf != "1m"])
def test_candles_agree_with_one_minute_candles(timeframe: str) -> None:
    path = PricePath(5, "BTC/USDT", 0.03)
    grid = timeframe_grid(timeframe)
    first = grid.index_at(NOV_2026) - 3
    big = build_candles(path, 50_000.0, 10.0, grid, grid.bounds(first, 3))
    minute_grid = timeframe_grid("1m")
    bounds = grid.bounds(first, 3)
    for i in range(3):
        minutes = build_candles(
            path, 50_000.0, 10.0, minute_grid, np.arange(bounds[i], bounds[i + 1] + 1, dtype=np.int64)
        )
        assert big.open[i] == pytest.approx(minutes.open[0], rel=1e-12)
        assert big.close[i] == pytest.approx(minutes.close[-1], rel=1e-12)
        if grid.minutes <= EXACT_MAX_MINUTES:
            # exact aggregation of the one-minute path
            assert big.high[i] == pytest.approx(minutes.high.max(), rel=1e-12)
            assert big.low[i] == pytest.approx(minutes.low.min(), rel=1e-12)
            assert big.volume[i] == pytest.approx(minutes.volume.sum(), rel=1e-9)
        else:
            # sampled every 2**level minutes: extremes within about the path's move over one step
            tolerance = 2 * 0.03 * np.sqrt((1 << grid.level) / 1440)
            assert abs(np.log(big.high[i] / minutes.high.max())) < tolerance
            assert abs(np.log(big.low[i] / minutes.low.min())) < tolerance
            assert big.volume[i] == pytest.approx(minutes.volume.sum(), rel=0.5)


def test_forming_candle_only_sees_the_path_up_to_now() -> None:
    path = PricePath(5, "BTC/USDT", 0.03)
    grid = timeframe_grid("5m")
    start = (NOV_2026 // 5) * 5
    bounds = np.array([start, start + 5], dtype=np.int64)
    closed = build_candles(path, 100.0, 1.0, grid, bounds)
    early = build_candles(path, 100.0, 1.0, grid, bounds, end=start + 1.5)
    later = build_candles(path, 100.0, 1.0, grid, bounds, end=start + 4.0)
    assert early.open[0] == later.open[0] == closed.open[0]
    assert early.close[0] == pytest.approx(100.0 * np.exp(path.at_one(start + 1.5)), rel=1e-12)
    assert early.volume[0] < later.volume[0] < closed.volume[0]
    # on a minute boundary the forming candle is exactly the minutes so far
    minute_bounds = np.arange(start, start + 5, dtype=np.int64)
    minutes = build_candles(path, 100.0, 1.0, timeframe_grid("1m"), minute_bounds)
    assert later.volume[0] == pytest.approx(minutes.volume.sum(), rel=1e-12)
    assert later.high[0] == pytest.approx(max(minutes.high.max(), minutes.close[-1]), rel=1e-12)
    assert later.close[0] == pytest.approx(minutes.close[-1], rel=1e-12)
    assert minutes.volume[0] < early.volume[0] < minutes.volume[:2].sum()
    assert early.high[0] <= later.high[0] <= closed.high[0]
    assert early.low[0] >= later.low[0] >= closed.low[0]
