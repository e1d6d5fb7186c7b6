"""AnalysisPipeline: one worker pass streams each pair's result back as soon as it exists; candle splicing.

The loop stores, publishes and decides pair by pair while the worker goes on with later pairs: proved here
with an event the worker waits on (set only by the loop's handling of an earlier pair), never by timing.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from tradecast.core.clock import FakeClock
from tradecast.core.errors import StrategyError
from tradecast.data.analyzed import AnalyzedStore
from tradecast.trading.analysis import AnalysisPipeline

NOW = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)


def candles(rows: int, end: datetime = NOW - timedelta(seconds=30), freq: str = "1min") -> pd.DataFrame:
    dates = pd.date_range(end=end, periods=rows, freq=freq, tz="UTC")
    close = np.arange(rows, dtype="float64") + 100.0
    return pd.DataFrame({"date": dates, "open": close, "high": close, "low": close, "close": close,
                         "volume": 1.0})


class Candles:
    def __init__(self) -> None:
        self.frames: dict[tuple[str, str], pd.DataFrame] = {}

    def get(self, pair: str, timeframe: str) -> pd.DataFrame | None:
        return self.frames.get((pair, timeframe))

    def set(self, pair: str, timeframe: str, frame: pd.DataFrame) -> None:
        self.frames[(pair, timeframe)] = frame


class Strategy:
    timeframe = "1m"
    process_only_new_candles = True
    startup_candle_count = 0

    def __init__(self, events: list[tuple[str, str]], failing: set[str] = frozenset()) -> None:
        self.events = events
        self.failing = failing

    def analyze(self, frame: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        self.events.append(("analyze", metadata["pair"]))
        if metadata["pair"] in self.failing:
            raise StrategyError("boom")
        return frame.assign(enter_long=0)


def pipeline(events: list, pairs: list[str], failing: set[str] = frozenset(), market=None) -> AnalysisPipeline:
    market = market or SimpleNamespace(name="fake", clock=FakeClock(NOW))
    store = Candles()
    for pair in pairs:
        store.set(pair, "1m", candles(60))
    return AnalysisPipeline(market=market, strategy=Strategy(events, failing), candles=store,
                            analyzed=AnalyzedStore())


PAIRS = [f"P{i}/USDT" for i in range(12)]


def test_results_come_back_in_order_each_after_its_analysis():
    events: list[tuple[str, str]] = []
    pipe = pipeline(events, PAIRS)
    done = asyncio.run(pipe.analyze(PAIRS, lambda result: events.append(("result", result.pair))))
    assert done == len(PAIRS)
    assert [p for kind, p in events if kind == "result"] == PAIRS
    for pair in PAIRS:
        assert events.index(("analyze", pair)) < events.index(("result", pair))


def test_a_pair_is_decided_while_later_pairs_are_still_analysed():
    events: list[tuple[str, str]] = []
    first_decided = threading.Event()

    class Waiting(Strategy):
        def analyze(self, frame, metadata):
            if metadata["pair"] == PAIRS[3]:
                # only the loop's handling of the first pair sets this: with results handed back at the end
                # of the pass it would never be set and the wait would time out
                assert first_decided.wait(timeout=10), "the first result was not handed back while analysing"
            return super().analyze(frame, metadata)

    pipe = pipeline(events, PAIRS)
    pipe.strategy = Waiting(events)

    def on_result(result) -> None:
        events.append(("result", result.pair))
        if result.pair == PAIRS[0]:
            first_decided.set()

    assert asyncio.run(pipe.analyze(PAIRS, on_result)) == len(PAIRS)
    assert events.index(("result", PAIRS[0])) < events.index(("analyze", PAIRS[4]))


def test_a_failing_pair_is_skipped_and_the_others_go_on():
    events: list[tuple[str, str]] = []
    pipe = pipeline(events, PAIRS, failing={PAIRS[0], PAIRS[5]})
    results: list[str] = []
    done = asyncio.run(pipe.analyze(PAIRS, lambda result: results.append(result.pair)))
    assert done == len(PAIRS) - 2
    assert results == [p for p in PAIRS if p not in (PAIRS[0], PAIRS[5])]
    assert [p for kind, p in events if kind == "analyze"] == PAIRS


def test_cancelling_stops_the_worker_after_its_current_pair():
    events: list[tuple[str, str]] = []
    never = threading.Event()

    class Slow(Strategy):
        def analyze(self, frame, metadata):
            if metadata["pair"] not in PAIRS[:2]:
                never.wait(timeout=0.2)  # keeps the worker on this pair while the loop cancels
            return super().analyze(frame, metadata)

    pipe = pipeline(events, PAIRS)
    pipe.strategy = Slow(events)

    async def main() -> None:
        async def on_result(result) -> None:
            if result.pair == PAIRS[1]:
                raise asyncio.CancelledError  # as if the bot were stopped here
        with pytest.raises(asyncio.CancelledError):
            await pipe.analyze(PAIRS, on_result)

    asyncio.run(main())
    analysed = [p for kind, p in events if kind == "analyze"]
    assert 2 <= len(analysed) < len(PAIRS)  # the worker noticed and stopped early


class Market:
    """Candles of one pair from a fixed series; ``since`` as the sim market reads it."""

    name = "fake"

    def __init__(self, series: pd.DataFrame, now: datetime) -> None:
        self.series = series
        self.clock = FakeClock(now)

    async def fetch_ohlcv(self, pair, timeframe, since=None, limit=1000, include_forming=False):
        rows = self.series[self.series["date"] < pd.Timestamp(self.clock.now())]
        if since is None:
            return rows.tail(limit).reset_index(drop=True)
        return rows[rows["date"] >= pd.Timestamp(since)].head(limit).reset_index(drop=True)


def _old_splice(stored: pd.DataFrame, newer: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The splice before the fast path (reference)."""
    merged = pd.concat([stored[stored["date"] < newer["date"].iloc[0]], newer]) if not newer.empty else stored
    return merged.tail(limit).reset_index(drop=True)


@pytest.mark.parametrize("seed", range(30))
def test_fetch_newer_splices_like_the_reference(seed):
    rng = np.random.default_rng(seed)
    limit = int(rng.integers(5, 40))
    series = candles(200, end=NOW + timedelta(minutes=100))
    series["close"] = rng.normal(100, 1, len(series))
    stored_rows = int(rng.integers(1, limit + 1))
    stored_end = int(rng.integers(stored_rows, 150))
    stored = series.iloc[stored_end - stored_rows:stored_end].reset_index(drop=True)
    if rng.random() < 0.3:  # the stored last candle was a different (older) version of that candle
        stored.loc[len(stored) - 1, "close"] = -1.0
    now = stored["date"].iloc[-1].to_pydatetime() + timedelta(minutes=int(rng.integers(2, limit + 3)),
                                                            seconds=30)
    market = Market(series, now)
    pipe = AnalysisPipeline(market=market, strategy=Strategy([]), candles=Candles(), analyzed=AnalyzedStore(),
                            candle_limit=limit)
    pipe.candle_limit = limit
    last = stored["date"].iloc[-1].to_pydatetime()
    missing = (now - last).total_seconds() / 60
    ours = asyncio.run(pipe._fetch_newer("X/USDT", "1m", stored))
    if missing >= limit or missing < 2:
        return  # whole refetch / nothing to do: not the splice
    newer = asyncio.run(market.fetch_ohlcv("X/USDT", "1m", since=last, limit=int(missing) + 2))
    pd.testing.assert_frame_equal(ours, _old_splice(stored, newer, limit))
    assert len(ours) <= limit and ours["date"].is_monotonic_increasing
