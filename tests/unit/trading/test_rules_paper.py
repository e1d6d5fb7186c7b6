"""Paper fills and price sides."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tradecast.trading.rules import fill_market, limit_fill_price, price_for_side


@dataclass
class Tick:
    bid: float
    ask: float


TICK = Tick(bid=99.0, ask=101.0)


def test_market_fills() -> None:
    buy = fill_market("buy", 2.0, TICK, 0.001)
    assert (buy.price, buy.amount) == (101.0, 2.0)
    assert buy.fee_cost == pytest.approx(0.202)  # 2 * 101 * 0.001
    assert buy.cost == pytest.approx(202.0)
    sell = fill_market("sell", 2.0, TICK, 0.001)
    assert sell.price == 99.0 and sell.fee_cost == pytest.approx(0.198)
    with pytest.raises(ValueError, match="side"):
        fill_market("long", 1, TICK, 0)


def test_limit_buy_fills_at_its_price_once_traded_at_or_below() -> None:
    assert limit_fill_price("buy", 100, candle_low=99.5, candle_high=102) == 100
    assert limit_fill_price("buy", 100, candle_low=100, candle_high=102) == 100
    assert limit_fill_price("buy", 100, candle_low=100.01, candle_high=102, ticker=TICK) is None
    assert limit_fill_price("buy", 102, ticker=TICK) == 102  # ask 101 <= 102
    assert limit_fill_price("buy", 100) is None


def test_limit_sell_fills_at_its_price_once_traded_at_or_above() -> None:
    assert limit_fill_price("sell", 103, candle_low=99, candle_high=103) == 103
    assert limit_fill_price("sell", 103, candle_low=99, candle_high=102.9, ticker=TICK) is None
    assert limit_fill_price("sell", 98, ticker=TICK) == 98  # bid 99 >= 98


@pytest.mark.parametrize(
    ("price_side", "side", "expected"),
    [
        ("same", "buy", 99.0), ("same", "sell", 101.0),
        ("other", "buy", 101.0), ("other", "sell", 99.0),
        ("bid", "buy", 99.0), ("bid", "sell", 99.0),
        ("ask", "buy", 101.0), ("ask", "sell", 101.0),
    ],
)
def test_price_for_side(price_side: str, side: str, expected: float) -> None:
    assert price_for_side(price_side, side, TICK) == expected


def test_price_for_side_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="price_side"):
        price_for_side("mid", "buy", TICK)
