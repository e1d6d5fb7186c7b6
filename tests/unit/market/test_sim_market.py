"""SimMarket: pairs, candles, tickers, time."""

from __future__ import annotations

import itertools
import subprocess
import sys
import types
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from tradecast.core import clock as clock_module
from tradecast.core.clock import FakeClock, ScaledClock
from tradecast.core.errors import ConfigError
from tradecast.core.timeframes import (
    SUPPORTED_TIMEFRAMES,
    candle_open,
    last_closed_candle_open,
    next_candle_open,
)
from tradecast.market.sim import SimMarket

NOW = datetime(2026, 11, 20, 13, 37, 21, tzinfo=UTC)

_HASH_SCRIPT = """
import asyncio, hashlib
from datetime import UTC, datetime
from tradecast.core.clock import FakeClock
from tradecast.market.sim import SimMarket

async def digest(seed):
    market = SimMarket(seed=seed, clock=FakeClock(datetime(2026, 11, 20, 13, 37, 21, tzinfo=UTC)))
    h = hashlib.sha256()
    for pair, tf in [("BTC/USDT", "5m"), ("SIM123/USDT", "1h"), ("DOGE/USDT", "1d"), ("ETH/USDT", "1w")]:
        frame = await market.fetch_ohlcv(pair, tf, limit=300, include_forming=True)
        h.update(frame.to_csv(index=False, float_format="%.17g").encode())
    return h.hexdigest()

print(asyncio.run(digest(7)), asyncio.run(digest(8)))
"""


def market(**kwargs: object) -> SimMarket:
    return SimMarket(clock=FakeClock(NOW), **kwargs)  # type: ignore[arg-type]


