"""The wallet computed from trades equals an exact cash ledger over random opens, partial exits and closes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from tradecast.model import Trade
from tradecast.trading.rules import Wallet, reconcile

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def new_trade(rng: random.Random, i: int) -> Trade:
    return Trade(
        pair=f"C{i}/USDT", stake_currency="USDT", amount=round(rng.uniform(0.01, 3), 6),
        open_rate=round(rng.uniform(1, 200), 4), open_date=T0 + timedelta(minutes=i),
        fee_open=rng.choice([0.0, 0.001, 0.00075]), fee_close=rng.choice([0.0, 0.001, 0.0025]),
        strategy="S", timeframe="5m",
    )


def test_simple_numbers() -> None:
    # open 1 @ 100 with 1% fee: 101 leaves the wallet; sell 0.5 @ 120 with 1% fee returns 59.4,
    # realising 59.4 - 50.5 = 8.9
    trade = Trade(pair="A/USDT", stake_currency="USDT", amount=1.0, open_rate=100.0, open_date=T0,
                  fee_open=0.01, fee_close=0.01, strategy="S", timeframe="5m")
    wallet = Wallet.from_trades(1000, [trade])
    assert (wallet.used, wallet.free, wallet.total) == pytest.approx((101, 899, 1000))
    trade.reduce(0.5, 120.0)
    wallet = Wallet.from_trades(1000, [trade])
    # free 1000 - 101 + 59.4 = 958.4 = 1000 + 8.9 - 50.5
    assert wallet.realized_profit == pytest.approx(8.9)
    assert wallet.free == pytest.approx(958.4) and wallet.used == pytest.approx(50.5)
    trade.close(80.0, T0, "stop_loss")  # returns 0.5 * 80 * 0.99 = 39.6
    wallet = Wallet.from_trades(1000, [trade])
    assert wallet.free == pytest.approx(998.0) and wallet.used == 0  # 958.4 + 39.6
    assert wallet.closed_profit == pytest.approx(-2.0) and wallet.closed_trades == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_sequence_matches_exact_ledger(seed: int) -> None:
    rng = random.Random(seed)
    start = 10_000.0
    cash = Fraction(start)  # exact cash flows from the same float inputs
    trades: list[Trade] = []
    remaining: dict[int, Fraction] = {}
    for step in range(300):
        open_ones = [t for t in trades if t.is_open]
        action = rng.random()
        if action < 0.4 or not open_ones:
            trade = new_trade(rng, step)
            trades.append(trade)
            remaining[id(trade)] = Fraction(trade.amount)
            cash -= Fraction(trade.amount) * Fraction(trade.open_rate) * (1 + Fraction(trade.fee_open))
        elif action < 0.7:
            trade = rng.choice(open_ones)
            amount = round(trade.amount * rng.uniform(0.1, 0.9), 8)
            rate = trade.open_rate * rng.uniform(0.8, 1.3)
            trade.reduce(amount, rate)
            remaining[id(trade)] -= Fraction(amount)
            cash += Fraction(amount) * Fraction(rate) * (1 - Fraction(trade.fee_close))
        else:
            trade = rng.choice(open_ones)
            rate = trade.open_rate * rng.uniform(0.8, 1.3)
            trade.close(rate, T0, "exit_signal")
            cash += remaining[id(trade)] * Fraction(rate) * (1 - Fraction(trade.fee_close))
        wallet = Wallet.from_trades(start, trades)
        assert wallet.free == pytest.approx(float(cash), rel=1e-12)
        assert wallet.total == pytest.approx(wallet.free + wallet.used, rel=1e-12)
        assert reconcile(float(cash), start, trades) == pytest.approx(0.0, abs=1e-12 * start)
    # computed, not accumulated: the order of trades does not matter
    shuffled = trades[:]
    rng.shuffle(shuffled)
    assert Wallet.from_trades(start, shuffled) == Wallet.from_trades(start, trades)
    assert any(not t.is_open for t in trades) and any(t.is_open and t.realized_profit for t in trades)


def test_reconcile_reports_the_difference() -> None:
    trade = Trade(pair="A/USDT", stake_currency="USDT", amount=2.0, open_rate=50.0, open_date=T0,
                  fee_open=0.0, fee_close=0.0, strategy="S", timeframe="5m")
    assert reconcile(905.0, 1000.0, [trade]) == pytest.approx(5.0)  # free should be 900
    assert Wallet.from_trades(1000.0, [trade]).reconcile(900.0) == 0.0
