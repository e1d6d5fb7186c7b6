"""What a strategy imports: ``from tradecast.strategy import IStrategy, IntParameter, ...``.

Also ``load_strategy`` / ``list_strategies`` for the bot. Indicators: ``import talib.abstract as ta``.
"""

from __future__ import annotations

from tradecast.data.informative import merge_informative_pair
from tradecast.strategy.helpers import bollinger_bands, crossed_above, crossed_below, typical_price
from tradecast.strategy.interface import IStrategy
from tradecast.strategy.loader import list_strategies, load_strategy
from tradecast.strategy.parameters import (
    BooleanParameter,
    CategoricalParameter,
    DecimalParameter,
    IntParameter,
)

__all__ = [
    "BooleanParameter",
    "CategoricalParameter",
    "DecimalParameter",
    "IStrategy",
    "IntParameter",
    "bollinger_bands",
    "crossed_above",
    "crossed_below",
    "list_strategies",
    "load_strategy",
    "merge_informative_pair",
    "typical_price",
]
