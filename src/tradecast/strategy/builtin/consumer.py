"""ConsumerStrategy: the consumer example of freqtrade's producer/consumer documentation, ready to run.

It computes no indicators: ``populate_indicators`` reads the producer's analysed frame with
``self.dp.get_producer_df(pair)`` and merges it with ``merge_informative_pair(..., append_timeframe=False,
suffix="default")``, which gives ``rsi_default``, ``tema_default``, ``bb_middleband_default``,
``enter_long_default``, ``exit_long_default``, ``date_default``... (the producer named "default" in
``external_message_consumer.producers``; run it against ProducerStrategy).

Entry (the documentation's, on the producer's columns): ``rsi_default`` crosses above ``buy_rsi`` while
``tema_default`` is at or below ``bb_middleband_default`` and rising. With the same candles this equals the
producer's own ``enter_long``.
Exit: the producer's exit signal (``exit_long_default == 1``); with ``remove_entry_exit_signals`` it is
always 0 and only ROI and the stoploss exit.

``process_only_new_candles = False``, as freqtrade requires for consumers: a producer's candle may arrive
after the consumer's own candle. A tradecast consumer also analyses a pair as soon as its producer candle
arrives.
"""

from pandas import DataFrame

from tradecast.strategy import IntParameter, IStrategy, crossed_above, merge_informative_pair


class ConsumerStrategy(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "5m"
    minimal_roi = {"60": 0.01, "30": 0.02, "0": 0.04}
    stoploss = -0.10
    startup_candle_count = 30
    process_only_new_candles = False  # required for consumers

    buy_rsi = IntParameter(10, 60, default=30, space="buy")

    _columns_to_expect = ["rsi_default", "tema_default", "bb_middleband_default", "exit_long_default"]

    plot_config = {
        "main_plot": {"tema_default": {}, "bb_middleband_default": {"color": "orange"}},
        "subplots": {"RSI": {"rsi_default": {"color": "red"}}},
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """Use the producer's indicators instead of computing them (``self.dp.get_producer_df``)."""
        pair = metadata["pair"]
        timeframe = self.timeframe

        producer_pairs = self.dp.get_producer_pairs()  # noqa: F841 - the documented call, kept as an example
        # You can specify which producer to get pairs from via:
        # self.dp.get_producer_pairs("my_other_producer")

        # This func returns the analyzed dataframe, and when it was analyzed
        producer_dataframe, _ = self.dp.get_producer_df(pair)
        # You can get other data if the producer makes it available:
        # self.dp.get_producer_df(pair, timeframe="1h", candle_type="spot", producer_name="my_other_producer")

        if not producer_dataframe.empty:
            # If you plan on passing the producer's entry/exit signal directly,
            # specify ffill=False or it will have unintended results
            merged_dataframe = merge_informative_pair(dataframe, producer_dataframe,
                                                      timeframe, timeframe,
                                                      append_timeframe=False,
                                                      suffix="default")
            return merged_dataframe
        else:
            dataframe[self._columns_to_expect] = 0

        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """The producer's entry rule, on the producer's columns."""
        dataframe.loc[
            (
                (crossed_above(dataframe["rsi_default"], self.buy_rsi.value))
                & (dataframe["tema_default"] <= dataframe["bb_middleband_default"])
                & (dataframe["tema_default"] > dataframe["tema_default"].shift(1))
                & (dataframe["volume"] > 0)
            ),
            "enter_long",
        ] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """Exit when the producer's frame says so."""
        dataframe.loc[(dataframe["exit_long_default"] == 1) & (dataframe["volume"] > 0), "exit_long"] = 1
        return dataframe
