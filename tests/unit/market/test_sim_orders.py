"""Orders and balances of the simulated market (used when dry_run is false on sim)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tradecast.core.clock import FakeClock
from tradecast.core.errors import TradeRejected
from tradecast.market.sim import SimMarket

NOW = datetime(2026, 11, 20, 13, 37, 21, tzinfo=UTC)


def make(balance: dict[str, float] | None = None) -> tuple[SimMarket, FakeClock]:
    clock = FakeClock(NOW)
    return SimMarket(clock=clock, starting_balance=balance or {"USDT": 10_000.0}), clock


async def test_market_buy_and_sell_fill_at_ask_and_bid_with_fee_in_quote() -> None:
    sim, clock = make()
    ticker = await sim.fetch_ticker("ETH/USDT")
    buy = await sim.create_order("ETH/USDT", "buy", "market", 1.5)
    assert buy.status == "closed" and buy.filled == 1.5 and buy.price is None
    assert buy.average == pytest.approx(ticker.ask)
    assert buy.fee_cost == pytest.approx(1.5 * ticker.ask * 0.001)
    assert buy.created == NOW and buy.filled_at == NOW
    balance = await sim.fetch_balance()
    assert balance.total["ETH"] == pytest.approx(1.5)
    assert balance.free["USDT"] == pytest.approx(10_000 - 1.5 * ticker.ask * 1.001)
    assert balance.used["USDT"] == 0

    clock.advance(3600)
    later = await sim.fetch_ticker("ETH/USDT")
    sell = await sim.create_order("ETH/USDT", "sell", "market", 1.5)
    assert sell.average == pytest.approx(later.bid)
    balance = await sim.fetch_balance()
    assert balance.total["ETH"] == 0
    expected = 10_000 - 1.5 * ticker.ask * 1.001 + 1.5 * later.bid * 0.999
    assert balance.total["USDT"] == pytest.approx(expected)
    assert (await sim.fetch_order(sell.order_id, "ETH/USDT")).status == "closed"


async def test_refused_orders() -> None:
    sim, _ = make({"USDT": 100.0})
    with pytest.raises(TradeRejected, match="insufficient USDT"):
        await sim.create_order("BTC/USDT", "buy", "market", 0.01)
    with pytest.raises(TradeRejected, match="insufficient ETH"):
        await sim.create_order("ETH/USDT", "sell", "market", 0.01)
    with pytest.raises(TradeRejected, match="below the minimum"):
        await sim.create_order("BTC/USDT", "buy", "market", 0.00002)
    with pytest.raises(TradeRejected, match="positive price"):
        await sim.create_order("BTC/USDT", "buy", "limit", 0.001)
    with pytest.raises(TradeRejected, match="not found"):
        await sim.fetch_order("sim-999", "BTC/USDT")
    assert (await sim.fetch_balance()).total == {"USDT": 100.0}


async def test_limit_buy_waits_for_the_price_and_fills_at_its_price() -> None:
    sim, clock = make()
    pair = "SOL/USDT"
    ticker = await sim.fetch_ticker(pair)
    half_spread = sim.pair_params(pair).spread / 2
    # the same seed a day later shows what the path will do: pick a price it reaches, below the ask
    oracle = SimMarket(clock=FakeClock(NOW + timedelta(days=1)))
    next_minute = NOW.replace(second=0) + timedelta(minutes=1)
    candles = oracle.candles(pair, "1m", since=next_minute, limit=1440)
    assert candles is not None and candles.open_minute[0] * 60 == next_minute.timestamp()
    target_index = len(candles) // 2
    limit = float(candles.low[: target_index + 1].min()) * (1 + half_spread)
    assert limit < ticker.ask
    crossing = next(i for i, low in enumerate(candles.low) if low * (1 + half_spread) <= limit * (1 + 1e-12))
    cross_time = datetime.fromtimestamp(int(candles.open_minute[crossing]) * 60, UTC)

    order = await sim.create_order(pair, "buy", "limit", 2.0, limit)
    assert order.status == "open" and order.price == limit
    reserved = 2.0 * limit * 1.001
    balance = await sim.fetch_balance()
    assert balance.used["USDT"] == pytest.approx(reserved)
    assert balance.free["USDT"] == pytest.approx(10_000 - reserved)

    clock.set(cross_time - timedelta(seconds=1))
    assert (await sim.fetch_order(order.order_id, pair)).status == "open"
    clock.set(cross_time + timedelta(minutes=30))
    filled = await sim.fetch_order(order.order_id, pair)
    assert filled.status == "closed" and filled.average == limit and filled.filled == 2.0
    assert filled.filled_at == cross_time
    balance = await sim.fetch_balance()
    assert balance.used["USDT"] == 0
    assert balance.total["SOL"] == pytest.approx(2.0)
    assert balance.total["USDT"] == pytest.approx(10_000 - 2.0 * limit * 1.001)
    # cancelling a filled order changes nothing
    assert (await sim.cancel_order(order.order_id, pair)).status == "closed"


async def test_limit_sell_and_cancel_release_the_reservation() -> None:
    sim, clock = make({"USDT": 1000.0, "BTC": 0.5})
    ticker = await sim.fetch_ticker("BTC/USDT")
    order = await sim.create_order("BTC/USDT", "sell", "limit", 0.2, ticker.ask * 3)
    balance = await sim.fetch_balance()
    assert balance.used["BTC"] == pytest.approx(0.2) and balance.free["BTC"] == pytest.approx(0.3)
    clock.advance(600)
    assert (await sim.fetch_order(order.order_id, "BTC/USDT")).status == "open"
    canceled = await sim.cancel_order(order.order_id, "BTC/USDT")
    assert canceled.status == "canceled" and canceled.filled == 0
    balance = await sim.fetch_balance()
    assert balance.free["BTC"] == pytest.approx(0.5) and balance.used["BTC"] == 0
    assert (await sim.cancel_order(order.order_id, "BTC/USDT")).status == "canceled"
    with pytest.raises(TradeRejected, match="not found"):
        await sim.fetch_order(order.order_id, "ETH/USDT")


async def test_marketable_limit_order_fills_at_once_at_the_better_price() -> None:
    sim, _ = make()
    ticker = await sim.fetch_ticker("ETH/USDT")
    order = await sim.create_order("ETH/USDT", "buy", "limit", 1.0, ticker.ask * 1.05)
    assert order.status == "closed" and order.average == pytest.approx(ticker.ask)
    balance = await sim.fetch_balance()
    assert balance.used["USDT"] == 0
    assert balance.free["USDT"] == pytest.approx(10_000 - ticker.ask * 1.001)


async def test_limit_order_can_fill_in_the_first_minute_after_placement() -> None:
    sim, clock = make()
    oracle = SimMarket(clock=FakeClock(NOW + timedelta(hours=1)))
    next_minute = NOW.replace(second=0) + timedelta(minutes=1)
    for pair in ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT"):
        ticker = await sim.fetch_ticker(pair)
        candles = oracle.candles(pair, "1m", since=next_minute, limit=2)
        assert candles is not None
        limit = float(candles.low[0]) * (1 + sim.pair_params(pair).spread / 2)
        if limit < ticker.ask:
            break
    else:
        pytest.fail("no pair dips below its ask in the next minute")
    order = await sim.create_order(pair, "buy", "limit", round(100.0 / limit, 6), limit)
    assert order.status == "open"
    clock.set(next_minute + timedelta(seconds=65))  # that minute is complete
    filled = await sim.fetch_order(order.order_id, pair)
    assert filled.status == "closed" and filled.filled_at == next_minute
