"""The market interface: what the bot needs from an exchange, simulated or real.

Every adapter (``sim``, ``ccxt``) implements :class:`Market`. Candles come back as a pandas DataFrame with
the columns ``date`` (``datetime64[ns, UTC]``, candle open time), ``open``, ``high``, ``low``, ``close`` and
``volume`` (float64), oldest first, one row per candle, no duplicates.

Adapters translate their library's errors into the tradecast tree: an unknown pair or bad argument is a
``ConfigError`` or ``ValueError`` with a clear message, network trouble a ``TransientError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

import pandas as pd

from tradecast.core.clock import Clock

OrderSide = Literal["buy", "sell"]
OrderType = Literal["market", "limit"]
OrderStatus = Literal["open", "closed", "canceled"]

OHLCV_COLUMNS = ["date", "open", "high", "low", "close", "volume"]


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """One tradable symbol."""

    pair: str  # "BTC/USDT"
    base: str  # "BTC"
    quote: str  # "USDT"
    active: bool = True
    amount_precision: float | None = None  # step size of amounts, e.g. 0.0001
    price_precision: float | None = None  # tick size of prices
    min_amount: float | None = None
    min_cost: float | None = None  # minimal order value in quote currency
    fee: float = 0.001  # taker fee ratio


@dataclass(frozen=True, slots=True)
class Ticker:
    """Best prices now."""

    pair: str
    bid: float
    ask: float
    last: float
    time: datetime


@dataclass(slots=True)
class OrderResult:
    """An order as the market reports it."""

    order_id: str
    pair: str
    side: OrderSide
    order_type: OrderType
    amount: float
    price: float | None  # limit price; None for market orders
    status: OrderStatus
    filled: float = 0.0
    average: float | None = None  # average fill price
    fee_cost: float = 0.0  # in quote currency
    created: datetime | None = None
    filled_at: datetime | None = None

    @property
    def remaining(self) -> float:
        return max(0.0, self.amount - self.filled)

    @property
    def cost(self) -> float:
        return self.filled * (self.average or 0.0)


@dataclass(slots=True)
class Balance:
    """Balances per currency: free, used, total."""

    free: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
    total: dict[str, float] = field(default_factory=dict)


class Market(Protocol):
    """The exchange interface. All I/O methods are coroutines; ``clock`` gives the market's time."""

    name: str
    clock: Clock

    async def start(self) -> None:
        """Open connections and load the market list."""
        ...

    async def stop(self) -> None:
        """Close connections. Safe to call twice."""
        ...

    def markets(self) -> dict[str, MarketInfo]:
        """Tradable symbols by pair, loaded by ``start``."""
        ...

    async def fetch_ohlcv(
        self,
        pair: str,
        timeframe: str,
        since: datetime | None = None,
        limit: int = 1000,
        include_forming: bool = False,
    ) -> pd.DataFrame:
        """Candles of ``pair``: the newest ``limit`` ones, or ``limit`` from ``since`` on.

        Only closed candles unless ``include_forming`` (then the last row is the candle forming now).
        """
        ...

    async def fetch_ticker(self, pair: str) -> Ticker:
        """Best bid/ask and last price now."""
        ...

    async def create_order(
        self, pair: str, side: OrderSide, order_type: OrderType, amount: float, price: float | None = None
    ) -> OrderResult:
        """Place an order (only used when ``dry_run`` is false; paper trading fills in ``trading.paper``)."""
        ...

    async def cancel_order(self, order_id: str, pair: str) -> OrderResult:
        """Cancel an open order."""
        ...

    async def fetch_order(self, order_id: str, pair: str) -> OrderResult:
        """Current state of an order."""
        ...

    async def fetch_balance(self) -> Balance:
        """Account balances."""
        ...
