"""Hyperoptable parameters: values, validation naming the parameter, discovery and loading."""

from __future__ import annotations

import pytest

from tradecast.core.errors import ConfigError
from tradecast.strategy import (
    BooleanParameter,
    CategoricalParameter,
    DecimalParameter,
    IntParameter,
    IStrategy,
)
from tradecast.strategy.parameters import detect_parameters, flatten_parameter_values


class ParamStrategy(IStrategy):
    buy_rsi = IntParameter(10, 60, default=30)
    sell_ratio = DecimalParameter(0.5, 1.5, default=1.23456, decimals=2)
    use_filter = BooleanParameter(default=False, space="buy")
    mode = CategoricalParameter(["fast", "slow"], space="sell")
    fixed = IntParameter(1, 5, default=2, load=False)

    def populate_indicators(self, dataframe, metadata):
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        return dataframe


def test_values_are_the_defaults():
    strategy = ParamStrategy({})
    assert strategy.buy_rsi.value == 30
    assert strategy.sell_ratio.value == 1.23
    assert strategy.use_filter.value is False
    assert strategy.mode.value == "fast"
    assert set(strategy.ft_parameters) == {"buy_rsi", "sell_ratio", "use_filter", "mode", "fixed"}


def test_spaces_come_from_the_argument_or_the_name_prefix():
    params = detect_parameters(ParamStrategy)
    assert params["buy_rsi"].space == "buy"
    assert params["sell_ratio"].space == "sell"
    assert params["mode"].space == "sell"
    assert params["fixed"].space is None


def test_low_high_as_a_pair_and_int_range():
    param = IntParameter([1, 3], default=2)
    assert (param.low, param.high) == (1, 3)
    assert list(param.range) == [1, 2, 3]


def test_setting_a_value_validates_with_the_parameter_name():
    strategy = ParamStrategy({})
    strategy.buy_rsi.value = 45
    assert strategy.buy_rsi.value == 45
    with pytest.raises(ValueError, match=r"IntParameter buy_rsi: value 61 is outside the range \[10, 60\]"):
        strategy.buy_rsi.value = 61
    with pytest.raises(ValueError, match="mode: value 'medium' is not one of"):
        strategy.mode.value = "medium"
    with pytest.raises(ValueError, match="use_filter: value 1 is not true or false"):
        strategy.use_filter.value = 1


def test_instances_do_not_share_values():
    first, second = ParamStrategy({}), ParamStrategy({})
    first.buy_rsi.value = 50
    assert second.buy_rsi.value == 30
    assert ParamStrategy.buy_rsi.value == 30


def test_invalid_default_names_the_strategy_and_parameter():
    class Broken(ParamStrategy):
        buy_level = IntParameter(10, 20, default=25)

    with pytest.raises(ConfigError, match=r"strategy Broken: IntParameter buy_level: default 25 is outside"):
        Broken({})
    with pytest.raises(ValueError, match=r"<unnamed>: default 3\.0 is outside"):
        DecimalParameter(0, 1, default=3.0).validate()
    with pytest.raises(ValueError, match="low 5 is greater than high 1"):
        IntParameter(5, 1, default=3).validate()
    with pytest.raises(ValueError, match="at least two categories"):
        CategoricalParameter(["only"])
    with pytest.raises(ValueError, match="must be integers"):
        IntParameter(0.5, 3, default=1)


def test_values_load_from_config_flat_or_by_space_and_respect_load_false():
    strategy = ParamStrategy({"strategy_parameters": {"buy": {"buy_rsi": 40, "fixed": 5}, "mode": "slow"}})
    assert strategy.buy_rsi.value == 40
    assert strategy.mode.value == "slow"
    assert strategy.fixed.value == 2


def test_an_invalid_loaded_value_names_the_parameter():
    with pytest.raises(ConfigError, match="buy_rsi: value 99 is outside"):
        ParamStrategy({"strategy_parameters": {"buy_rsi": 99}})


def test_flatten_accepts_freqtrade_parameter_files():
    raw = {"strategy_name": "X", "params": {"buy": {"a": 1}, "sell": {"b": 2}, "roi": {"0": 0.1},
                                            "stoploss": {"stoploss": -0.2}}}
    assert flatten_parameter_values(raw) == {"a": 1, "b": 2}
    assert flatten_parameter_values(None) == {}
