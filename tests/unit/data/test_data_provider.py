"""DataProvider, CandleStore and AnalyzedStore: copies on read, empty results when data is missing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from types import SimpleNamespace

import pandas as pd
import pytest

from tradecast.data import EPOCH, AnalyzedStore, CandleStore, DataProvider, RunMode


def frame(rows: int = 3) -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=rows, freq="5min", tz="UTC")
    return pd.DataFrame({"date": dates, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0})


@pytest.fixture
def stores() -> tuple[CandleStore, AnalyzedStore]:
    candles, analyzed = CandleStore(), AnalyzedStore()
    candles.set("BTC/USDT", "5m", frame())
    candles.set("BTC/USDT", "1h", frame(2))
    candles.set("ETH/USDT", "5m", frame())
    analyzed.set("BTC/USDT", "5m", frame().assign(rsi=50.0), datetime(2024, 1, 1, 0, 10, tzinfo=UTC))
    return candles, analyzed


def test_ohlcv_returns_copies_and_uses_the_config_timeframe(stores):
    candles, analyzed = stores
    dp = DataProvider(SimpleNamespace(timeframe="5m"), candles, analyzed, ["BTC/USDT"])
    got = dp.ohlcv("BTC/USDT")
    assert len(got) == 3
    got["close"] = 99.0
    assert (candles.get("BTC/USDT", "5m")["close"] == 1.0).all()
    assert len(dp.get_pair_dataframe("BTC/USDT", "1h")) == 2
    assert dp.ohlcv("BTC/USDT", copy=False) is candles.get("BTC/USDT", "5m")


def test_missing_candles_give_an_empty_ohlcv_frame(stores):
    candles, analyzed = stores
    dp = DataProvider({"timeframe": "5m"}, candles, analyzed, [])
    empty = dp.ohlcv("XRP/USDT")
    assert empty.empty
    assert list(empty.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert DataProvider({}, None, None, None).get_pair_dataframe("BTC/USDT").empty


def test_analyzed_dataframe_and_missing_one(stores):
    candles, analyzed = stores
    dp = DataProvider({}, candles, analyzed, [], timeframe="5m")
    df, last = dp.get_analyzed_dataframe("BTC/USDT", "5m")
    assert "rsi" in df.columns and last == datetime(2024, 1, 1, 0, 10, tzinfo=UTC)
    df.loc[0, "rsi"] = 0.0
    assert analyzed.get("BTC/USDT", "5m")[0].loc[0, "rsi"] == 50.0
    missing, when = dp.get_analyzed_dataframe("ETH/USDT", "5m")
    assert missing.empty and when == EPOCH == datetime(1970, 1, 1, tzinfo=UTC)


def test_whitelist_from_a_callable_or_a_list_is_a_new_list():
    pairs = ["BTC/USDT", "ETH/USDT"]
    dp = DataProvider({}, None, None, pairs)
    got = dp.current_whitelist()
    got.append("X/USDT")
    assert pairs == ["BTC/USDT", "ETH/USDT"]
    assert DataProvider({}, None, None, lambda: ("A/B",)).current_whitelist() == ["A/B"]
    assert DataProvider({}, None, None, None).current_whitelist() == []


def test_runmode_is_a_string_enum():
    assert DataProvider({}, None, None, None).runmode == "dry_run"
    live = DataProvider({}, None, None, None, runmode="live")
    assert live.runmode is RunMode.LIVE and live.runmode.value == "live"
    with pytest.raises(ValueError):
        DataProvider({}, None, None, None, runmode="backtest")


def test_producer_accessors_without_consumer_are_empty_and_log_once(caplog):
    dp = DataProvider({}, None, None, None)
    with caplog.at_level(logging.WARNING, logger="tradecast.data.provider"):
        df, last = dp.get_producer_df("BTC/USDT")
        df2, _ = dp.get_external_df("BTC/USDT", "1h", producer_name="other")
        pairs = dp.get_producer_pairs()
    assert df.empty and df2.empty and last == EPOCH and pairs == []
    messages = [r.getMessage() for r in caplog.records if "external_message_consumer" in r.getMessage()]
    assert len(messages) == 1


def test_producer_accessors_delegate_with_defaults_and_copy():
    stored = frame().assign(rsi=1.0)
    calls = []

    class FakeProducers:
        def get_producer_df(self, pair, timeframe, candle_type, producer_name):
            calls.append((pair, timeframe, candle_type, producer_name))
            return stored, datetime(2024, 1, 1, tzinfo=UTC)

        def get_producer_pairs(self, producer_name):
            return ["BTC/USDT"] if producer_name == "default" else []

    dp = DataProvider({"timeframe": "15m"}, None, None, None, producer_source=FakeProducers())
    df, _ = dp.get_producer_df("BTC/USDT")
    df["rsi"] = 5.0
    assert (stored["rsi"] == 1.0).all()
    dp.get_external_df("ETH/USDT", "1h", producer_name="p2")
    assert calls == [("BTC/USDT", "15m", "spot", "default"), ("ETH/USDT", "1h", "spot", "p2")]
    assert dp.get_producer_pairs() == ["BTC/USDT"] and dp.get_producer_pairs("p2") == []


def test_stores_list_pairs_and_forget():
    candles = CandleStore()
    candles.set("A/B", "5m", frame())
    candles.set("A/B", "1h", frame())
    candles.set("C/D", "1h", frame())
    assert candles.pairs() == ["A/B", "C/D"] and candles.pairs("5m") == ["A/B"]
    assert ("C/D", "1h") in candles and len(candles) == 3
    candles.remove("C/D", "1h")
    assert candles.get("C/D", "1h") is None
    analyzed = AnalyzedStore()
    analyzed.set("A/B", "5m", frame(), datetime(2024, 1, 1))
    assert analyzed.get("A/B", "5m")[1].tzinfo is not None
    assert analyzed.pairs() == ["A/B"] and analyzed.get("X/Y", "5m") is None
