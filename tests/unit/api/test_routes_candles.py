"""Candle routes on a real bot: analysed frames, column filters, on-demand analysis, and the pure helpers."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pytest

from tradecast.api.routes_candles import frame_payload, parse_timerange

from .conftest import RestHarness


async def test_pair_candles_before_and_after_analysis(rest: RestHarness) -> None:
    client, bot = rest.client, rest.bot
    empty = (await client.get("/api/v1/pair_candles", params={"pair": "BTC/USDT", "timeframe": "5m"})).json()
    assert empty["length"] == 0 and empty["data"] == [] and empty["data_start"] == "" and empty["data_stop_ts"] == 0

    await bot.run_once()
    frame, analysed_at = bot.analyzed.get("BTC/USDT", "5m")
    full = (await client.get("/api/v1/pair_candles",
                             params={"pair": "BTC/USDT", "timeframe": "5m", "limit": 100})).json()
    assert full["length"] == 100 and full["strategy"] == "RestTestStrategy" and full["timeframe_ms"] == 300_000
    columns = full["columns"]
    for column in ("date", "open", "close", "sma3", "up", "enter_long", "__date_ts", "_enter_long_signal_close"):
        assert column in columns, column
    assert set(full["all_columns"]) == {str(c) for c in frame.columns}
    tail = frame.tail(100).reset_index(drop=True)
    first = dict(zip(columns, full["data"][0], strict=True))
    assert first["__date_ts"] == int(tail["date"].iloc[0].timestamp() * 1000) == full["data_start_ts"]
    assert first["close"] == pytest.approx(tail["close"].iloc[0])
    assert first["date"] == tail["date"].iloc[0].isoformat()
    last = dict(zip(columns, full["data"][-1], strict=True))
    assert last["__date_ts"] == full["data_stop_ts"]
    assert full["enter_long_signals"] == int((tail["enter_long"] == 1).sum()) == full["buy_signals"] >= 1
    signal_rows = [dict(zip(columns, row, strict=True)) for row in full["data"]]
    for row in signal_rows:
        if row["enter_long"] == 1:
            assert row["_enter_long_signal_close"] == row["close"]
        else:
            assert row["_enter_long_signal_close"] is None  # NaN -> null
    assert full["last_analyzed_ts"] == int(analysed_at.timestamp())

    filtered = (await client.post("/api/v1/pair_candles", json={"pair": "BTC/USDT", "timeframe": "5m",
                                                                 "limit": 10, "columns": ["sma3"]})).json()
    assert "sma3" in filtered["columns"] and "up" not in filtered["columns"]
    assert {"open", "high", "low", "close", "volume", "enter_long", "exit_long"} <= set(filtered["columns"])
    assert "up" in filtered["all_columns"] and filtered["length"] == 10
    assert all(len(row) == len(filtered["columns"]) for row in filtered["data"])

    bad_tf = await client.get("/api/v1/pair_candles", params={"pair": "BTC/USDT", "timeframe": "7x"})
    assert bad_tf.status_code == 422 and "timeframe" in bad_tf.json()["detail"]
    assert (await client.get("/api/v1/pair_candles", params={"pair": "BTC/USDT"})).status_code == 422


async def test_pair_history_analyses_a_timerange_with_any_strategy(rest: RestHarness) -> None:
    client = rest.client
    params = {"pair": "ETH/USDT", "timeframe": "1h", "strategy": "RestTestStrategy",
              "timerange": "20260301-20260302", "freqaimodel": "None"}
    history = (await client.get("/api/v1/pair_history", params=params)).json()
    assert history["length"] == 24 and history["timeframe"] == "1h"
    assert history["data_start"] == "2026-03-01 00:00:00" and history["data_stop"] == "2026-03-01 23:00:00"
    assert "sma3" in history["columns"]
    candles = await rest.bot.market.fetch_ohlcv("ETH/USDT", "1h", since=datetime(2026, 3, 1, tzinfo=UTC), limit=24)
    closes = [row[history["columns"].index("close")] for row in history["data"]]
    assert closes == pytest.approx(list(candles["close"]))

    other = (await client.post("/api/v1/pair_history", json={
        "pair": "ETH/USDT", "timeframe": "5m", "strategy": "ProducerStrategy", "columns": ["rsi"]})).json()
    assert other["strategy"] == "ProducerStrategy" and other["length"] == 1000
    assert "rsi" in other["columns"] and "tema" not in other["columns"] and "tema" in other["all_columns"]

    missing = await client.get("/api/v1/pair_history", params={**params, "strategy": "Nope"})
    assert missing.status_code == 404 and "Nope" in missing.json()["detail"]
    bad_range = await client.get("/api/v1/pair_history", params={**params, "timerange": "yesterday"})
    assert bad_range.status_code == 422 and "timerange" in bad_range.json()["detail"]
    too_long = await client.get("/api/v1/pair_history", params={**params, "timeframe": "1m",
                                                                 "timerange": "20200101-20260301"})
    assert too_long.status_code == 422 and "at most" in too_long.json()["detail"]
    unknown = await client.get("/api/v1/pair_history", params={**params, "pair": "NOPE/USDT"})
    assert unknown.status_code == 502 and "NOPE/USDT" in unknown.json()["error"]


def test_parse_timerange() -> None:
    assert parse_timerange(None) == (None, None) and parse_timerange("") == (None, None)
    assert parse_timerange("20260101-") == (datetime(2026, 1, 1, tzinfo=UTC), None)
    assert parse_timerange("-20260201") == (None, datetime(2026, 2, 1, tzinfo=UTC))
    assert parse_timerange("1767225600-1767312000") == (datetime(2026, 1, 1, tzinfo=UTC),
                                                        datetime(2026, 1, 2, tzinfo=UTC))
    for bad in ("2026", "20260201-20260101", "abc-def"):
        with pytest.raises(ValueError):
            parse_timerange(bad)


def test_frame_payload_turns_nan_inf_and_nat_into_null() -> None:
    frame = pd.DataFrame({
        "date": pd.to_datetime(["2026-01-01 00:00", "2026-01-01 00:05"], utc=True),
        "open": [1.0, 2.0], "high": [1.0, 2.0], "low": [1.0, 2.0], "close": [1.0, 2.0], "volume": [1.0, 1.0],
        "ind": [math.nan, math.inf], "when": [pd.NaT, pd.Timestamp("2026-01-01", tz="UTC")],
        "exit_long": [1, 0],
    })
    payload = frame_payload(frame, pair="A/B", timeframe="5m", strategy="S", last_analyzed=None)
    rows = [dict(zip(payload["columns"], row, strict=True)) for row in payload["data"]]
    assert rows[0]["ind"] is None and rows[1]["ind"] is None and rows[0]["when"] is None
    assert rows[0]["_exit_long_signal_close"] == 1.0 and rows[1]["_exit_long_signal_close"] is None
    assert payload["exit_long_signals"] == 1 and payload["last_analyzed"] is None
    assert payload["data_start"] == "2026-01-01 00:00:00" and payload["data_stop_ts"] == 1767225900000


async def test_extreme_timeframes_and_unknown_pairs_never_500(rest) -> None:
    client = rest.client
    for timeframe in ("99999999999999999999w", "100000000000000000000000000d", "0m"):
        answer = await client.get("/api/v1/pair_candles", params={"pair": "BTC/USDT", "timeframe": timeframe})
        assert answer.status_code == 422, (timeframe, answer.text)
    empty = await client.get("/api/v1/pair_candles", params={"pair": "XXX/USDT", "timeframe": "5m"})
    assert empty.status_code == 200 and empty.json()["length"] == 0  # freqtrade: empty, not an error
