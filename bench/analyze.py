"""Benchmark: refresh and analyse N pairs x 1,000 candles with ProducerStrategy on the sim market.

Prints, per pair count: wall time of the first full refresh+analysis, of a steady-state pass (one new candle),
and the worst event-loop stall seen meanwhile (a probe task sleeps 5 ms in a loop and records how late it wakes).

Target (issue 2): 500 pairs analysed in under 2 s on 2 cores, no event-loop stall above 50 ms.

    .venv/bin/python bench/analyze.py [--pairs 10,100,500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from datetime import UTC, datetime

from tradecast.config import Config
from tradecast.core.clock import FakeClock
from tradecast.core.runtime import freeze_startup_objects
from tradecast.data.analyzed import AnalyzedStore
from tradecast.data.candles import CandleStore
from tradecast.market.sim import SimMarket
from tradecast.strategy import load_strategy
from tradecast.trading.analysis import AnalysisPipeline


class StallProbe:
    """Measures how late a 5 ms sleep wakes up: the longest time the loop was blocked."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, loop.time() - start - 0.005)

    def __enter__(self) -> StallProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def bench(count: int) -> tuple[float, float, float]:
    clock = FakeClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    market = SimMarket(seed=42, clock=clock)
    await market.start()
    pairs = sorted(market.markets())[:count]
    config = Config.model_validate({"strategy": "ProducerStrategy", "stake_currency": "USDT", "stake_amount": 10,
                                    "max_open_trades": 3, "exchange": {"name": "sim", "pair_whitelist": pairs[:1]}})
    strategy = load_strategy("ProducerStrategy", config)
    pipeline = AnalysisPipeline(market=market, strategy=strategy, candles=CandleStore(), analyzed=AnalyzedStore(),
                                candle_limit=1000)
    freeze_startup_objects()  # as Bot.start does once the bot is built
    done: list[str] = []

    def on_result(result) -> None:
        done.append(result.pair)

    with StallProbe() as probe:
        await asyncio.sleep(0.02)
        start = time.perf_counter()
        await pipeline.refresh([(p, strategy.timeframe) for p in pairs])
        await pipeline.analyze(pairs, on_result)
        first = time.perf_counter() - start
        clock.advance(300)  # one new 5m candle
        start = time.perf_counter()
        await pipeline.refresh([(p, strategy.timeframe) for p in pairs])
        await pipeline.analyze(pairs, on_result)
        steady = time.perf_counter() - start
        await asyncio.sleep(0.02)
    assert len(done) == 2 * count, f"analysed {len(done)} of {2 * count}"
    await market.stop()
    return first, steady, probe.worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", default="10,100,500")
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'pairs':>6} | {'first pass (s)':>14} | {'new candle (s)':>14} | {'max loop stall (ms)':>19}")
    print(f"{'-' * 6}-+-{'-' * 14}-+-{'-' * 14}-+-{'-' * 19}")
    for count in (int(x) for x in args.pairs.split(",")):
        first, steady, stall = asyncio.run(bench(count))
        print(f"{count:>6} | {first:>14.3f} | {steady:>14.3f} | {stall * 1000:>19.1f}")


if __name__ == "__main__":
    main()
