"""DbExecutor: calls run on one 'tradecast-db' thread, in submission order, and stop() drains the queue."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from tradecast.core.errors import PersistenceError
from tradecast.persistence import Database, DbExecutor, TradeRepository


@pytest.fixture
def repo(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path}/e.sqlite")
    yield TradeRepository(db)
    db.close()


async def test_runs_on_one_named_thread_in_order(repo: TradeRepository, make_trade) -> None:
    executor = DbExecutor(repo)
    executor.start()
    names: list[str] = []

    def record(i: int) -> int:
        names.append(threading.current_thread().name)
        return i

    results = await asyncio.gather(*(executor.run(record, i) for i in range(20)))
    assert results == list(range(20))
    assert len(set(names)) == 1 and names[0].startswith("tradecast-db")
    assert names[0] != threading.current_thread().name
    trade = await executor.run(repo.save_trade, make_trade())
    assert await executor.run("count_trades", is_open=True) == 1
    assert (await executor.run(repo.get_trade, trade.id)).pair == "BTC/USDT"
    executor.stop()


async def test_errors_propagate(repo: TradeRepository) -> None:
    executor = DbExecutor(repo)

    def boom() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await executor.run(boom)  # also starts the executor on first use
    executor.stop()


async def test_stop_waits_for_queued_writes(repo: TradeRepository, make_trade) -> None:
    executor = DbExecutor(repo)
    executor.start()
    pending = [asyncio.ensure_future(executor.run(repo.save_trade, make_trade())) for _ in range(10)]
    await asyncio.sleep(0)  # let the futures submit their calls
    executor.stop()
    assert repo.count_trades() == 10
    await asyncio.gather(*pending)
    with pytest.raises(PersistenceError, match="stopped"):
        await executor.run(repo.count_trades)
    executor.stop()  # idempotent
