"""A market whose prices the test sets by hand (injected through the Market interface)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from tradecast.core.clock import FakeClock
from tradecast.core.errors import ConfigError
from tradecast.market.base import Balance, MarketInfo, OrderResult, Ticker


class HandMarket:
    """Prices move only when the test calls :meth:`set_price`; spread is 0.2% around the mid."""

    name = "hand"

    def __init__(self, clock: FakeClock, prices: dict[str, float], fee: float = 0.001) -> None:
        self.clock = clock
        self.prices = dict(prices)
        self.half_spread = 0.001
        self._markets = {p: MarketInfo(pair=p, base=p.split("/")[0], quote=p.split("/")[1], fee=fee,
                                       min_cost=5.0) for p in prices}
        self.lows: dict[str, float] = {}

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def markets(self) -> dict[str, MarketInfo]:
        return self._markets

    def set_price(self, pair: str, price: float) -> None:
        self.prices[pair] = price

    async def fetch_ticker(self, pair: str) -> Ticker:
        if pair not in self.prices:
            raise ConfigError(f"unknown pair {pair}")
        mid = self.prices[pair]
        return Ticker(pair, mid * (1 - self.half_spread), mid * (1 + self.half_spread), mid, self.clock.now())

    async def fetch_ohlcv(self, pair: str, timeframe: str, since: datetime | None = None, limit: int = 1000,
                          include_forming: bool = False) -> pd.DataFrame:
        mid = self.prices[pair]
        low = self.lows.get(pair, mid)
        return pd.DataFrame({"date": [pd.Timestamp(self.clock.now()).floor("1min")], "open": [mid],
                             "high": [mid], "low": [low], "close": [mid], "volume": [1.0]})

    async def create_order(self, *args, **kwargs) -> OrderResult:  # pragma: no cover - paper only
        raise NotImplementedError

    async def cancel_order(self, order_id: str, pair: str) -> OrderResult:  # pragma: no cover
        raise NotImplementedError

    async def fetch_order(self, order_id: str, pair: str) -> OrderResult:  # pragma: no cover
        raise NotImplementedError

    async def fetch_balance(self) -> Balance:  # pragma: no cover
        return Balance()
