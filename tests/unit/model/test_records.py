"""The money model of Trade: stake, fees, profit, partial exits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tradecast.model import PairLock, Trade

OPEN = datetime(2026, 11, 20, 12, tzinfo=UTC)


def trade(**overrides) -> Trade:
    values = dict(pair="ETH/USDT", stake_currency="USDT", amount=2.0, open_rate=100.0, open_date=OPEN,
                  fee_open=0.001, fee_close=0.002, strategy="S", timeframe="5m")
    values.update(overrides)
    return Trade(**values)


def test_stake_fees_and_profit() -> None:
    t = trade()
    assert t.stake_amount == 200.0 and t.fee_open_cost == pytest.approx(0.2)
    assert t.open_trade_value == pytest.approx(200.2)
    assert t.close_value(110.0) == pytest.approx(2 * 110 * 0.998)
    assert t.profit_abs(110.0) == pytest.approx(219.56 - 200.2)
    assert t.profit_ratio(110.0) == pytest.approx((219.56 - 200.2) / 200.2)
    assert t.base_currency == "ETH"


def test_close_records_everything() -> None:
    t = trade()
    t.close(90.0, OPEN + timedelta(hours=1), "stop_loss")
    assert not t.is_open and t.exit_reason == "stop_loss" and t.close_rate == 90.0
    assert t.close_profit_abs == pytest.approx(2 * 90 * 0.998 - 200.2)


def test_partial_exit_keeps_the_books_balanced() -> None:
    t = trade()
    realized = t.reduce(0.5, 120.0)
    assert realized == pytest.approx(0.5 * 120 * 0.998 - 200.2 * 0.25)
    assert t.amount == 1.5 and t.open_trade_value == pytest.approx(200.2 * 0.75)
    t.close(120.0, OPEN, "roi")
    # the whole trade's profit equals selling everything at 120 at once
    assert t.close_profit_abs == pytest.approx(2 * 120 * 0.998 - 200.2)
    with pytest.raises(ValueError, match="partial exit amount"):
        trade().reduce(2.0, 100.0)


def test_high_low_tracking_and_locks() -> None:
    t = trade()
    for rate in (101, 99, 105, 100):
        t.adjust_high_low(rate)
    assert (t.max_rate, t.min_rate) == (105, 99)
    lock = PairLock(pair="ETH/USDT", lock_time=OPEN, lock_end_time=OPEN + timedelta(minutes=5))
    assert lock.is_active(OPEN) and not lock.is_active(OPEN + timedelta(minutes=5))
