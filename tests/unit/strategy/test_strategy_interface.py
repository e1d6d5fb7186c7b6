"""IStrategy: defaults, config overrides, analyze validation, signals, callbacks."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from tradecast.core.errors import ConfigError, StrategyError
from tradecast.data import DataProvider
from tradecast.strategy import IntParameter, IStrategy


def candles(rows: int = 10) -> pd.DataFrame:
    close = np.linspace(100.0, 110.0, rows)
    return pd.DataFrame({
        "date": pd.date_range("2024-01-01", periods=rows, freq="5min", tz="UTC"),
        "open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 10.0,
    })


class Simple(IStrategy):
    minimal_roi = {"0": 0.05, "30": 0.01}
    stoploss = -0.05
    timeframe = "1h"

    def populate_indicators(self, dataframe, metadata):
        dataframe["double"] = dataframe["close"] * 2
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        dataframe.loc[dataframe.index[-1], ["enter_long", "enter_tag"]] = (1, "last")
        return dataframe


def make(populate_indicators=None, entry=None, exit_=None) -> IStrategy:
    attrs = {}
    if populate_indicators:
        attrs["populate_indicators"] = lambda self, df, md: populate_indicators(df)
    if entry:
        attrs["populate_entry_trend"] = lambda self, df, md: entry(df)
    if exit_:
        attrs["populate_exit_trend"] = lambda self, df, md: exit_(df)
    return type("Custom", (Simple,), attrs)({})


def test_defaults_match_freqtrade():
    class Plain(IStrategy):
        def populate_indicators(self, dataframe, metadata):
            return dataframe

        def populate_entry_trend(self, dataframe, metadata):
            return dataframe

    s = Plain({})
    assert s.INTERFACE_VERSION == 3 and s.timeframe == "5m" and s.stoploss == -0.10
    assert s.minimal_roi == {} and s.startup_candle_count == 0
    assert s.process_only_new_candles and s.use_exit_signal and not s.exit_profit_only
    assert not s.ignore_roi_if_entry_signal and not s.use_custom_stoploss and not s.trailing_stop
    assert s.order_types == {
        "entry": "limit", "exit": "limit", "stoploss": "market", "stoploss_on_exchange": False
    }
    assert s.informative_pairs() == [] and s.dp is None and s.name == "Plain"


def test_abstract_hooks_are_required():
    class NoEntry(IStrategy):
        def populate_indicators(self, dataframe, metadata):
            return dataframe

    with pytest.raises(TypeError, match="populate_entry_trend"):
        NoEntry({})


def test_config_overrides_when_set_and_is_written_back():
    config = SimpleNamespace(
        minimal_roi={"10": 0.02, "0": 0.03}, stoploss=-0.2, timeframe="15m", trailing_stop=True,
        trailing_stop_positive=0.01, trailing_stop_positive_offset=None, trailing_only_offset_is_reached=None,
        use_exit_signal=False, exit_profit_only=None, ignore_roi_if_entry_signal=True,
        process_only_new_candles=False, order_types={"entry": "market"},
    )
    s = Simple(config)
    assert s.minimal_roi == {"0": 0.03, "10": 0.02}
    assert s.stoploss == -0.2 and s.timeframe == "15m" and s.trailing_stop is True
    assert s.trailing_stop_positive == 0.01 and s.trailing_stop_positive_offset == 0.0
    assert s.use_exit_signal is False and s.exit_profit_only is False and s.ignore_roi_if_entry_signal is True
    assert s.process_only_new_candles is False
    assert s.order_types["entry"] == "market" and s.order_types["stoploss"] == "market"
    assert Simple.stoploss == -0.05 and Simple.timeframe == "1h"  # the class is untouched
    assert Simple({}).minimal_roi == {"0": 0.05, "30": 0.01}
    assert Simple({"stoploss": None}).stoploss == -0.05


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"stoploss": 0.1}, "stoploss must be a number in"),
        ({"timeframe": "5x"}, "timeframe: invalid timeframe '5x'"),
        ({"minimal_roi": {"soon": 0.1}}, "minimal_roi must map minutes"),
    ],
)
def test_invalid_attributes_are_config_errors(config, message):
    with pytest.raises(ConfigError, match=message):
        Simple(config)


def test_analyze_works_on_a_copy_and_adds_signal_columns():
    df = candles()
    s = Simple({})
    out = s.analyze(df, {"pair": "BTC/USDT"})
    assert "double" not in df.columns and "enter_long" not in df.columns
    assert out["enter_long"].tolist() == [0] * 9 + [1]
    assert out["exit_long"].tolist() == [0] * 10
    assert out["enter_tag"].tolist() == [None] * 9 + ["last"]
    assert out["exit_tag"].tolist() == [None] * 10
    assert out["enter_long"].dtype == "int64"
    assert s.get_latest_signal(out) == (True, False, "last", None, datetime(2024, 1, 1, 0, 45, tzinfo=UTC))


def test_latest_signal_of_empty_frame_and_legacy_columns():
    s = Simple({})
    assert s.get_latest_signal(pd.DataFrame()) == (False, False, None, None, None)

    def legacy(df):
        df["buy"] = 0
        df["sell"] = 1
        return df

    out = make(entry=legacy).analyze(candles(), {"pair": "X/Y"})
    assert out["enter_long"].sum() == 0 and out["exit_long"].sum() == 10


def test_user_exceptions_become_strategy_errors_naming_hook_and_pair():
    def boom(df):
        raise KeyError("rsi")

    expected = r"Custom\.populate_indicators failed for ETH/USDT: KeyError: 'rsi'"
    with pytest.raises(StrategyError, match=expected):
        make(populate_indicators=boom).analyze(candles(), {"pair": "ETH/USDT"})


def test_missing_return_is_reported():
    with pytest.raises(StrategyError, match="populate_entry_trend returned NoneType for A/B"):
        make(entry=lambda df: None).analyze(candles(), {"pair": "A/B"})


@pytest.mark.parametrize(
    ("mutate", "check"),
    [
        (lambda df: df.iloc[:-1], "changed the number of rows"),
        (lambda df: df.drop(columns="date"), "removed the 'date' column"),
        (lambda df: df.assign(date=df["date"] + pd.Timedelta("5min")), "changed the date of the last candle"),
        (lambda df: df.assign(close=df["close"] * 2), "changed the close of the last candle"),
    ],
)
def test_result_validation_names_pair_and_check(mutate, check):
    with pytest.raises(StrategyError, match=f"Custom: analysis of BTC/USDT {check}"):
        make(populate_indicators=mutate).analyze(candles(), {"pair": "BTC/USDT"})


def test_short_signals_are_ignored_with_one_warning(caplog):
    def short(df):
        df["enter_short"] = 1
        return df

    s = make(entry=short)
    with caplog.at_level(logging.WARNING, logger="tradecast.strategy.interface"):
        out = s.analyze(candles(), {"pair": "A/B"})
        s.analyze(candles(), {"pair": "C/D"})
    warnings = [r for r in caplog.records if "shorting is not supported" in r.getMessage()]
    assert len(warnings) == 1
    assert out["enter_long"].sum() == 0 and s.get_latest_signal(out)[0] is False


def test_no_warning_for_empty_short_columns(caplog):
    s = make(entry=lambda df: df.assign(enter_short=0, exit_short=np.nan))
    with caplog.at_level(logging.WARNING):
        s.analyze(candles(), {"pair": "A/B"})
    assert not [r for r in caplog.records if "shorting" in r.getMessage()]


def test_process_only_new_candles_decision():
    s = Simple({})
    df = candles()
    assert s.is_new_candle("A/B", df) and s.should_analyze("A/B", df)
    s.analyze(df, {"pair": "A/B"})
    assert not s.is_new_candle("A/B", df) and not s.should_analyze("A/B", df)
    assert s.should_analyze("C/D", df)
    longer = candles(11)
    assert s.should_analyze("A/B", longer)
    s.process_only_new_candles = False
    assert s.should_analyze("A/B", df)


def test_empty_frame_is_not_given_to_user_code():
    out = make(populate_indicators=lambda df: 1 / 0).analyze(candles(0), {"pair": "A/B"})
    assert out.empty and {"enter_long", "exit_long", "enter_tag", "exit_tag"} <= set(out.columns)


def test_callback_defaults_are_neutral():
    s = Simple({})
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert s.bot_loop_start(current_time=now) is None
    stake = s.custom_stake_amount(pair="A/B", current_time=now, current_rate=1.0, proposed_stake=10.0,
                                  min_stake=1.0, max_stake=100.0, leverage=1.0, entry_tag=None, side="long",
                                  future_argument=1)
    assert stake == 10.0
    assert s.custom_stoploss(pair="A/B", trade=None, current_time=now, current_rate=1.0,
                             current_profit=0.0, after_fill=False) is None
    exit_reason = s.custom_exit(pair="A/B", trade=None, current_time=now, current_rate=1.0,
                                current_profit=0.0)
    assert exit_reason is None
    assert s.confirm_trade_entry(pair="A/B", order_type="limit", amount=1.0, rate=1.0, time_in_force="GTC",
                                 current_time=now, entry_tag=None, side="long") is True
    assert s.confirm_trade_exit(pair="A/B", trade=None, order_type="limit", amount=1.0, rate=1.0,
                                time_in_force="GTC", exit_reason="roi", current_time=now) is True


def test_call_callback_returns_the_default_when_user_code_fails(caplog):
    class Failing(Simple):
        def confirm_trade_entry(self, pair, **kwargs):
            raise RuntimeError("nope")

    s = Failing({})
    with caplog.at_level(logging.ERROR):
        assert s.call_callback("confirm_trade_entry", False, pair="A/B", rate=1.0) is False
    assert "Failing.confirm_trade_entry failed for A/B" in caplog.text
    assert Simple({}).call_callback("custom_exit", None, pair="A/B", trade=None, current_time=None,
                                    current_rate=1.0, current_profit=0.1) is None


def test_setting_dp_gives_it_the_strategy_timeframe():
    s = Simple({})
    dp = DataProvider({}, None, None, None)
    s.dp = dp
    assert s.dp is dp and dp.default_timeframe == "1h"
    explicit = DataProvider({"timeframe": "5m"}, None, None, None)
    s.dp = explicit
    assert explicit.default_timeframe == "5m"


def test_overrides_and_custom_keys_from_the_real_config():
    config_module = pytest.importorskip("tradecast.config")
    config = config_module.load_config([], overrides={
        "max_open_trades": 3, "stake_currency": "USDT", "stake_amount": 10, "stoploss": -0.2,
        "timeframe": "15m", "exchange": {"name": "sim", "pair_whitelist": ["BTC/USDT"]},
        "strategy_parameters": {"buy_rsi": 40},
    })

    class WithParam(Simple):
        buy_rsi = IntParameter(10, 60, default=30)

    s = WithParam(config)
    assert (s.stoploss, s.timeframe, s.buy_rsi.value) == (-0.2, "15m", 40)
    assert s.minimal_roi == {"0": 0.05, "30": 0.01} and s.use_exit_signal is True
