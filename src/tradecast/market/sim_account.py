"""A simulated exchange account: balances and orders, with no knowledge of prices.

:class:`SimAccount` is told the best prices when an order is placed and told when a limit order's price was
crossed; the sim market decides both from its price path. Fees are charged in the quote currency. A limit
order reserves what it may spend (quote for a buy, including the fee; base for a sell) until it fills or is
canceled.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping
from datetime import datetime

from tradecast.core.errors import TradeRejected
from tradecast.market.base import Balance, MarketInfo, OrderResult, OrderSide, OrderType, Ticker

_DUST = 1e-9  # floating-point remainders below this are treated as zero


@dataclasses.dataclass(slots=True)
class _Held:
    """An order and what it has reserved."""

    order: OrderResult
    info: MarketInfo
    reserved: float = 0.0  # in quote for a buy, in base for a sell


class SimAccount:
    """Balances and orders of one simulated account."""

    def __init__(self, starting_balance: Mapping[str, float] | None = None) -> None:
        start = {"USDT": 10000.0} if starting_balance is None else dict(starting_balance)
        self._free: dict[str, float] = {c: float(v) for c, v in start.items()}
        self._used: dict[str, float] = {}
        self._orders: dict[str, _Held] = {}
        self._ids = itertools.count(1)

    # -- queries -------------------------------------------------------------------------------------------

    def balance(self) -> Balance:
        """A snapshot of free, used and total per currency."""
        currencies = sorted(set(self._free) | set(self._used))
        free = {c: self._free.get(c, 0.0) for c in currencies}
        used = {c: self._used.get(c, 0.0) for c in currencies}
        return Balance(free=free, used=used, total={c: free[c] + used[c] for c in currencies})

    def get(self, order_id: str, pair: str) -> OrderResult:
        """A copy of the order (callers cannot change the account through it)."""
        return dataclasses.replace(self._held(order_id, pair).order)

    def open_orders(self) -> list[OrderResult]:
        """Copies of the orders still open."""
        return [dataclasses.replace(h.order) for h in self._orders.values() if h.order.status == "open"]

    # -- commands ------------------------------------------------------------------------------------------

    def place(
        self,
        info: MarketInfo,
        side: OrderSide,
        order_type: OrderType,
        amount: float,
        price: float | None,
        ticker: Ticker,
        now: datetime,
    ) -> OrderResult:
        """Place an order; a market order (or a limit order that is already marketable) fills at once."""
        pair = info.pair
        if side not in ("buy", "sell") or order_type not in ("market", "limit"):
            raise TradeRejected(f"sim: unsupported order {order_type} {side} on {pair}")
        if not (math.isfinite(amount) and amount > 0):
            raise TradeRejected(f"sim: order amount must be positive on {pair}, got {amount}")
        if order_type == "limit" and (price is None or not (math.isfinite(price) and price > 0)):
            raise TradeRejected(f"sim: a limit order on {pair} needs a positive price, got {price}")
        reference = price if order_type == "limit" else (ticker.ask if side == "buy" else ticker.bid)
        assert reference is not None
        if info.min_amount is not None and amount < info.min_amount * (1 - 1e-9):
            raise TradeRejected(f"sim: amount {amount} is below the minimum {info.min_amount} on {pair}")
        if info.min_cost is not None and amount * reference < info.min_cost * (1 - 1e-9):
            raise TradeRejected(
                f"sim: order value {amount * reference:.8g} {info.quote} is below the minimum "
                f"{info.min_cost} on {pair}"
            )
        order = OrderResult(
            order_id=f"sim-{next(self._ids)}",
            pair=pair,
            side=side,
            order_type=order_type,
            amount=amount,
            price=price if order_type == "limit" else None,
            status="open",
            created=now,
        )
        held = _Held(order, info)
        # reserve what the order may spend; this is where an order without funds is refused
        if side == "buy":
            self._reserve(info.quote, amount * reference * (1 + info.fee), pair)
            held.reserved = amount * reference * (1 + info.fee)
        else:
            self._reserve(info.base, amount, pair)
            held.reserved = amount
        self._orders[order.order_id] = held
        marketable = order_type == "market" or (
            ticker.ask <= reference if side == "buy" else ticker.bid >= reference
        )
        if marketable:
            self.fill(order.order_id, pair, ticker.ask if side == "buy" else ticker.bid, now)
        return self.get(order.order_id, pair)

    def fill(self, order_id: str, pair: str, fill_price: float, when: datetime) -> OrderResult:
        """Fill an open order completely at ``fill_price`` and settle the balances."""
        held = self._held(order_id, pair)
        order, info = held.order, held.info
        if order.status != "open":
            return dataclasses.replace(order)
        cost = order.amount * fill_price
        fee = cost * info.fee
        if order.side == "buy":
            self._release(info.quote, held.reserved)
            self._change(info.quote, -(cost + fee))
            self._change(info.base, order.amount)
        else:
            self._release(info.base, held.reserved)
            self._change(info.base, -order.amount)
            self._change(info.quote, cost - fee)
        held.reserved = 0.0
        order.status, order.filled, order.average = "closed", order.amount, fill_price
        order.fee_cost, order.filled_at = fee, when
        return dataclasses.replace(order)

    def cancel(self, order_id: str, pair: str) -> OrderResult:
        """Cancel an open order and release its reservation; a closed or canceled order is returned as is."""
        held = self._held(order_id, pair)
        if held.order.status == "open":
            currency = held.info.quote if held.order.side == "buy" else held.info.base
            self._release(currency, held.reserved)
            held.reserved = 0.0
            held.order.status = "canceled"
        return dataclasses.replace(held.order)

    # -- internals -----------------------------------------------------------------------------------------

    def _held(self, order_id: str, pair: str) -> _Held:
        held = self._orders.get(order_id)
        if held is None or held.order.pair != pair:
            raise TradeRejected(f"sim: order {order_id!r} not found on {pair}")
        return held

    def _reserve(self, currency: str, amount: float, pair: str) -> None:
        free = self._free.get(currency, 0.0)
        if amount > free + _DUST:
            raise TradeRejected(
                f"sim: insufficient {currency} for the order on {pair}: need {amount:.8g}, free {free:.8g}"
            )
        self._change(currency, -amount)
        self._used[currency] = self._used.get(currency, 0.0) + amount

    def _release(self, currency: str, amount: float) -> None:
        used = self._used.get(currency, 0.0) - amount
        self._used[currency] = 0.0 if abs(used) < _DUST else used
        self._change(currency, amount)

    def _change(self, currency: str, delta: float) -> None:
        value = self._free.get(currency, 0.0) + delta
        self._free[currency] = 0.0 if abs(value) < _DUST else value
