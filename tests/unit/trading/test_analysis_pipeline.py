"""AnalysisPipeline on the sim market: refresh shortcuts, result hand-over."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import pandas as pd
import pytest

from tradecast.core.clock import FakeClock
from tradecast.data.analyzed import AnalyzedStore
from tradecast.data.candles import CandleStore
from tradecast.market.sim import SimMarket
from tradecast.strategy.builtin.producer import ProducerStrategy
from tradecast.trading.analysis import INLINE_BUDGET_S, INLINE_MAX_PAIRS, AnalysisPipeline

START = datetime(2026, 5, 6, 7, 0, tzinfo=UTC)
PAIRS = ["BTC/USDT", "ETH/USDT", "SIM001/USDT", "SIM002/USDT", "SIM003/USDT"]


def build(limit: int = 300) -> tuple[AnalysisPipeline, SimMarket]:
    market = SimMarket(seed=11, clock=FakeClock(START))
    pipeline = AnalysisPipeline(market=market, strategy=ProducerStrategy({}), candles=CandleStore(),
                                analyzed=AnalyzedStore(), candle_limit=limit)
    return pipeline, market


@pytest.mark.parametrize("candles_later", [1, 2, 3, 17, 299, 400])
def test_sim_refresh_gives_the_candles_a_splice_of_the_new_rows_gives(candles_later):
    pipeline, market = build()

    async def run() -> None:
        await pipeline.refresh([(pair, "5m") for pair in PAIRS])
        stored = {pair: pipeline.candles.get(pair, "5m") for pair in PAIRS}
        market.clock.advance(300 * candles_later)
        assert await pipeline.refresh([(pair, "5m") for pair in PAIRS]) == [(pair, "5m") for pair in PAIRS]
        for pair in PAIRS:
            last = stored[pair]["date"].iloc[-1].to_pydatetime()
            newer = await market.fetch_ohlcv(pair, "5m", since=last, limit=candles_later + 2)
            spliced = pd.concat([stored[pair][stored[pair]["date"] < newer["date"].iloc[0]], newer])
            expected = spliced.tail(pipeline.candle_limit).reset_index(drop=True)
            pd.testing.assert_frame_equal(pipeline.candles.get(pair, "5m"), expected, check_exact=True)

    asyncio.run(run())


def test_an_unknown_pair_fails_alone_and_the_others_refresh():
    pipeline, _ = build()
    targets = [(pair, "5m") for pair in [*PAIRS[:2], "NOPE/USDT", *PAIRS[2:]]]
    assert asyncio.run(pipeline.refresh(targets)) == [(pair, "5m") for pair in PAIRS]


def test_every_result_comes_back_once_in_order_and_is_stored():
    pipeline, market = build()
    seen: list[str] = []

    async def on_result(result) -> None:
        await asyncio.sleep(0.001)  # a slow listener: later results pile up and come with one wake-up
        seen.append(result.pair)
        assert result.new_candle
        assert result.frame is pipeline.analyzed.get(result.pair, "5m")[0]

    async def run() -> tuple[int, int, int]:
        await pipeline.refresh([(pair, "5m") for pair in PAIRS])
        first = await pipeline.analyze(PAIRS + PAIRS[:2], on_result)  # repeats are analysed once
        again = await pipeline.analyze(PAIRS, on_result)  # no new candle: nothing to do
        market.clock.advance(300)
        await pipeline.refresh([(pair, "5m") for pair in PAIRS])
        return first, again, await pipeline.analyze(PAIRS, on_result)

    assert asyncio.run(run()) == (len(PAIRS), 0, len(PAIRS))
    assert seen == PAIRS + PAIRS


def test_a_stored_frame_without_dates_still_fails_the_pass_loudly():
    pipeline, _ = build()

    async def run() -> None:
        await pipeline.refresh([(pair, "5m") for pair in PAIRS])
        pipeline.candles.set(PAIRS[2], "5m", pipeline.candles.get(PAIRS[2], "5m").drop(columns=["date"]))
        await pipeline.analyze(PAIRS, lambda result: None)

    with pytest.raises(KeyError):
        asyncio.run(run())


class ThreadNoting(ProducerStrategy):
    """ProducerStrategy that notes which thread analysed each pair, and can burn CPU past the inline budget."""

    def __init__(self, config) -> None:
        super().__init__(config)
        self.threads: list[int] = []
        self.burn_s = 0.0

    def analyze(self, dataframe, metadata=None):
        self.threads.append(threading.get_ident())
        if self.burn_s:
            until = time.thread_time() + self.burn_s
            while time.thread_time() < until:
                pass
        return super().analyze(dataframe, metadata)


def build_noting() -> tuple[AnalysisPipeline, SimMarket, ThreadNoting]:
    market = SimMarket(seed=11, clock=FakeClock(START))
    strategy = ThreadNoting({})
    pipeline = AnalysisPipeline(market=market, strategy=strategy, candles=CandleStore(),
                                analyzed=AnalyzedStore(), candle_limit=300)
    return pipeline, market, strategy


def test_a_short_pass_of_a_fast_strategy_runs_on_the_loop_with_the_same_results():
    pipeline, market, strategy = build_noting()
    worker_pipeline, _ = build()  # never inline: it analyses all pairs in one pass of more than it allows
    loop_thread = threading.get_ident()

    async def run() -> list[str]:
        await pipeline.refresh([(pair, "5m") for pair in PAIRS])
        await worker_pipeline.refresh([(pair, "5m") for pair in PAIRS])
        assert not pipeline.runs_inline(2)  # nothing measured yet: the worker
        await pipeline.analyze(PAIRS[:1], lambda result: None)
        assert strategy.threads[-1] != loop_thread
        between: list[str] = []
        order: list[str] = []

        async def other_work() -> None:
            between.append(order[-1])  # the loop ran this after the first analysis, before the second

        assert pipeline.runs_inline(len(PAIRS[1:]))
        task = asyncio.create_task(other_work())
        await pipeline.analyze(PAIRS[1:], lambda result: order.append(result.pair))
        await task
        assert strategy.threads[-4:] == [loop_thread] * 4
        assert order == PAIRS[1:] and between == [PAIRS[1]]
        await worker_pipeline.analyze(PAIRS, lambda result: None)
        for pair in PAIRS:
            pd.testing.assert_frame_equal(pipeline.analyzed.get(pair, "5m")[0],
                                          worker_pipeline.analyzed.get(pair, "5m")[0], check_exact=True)
        market.clock.advance(300)
        await pipeline.refresh([(pair, "5m") for pair in PAIRS])
        return [result.pair for result in await _collect(pipeline, PAIRS[:3])]

    assert asyncio.run(run()) == PAIRS[:3]  # a new candle: analysed again, on the loop


async def _collect(pipeline: AnalysisPipeline, pairs: list[str]) -> list:
    results: list = []
    await pipeline.analyze(pairs, results.append)
    return results


def test_a_slow_strategy_or_a_long_pass_goes_to_the_worker():
    pipeline, market, strategy = build_noting()
    loop_thread = threading.get_ident()
    many = list(SimMarket().markets())[:INLINE_MAX_PAIRS + 1]

    async def run() -> None:
        await pipeline.refresh([(pair, "5m") for pair in many])
        await pipeline.analyze(many[:1], lambda result: None)
        assert pipeline.runs_inline(INLINE_MAX_PAIRS) and not pipeline.runs_inline(INLINE_MAX_PAIRS + 1)
        await pipeline.analyze(many, lambda result: None)  # more pairs than a loop pass may hold
        assert loop_thread not in strategy.threads
        strategy.burn_s = INLINE_BUDGET_S * 1.5
        market.clock.advance(300)
        await pipeline.refresh([(pair, "5m") for pair in many])
        await pipeline.analyze(many[:1], lambda result: None)  # inline: its time was not known yet
        assert strategy.threads[-1] == loop_thread
        assert not pipeline.runs_inline(1)  # that analysis took longer than the budget
        strategy.threads.clear()
        await pipeline.analyze(many[1:3], lambda result: None)
        assert len(strategy.threads) == 2 and loop_thread not in strategy.threads

    asyncio.run(run())


def test_an_inline_strategy_error_skips_that_pair_only(caplog):
    pipeline, _, _ = build_noting()

    async def run() -> list[str]:
        await pipeline.refresh([(pair, "5m") for pair in PAIRS])
        await pipeline.analyze(PAIRS[:1], lambda result: None)
        pipeline.candles.set(PAIRS[2], "5m", pipeline.candles.get(PAIRS[2], "5m").drop(columns=["close"]))
        assert pipeline.runs_inline(3)
        return [result.pair for result in await _collect(pipeline, PAIRS[1:4])]

    assert asyncio.run(run()) == [PAIRS[1], PAIRS[3]]
    assert f"{PAIRS[2]}: analysis skipped" in caplog.text
