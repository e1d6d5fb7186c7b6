"""Candle and analysed-frame stores, the strategy's ``DataProvider`` and ``merge_informative_pair``."""

from __future__ import annotations

from tradecast.data.analyzed import AnalyzedStore
from tradecast.data.candles import OHLCV_COLUMNS, CandleStore, empty_ohlcv
from tradecast.data.informative import merge_informative_pair
from tradecast.data.provider import EPOCH, DataProvider, RunMode

__all__ = [
    "EPOCH",
    "OHLCV_COLUMNS",
    "AnalyzedStore",
    "CandleStore",
    "DataProvider",
    "RunMode",
    "empty_ohlcv",
    "merge_informative_pair",
]
