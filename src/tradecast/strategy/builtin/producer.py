"""ProducerStrategy: the producer example of freqtrade's producer/consumer documentation, ready to run.

Indicators: RSI (14), Bollinger bands (20 candles, 2 standard deviations) of the typical price, TEMA (9).
Entry: RSI crosses above ``buy_rsi`` while TEMA is at or below the middle band and rising.
Exit: RSI crosses above ``sell_rsi`` while TEMA is above the middle band (ROI and the stoploss exit too).

Its analysed frames are what a consumer bot receives (``rsi``, ``bb_*band``, ``tema``, signals).
"""

import talib.abstract as ta
from pandas import DataFrame

from tradecast.strategy import (
    IntParameter,
    IStrategy,
    bollinger_bands,
    crossed_above,
    typical_price,
)


class ProducerStrategy(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "5m"
    minimal_roi = {"60": 0.01, "30": 0.02, "0": 0.04}
    stoploss = -0.10
    startup_candle_count = 30
    process_only_new_candles = True

    buy_rsi = IntParameter(10, 60, default=30, space="buy")
    sell_rsi = IntParameter(50, 95, default=70, space="sell")

    plot_config = {
        "main_plot": {"tema": {}, "bb_middleband": {"color": "orange"}},
        "subplots": {"RSI": {"rsi": {"color": "red"}}},
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe)
        bollinger = bollinger_bands(typical_price(dataframe), window=20, stds=2)
        dataframe["bb_lowerband"] = bollinger["lower"]
        dataframe["bb_middleband"] = bollinger["mid"]
        dataframe["bb_upperband"] = bollinger["upper"]
        dataframe["tema"] = ta.TEMA(dataframe, timeperiod=9)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[
            (
                crossed_above(dataframe["rsi"], self.buy_rsi.value)
                & (dataframe["tema"] <= dataframe["bb_middleband"])
                & (dataframe["tema"] > dataframe["tema"].shift(1))
                & (dataframe["volume"] > 0)
            ),
            "enter_long",
        ] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[
            (
                crossed_above(dataframe["rsi"], self.sell_rsi.value)
                & (dataframe["tema"] > dataframe["bb_middleband"])
                & (dataframe["volume"] > 0)
            ),
            "exit_long",
        ] = 1
        return dataframe
