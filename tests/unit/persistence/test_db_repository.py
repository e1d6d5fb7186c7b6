"""TradeRepository against SQLite and PostgreSQL (the ``db_url`` fixture runs every test on both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tradecast.model import Order, PairLock, SignalRecord, Trade
from tradecast.persistence import Database, DuplicateSignal, TradeRepository

T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def full_trade() -> Trade:
    """A trade where every field differs from its default, so a lost column shows up."""
    trade = Trade(
        pair="ETH/USDT", stake_currency="USDT", amount=1.2345678901234567, open_rate=1987.6543210987654,
        open_date=T0, fee_open=0.00075, fee_close=0.00125, strategy="MyStrat", timeframe="1h",
        exchange="binance", is_open=False, amount_requested=1.25, open_rate_requested=1990.5,
        close_rate=2100.125, close_rate_requested=2099.0, close_date=T0 + timedelta(hours=5),
        exit_reason="roi", enter_tag="breakout", stop_loss=1800.5, stop_loss_pct=-0.09,
        initial_stop_loss=1750.25, initial_stop_loss_pct=-0.1, stoploss_last_update=T0 + timedelta(minutes=7),
        max_rate=2150.75, min_rate=1950.5, realized_profit=3.14159, close_profit=0.0531,
        close_profit_abs=131.5,
        custom_data={"note": "hi", "n": 3, "x": 1.5, "flag": True, "items": [1, "a"], "cfg": {"k": None},
                     "when": T0},
    )
    trade.orders = [
        Order(pair="ETH/USDT", order_id="e1", side="buy", order_type="limit", amount=1.25, price=1990.5,
              status="closed", ft_is_entry=True, filled=1.25, average=1987.65, fee_cost=1.86,
              order_date=T0, order_filled_date=T0 + timedelta(seconds=3), ft_order_tag="breakout"),
        Order(pair="ETH/USDT", order_id="x1", side="sell", order_type="market", amount=1.2345678901234567,
              price=None, status="canceled", ft_is_entry=False, filled=0.0, average=None, fee_cost=0.0,
              order_date=None, order_filled_date=None, ft_order_tag=None),
    ]
    return trade


def test_every_field_round_trips(db_url: str, repo: TradeRepository) -> None:
    trade = full_trade()
    repo.save_trade(trade)
    assert trade.id is not None
    assert all(order.id is not None and order.trade_id == trade.id for order in trade.orders)
    # a second connection (fresh Database) sees exactly what was written
    other = Database(db_url)
    try:
        loaded = TradeRepository(other).get_trade(trade.id)
    finally:
        other.close()
    assert loaded == trade
    assert loaded is not trade
    assert isinstance(loaded.custom_data["when"], datetime)


def test_save_updates_in_place_and_adds_orders(repo: TradeRepository, make_trade) -> None:
    trade = make_trade()
    assert repo.save_trade(trade) is trade
    first_id, first_order_id = trade.id, trade.orders[0].id
    trade.stop_loss = 19000.0
    trade.orders.append(Order(pair=trade.pair, order_id="sell-1", side="sell", order_type="limit",
                              amount=0.5, price=21000.0, ft_is_entry=False))
    trade.close(21000.0, T0 + timedelta(hours=1), "exit_signal")
    repo.save_trade(trade)
    assert trade.id == first_id and trade.orders[0].id == first_order_id
    assert trade.orders[1].id not in (None, first_order_id)
    loaded = repo.get_trade(first_id)
    assert loaded == trade
    assert repo.count_trades() == 1


def test_missing_row_with_id_is_inserted_and_ids_keep_growing(repo: TradeRepository, make_trade) -> None:
    trade = make_trade(id=50)
    repo.save_trade(trade)
    assert repo.get_trade(50) is not None
    later = repo.save_trade(make_trade())
    assert later.id > 50  # PostgreSQL's sequence was moved past the explicit id


def test_open_closed_queries_and_paging(repo: TradeRepository, make_trade) -> None:
    saved = [repo.save_trade(make_trade("BTC/USDT" if i % 2 else "ETH/USDT")) for i in range(6)]
    for trade in saved[:2]:
        trade.close(21000.0, T0 + timedelta(hours=2), "roi")
        repo.save_trade(trade)
    ids = [t.id for t in saved]
    assert [t.id for t in repo.open_trades()] == ids[2:]
    assert [t.id for t in repo.trades(is_open=False)] == ids[:2]
    assert repo.count_trades() == 6 and repo.count_trades(True) == 4 and repo.count_trades(False) == 2
    assert [t.id for t in repo.trades(limit=2, offset=1)] == ids[1:3]
    assert [t.id for t in repo.trades(limit=2, newest_first=True)] == [ids[5], ids[4]]
    assert [t.id for t in repo.trades(pair="BTC/USDT")] == ids[1::2]
    assert [t.id for t in repo.trades(is_open=True, pair="ETH/USDT", offset=1)] == [ids[4]]
    assert all(len(t.orders) == 1 for t in repo.trades())


def test_delete_trade_removes_orders_and_custom_data(repo: TradeRepository, make_trade) -> None:
    trade = repo.save_trade(make_trade(custom_data={"a": 1}))
    keep = repo.save_trade(make_trade(custom_data={"a": 2}))
    assert repo.delete_trade(trade.id) is True
    assert repo.delete_trade(trade.id) is False
    assert repo.get_trade(trade.id) is None
    assert repo.get_custom_data(trade.id) == []
    assert repo.get_trade(keep.id).custom_data == {"a": 2}


def signal(signal_id: str, outcome: str = "executed", trade_id: int | None = None) -> SignalRecord:
    return SignalRecord(signal_id=signal_id, pair="BTC/USDT", action="enter_long", outcome=outcome,
                        reason=None if outcome == "executed" else "blacklisted", received_at=T0,
                        trade_id=trade_id, payload={"pair": "BTC/USDT", "price": 1.5, "tags": ["a"]})


def test_commit_stores_trade_and_signal_together(repo: TradeRepository, make_trade) -> None:
    trade, sig = make_trade(), signal("sig-1")
    repo.commit(trades=[trade], signals=[sig])
    assert sig.id is not None and sig.trade_id == trade.id  # linked inside the transaction
    assert repo.get_signal("sig-1") == sig
    assert repo.get_signal("nope") is None


def test_duplicate_signal_rolls_back_everything(repo: TradeRepository, make_trade) -> None:
    repo.commit(signals=[signal("sig-1")])
    trade = make_trade()
    lock = PairLock(pair="BTC/USDT", lock_time=T0, lock_end_time=T0 + timedelta(hours=1))
    duplicate = signal("sig-1")
    with pytest.raises(DuplicateSignal, match="sig-1"):
        repo.commit(trades=[trade], locks=[lock], signals=[signal("sig-2"), duplicate])
    assert repo.count_trades() == 0
    assert repo.locks(active_only=False) == []
    assert repo.get_signal("sig-2") is None
    # the objects are untouched: no id of a row that does not exist
    assert trade.id is None and trade.orders[0].id is None and trade.orders[0].trade_id is None
    assert lock.id is None and duplicate.id is None and duplicate.trade_id is None
    # and the same trade can be committed afterwards
    repo.commit(trades=[trade], signals=[signal("sig-3")])
    assert repo.count_trades() == 1


def test_signals_listing_and_counts(repo: TradeRepository) -> None:
    for i, outcome in enumerate(["executed", "rejected", "rejected", "ignored"]):
        repo.save_signal(signal(f"s{i}", outcome))
    assert [s.signal_id for s in repo.signals()] == ["s3", "s2", "s1", "s0"]
    assert [s.signal_id for s in repo.signals(limit=1, outcome="rejected")] == ["s2"]
    assert repo.count_signals_by_outcome() == {"executed": 1, "rejected": 2, "ignored": 1}
    with pytest.raises(DuplicateSignal):
        repo.save_signal(signal("s0"))


def test_datetimes_come_back_utc_aware(repo: TradeRepository, make_trade) -> None:
    naive = datetime(2024, 1, 2, 3, 4, 5)  # taken as UTC
    plus2 = datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))  # same instant
    trade = repo.save_trade(make_trade(open_date=naive, close_date=plus2))
    loaded = repo.get_trade(trade.id)
    assert loaded.open_date.tzinfo is UTC and loaded.close_date.tzinfo is UTC
    assert loaded.open_date == loaded.close_date == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert loaded.orders[0].order_date.tzinfo is UTC


def test_custom_data(repo: TradeRepository, make_trade) -> None:
    trade = repo.save_trade(make_trade(custom_data={"entry_reason": "dip"}))
    repo.set_custom_data(trade.id, "count", 1)
    repo.set_custom_data(trade.id, "ratio", 0.25)
    (first,) = repo.get_custom_data(trade.id, "count")
    repo.set_custom_data(trade.id, "count", 2)
    rows = {row["key"]: row for row in repo.get_custom_data(trade.id)}
    assert set(rows) == {"entry_reason", "count", "ratio"}
    assert rows["count"]["value"] == 2 and rows["count"]["type"] == "int"
    assert rows["ratio"]["type"] == "float" and rows["entry_reason"]["type"] == "str"
    assert rows["count"]["created_at"] == first["created_at"]
    assert rows["count"]["updated_at"] >= first["updated_at"]
    assert rows["count"]["created_at"].tzinfo is UTC
    assert repo.get_trade(trade.id).custom_data == {"entry_reason": "dip", "count": 2, "ratio": 0.25}
    with pytest.raises(TypeError, match="JSON"):
        repo.set_custom_data(trade.id, "bad", object())


def test_locks(repo: TradeRepository) -> None:
    short = repo.save_lock(PairLock(pair="BTC/USDT", lock_time=T0, lock_end_time=T0 + timedelta(minutes=5),
                                    reason="cooldown"))
    long = repo.save_lock(PairLock(pair="ETH/USDT", lock_time=T0, lock_end_time=T0 + timedelta(hours=5),
                                   side="long"))
    assert short.id is not None and long.id is not None
    assert repo.get_lock(short.id) == short
    assert [lk.id for lk in repo.locks()] == [short.id, long.id]
    assert [lk.id for lk in repo.locks(now=T0 + timedelta(minutes=10))] == [long.id]
    assert [lk.id for lk in repo.locks(pair="BTC/USDT")] == [short.id]
    off = repo.deactivate_lock(long.id)
    assert off is not None and off.active is False and off.side == "long"
    assert repo.locks(now=T0) == [short]
    assert len(repo.locks(active_only=False)) == 2
    assert repo.deactivate_lock(9999) is None and repo.get_lock(9999) is None


def test_state(repo: TradeRepository) -> None:
    assert repo.get_state("missing") is None
    repo.set_state("bot", "running")
    repo.set_state("bot", "stopped")
    assert repo.get_state("bot") == "stopped"
    assert repo.get_state("schema_version") == "1"
