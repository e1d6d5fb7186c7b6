"""Batches: several repository calls in one transaction (SQLite and PostgreSQL, like the other tests)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest

from tradecast.model import SignalRecord
from tradecast.persistence import Database, DbExecutor, DuplicateSignal, TradeRepository

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def record(signal_id: str, outcome: str = "executed", trade_id: int | None = None) -> SignalRecord:
    return SignalRecord(signal_id=signal_id, pair="BTC/USDT", action="buy", outcome=outcome, reason=None,
                        received_at=T0, trade_id=trade_id, payload={"id": signal_id})


def count_elsewhere(db_url: str) -> tuple[int, int]:
    """Trades and signal records as another connection (another process) sees them."""
    other = Database(db_url, read_only=True)
    try:
        repo = TradeRepository(other)
        return repo.count_trades(), sum(repo.count_signals_by_outcome().values())
    finally:
        other.close()


def test_a_batch_commits_all_its_calls_at_once(db_url: str, repo: TradeRepository, make_trade) -> None:
    repo.save_signal(record("old"))
    known = repo.begin_batch(["old", "new-1", "new-2"])
    assert set(known) == {"old"} and known["old"].outcome == "executed"
    first, second = make_trade(), make_trade("ETH/USDT")
    with repo.database.joined():
        repo.commit(trades=[first], signals=[record("new-1")])
        repo.commit(trades=[second], signals=[record("new-2")])
        assert first.id is not None and second.id == first.id + 1
        # the batch reads its own writes; nobody else sees them before the commit
        assert repo.get_signal("new-1").trade_id == first.id
        assert repo.count_trades() == 2
    assert repo.count_trades() == 0  # a call outside the batch reads committed data
    assert count_elsewhere(db_url) == (0, 1)
    repo.end_batch()
    assert count_elsewhere(db_url) == (2, 3)
    assert repo.get_trade(second.id) == second


def test_a_failing_call_in_a_batch_undoes_only_itself(db_url: str, repo: TradeRepository, make_trade) -> None:
    repo.begin_batch()
    kept, refused = make_trade(), make_trade("ETH/USDT")
    with repo.database.joined():
        repo.commit(trades=[kept], signals=[record("s1")])
        with pytest.raises(DuplicateSignal):
            repo.commit(trades=[refused], signals=[record("s1")])
        assert refused.id is None and refused.orders[0].id is None  # ids restored, as outside a batch
        repo.commit(signals=[record("s2", outcome="ignored")])
    repo.end_batch()
    assert count_elsewhere(db_url) == (1, 2)
    assert [t.pair for t in repo.trades()] == ["BTC/USDT"]


def test_a_rolled_back_batch_leaves_nothing(db_url: str, repo: TradeRepository, make_trade) -> None:
    repo.begin_batch(["x"])
    with repo.database.joined():
        repo.commit(trades=[make_trade()], signals=[record("x")])
    repo.end_batch(commit=False)
    assert count_elsewhere(db_url) == (0, 0)
    repo.end_batch()  # no batch open: nothing to do
    repo.save_signal(record("x"))  # the id is free again
    assert repo.get_signal("x") is not None


def test_a_write_outside_the_batch_checkpoints_it_and_is_durable_at_once(
    db_url: str, repo: TradeRepository, make_trade
) -> None:
    repo.begin_batch()
    with repo.database.joined():
        repo.commit(trades=[make_trade()], signals=[record("in-1")])
    outsider = make_trade("ETH/USDT")
    repo.save_trade(outsider)  # not part of the batch: committed when it returns, with the batch so far
    assert count_elsewhere(db_url) == (2, 1)
    with repo.database.joined():
        repo.commit(signals=[record("in-2", outcome="ignored")])
        assert repo.get_trade(outsider.id) == outsider
    assert count_elsewhere(db_url) == (2, 1)
    repo.end_batch()
    assert count_elsewhere(db_url) == (2, 2)


def test_signals_by_id_finds_many_ids_at_once(repo: TradeRepository) -> None:
    for i in range(3):
        repo.save_signal(record(f"s{i}", trade_id=i))
    found = repo.signals_by_id([f"s{i}" for i in range(1200)])  # more than one chunk of the IN list
    assert sorted(found) == ["s0", "s1", "s2"] and found["s2"].trade_id == 2
    assert repo.signals_by_id([]) == {}
    assert repo.get_signal("nope") is None


async def test_a_task_that_joined_the_batch_runs_calls_inline(tmp_path, make_trade) -> None:
    database = Database(f"sqlite:///{tmp_path / 'trades.sqlite'}")
    repo = TradeRepository(database)
    db = DbExecutor(repo)
    db.start()
    try:
        main = threading.get_ident()
        assert await db.run(threading.get_ident) != main  # normally: the database thread
        await db.run(repo.begin_batch)
        token = database.join_batch()
        assert await db.run(threading.get_ident) == main  # joined: inline, no thread hop
        trade = make_trade()
        await db.run(repo.commit, trades=[trade], signals=[record("s1")])

        async def other_task() -> int:  # another task did not join: its calls still go to the thread
            return await db.run(threading.get_ident)

        async def other_task_in_batch() -> bool:
            return await db.run(lambda: database.in_batch)

        assert await asyncio.create_task(other_task()) != main
        assert await db.run(lambda: database.in_batch)  # a call of this task stays in the batch ...
        assert not await asyncio.create_task(other_task_in_batch())  # ... one of its child tasks does not
        database.leave_batch(token)
        assert await db.run(threading.get_ident) != main
        await db.run(repo.end_batch)
        assert repo.get_trade(trade.id) == trade
    finally:
        db.stop()
        database.close()


async def test_a_joined_task_writes_into_the_batch_on_every_database(db_url: str, make_trade) -> None:
    database = Database(db_url)
    repo = TradeRepository(database)
    db = DbExecutor(repo)
    try:
        await db.run(repo.begin_batch)
        token = database.join_batch()
        # SQLite: inline; PostgreSQL: on the database thread, marked as part of the batch
        await db.run(repo.commit, trades=[make_trade()], signals=[record("s1")])
        assert await db.run(repo.count_trades) == 1
        assert count_elsewhere(db_url) == (0, 0)
        database.leave_batch(token)
        await db.run(repo.end_batch)
        assert count_elsewhere(db_url) == (1, 1)
    finally:
        db.stop()
        database.close()
