"""Markets: the interface every exchange adapter implements, the simulated market and the ccxt adapter.

``CcxtMarket`` is imported on first use: ccxt takes a second or more to import and a sim bot never needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradecast.market.base import Balance, Market, MarketInfo, OrderResult, Ticker
from tradecast.market.factory import create_market
from tradecast.market.sim import SimMarket

if TYPE_CHECKING:
    from tradecast.market.ccxt_adapter import CcxtMarket

__all__ = [
    "Balance",
    "CcxtMarket",
    "Market",
    "MarketInfo",
    "OrderResult",
    "SimMarket",
    "Ticker",
    "create_market",
]


def __getattr__(name: str) -> Any:
    if name == "CcxtMarket":
        from tradecast.market.ccxt_adapter import CcxtMarket

        return CcxtMarket
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
