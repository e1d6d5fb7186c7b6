"""ProducerPublisher with a bot stand-in: what is published, encoded once, and how requests are answered."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pandas as pd

from tradecast.data.analyzed import AnalyzedStore
from tradecast.fleet.hub import ProducerHub
from tradecast.fleet.producer import ProducerPublisher
from tradecast.trading.analysis import Analyzed
from tradecast.wire import AnalyzedDfMessage

NOW = datetime(2026, 11, 20, 12, 5, tzinfo=UTC)


def frame(rows: int, start: str = "2026-11-20 11:00") -> pd.DataFrame:
    dates = pd.date_range(start, periods=rows, freq="5min", tz="UTC")
    return pd.DataFrame({"date": dates, "close": [100.0 + i / 3 for i in range(rows)],
                         "enter_long": [0] * rows, "enter_tag": [None] * rows})


def fake_bot(pairs: list[str]) -> SimpleNamespace:
    return SimpleNamespace(analyzed_listeners=[], event_listeners=[], analyzed=AnalyzedStore(),
                           strategy=SimpleNamespace(timeframe="5m"),
                           engine=SimpleNamespace(whitelist=list(pairs), open_trades={}))


class FakeConn:
    """A websocket stand-in: requests are queued by the test; sent texts are collected."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self.sent: list[Any] = []

    async def recv(self) -> str | bytes | None:
        return await self.incoming.get()

    async def send(self, data: str) -> None:
        self.sent.append(data)


async def settle(rounds: int = 10) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


async def until(predicate, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def test_one_encode_per_analysis_reaches_all_subscribers_then_new_candle() -> None:
    bot, hub = fake_bot(["BTC/USDT"]), ProducerHub()
    ProducerPublisher(bot, hub)  # registers itself on the bot
    sinks = [FakeConn() for _ in range(3)]
    for index, sink in enumerate(sinks):
        hub.subscribe(f"s{index}", sink.send, ["analyzed_df", "new_candle"])
    data = frame(150)
    bot.analyzed_listeners[0](Analyzed("BTC/USDT", "5m", data, True, NOW))
    await settle()
    first = sinks[0].sent
    assert [json.loads(t)["type"] for t in first] == ["analyzed_df", "new_candle"]
    assert all(s.sent[0] is first[0] for s in sinks)  # the very same str object: encoded once
    inner = json.loads(json.loads(first[0])["data"]["df"]["__value__"])
    assert inner["index"] == [149] and len(inner["data"]) == 1
    bot.analyzed_listeners[0](Analyzed("BTC/USDT", "5m", data, False, NOW))  # same candle again
    await settle()
    assert [json.loads(t)["type"] for t in sinks[0].sent[2:]] == ["analyzed_df"]
    await hub.close()


async def test_nothing_is_encoded_for_nobody_and_whitelist_is_sent_only_on_change() -> None:
    bot, hub = fake_bot(["BTC/USDT"]), ProducerHub()
    publisher = ProducerPublisher(bot, hub)
    publisher.encode = None  # type: ignore[assignment]  # any encode would now fail loudly
    bot.analyzed_listeners[0](Analyzed("BTC/USDT", "5m", frame(3), True, NOW))
    bot.event_listeners[0]("entry", {"trade_id": 1})
    del publisher.encode
    sink = FakeConn()
    hub.subscribe("s", sink.send, ["whitelist", "entry", "exit_fill"])
    assert publisher.check_whitelist() is False  # already recorded by the analysis above
    bot.engine.whitelist.append("ETH/USDT")
    bot.engine.open_trades = {7: SimpleNamespace(pair="OLD/USDT")}
    assert publisher.check_whitelist() is True and publisher.check_whitelist() is False
    bot.event_listeners[0]("exit_fill", {"trade_id": 7, "pair": "OLD/USDT", "profit_ratio": 0.01})
    bot.event_listeners[0]("not_a_message_type", {"x": 1})
    await settle()
    assert [json.loads(t) for t in sink.sent] == [
        {"type": "whitelist", "data": ["BTC/USDT", "ETH/USDT", "OLD/USDT"]},
        {"type": "exit_fill", "trade_id": 7, "pair": "OLD/USDT", "profit_ratio": 0.01},
    ]
    await hub.close()


def test_a_frame_over_the_consumer_limit_is_sent_with_a_warning(caplog) -> None:
    bot = fake_bot(["BTC/USDT"])
    publisher = ProducerPublisher(bot, ProducerHub(), size_warning_bytes=1000)
    caplog.set_level(logging.WARNING)
    text = publisher.encode(AnalyzedDfMessage("BTC/USDT", "5m", "spot", frame(100), NOW))
    assert len(text) > 1000
    assert "analyzed_df message for BTC/USDT is 0.0 MiB, above the 8 MiB" in caplog.text


async def test_serve_answers_requests_and_breaks_the_repeat_loop() -> None:
    bot, hub = fake_bot(["BTC/USDT", "NEW/USDT"]), ProducerHub()
    publisher = ProducerPublisher(bot, hub)
    bot.analyzed.set("BTC/USDT", "5m", frame(40), NOW)  # fewer than 100 rows: freqtrade's request loop case
    conn = FakeConn()
    serving = asyncio.ensure_future(publisher.serve(conn, "10.0.0.1:5"))
    for request in ['{"type":"subscribe","data":[]}', '{"type":"analyzed_df","data":{"limit":1500,"pair":null}}']:
        conn.incoming.put_nowait(request)
    await until(lambda: len(conn.sent) == 2)
    replies = [json.loads(t) for t in conn.sent]
    assert [r["data"]["key"][0] for r in replies] == ["BTC/USDT", "NEW/USDT"]
    assert replies[1]["data"]["la"] == "1970-01-01T00:00:00+00:00"
    for _ in range(5):  # the freqtrade consumer asks again and again for the short pair
        conn.incoming.put_nowait('{"type":"analyzed_df","data":{"limit":1500,"pair":"BTC/USDT"}}')
    conn.incoming.put_nowait('{"type":"whitelist"}')
    await until(lambda: len(conn.sent) == 3)
    assert json.loads(conn.sent[2])["type"] == "whitelist" and publisher.repeats_dropped == 5
    bot.analyzed.set("BTC/USDT", "5m", frame(41), NOW)  # next candle: answered once more
    conn.incoming.put_nowait('{"type":"analyzed_df","data":{"limit":1500,"pair":"BTC/USDT"}}')
    await until(lambda: len(conn.sent) == 4)
    conn.incoming.put_nowait(None)
    ended = await asyncio.wait_for(serving, 2)
    assert ended.by_client and hub.stats()["subscribers"] == 0
    await hub.close()


async def test_serve_ends_when_the_hub_drops_the_subscriber() -> None:
    bot, hub = fake_bot(["BTC/USDT"]), ProducerHub()
    publisher = ProducerPublisher(bot, hub)
    conn = FakeConn()
    serving = asyncio.ensure_future(publisher.serve(conn, "peer"))
    await until(lambda: hub.stats()["subscribers"] == 1)
    await publisher.stop()
    ended = await asyncio.wait_for(serving, 2)
    assert not ended.by_client and ended.close_code == 1001 and ended.reason == "producer shutting down"
