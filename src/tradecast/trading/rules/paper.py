"""Paper fills for dry runs, and which side of the book a price comes from.

* Market orders fill at once, completely: a buy at the ask, a sell at the bid; the fee is paid in quote
  currency, ``amount * price * fee``.
* A limit order fills at its own limit price once the market traded through it: a buy when the ask or the
  candle low is at or below the limit, a sell when the bid or the candle high is at or above it.

``price_side`` (freqtrade's ``entry_pricing.price_side`` / ``exit_pricing.price_side``):

* ``"same"``: the book side of the order itself: a buy uses the bid, a sell the ask (a maker-like price);
* ``"other"``: the opposite side: a buy uses the ask, a sell the bid (crosses the spread, fills at once);
* ``"bid"`` / ``"ask"``: that side, whatever the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Quote(Protocol):
    """Anything with best bid and ask (``market.base.Ticker`` fits)."""

    @property
    def bid(self) -> float: ...

    @property
    def ask(self) -> float: ...


@dataclass(frozen=True, slots=True)
class FillResult:
    price: float
    amount: float
    fee_cost: float  # quote currency

    @property
    def cost(self) -> float:
        return self.price * self.amount


def _check_side(side: str) -> None:
    if side not in ("buy", "sell"):
        raise ValueError(f"order side must be 'buy' or 'sell', got {side!r}")


def fill_market(side: str, amount: float, ticker: Quote, fee: float) -> FillResult:
    """Fill a market order completely at the ask (buy) or the bid (sell)."""
    _check_side(side)
    price = ticker.ask if side == "buy" else ticker.bid
    return FillResult(price=price, amount=amount, fee_cost=amount * price * fee)


def limit_fill_price(
    side: str,
    limit_price: float,
    candle_low: float | None = None,
    candle_high: float | None = None,
    ticker: Quote | None = None,
) -> float | None:
    """The fill price of a resting limit order (its limit), or None while the market has not reached it."""
    _check_side(side)
    if side == "buy":
        touched = (candle_low is not None and candle_low <= limit_price) or (
            ticker is not None and ticker.ask <= limit_price
        )
    else:
        touched = (candle_high is not None and candle_high >= limit_price) or (
            ticker is not None and ticker.bid >= limit_price
        )
    return limit_price if touched else None


def price_for_side(price_side: str, side: str, ticker: Quote) -> float:
    """The reference price of an order of ``side`` for a ``price_side`` setting (see the module docstring)."""
    _check_side(side)
    if price_side == "same":
        book = "bid" if side == "buy" else "ask"
    elif price_side == "other":
        book = "ask" if side == "buy" else "bid"
    elif price_side in ("bid", "ask"):
        book = price_side
    else:
        raise ValueError(f"price_side must be same, other, bid or ask, got {price_side!r}")
    return ticker.bid if book == "bid" else ticker.ask
