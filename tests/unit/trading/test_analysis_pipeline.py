"""AnalysisPipeline on the sim market: refresh shortcuts, result hand-over."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pandas as pd
import pytest

from tradecast.core.clock import FakeClock
from tradecast.data.analyzed import AnalyzedStore
from tradecast.data.candles import CandleStore
from tradecast.market.sim import SimMarket
from tradecast.strategy.builtin.producer import ProducerStrategy
from tradecast.trading.analysis import AnalysisPipeline

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
