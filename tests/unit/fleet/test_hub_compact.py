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
from tradecast.wire import CompactFrame, decode_compact, decompress_messages, pack

PAYLOAD = '{"type":"analyzed_df","data":' + json.dumps({"rows": [[i, i / 3] for i in range(40)]}) + "}"


class CountingPack:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, data: Any, *args: Any) -> Any:
        self.calls.append(data)
        return pack(data, *args)


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


async def test_nothing_is_compressed_without_a_v1_taker_and_short_broadcasts_are_compressed_too() -> None:
    counting = CountingPack()
    hub = ProducerHub(pack=counting)
    plain, v1 = Sink(), Sink()
    hub.subscribe("plain", plain.send, ["analyzed_df", "new_candle"])
    v1_sub = hub.subscribe("v1", v1.send, ["new_candle"], compact=True)
    hub.publish("analyzed_df", PAYLOAD)  # the v1 subscriber does not take analyzed_df
    assert counting.calls == [] and hub.compressions == 0
    short = '{"type":"new_candle","data":["BTC/USDT","5m","spot"]}'
    hub.publish("new_candle", short)
    await settle()
    # a broadcast is binary on v1 however short, so that it can share a websocket message with its neighbours
    assert counting.calls == [short] and hub.compressions == 1
    assert isinstance(v1.items[0], CompactFrame) and zlib.decompress(v1.items[0]) == short.encode()
    assert plain.items[1] is short
    assert await hub.reply(v1_sub, short)  # a short reply stays text: replies are never batched
    await settle()
    assert v1.items[1] is short
    await hub.close()


async def test_queue_bytes_count_the_compressed_size() -> None:
    hub = ProducerHub()
    stuck = Sink(blocked=True)
    sub = hub.subscribe("v1", stuck.send, ["analyzed_df"], compact=True)
    hub.publish("analyzed_df", PAYLOAD)
    await settle()  # taken by the blocked send
    hub.publish("analyzed_df", PAYLOAD)
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
    await until(lambda: len(v1.sent) == 2 and len(plain.sent) == 3)
    # analyzed_df and new_candle were queued together: one binary message holding both, in order
    assert isinstance(v1.sent[1], CompactFrame)
    assert decompress_messages(v1.sent[1]) == [plain.sent[1].encode(), plain.sent[2].encode()]
    assert hub.compressions == 2
    for conn in (v1, plain):
        conn.incoming.put_nowait(None)
    await asyncio.wait_for(asyncio.gather(*serving), 2)
    await hub.close()


# -------------------------------------------------------------------------------------------- batching


def message(index: int) -> str:
    """A broadcast of the same length for every ``index`` (the byte bound below counts them)."""
    return '{"type":"analyzed_df","data":' + json.dumps({"i": f"{index:04d}", "rows": [[1, 1 / 7]] * 20}) + "}"


async def test_broadcasts_queued_together_are_one_binary_message_for_v1_and_separate_text_for_json() -> None:
    hub = ProducerHub()
    v1, plain = Sink(blocked=True), Sink(blocked=True)
    v1_sub = hub.subscribe("v1", v1.send, ["analyzed_df"], compact=True)
    hub.subscribe("plain", plain.send, ["analyzed_df"])
    hub.publish("analyzed_df", message(0))
    await settle()  # the first one is taken alone by each (blocked) send
    for index in range(1, 6):
        hub.publish("analyzed_df", message(index))
    v1.gate.set()
    plain.gate.set()
    await settle()
    assert len(v1.items) == 2 and all(isinstance(item, CompactFrame) for item in v1.items)
    inside = decompress_messages(v1.items[0]) + decompress_messages(v1.items[1])
    assert inside == [message(i).encode() for i in range(6)]  # every message once, in order
    assert v1.items[1].raw_size == sum(len(message(i)) for i in range(1, 6))
    assert plain.items == [message(i) for i in range(6)]  # JSON subscribers: one text frame per message
    assert v1_sub.sent == 6 and v1_sub.frames == 2 and v1_sub.live_bytes == 0
    stats = {s["id"]: (s["sent"], s["frames"]) for s in hub.stats()["per_subscriber"]}
    assert stats == {"v1": (6, 2), "plain": (6, 6)} and hub.compressions == 6
    await hub.close()


async def test_a_batch_is_bounded_in_messages_and_in_inflated_bytes(monkeypatch) -> None:
    import tradecast.fleet.hub as hub_module

    monkeypatch.setattr(hub_module, "BATCH_MAX_MESSAGES", 4)
    monkeypatch.setattr(hub_module, "BATCH_MAX_RAW_BYTES", 3 * len(message(0)))
    hub = ProducerHub()
    sink = Sink(blocked=True)
    hub.subscribe("v1", sink.send, ["analyzed_df", "whitelist"], compact=True)
    hub.publish("analyzed_df", message(0))
    await settle()
    for index in range(1, 9):
        hub.publish("analyzed_df", message(index))  # 8 queued: three, three, two (by bytes)
    sink.gate.set()
    await settle()
    assert [len(decompress_messages(item)) for item in sink.items] == [1, 3, 3, 2]
    monkeypatch.setattr(hub_module, "BATCH_MAX_RAW_BYTES", 1 << 20)
    sink.gate.clear()
    hub.publish("analyzed_df", message(0))
    await settle()
    for index in range(1, 10):
        hub.publish("analyzed_df", message(index))  # 9 queued: four, four, one (by count)
    big = '{"type":"whitelist","data":' + json.dumps([f"P{i}/USDT" for i in range(80_000)]) + "}"
    hub.publish("whitelist", big)  # over 1 MiB of JSON on its own: never joined to anything
    hub.publish("analyzed_df", message(10))
    sink.gate.set()
    await settle()
    assert [len(decompress_messages(item, 8 << 20)) for item in sink.items[4:]] == [1, 4, 4, 1, 1, 1]
    assert decompress_messages(sink.items[-2], 8 << 20) == [big.encode()]
    await hub.close()


async def test_replies_still_interleave_one_at_a_time_with_live_batches() -> None:
    hub = ProducerHub()
    sink = Sink(blocked=True)
    sub = hub.subscribe("v1", sink.send, ["analyzed_df"], compact=True)
    assert await hub.reply(sub, PAYLOAD + " ")  # taken by the blocked send
    await settle()
    assert await hub.reply(sub, PAYLOAD + "  ") and await hub.reply(sub, PAYLOAD + "   ")
    for index in range(3):
        hub.publish("analyzed_df", message(index))
    sink.gate.set()
    await settle()
    inside = [decompress_messages(item) for item in sink.items]
    assert inside == [[(PAYLOAD + " ").encode()], [message(i).encode() for i in range(3)],
                      [(PAYLOAD + "  ").encode()], [(PAYLOAD + "   ").encode()]]
    await hub.close()


async def test_a_blocked_batch_send_is_cut_off_by_the_watchdog() -> None:
    from tests.unit.fleet.test_hub import Clock

    clock = Clock()
    hub = ProducerHub(slow_timeout_s=0.04, clock=clock)
    stuck = Sink(blocked=True)
    sub = hub.subscribe("v1", stuck.send, ["analyzed_df"], on_close=stuck.on_close, compact=True)
    for index in range(3):
        hub.publish("analyzed_df", message(index))
    await settle()
    assert sub.send_started == clock.now and not sub.live  # all three in the one send that blocks
    clock.now += 1.0
    await until(lambda: sub.closed)
    assert sub.reason == "a send blocked for more than 0.0s" and sub.close_code == 1008
    assert stuck.closed_with == [sub.reason] and sub.sent == 0
    await hub.close()
