"""tradecast.v1 in the hub: a broadcast is compressed once, the same bytes reach every v1 subscriber."""

from __future__ import annotations

import asyncio
import json
import zlib
from typing import Any

from tests.unit.fleet.test_hub import Sink, settle
from tests.unit.fleet.test_hub_producer import NOW, FakeConn, fake_bot, frame, until
from tradecast.fleet.hub import ProducerHub
from tradecast.fleet.producer import ProducerPublisher
from tradecast.trading.analysis import Analyzed
from tradecast.wire import CompactFrame, decode_compact, pack

PAYLOAD = '{"type":"analyzed_df","data":' + json.dumps({"rows": [[i, i / 3] for i in range(40)]}) + "}"


class CountingPack:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, data: Any) -> Any:
        self.calls.append(data)
        return pack(data)


async def test_one_compression_for_every_v1_subscriber_and_text_for_the_others() -> None:
    counting = CountingPack()
    hub = ProducerHub(pack=counting)
    v1 = [Sink() for _ in range(3)]
    text = [Sink() for _ in range(2)]
    for index, sink in enumerate(v1):
        hub.subscribe(f"v1-{index}", sink.send, ["analyzed_df"], compact=True)
    for index, sink in enumerate(text):
        hub.subscribe(f"json-{index}", sink.send, ["analyzed_df"])
    assert hub.publish("analyzed_df", PAYLOAD) == 5
    await settle()
    assert counting.calls == [PAYLOAD]  # compressed once, not once per subscriber
    first = v1[0].items[0]
    assert isinstance(first, CompactFrame) and zlib.decompress(first) == PAYLOAD.encode()
    assert all(sink.items[0] is first for sink in v1)  # the same bytes object
    assert all(sink.items == [PAYLOAD] and sink.items[0] is PAYLOAD for sink in text)  # unchanged text
    stats = hub.stats()
    assert stats["compressions"] == 1 and [s["compact"] for s in stats["per_subscriber"]] == [True] * 3 + [False] * 2
    await hub.close()


async def test_nothing_is_compressed_without_a_v1_taker_and_short_messages_stay_text() -> None:
    counting = CountingPack()
    hub = ProducerHub(pack=counting)
    plain, v1 = Sink(), Sink()
    hub.subscribe("plain", plain.send, ["analyzed_df", "new_candle"])
    hub.subscribe("v1", v1.send, ["new_candle"], compact=True)
    hub.publish("analyzed_df", PAYLOAD)  # the v1 subscriber does not take analyzed_df
    short = '{"type":"new_candle","data":["BTC/USDT","5m","spot"]}'
    hub.publish("new_candle", short)
    await settle()
    assert counting.calls == [short] and hub.compressions == 0
    assert v1.items == [short] and v1.items[0] is short
    await hub.close()


async def test_queue_bytes_count_the_compressed_size() -> None:
    hub = ProducerHub()
    stuck = Sink(blocked=True)
    sub = hub.subscribe("v1", stuck.send, ["analyzed_df"], compact=True)
    hub.publish("analyzed_df", PAYLOAD)
    hub.publish("analyzed_df", PAYLOAD)
    await settle()
    queued = sub.live[0]
    assert isinstance(queued, CompactFrame) and sub.live_bytes == len(queued) < len(PAYLOAD)
    await hub.close()


async def test_replies_are_compressed_once_whether_prepared_in_a_thread_or_not() -> None:
    counting = CountingPack()
    hub = ProducerHub(pack=counting)
    v1_sink, plain_sink = Sink(), Sink()
    v1 = hub.subscribe("v1", v1_sink.send, [], compact=True)
    plain = hub.subscribe("plain", plain_sink.send, [])
    prepared = await asyncio.to_thread(hub.payload_for, v1, PAYLOAD)
    assert isinstance(prepared, CompactFrame)
    assert await hub.reply(v1, prepared) and await hub.reply(v1, PAYLOAD)
    assert hub.payload_for(plain, PAYLOAD) is PAYLOAD and await hub.reply(plain, PAYLOAD)
    await settle()
    assert v1_sink.items[0] is prepared and isinstance(v1_sink.items[1], CompactFrame)
    assert [zlib.decompress(item) for item in v1_sink.items] == [PAYLOAD.encode()] * 2
    assert plain_sink.items == [PAYLOAD]
    assert len([c for c in counting.calls if not isinstance(c, CompactFrame)]) == 2  # one per reply
    await hub.close()


class CompactConn(FakeConn):
    compact = True


async def test_publisher_serves_a_v1_connection_compressed_and_a_plain_one_as_before() -> None:
    bot, hub = fake_bot(["BTC/USDT"]), ProducerHub()
    publisher = ProducerPublisher(bot, hub)
    bot.analyzed.set("BTC/USDT", "5m", frame(300), NOW)
    v1, plain = CompactConn(), FakeConn()
    serving = [asyncio.ensure_future(publisher.serve(conn, name)) for conn, name in ((v1, "v1"), (plain, "plain"))]
    for conn in (v1, plain):
        conn.incoming.put_nowait('{"type":"subscribe","data":["analyzed_df","new_candle"]}')
        conn.incoming.put_nowait('{"type":"analyzed_df","data":{"limit":1500,"pair":null}}')
    await until(lambda: len(v1.sent) == 1 and len(plain.sent) == 1)
    assert isinstance(v1.sent[0], CompactFrame) and isinstance(plain.sent[0], str)
    assert zlib.decompress(v1.sent[0]).decode() == plain.sent[0]  # the same JSON inside
    assert len(decode_compact(v1.sent[0], 1 << 20).frame) == 300
    stored, _ = bot.analyzed.get("BTC/USDT", "5m")
    publisher.on_analyzed(Analyzed("BTC/USDT", "5m", stored, True, NOW))
    await until(lambda: len(v1.sent) == 3 and len(plain.sent) == 3)
    assert isinstance(v1.sent[1], CompactFrame) and zlib.decompress(v1.sent[1]).decode() == plain.sent[1]
    assert v1.sent[2] is plain.sent[2]  # new_candle is short: the same text for both
    assert hub.compressions == 1
    for conn in (v1, plain):
        conn.incoming.put_nowait(None)
    await asyncio.wait_for(asyncio.gather(*serving), 2)
    await hub.close()
