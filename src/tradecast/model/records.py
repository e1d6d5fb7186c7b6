"""Trade, Order, PairLock and SignalRecord.

Money model (quote currency, e.g. USDT), the same everywhere:

* ``stake_amount = amount * open_rate``: what was spent on the coins, fee excluded.
* ``fee_open_cost = stake_amount * fee_open``: the entry fee, paid in quote currency on top of the stake.
* ``open_trade_value = stake_amount + fee_open_cost``: what left the wallet for the open position.
* closing ``amount`` at ``rate`` returns ``amount * rate * (1 - fee_close)`` to the wallet.
* ``profit_abs = closing value - open_trade_value`` (+ profit already realised by partial exits).

So the wallet is always ``start + sum(closed profit_abs) + sum(open realized_profit) - sum(open open_trade_value)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class Order:
    """One order of a trade (entry or exit)."""

    pair: str
    order_id: str
    side: str  # "buy" | "sell"
    order_type: str  # "market" | "limit"
    amount: float
    price: float | None  # limit price; for market orders the expected price
    status: str = "open"  # "open" | "closed" | "canceled"
    ft_is_entry: bool = True
    filled: float = 0.0
    average: float | None = None
    fee_cost: float = 0.0
    order_date: datetime | None = None
    order_filled_date: datetime | None = None
    ft_order_tag: str | None = None
    id: int | None = None
    trade_id: int | None = None

    @property
    def remaining(self) -> float:
        return max(0.0, self.amount - self.filled)

    @property
    def cost(self) -> float:
        return self.filled * (self.average or self.price or 0.0)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def ft_order_side(self) -> str:
        return self.side

    @property
    def safe_price(self) -> float:
        return self.average or self.price or 0.0


@dataclass(slots=True)
class Trade:
    """A position in one pair, from its entry to its exit (long only for now)."""

    pair: str
    stake_currency: str
    amount: float
    open_rate: float
    open_date: datetime
    fee_open: float
    fee_close: float
    strategy: str
    timeframe: str
    exchange: str = "sim"
    is_open: bool = True
    amount_requested: float | None = None
    open_rate_requested: float | None = None
    close_rate: float | None = None
    close_rate_requested: float | None = None
    close_date: datetime | None = None
    exit_reason: str | None = None
    enter_tag: str | None = None
    # stoploss state: absolute stop price and the ratio it was set from
    stop_loss: float = 0.0
    stop_loss_pct: float | None = None
    initial_stop_loss: float = 0.0
    initial_stop_loss_pct: float | None = None
    stoploss_last_update: datetime | None = None
    max_rate: float | None = None
    min_rate: float | None = None
    realized_profit: float = 0.0
    close_profit: float | None = None  # ratio, set on close
    close_profit_abs: float | None = None  # quote, set on close (includes realized_profit)
    orders: list[Order] = field(default_factory=list)
    custom_data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    @property
    def base_currency(self) -> str:
        return self.pair.split("/")[0]

    @property
    def stake_amount(self) -> float:
        return self.amount * self.open_rate

    @property
    def fee_open_cost(self) -> float:
        return self.stake_amount * self.fee_open

    @property
    def open_trade_value(self) -> float:
        return self.stake_amount + self.fee_open_cost

    @property
    def has_open_orders(self) -> bool:
        return any(order.is_open for order in self.orders)

    def close_value(self, rate: float, amount: float | None = None) -> float:
        """Quote currency returned to the wallet by selling ``amount`` (default: all) at ``rate``."""
        amount = self.amount if amount is None else amount
        return amount * rate * (1 - self.fee_close)

    def profit_abs(self, rate: float) -> float:
        """Profit in quote currency if the rest of the position were sold at ``rate`` now."""
        return self.close_value(rate) - self.open_trade_value + self.realized_profit

    def profit_ratio(self, rate: float) -> float:
        """``profit_abs(rate)`` relative to the value put into the open position."""
        if self.open_trade_value <= 0:
            return 0.0
        return (self.close_value(rate) - self.open_trade_value) / self.open_trade_value

    def adjust_high_low(self, rate: float) -> None:
        """Track the best and worst price seen while the trade is open (for trailing stops)."""
        self.max_rate = rate if self.max_rate is None else max(self.max_rate, rate)
        self.min_rate = rate if self.min_rate is None else min(self.min_rate, rate)

    def close(self, rate: float, when: datetime, reason: str) -> None:
        """Mark the whole remaining position as sold at ``rate``."""
        self.close_rate = rate
        self.close_date = when
        self.exit_reason = reason
        self.close_profit_abs = self.profit_abs(rate)
        self.close_profit = self.profit_ratio(rate)
        self.is_open = False

    def reduce(self, amount: float, rate: float) -> float:
        """Sell part of the position at ``rate``; returns the profit realised by that part."""
        if not 0 < amount < self.amount:
            raise ValueError(f"partial exit amount must be between 0 and {self.amount}, got {amount}")
        share = amount / self.amount
        realized = self.close_value(rate, amount) - self.open_trade_value * share
        self.amount -= amount
        self.realized_profit += realized
        return realized


@dataclass(slots=True)
class PairLock:
    """A pair may not be entered until ``lock_end_time`` (``side`` "*" means both sides)."""

    pair: str
    lock_time: datetime
    lock_end_time: datetime
    reason: str | None = None
    side: str = "*"
    active: bool = True
    id: int | None = None

    def is_active(self, now: datetime) -> bool:
        return self.active and self.lock_end_time > now


@dataclass(slots=True)
class SignalRecord:
    """An external signal the bot has decided on (stored so a redelivered signal is a no-op)."""

    signal_id: str
    pair: str
    action: str
    outcome: str  # "executed" | "rejected" | "ignored"
    reason: str | None
    received_at: datetime
    trade_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