def test_identical_frames_in_two_processes_and_different_seeds_differ() -> None:
    runs = [
        subprocess.run([sys.executable, "-c", _HASH_SCRIPT], capture_output=True, text=True, timeout=120)
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    first, second = (run.stdout.split() for run in runs)
    assert first == second
    assert first[0] != first[1]  # seed 7 and seed 8


def test_pairs_real_generated_and_extra() -> None:
    sim = market(extra_pairs=["FOO/USDT", "ETH/BTC"], generated_pairs=500)
    pairs = sim.markets()
    assert len(pairs) >= 530
    assert {"BTC/USDT", "ETH/USDT", "SOL/USDT", "NEAR/USDT", "SIM001/USDT", "SIM500/USDT"} <= set(pairs)
    assert "SIM501/USDT" not in pairs
    assert pairs["FOO/USDT"].base == "FOO" and pairs["ETH/BTC"].quote == "BTC"
    assert 10_000 < sim.pair_params("BTC/USDT").base_price < 200_000
    assert sim.pair_params("DOGE/USDT").base_price < 1
    assert sim.pair_params("ETH/BTC").base_price == pytest.approx(3200 / 65000)
    generated = [sim.pair_params(p).base_price for p in pairs if p.startswith("SIM")]
    assert min(generated) < 0.01 and max(generated) > 100  # spread over magnitudes
    info = pairs["BTC/USDT"]
    assert info.fee == 0.001 and info.min_cost == 5.0
    assert info.price_precision is not None and info.amount_precision is not None
    assert info.price_precision < 65000 / 1000 and info.amount_precision * 65000 < 5


def test_bad_pairs_and_timeframes_are_config_errors() -> None:
    sim = market()
    with pytest.raises(ConfigError, match="unknown pair 'NOPE/USDT' on the sim market"):
        sim.pair_params("NOPE/USDT")
    with pytest.raises(ConfigError, match="timeframe '7m' is not supported"):
        sim.candles("BTC/USDT", "7m")
    with pytest.raises(ConfigError, match="BASE/QUOTE"):
        market(extra_pairs=["BTCUSDT"])


@pytest.mark.parametrize("timeframe", SUPPORTED_TIMEFRAMES)
async def test_alignment_and_ohlc_invariants(timeframe: str) -> None:
    sim = market()
    for pair in ("BTC/USDT", "SIM042/USDT"):
        frame = await sim.fetch_ohlcv(pair, timeframe, limit=200)
        assert list(frame.columns) == ["date", "open", "high", "low", "close", "volume"]
        assert str(frame["date"].dtype) == "datetime64[ns, UTC]"
        assert all(frame[c].dtype == np.float64 for c in ["open", "high", "low", "close", "volume"])
        assert len(frame) == 200
        dates = [d.to_pydatetime() for d in frame["date"]]
        assert dates[-1] == last_closed_candle_open(NOW, timeframe)
        for earlier, later in itertools.pairwise(dates):
            assert candle_open(earlier, timeframe) == earlier
            assert next_candle_open(earlier, timeframe) == later
        assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
        assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
        assert (frame["low"] > 0).all() and (frame["volume"] > 0).all()
        assert frame["volume"].nunique() > 150 and frame["close"].nunique() > 150
        # continuous: each candle opens where the previous one closed
        np.testing.assert_allclose(frame["open"].to_numpy()[1:], frame["close"].to_numpy()[:-1], rtol=1e-9)


@pytest.mark.parametrize("timeframe", SUPPORTED_TIMEFRAMES)
async def test_forming_candle_of_every_timeframe(timeframe: str) -> None:
    sim = market()
    frame = await sim.fetch_ohlcv("LINK/USDT", timeframe, limit=3, include_forming=True)
    forming, previous = frame.iloc[-1], frame.iloc[-2]
    assert forming["date"] == pd.Timestamp(candle_open(NOW, timeframe))
    assert forming["open"] == pytest.approx(previous["close"], rel=1e-9)
    assert forming["close"] == pytest.approx(sim.price_at("LINK/USDT", NOW), rel=1e-9)
    assert forming["high"] >= max(forming["open"], forming["close"])
    assert forming["low"] <= min(forming["open"], forming["close"])
    assert forming["volume"] >= 0


async def test_forming_candle_grows_with_the_clock() -> None:
    clock = FakeClock(datetime(2026, 11, 20, 13, 35, 10, tzinfo=UTC))
    sim = SimMarket(clock=clock)
    closed = await sim.fetch_ohlcv("ETH/USDT", "5m", limit=3)
    with_forming = await sim.fetch_ohlcv("ETH/USDT", "5m", limit=3, include_forming=True)
    assert closed["date"].iloc[-1] == pd.Timestamp("2026-11-20 13:30", tz="UTC")
    assert with_forming["date"].iloc[-1] == pd.Timestamp("2026-11-20 13:35", tz="UTC")
    pd.testing.assert_frame_equal(with_forming.iloc[:2], closed.iloc[1:].reset_index(drop=True))
    snapshots = [with_forming.iloc[-1]]
    for _ in range(3):
        clock.advance(70)
        snapshots.append((await sim.fetch_ohlcv("ETH/USDT", "5m", limit=1, include_forming=True)).iloc[-1])
    assert len({s["close"] for s in snapshots}) == 4
    assert all(s["open"] == snapshots[0]["open"] for s in snapshots)
    assert all(a["volume"] < b["volume"] for a, b in itertools.pairwise(snapshots))
    assert all(a["high"] <= b["high"] and a["low"] >= b["low"] for a, b in itertools.pairwise(snapshots))
    ticker = await sim.fetch_ticker("ETH/USDT")
    assert ticker.last == pytest.approx(snapshots[-1]["close"], rel=1e-12)
    clock.advance(90)  # 13:40:10: the 13:35 candle is closed now
    final = (await sim.fetch_ohlcv("ETH/USDT", "5m", limit=1)).iloc[-1]
    assert final["date"] == snapshots[0]["date"] and final["open"] == snapshots[0]["open"]
    assert final["high"] >= snapshots[-1]["high"] and final["volume"] > snapshots[-1]["volume"]


async def test_limit_and_since() -> None:
    sim = market()
    newest = await sim.fetch_ohlcv("BTC/USDT", "1h", limit=50)
    assert len(newest) == 50 and newest["date"].iloc[-1] == pd.Timestamp("2026-11-20 12:00", tz="UTC")
    since = datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
    window = await sim.fetch_ohlcv("BTC/USDT", "1h", since=since, limit=5)
    assert list(window["date"]) == [pd.Timestamp(since + timedelta(hours=i)) for i in range(5)]
    pd.testing.assert_frame_equal(window, newest[newest["date"] >= since].iloc[:5].reset_index(drop=True))
    unaligned = await sim.fetch_ohlcv("BTC/USDT", "1h", since=since + timedelta(minutes=1), limit=2)
    assert unaligned["date"].iloc[0] == pd.Timestamp(since + timedelta(hours=1))
    # a window that reaches now stops at the last closed candle (or the forming one when asked)
    recent = await sim.fetch_ohlcv("BTC/USDT", "1h", since=datetime(2026, 11, 20, 10, tzinfo=UTC), limit=100)
    assert len(recent) == 3
    assert len(await sim.fetch_ohlcv("BTC/USDT", "1h", since=datetime(2026, 11, 20, 10, tzinfo=UTC),
                                     limit=100, include_forming=True)) == 4  # fmt: skip
    future = await sim.fetch_ohlcv("BTC/USDT", "1h", since=NOW + timedelta(days=1))
    assert future.empty and list(future.columns) == list(newest.columns)
    assert str(future["date"].dtype) == "datetime64[ns, UTC]"
    assert (await sim.fetch_ohlcv("BTC/USDT", "1h", limit=0)).empty


async def test_cache_gives_equal_independent_frames() -> None:
    clock = FakeClock(NOW)
    sim = SimMarket(clock=clock)
    first = await sim.fetch_ohlcv("SOL/USDT", "5m", limit=500)
    first.loc[0, "close"] = -1.0  # the caller owns its frame
    clock.advance(3 * 300)
    grown = await sim.fetch_ohlcv("SOL/USDT", "5m", limit=500)
    cold = await SimMarket(clock=clock).fetch_ohlcv("SOL/USDT", "5m", limit=500)
    pd.testing.assert_frame_equal(grown, cold)
    older = await sim.fetch_ohlcv("SOL/USDT", "5m", since=datetime(2026, 11, 1, tzinfo=UTC), limit=20)
    older_cold = await SimMarket(clock=clock).fetch_ohlcv(
        "SOL/USDT", "5m", since=datetime(2026, 11, 1, tzinfo=UTC), limit=20
    )
    pd.testing.assert_frame_equal(older, older_cold)


async def test_ticker_spread() -> None:
    sim = market()
    for pair in ("BTC/USDT", "SIM001/USDT", "SIM250/USDT"):
        ticker = await sim.fetch_ticker(pair)
        assert ticker.bid < ticker.last < ticker.ask
        spread_bps = (ticker.ask - ticker.bid) / ticker.last * 10_000
        assert 1 <= spread_bps <= 10
        assert ticker.time == NOW
        assert ticker.last == pytest.approx(sim.price_at(pair, NOW), rel=1e-12)


def test_default_clock_is_scaled_from_midnight(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = SimMarket(speed=60)
    assert isinstance(sim.clock, ScaledClock)
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert sim.clock.epoch == midnight
    assert sim.clock.to_wall_seconds(60) == pytest.approx(1.0)  # one simulated minute per wall second
    wall = midnight.timestamp() + 30.0
    monkeypatch.setattr(clock_module, "time", types.SimpleNamespace(time=lambda: wall))
    assert sim.clock.timestamp() == pytest.approx(midnight.timestamp() + 30 * 60)
    monkeypatch.setattr(clock_module, "time", types.SimpleNamespace(time=lambda: wall + 1.0))
    assert sim.clock.timestamp() == pytest.approx(midnight.timestamp() + 31 * 60)
    # speed 1: simulated time is wall time whatever the epoch, so candle dates are real dates
    real = SimMarket(speed=1, epoch=datetime(2020, 1, 1, tzinfo=UTC))
    assert real.clock.timestamp() == pytest.approx(wall + 1.0)
