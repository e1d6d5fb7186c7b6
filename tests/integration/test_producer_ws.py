"""A real producer over loopback: a Bot on the sim market, uvicorn, /api/v1/message/ws and websockets clients."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tradecast.api import ApiServer, create_app, create_token
from tradecast.api.message_ws import attach_producer
from tradecast.bot import Bot
from tradecast.config import Config
from tradecast.core.clock import FakeClock
from tradecast.fleet.hub import ProducerHub
from tradecast.market.sim import SimMarket
from tradecast.wire import AnalyzedDfMessage, encode_message

pytestmark = pytest.mark.integration

JWT_KEY = "j" * 40
WS_TOKEN = "ws-token-0123456789"
PAIRS = ["BTC/USDT", "ETH/USDT"]
START = datetime(2026, 11, 20, 12, 0, 30, tzinfo=UTC)
FREQUI_TOPICS = ["whitelist", "entry_fill", "exit_fill", "entry_cancel", "exit_cancel", "new_candle"]


@dataclass
class Producer:
    bot: Bot
    server: ApiServer
    clock: FakeClock
    hub: ProducerHub

    def url(self, token: str | None = WS_TOKEN) -> str:
        query = f"?token={token}" if token is not None else ""
        return f"ws://127.0.0.1:{self.server.port}/api/v1/message/ws{query}"


def make_config(tmp_path: Path) -> Config:
    return Config.model_validate({
        "strategy": "ProducerStrategy", "stake_currency": "USDT", "stake_amount": 100, "max_open_trades": 3,
        "db_url": f"sqlite:///{tmp_path / 'producer.sqlite'}",
        "exchange": {"name": "sim", "pair_whitelist": PAIRS},
        "api_server": {"enabled": True, "listen_port": 8080, "enable_message_ws": True, "ws_token": [WS_TOKEN],
                       "jwt_secret_key": JWT_KEY, "username": "alice", "password": "secret-password"},
    })


async def start_producer(tmp_path: Path, hub: ProducerHub | None = None) -> Producer:
    config = make_config(tmp_path)
    clock = FakeClock(START)
    bot = Bot(config, market=SimMarket(seed=1, clock=clock))
    hub = hub or ProducerHub()
    app = create_app(config.api_server, public_routers=attach_producer(bot, hub=hub), jwt_key=JWT_KEY)
    server = ApiServer(app, "127.0.0.1", 0)
    await bot.start()
    await server.start()
    return Producer(bot, server, clock, hub)


@pytest.fixture
async def producer(tmp_path: Path) -> AsyncIterator[Producer]:
    running = await start_producer(tmp_path)
    yield running
    await running.server.stop(timeout_s=3)
    await running.bot.stop()


async def recv_json(ws: ClientConnection, timeout: float = 5.0) -> tuple[str, dict[str, Any]]:
    text = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(text, str), "the producer must send text frames"
    return text, json.loads(text)


async def recv_until(ws: ClientConnection, count: int, timeout: float = 5.0) -> list[tuple[str, dict[str, Any]]]:
    return [await recv_json(ws, timeout) for _ in range(count)]


def freqtrade_decode(message: dict[str, Any]) -> pd.DataFrame:
    """What a freqtrade consumer does with an analyzed_df message (its hybrid-JSON object hook)."""
    df = message["data"]["df"]
    assert df["__type__"] == "dataframe"
    frame = pd.read_json(StringIO(df["__value__"]), orient="split")
    if "date" in frame.columns:
        frame["date"] = pd.to_datetime(frame["date"], unit="ms", utc=True)
    return frame


# --------------------------------------------------------------------------------------------- handshake


async def test_wrong_or_missing_token_is_refused_with_403_and_not_logged(producer: Producer, caplog) -> None:
    caplog.set_level(logging.INFO)
    for url, headers in [(producer.url("wrong-token-xyz"), None), (producer.url(None), None),
                         (producer.url(None), {"Authorization": "Bearer wrong-token-xyz"})]:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, additional_headers=headers, open_timeout=5):
                pass
        assert refused.value.response.status_code == 403
    assert "refused connection from 127.0.0.1: bad token" in caplog.text
    assert "wrong-token-xyz" not in caplog.text


@pytest.mark.parametrize("how", ["query", "bearer", "jwt"])
async def test_token_via_query_bearer_header_or_access_jwt(producer: Producer, how: str) -> None:
    if how == "query":
        url, headers = producer.url(), None
    elif how == "bearer":
        url, headers = producer.url(None), {"Authorization": f"Bearer {WS_TOKEN}"}
    else:
        url, headers = producer.url(create_token("alice", "access", JWT_KEY)), None
    async with connect(url, additional_headers=headers) as ws:
        await ws.send('{"type":"whitelist"}')
        text, _ = await recv_json(ws)
        assert text == '{"type":"whitelist","data":["BTC/USDT","ETH/USDT"]}'


async def test_refresh_jwt_is_refused(producer: Producer) -> None:
    with pytest.raises(InvalidStatus):
        async with connect(producer.url(create_token("alice", "refresh", JWT_KEY))):
            pass


# ---------------------------------------------------------------------------------------------- requests


async def test_freqtrade_consumer_sequence_is_answered_byte_exact(producer: Producer) -> None:
    async with connect(producer.url()) as ws:
        # the three requests a freqtrade consumer sends after connecting, before the producer analysed anything
        await ws.send('{"type":"subscribe","data":["whitelist","analyzed_df"]}')
        await ws.send('{"type":"whitelist"}')
        await ws.send('{"type":"analyzed_df","data":{"limit":1500,"pair":null}}')
        (wl, _), (first, _), (second, _) = await recv_until(ws, 3)
        assert wl == '{"type":"whitelist","data":["BTC/USDT","ETH/USDT"]}'
        empty = '{{"type":"analyzed_df","data":{{"key":["{}","5m","spot"],"df":{{"__type__":"dataframe",' \
                '"__value__":"{{\\"columns\\":[],\\"index\\":[],\\"data\\":[]}}"}},"la":"1970-01-01T00:00:00+00:00"}}}}'
        assert first == empty.format("BTC/USDT") and second == empty.format("ETH/USDT")

        await producer.bot.run_once()  # analysis: the first whitelist, then broadcasts of the newest rows
        got = [message for _, message in await recv_until(ws, 3)]
        # the whitelist goes out before the first candles, so no consumer drops a pair it has not heard of
        assert [m["type"] for m in got] == ["whitelist", "analyzed_df", "analyzed_df"]
        for message, pair in zip([got[1], got[2]], PAIRS, strict=True):
            assert message["data"]["key"] == [pair, "5m", "spot"]
            frame = freqtrade_decode(message)
            stored, la = producer.bot.analyzed.get(pair, "5m")
            assert len(frame) == 1 and list(frame.columns) == list(stored.columns)
            assert list(frame.index) == [stored.index[-1]]
            assert frame["date"].iloc[0] == stored["date"].iloc[-1]
            assert message["data"]["la"] == la.isoformat()

        await ws.send('{"type":"analyzed_df","data":{"limit":1500,"pair":"ETH/USDT"}}')
        text, message = await recv_json(ws)
        stored, la = producer.bot.analyzed.get("ETH/USDT", "5m")
        assert text.encode() == encode_message(AnalyzedDfMessage("ETH/USDT", "5m", "spot", stored, la))
        frame = freqtrade_decode(message)  # a freqtrade consumer reads the same rows and columns
        assert list(frame.columns) == list(stored.columns) and len(frame) == len(stored) == 1000
        assert (frame["date"] == stored["date"]).all()
        for column in ("open", "close", "rsi", "tema", "bb_upperband"):
            assert np.allclose(frame[column], stored[column], rtol=1e-14, atol=0, equal_nan=True), column
        assert frame["enter_long"].sum() == stored["enter_long"].sum()

        # the same (pair, limit) again within the same candle is not answered (freqtrade's request loop)
        await ws.send('{"type":"analyzed_df","data":{"limit":1500,"pair":"ETH/USDT"}}')
        await ws.send('{"type":"analyzed_df","data":{"limit":2,"pair":"ETH/USDT"}}')
        _, message = await recv_json(ws)
        assert len(freqtrade_decode(message)) == 2


async def test_bad_requests_get_an_exception_and_the_connection_survives(producer: Producer) -> None:
    async with connect(producer.url()) as ws:
        await ws.send('{"type":"nonsense"}')
        _, first = await recv_json(ws)
        await ws.send('{"type":"analyzed_df","data":{"limit":null}}')
        _, second = await recv_json(ws)
        await ws.send("not json at all")
        _, third = await recv_json(ws)
        assert [first["type"], second["type"], third["type"]] == ["exception"] * 3
        assert first["data"].startswith("Invalid request type") and "limit" in second["data"]
        await ws.send(b'{"type":"whitelist"}')  # binary JSON is accepted as well
        _, message = await recv_json(ws)
        assert message == {"type": "whitelist", "data": PAIRS}


async def test_new_candle_and_one_row_broadcasts_after_each_pass(producer: Producer) -> None:
    async with connect(producer.url()) as ws:
        await ws.send('{"type":"subscribe","data":["analyzed_df","new_candle","not_a_topic"]}')
        await ws.send('{"type":"whitelist"}')  # not subscribed to whitelist broadcasts: only the reply comes
        await recv_json(ws)
        await producer.bot.run_once()
        kinds = [(m["type"], m["data"]["key"][0] if m["type"] == "analyzed_df" else m["data"][0])
                 for _, m in await recv_until(ws, 4)]
        assert kinds == [("analyzed_df", "BTC/USDT"), ("new_candle", "BTC/USDT"),
                         ("analyzed_df", "ETH/USDT"), ("new_candle", "ETH/USDT")]
        producer.clock.advance(300)
        await producer.bot.run_once()
        messages = [m for _, m in await recv_until(ws, 4)]
        assert messages[1] == {"type": "new_candle", "data": ["BTC/USDT", "5m", "spot"]}
        newest = freqtrade_decode(messages[0])["date"].iloc[0]
        assert newest == producer.bot.analyzed.get("BTC/USDT", "5m")[0]["date"].iloc[-1]


async def test_frequi_subscription_gets_whitelist_and_trade_events(producer: Producer) -> None:
    async with connect(producer.url(create_token("alice", "access", JWT_KEY))) as ws:
        await ws.send(json.dumps({"type": "subscribe", "data": FREQUI_TOPICS}))
        await ws.send('{"type":"whitelist","data":""}')
        _, message = await recv_json(ws)
        assert message == {"type": "whitelist", "data": PAIRS}
        async with connect(producer.url()) as events_ws:
            await events_ws.send('{"type":"subscribe","data":["entry","entry_fill"]}')
            await events_ws.send('{"type":"whitelist"}')
            await recv_json(events_ws)  # subscription is in place once the reply is here
            trade = await producer.bot.engine.enter("BTC/USDT", reason="force")
            assert trade is not None
            _, entry = await recv_json(events_ws)
            assert entry["type"] == "entry" and entry["trade_id"] == trade.id and entry["pair"] == "BTC/USDT"
            assert "data" not in entry  # flat, as freqtrade sends it
        producer.clock.advance(60)
        await producer.bot.engine.manage()  # the paper order fills
        _, fill = await recv_json(ws)
        assert fill["type"] == "entry_fill" and fill["trade_id"] == trade.id


async def test_producer_shutdown_closes_subscribers_with_1001(tmp_path: Path) -> None:
    running = await start_producer(tmp_path)
    try:
        async with connect(running.url()) as ws:
            await ws.send('{"type":"whitelist"}')
            await recv_json(ws)
            await running.bot.stop()
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    finally:
        await running.server.stop(timeout_s=3)


# ------------------------------------------------------------------------------------------ backpressure


async def test_slow_subscriber_is_cut_off_while_a_fast_one_keeps_its_latency(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    hub = ProducerHub(max_queue_messages=50, slow_timeout_s=0.5)
    running = await start_producer(tmp_path, hub=hub)
    try:
        # a peer that stops reading; a small receive buffer (no autotuning) makes its socket fill quickly
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 10)
        raw.setblocking(False)
        await asyncio.get_running_loop().sock_connect(raw, ("127.0.0.1", running.server.port))
        slow = await connect(running.url(), sock=raw, compression=None, max_size=None, max_queue=2)
        fast = await connect(running.url(), compression=None, max_size=None)
        for ws in (slow, fast):
            await ws.send('{"type":"subscribe","data":["analyzed_df"]}')
            await ws.send('{"type":"whitelist"}')
            await recv_json(ws)
        latencies: list[float] = []

        async def read_fast() -> None:
            while True:
                text = await fast.recv()
                latencies.append(time.perf_counter() - float(text[13:33]))

        reader = asyncio.ensure_future(read_fast())
        padding = "x" * 50_000
        for _ in range(2000):  # 50 KB every 5 ms: the slow peer's socket buffers fill within a few seconds
            hub.publish("analyzed_df", f'{{"t":"a","x":{time.perf_counter():20.6f},"p":"{padding}"}}')
            await asyncio.sleep(0.005)
            if hub.slow_disconnects:
                break
        await asyncio.sleep(0.2)
        reader.cancel()
        assert hub.slow_disconnects == 1 and hub.stats()["subscribers"] == 1
        assert "disconnected: queue full" in caplog.text or "disconnected: a send blocked" in caplog.text
        assert len(latencies) > 50
        assert max(latencies) < 0.25, f"fast subscriber waited up to {max(latencies) * 1000:.0f} ms"
        await fast.close()
        slow.transport.abort()  # it never reads its buffered data, so no closing handshake
    finally:
        await running.server.stop(timeout_s=3)
        await running.bot.stop()


# ------------------------------------------------------------------------------------------ tradecast.v1


async def test_v1_client_gets_binary_frames_and_a_plain_client_text_with_the_same_json(producer: Producer) -> None:
    from tradecast.wire import decode_compact, decode_compact_batch, decompress_messages

    async with connect(producer.url(), subprotocols=["tradecast.v1"], compression=None) as v1, \
            connect(producer.url()) as plain:
        assert v1.subprotocol == "tradecast.v1" and plain.subprotocol is None
        for ws in (v1, plain):
            await ws.send('{"type":"subscribe","data":["analyzed_df","new_candle"]}')
            await ws.send('{"type":"whitelist"}')
        wl_v1, (wl_plain, _) = await asyncio.wait_for(v1.recv(), 5), await recv_json(plain)
        assert wl_v1 == wl_plain  # a short reply: a text frame on the v1 connection too
        await producer.bot.run_once()
        texts = [text for text, _ in await recv_until(plain, 4)]  # per pair: analyzed_df, then new_candle
        inside: list[bytes] = []
        decoded: list[Any] = []
        while len(inside) < 4:  # v1: every broadcast binary; those queued together share one frame
            packed = await asyncio.wait_for(v1.recv(), 5)
            assert isinstance(packed, bytes)
            inside += decompress_messages(packed, 1 << 20)
            decoded += decode_compact_batch(packed, 1 << 20)
        assert inside == [text.encode() for text in texts]  # the same JSON, in the same order
        assert [type(m).__name__ for m in decoded] == ["AnalyzedDfMessage", "NewCandleMessage"] * 2
        assert all(len(m.frame) == 1 for m in decoded[::2])
        await v1.send('{"type":"analyzed_df","data":{"limit":1500,"pair":"BTC/USDT"}}')
        reply = await asyncio.wait_for(v1.recv(), 5)
        stored = producer.bot.analyzed.get("BTC/USDT", "5m")[0]
        assert isinstance(reply, bytes) and len(decode_compact(reply, 8 << 20).frame) == len(stored)
    assert producer.hub.stats()["compressions"] == 4  # one per broadcast, not one per subscriber


async def test_tradecast_consumer_negotiates_v1_with_our_producer(producer: Producer) -> None:
    from types import SimpleNamespace

    from tradecast.fleet.client import ProducerClient

    received: list[Any] = []
    cfg = SimpleNamespace(name="p", host="127.0.0.1", port=producer.server.port, secure=False, ws_token=WS_TOKEN)
    consumer = SimpleNamespace(message_size_limit=8, wait_timeout=30, ping_timeout=10, sleep_time=2,
                               initial_candle_limit=1500)
    client = ProducerClient(cfg, consumer, lambda name, msg, reply: received.append((msg, reply)))
    await producer.bot.run_once()  # the producer holds analysed frames for the sync
    client.start()
    try:
        async with asyncio.timeout(10):
            while not client.synced:
                await asyncio.sleep(0.01)
        assert client.compact
        producer.clock.advance(300)
        await producer.bot.run_once()
        async with asyncio.timeout(10):
            while sum(isinstance(m, AnalyzedDfMessage) and not r for m, r in received) < 2:
                await asyncio.sleep(0.01)
    finally:
        await client.stop()
    frames = [(m.pair, len(m.frame), r) for m, r in received if isinstance(m, AnalyzedDfMessage)]
    stored = len(producer.bot.analyzed.get("BTC/USDT", "5m")[0])
    assert frames[0][0] == "BTC/USDT" and frames[0][2] and frames[0][1] >= stored - 1
    assert frames[-2:] == [("BTC/USDT", 1, False), ("ETH/USDT", 1, False)]
    assert not client.errors
