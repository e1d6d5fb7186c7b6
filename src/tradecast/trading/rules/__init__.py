"""Pure trading maths: ROI, stoploss and trailing stop, stake sizing, the wallet, paper fills.

No I/O and no asyncio: every function takes numbers (or model records) and returns numbers, so the engine,
backtests and the API compute the same thing.
"""

from tradecast.trading.rules.paper import FillResult, fill_market, limit_fill_price, price_for_side
from tradecast.trading.rules.roi import roi_reached, roi_threshold
from tradecast.trading.rules.stake import StakeDecision, available_stake, stake_for_entry
from tradecast.trading.rules.stoploss import initial_stop, new_stop_price, stoploss_hit, trailing_stop_update
from tradecast.trading.rules.wallet import Wallet, reconcile

__all__ = [
    "FillResult",
    "StakeDecision",
    "Wallet",
    "available_stake",
    "fill_market",
    "initial_stop",
    "limit_fill_price",
    "new_stop_price",
    "price_for_side",
    "reconcile",
    "roi_reached",
    "roi_threshold",
    "stake_for_entry",
    "stoploss_hit",
    "trailing_stop_update",
]
