"""Brokers turn order requests into orders: paper fills for dry runs, the real market otherwise.

Both expose the same three coroutines, so the engine does not know which one it talks to.

Paper fill rules (dry run): a market order fills at once at the ask (buy) or bid (sell) with the market's
taker fee; a limit order fills at its limit price once the market trades through it (checked against the
ticker and the newest candle's low/high on every :meth:`PaperBroker.check` call).
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Protocol

from tradecast.market.base import Market
from tradecast.model import Order


class Broker(Protocol):
    async def place(self, pair: str, side: str, order_type: str, amount: float, price: float,
                    is_entry: bool, tag: str | None = None) -> Order:
        """Create an order; market orders come back filled (paper) or as the exchange reports them."""
        ...

    async def check(self, order: Order) -> Order:
        """Refresh an open order (fills, cancellations)."""
        ...

    async def cancel(self, order: Order) -> Order:
        """Cancel an open order; returns it with its final state."""
        ...


def _now(market: Market) -> datetime:
    return market.clock.now()


class PaperBroker:
    """Simulated fills against the market's live prices."""

    def __init__(self, market: Market, fee: float | None = None, id_prefix: str = "dry") -> None:
        self.market = market
        self.fee_override = fee
        self._prefix = id_prefix
        self._ids = itertools.count(1)

    def fee_for(self, pair: str) -> float:
        if self.fee_override is not None:
            return self.fee_override
        info = self.market.markets().get(pair)
        return info.fee if info else 0.001

    def _new_id(self) -> str:
        stamp = int(_now(self.market).timestamp() * 1000)
        return f"{self._prefix}-{stamp}-{next(self._ids)}"

    async def place(self, pair: str, side: str, order_type: str, amount: float, price: float,
                    is_entry: bool, tag: str | None = None) -> Order:
        now = _now(self.market)
        order = Order(pair=pair, order_id=self._new_id(), side=side, order_type=order_type, amount=amount,
                      price=price, status="open", ft_is_entry=is_entry, order_date=now, ft_order_tag=tag)
        if order_type == "market":
            ticker = await self.market.fetch_ticker(pair)
            # the fill happens at the quoted prices, so it carries the quote's time
            self._fill(order, ticker.ask if side == "buy" else ticker.bid, ticker.time)
        else:
            await self.check(order)
        return order

    def _fill(self, order: Order, price: float, when: datetime) -> None:
        order.filled = order.amount
        order.average = price
        order.fee_cost = order.amount * price * self.fee_for(order.pair)
        order.status = "closed"
        order.order_filled_date = when

    async def check(self, order: Order) -> Order:
        if not order.is_open or order.price is None:
            return order
        ticker = await self.market.fetch_ticker(order.pair)
        crossed = ticker.ask <= order.price if order.side == "buy" else ticker.bid >= order.price
        if not crossed and order.order_date is not None:
            # the market may have traded through the limit between two checks: look at the candle range
            frame = await self.market.fetch_ohlcv(order.pair, "1m", limit=2, include_forming=True)
            if not frame.empty:
                recent = frame[frame["date"] >= order.order_date.replace(second=0, microsecond=0)]
                if not recent.empty:
                    if order.side == "buy":
                        crossed = float(recent["low"].min()) <= order.price
                    else:
                        crossed = float(recent["high"].max()) >= order.price
        if crossed:
            self._fill(order, order.price, _now(self.market))
        return order

    async def cancel(self, order: Order) -> Order:
        if order.is_open:
            order.status = "canceled"
        return order


class LiveBroker:
    """Orders on the real market (``dry_run: false``)."""

    def __init__(self, market: Market) -> None:
        self.market = market

    @staticmethod
    def _apply(order: Order, result) -> Order:  # result: market.base.OrderResult
        order.order_id = result.order_id
        order.status = result.status
        order.filled = result.filled
        order.average = result.average
        order.fee_cost = result.fee_cost
        if result.status == "closed" and order.order_filled_date is None:
            order.order_filled_date = result.filled_at or result.created
        return order

    async def place(self, pair: str, side: str, order_type: str, amount: float, price: float,
                    is_entry: bool, tag: str | None = None) -> Order:
        result = await self.market.create_order(pair, side, order_type, amount,  # type: ignore[arg-type]
                                                price if order_type == "limit" else None)
        order = Order(pair=pair, order_id=result.order_id, side=side, order_type=order_type, amount=amount,
                      price=price, ft_is_entry=is_entry, order_date=result.created or _now(self.market),
                      ft_order_tag=tag)
        return self._apply(order, result)

    async def check(self, order: Order) -> Order:
        if not order.is_open:
            return order
        return self._apply(order, await self.market.fetch_order(order.order_id, order.pair))

    async def cancel(self, order: Order) -> Order:
        if not order.is_open:
            return order
        return self._apply(order, await self.market.cancel_order(order.order_id, order.pair))
