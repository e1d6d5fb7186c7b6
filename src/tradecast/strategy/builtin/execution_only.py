"""ExecutionOnlyStrategy: the trigger, not the brain. Trades only on external signals (Redis).

Run it with ``external_signals.enabled`` in the config: the bot's signal ingester enters on ``buy``, exits
on ``sell`` and records ``hold`` signals without trading, all with market orders. The strategy itself has no
indicators and never signals; it contributes the safety rules:

* ``stoploss = -0.10``: a safety net for every trade.
* ``minimal_roi = {}``: ROI exits are disabled; the external system decides when to sell.
* ``custom_stoploss``: the ratio set for the pair through Redis (``tradecast signal stoploss set`` or
  ``SignalSender.set_custom_stoploss``), as freqtrade reads it: relative to the *current* rate, and a stop
  only moves up, so a constant ratio such as -0.03 trails the price 3 % below its high.

The bot hands the lookup over by setting :attr:`ExecutionOnlyStrategy.signal_stoplosses`
(``pair -> ratio | None``); without it (no ingester attached) only the -10 % safety net applies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pandas import DataFrame

from tradecast.strategy import IStrategy


class ExecutionOnlyStrategy(IStrategy):
    """No analysis of its own: entries and exits come from external signals only."""

    INTERFACE_VERSION = 3

    timeframe = "1m"
    startup_candle_count = 1
    minimal_roi: dict[str, float] = {}
    stoploss = -0.10
    use_custom_stoploss = True
    process_only_new_candles = True
    use_exit_signal = False
    order_types = {
        "entry": "market",
        "exit": "market",
        "force_entry": "market",
        "force_exit": "market",
        "stoploss": "market",
        "stoploss_on_exchange": False,
    }

    #: set by the bot's signal ingester: ``pair -> stoploss ratio or None`` (see the module docstring)
    signal_stoplosses: Callable[[str], float | None] | None = None

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """No indicators."""
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """No entry signals: the bot's external signal path enters."""
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """No exit signals: the bot's external signal path exits."""
        return dataframe

    def custom_stoploss(
        self,
        pair: str,
        trade: Any,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        after_fill: bool = False,
        **kwargs: Any,
    ) -> float | None:
        """The ratio set for ``pair`` through Redis, or None (keep the current stop)."""
        lookup = self.signal_stoplosses
        return lookup(pair) if lookup is not None else None
