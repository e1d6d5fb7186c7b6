"""ProducerStrategy (shipped example) on a synthetic random walk."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tradecast.strategy.builtin.producer as producer_module
from tradecast.data import DataProvider
from tradecast.strategy import IntParameter, IStrategy, crossed_above, load_strategy, merge_informative_pair


def random_walk(rows: int = 1000, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, rows)))
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.002, rows))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.002, rows))
    return pd.DataFrame({
        "date": pd.date_range("2024-01-01", periods=rows, freq="5min", tz="UTC"),
        "open": open_, "high": high, "low": low, "close": close, "volume": rng.uniform(1, 10, rows),
    })


@pytest.mark.parametrize("seed", [1, 11, 42])
def test_produces_entries_and_exits_on_a_random_walk(seed):
    strategy = load_strategy("ProducerStrategy", {})
    out = strategy.analyze(random_walk(seed=seed), {"pair": "BTC/USDT"})
    entries, exits = int(out["enter_long"].sum()), int(out["exit_long"].sum())
    assert 1 <= entries <= 100
    assert 1 <= exits <= 100
    assert set(out.loc[out["enter_long"] == 1, "enter_tag"]) == {None}  # the seed's entries carry no tag
    for column in ("rsi", "bb_lowerband", "bb_middleband", "bb_upperband", "tema"):
        assert out[column].iloc[strategy.startup_candle_count:].notna().all(), column


def test_entries_follow_the_seed_rule():
    strategy = load_strategy("ProducerStrategy", {})
    out = strategy.analyze(random_walk(), {"pair": "BTC/USDT"})
    rows = out.index[out["enter_long"] == 1]
    assert len(rows)
    for i in rows:
        assert out.at[i - 1, "rsi"] <= 30 < out.at[i, "rsi"]
        assert out.at[i, "tema"] <= out.at[i, "bb_middleband"]
        assert out.at[i, "tema"] > out.at[i - 1, "tema"]


def test_buy_rsi_parameter_drives_entries():
    default = load_strategy("ProducerStrategy", {})
    tuned = load_strategy("ProducerStrategy", {"strategy_parameters": {"buy_rsi": 45}})
    assert (default.buy_rsi.value, tuned.buy_rsi.value) == (30, 45)
    data = random_walk()
    a = default.analyze(data, {"pair": "X/Y"})["enter_long"]
    b = tuned.analyze(data, {"pair": "X/Y"})["enter_long"]
    assert not a.equals(b)


def test_attributes_and_user_style_imports():
    strategy = load_strategy("ProducerStrategy", {})
    assert strategy.minimal_roi == {"0": 0.04, "30": 0.02, "60": 0.01}
    assert strategy.stoploss == -0.10 and strategy.startup_candle_count == 30 and strategy.timeframe == "5m"
    tree = ast.parse(Path(producer_module.__file__).read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert modules <= {"tradecast.strategy", "talib.abstract", "pandas"}


class ConsumerStrategy(IStrategy):
    """The seed's consumer: no indicators of its own, the producer's merged with suffix "default"."""

    process_only_new_candles = False
    buy_rsi = IntParameter(10, 60, default=30)
    _columns_to_expect = ["rsi_default", "tema_default", "bb_middleband_default"]

    def populate_indicators(self, dataframe, metadata):
        producer_dataframe, _ = self.dp.get_producer_df(metadata["pair"])
        if not producer_dataframe.empty:
            return merge_informative_pair(dataframe, producer_dataframe, self.timeframe, self.timeframe,
                                          append_timeframe=False, suffix="default")
        dataframe[self._columns_to_expect] = 0
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        dataframe.loc[
            crossed_above(dataframe["rsi_default"], self.buy_rsi.value)
            & (dataframe["tema_default"] <= dataframe["bb_middleband_default"])
            & (dataframe["tema_default"] > dataframe["tema_default"].shift(1))
            & (dataframe["volume"] > 0),
            "enter_long",
        ] = 1
        return dataframe


def test_the_consumer_idiom_reproduces_the_producer_entries():
    data = random_walk()
    produced = load_strategy("ProducerStrategy", {}).analyze(data, {"pair": "BTC/USDT"})

    class Producers:
        def get_producer_df(self, pair, timeframe, candle_type, producer_name):
            return produced, datetime(2024, 1, 1, tzinfo=UTC)

        def get_producer_pairs(self, producer_name):
            return ["BTC/USDT"]

    consumer = ConsumerStrategy({})
    consumer.dp = DataProvider({}, None, None, None, producer_source=Producers())
    consumed = consumer.analyze(data, {"pair": "BTC/USDT"})
    assert consumed["enter_long"].tolist() == produced["enter_long"].tolist()
    assert "enter_long_default" in consumed.columns and "date_default" in consumed.columns

    consumer.dp = DataProvider({}, None, None, None)  # no producer data yet: no entries, no crash
    assert consumer.analyze(data, {"pair": "BTC/USDT"})["enter_long"].sum() == 0
