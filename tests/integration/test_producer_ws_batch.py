"""tradecast.v1 batches over a real socket: broadcasts queued together arrive as one binary message, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.integration.test_producer_ws import PAIRS, WS_TOKEN, Producer, recv_until, start_producer
from tradecast.fleet.client import ProducerClient
from tradecast.wire import (
    AnalyzedDfMessage,
    NewCandleMessage,
    decode_compact_batch,
    decompress_messages,
    encode_message,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def producer(tmp_path: Path) -> AsyncIterator[Producer]:
    running = await start_producer(tmp_path)
    await running.bot.run_once()  # analysed frames to broadcast (before anyone subscribes)
    yield running
    await running.server.stop(timeout_s=3)
    await running.bot.stop()


def burst(producer: Producer, rounds: int = 3) -> list[tuple[str, str]]:
    """A candle close of every pair, ``rounds`` times: (type, JSON) of analyzed_df + new_candle per pair."""
    messages: list[tuple[str, str]] = []
    for index in range(rounds):
        for pair in PAIRS:
            frame, la = producer.bot.analyzed.get(pair, "5m")
            row = frame.iloc[[-1 - index]]
            messages.append(("analyzed_df", encode_message(AnalyzedDfMessage(pair, "5m", "spot", row, la)).decode()))
            messages.append(("new_candle", encode_message(NewCandleMessage(pair, "5m", "spot")).decode()))
    return messages


def publish_all(producer: Producer, messages: list[tuple[str, str]]) -> None:
    for kind, text in messages:  # no await in between: every sender finds the whole burst queued
        assert producer.hub.publish(kind, text) >= 1


async def test_a_burst_is_one_binary_message_on_v1_and_one_text_frame_per_message_on_json(producer: Producer) -> None:
    async with connect(producer.url(), subprotocols=["tradecast.v1"], compression=None) as v1, \
            connect(producer.url()) as plain:
        for ws in (v1, plain):
            await ws.send('{"type":"subscribe","data":["analyzed_df","new_candle"]}')
            await ws.send('{"type":"whitelist"}')
        await asyncio.wait_for(v1.recv(), 5)
        await recv_until(plain, 1)
        messages = burst(producer)
        publish_all(producer, messages)
        packed = await asyncio.wait_for(v1.recv(), 5)
        texts = [text for text, _ in await recv_until(plain, len(messages))]  # freqtrade's way: unchanged
        v1_stats = next(s for s in producer.hub.stats()["per_subscriber"] if s["compact"])
    assert isinstance(packed, bytes)
    assert decompress_messages(packed, 1 << 20) == [text.encode() for _, text in messages]
    assert texts == [text for _, text in messages]
    decoded = decode_compact_batch(packed, 1 << 20)
    assert [type(m) for m in decoded] == [AnalyzedDfMessage, NewCandleMessage] * (len(messages) // 2)
    assert [m.pair for m in decoded] == [pair for _ in range(3) for pair in PAIRS for _ in range(2)]
    # the whitelist reply, then the whole burst in one websocket message
    assert v1_stats["sent"] == 1 + len(messages) and v1_stats["frames"] == 2


async def test_tradecast_consumer_applies_every_message_of_a_batch_in_order(producer: Producer) -> None:
    received: list[tuple[Any, bool]] = []
    cfg = SimpleNamespace(name="p", host="127.0.0.1", port=producer.server.port, secure=False, ws_token=WS_TOKEN)
    consumer = SimpleNamespace(message_size_limit=1, wait_timeout=30, ping_timeout=10, sleep_time=2,
                               initial_candle_limit=1500)
    client = ProducerClient(cfg, consumer, lambda name, msg, reply: received.append((msg, reply)))
    client.start()
    try:
        async with asyncio.timeout(10):
            while not client.synced:
                await asyncio.sleep(0.01)
        assert client.compact
        synced = len(received)
        messages = [(kind, text) for kind, text in burst(producer) if kind == "analyzed_df"]  # what it subscribes
        frames_before = producer.hub.stats()["per_subscriber"][0]["frames"]
        publish_all(producer, messages)
        async with asyncio.timeout(10):
            while len(received) < synced + len(messages):
                await asyncio.sleep(0.01)
        frames = producer.hub.stats()["per_subscriber"][0]["frames"] - frames_before
    finally:
        await client.stop()
    got = [(m.pair, m.frame["date"].iloc[0], reply) for m, reply in received[synced:]]
    expected = []
    for index in range(3):
        for pair in PAIRS:
            expected.append((pair, producer.bot.analyzed.get(pair, "5m")[0]["date"].iloc[-1 - index], False))
    assert got == expected and frames == 1
    assert not client.errors and client.status()["messages"] >= synced + len(messages)
