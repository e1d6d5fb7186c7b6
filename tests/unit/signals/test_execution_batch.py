"""SignalExecutor.batch: many signals, one database commit, same decisions as one by one."""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.signals.test_execution import harness, signal  # noqa: F401  (harness is a fixture)
from tradecast.core.errors import PersistenceError
from tradecast.persistence import Database, TradeRepository


def stored(harness) -> tuple[int, dict[str, int]]:  # noqa: F811
    """Trades and records by outcome as another connection sees them (only what was committed)."""
    other = Database(harness.database.url, read_only=True)
    try:
        repo = TradeRepository(other)
        return repo.count_trades(), repo.count_signals_by_outcome()
    finally:
        other.close()


async def test_a_batch_decides_like_single_calls_and_commits_once_at_the_end(harness) -> None:  # noqa: F811
    await harness.run(signal("buy", pair="SOL/USDT", id="before"))
    signals = [
        signal("buy", id="b1"),
        signal("sell", id="s1"),
        signal("buy", id="b1"),  # same id again in the batch: duplicate, trades nothing
        signal("hold", id="before"),  # recorded before the batch: duplicate naming its trade
        signal("hold", id="h1"),
        signal("sell", pair="ETH/USDT", id="r1"),  # nothing to sell: rejected
    ]
    outcomes = []
    async with harness.run.batch([item.id for item in signals[:4]]):  # h1 and r1: looked up when they come
        for item in signals:
            outcomes.append(await harness.run(item))
        assert stored(harness) == (1, {"executed": 1})  # nothing of the batch is visible yet
    assert [o.status for o in outcomes] == ["executed", "executed", "duplicate", "duplicate", "ignored", "rejected"]
    assert outcomes[1].trade_id == outcomes[0].trade_id == outcomes[2].trade_id
    assert outcomes[3].trade_id is not None and outcomes[3].trade_id != outcomes[0].trade_id
    assert stored(harness) == (2, {"executed": 3, "ignored": 1, "rejected": 1})
    trade = harness.repo.get_trade(outcomes[0].trade_id)
    assert not trade.is_open and harness.repo.get_signal("s1").trade_id == trade.id
    assert [t.pair for t in harness.engine.open_trades.values()] == ["SOL/USDT"]
    # after the batch: back to one transaction per signal, and the batch's ids are duplicates
    assert (await harness.run(signal("buy", id="s1"))).status == "duplicate"


async def test_a_failed_batch_commit_reloads_the_engine_and_raises(harness, monkeypatch) -> None:  # noqa: F811
    await harness.run(signal("buy", pair="SOL/USDT", id="before"))
    end_batch = harness.repo.end_batch

    def failing_end_batch(commit: bool = True) -> None:
        end_batch(commit=False)
        raise PersistenceError("disk I/O error")

    monkeypatch.setattr(harness.repo, "end_batch", failing_end_batch)
    with pytest.raises(PersistenceError, match="disk I/O"):
        async with harness.run.batch(["b1"]):
            assert (await harness.run(signal("buy", id="b1"))).status == "executed"
            assert len(harness.engine.open_trades) == 2
    # memory agrees with the database again: only the trade committed before the batch is open
    assert [t.pair for t in harness.engine.open_trades.values()] == ["SOL/USDT"]
    assert stored(harness) == (1, {"executed": 1})
    monkeypatch.setattr(harness.repo, "end_batch", end_batch)
    assert (await harness.run(signal("buy", id="b1"))).status == "executed"  # redelivered: executed now


async def test_cancelled_while_the_batch_opens_leaves_no_batch_open(harness) -> None:  # noqa: F811
    entered = False

    async def body() -> None:
        nonlocal entered
        async with harness.run.batch(["b1"]):
            entered = True

    task = asyncio.create_task(body())
    await asyncio.sleep(0)  # the task is now waiting for begin_batch on the database thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await harness.db.run(lambda: None)  # everything queued before this has run
    assert not entered and harness.database._batch is None
    assert (await harness.run(signal("buy", id="b1"))).status == "executed"
    assert stored(harness) == (1, {"executed": 1})
