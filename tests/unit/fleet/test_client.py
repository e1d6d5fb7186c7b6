"""ProducerClient against an in-test websocket producer: connect sequence, auth, backoff, ping, bad input."""

from __future__ import annotations

import asyncio
import logging
import random

import numpy as np
import pytest

from tests.unit.fleet.test_client_support import (
    FakeProducer,
    analyzed,
    consumer_config,
    eventually,
    make_frame,
    producer_cfg,
)
from tradecast.core.clock import FakeClock
from tradecast.core.errors import ConfigError
from tradecast.fleet.client import ProducerClient, message_ws_url
from tradecast.wire import AnalyzedDfMessage, WhitelistMessage, encode_message

SEQUENCE = [
    '{"type":"subscribe","data":["whitelist","analyzed_df"]}',
    '{"type":"whitelist"}',
    '{"type":"analyzed_df","data":{"limit":1500,"pair":null}}',
]


class Sink:
    """Collects what the client delivers."""

    def __init__(self) -> None:
        self.items: list[tuple[str, object, bool]] = []

    def __call__(self, name: str, msg: object, is_reply: bool) -> None:
        self.items.append((name, msg, is_reply))

    def frames(self) -> list[tuple[str, int, bool]]:
        return [(m.pair, len(m.frame), r) for _, m, r in self.items if isinstance(m, AnalyzedDfMessage)]


@pytest.fixture
async def producer():
    server = await FakeProducer(pairs=["BTC/USDT", "ETH/USDT"]).start()
    server.frames = {"BTC/USDT": make_frame(150), "ETH/USDT": make_frame(20, seed=2)}
    yield server
    await server.kill()


def make_client(port: int, sink=None, *, clock=None, producer=None, **overrides) -> ProducerClient:
    cfg = consumer_config(port, **overrides)
    return ProducerClient(producer_cfg(port, **(producer or {})), cfg, sink or Sink(), clock=clock or FakeClock(),
                          rng=random.Random(3))


async def test_connect_sequence_is_byte_exact_and_replies_are_marked(producer):
    sink = Sink()
    client = make_client(producer.port, sink)
    client.start()
    try:
        assert (await producer.wait_requests(3))[:3] == SEQUENCE
        await eventually(lambda: client.synced)
    finally:
        await client.stop()
    assert sink.frames() == [("BTC/USDT", 150, True), ("ETH/USDT", 20, True)]
    assert isinstance(sink.items[0][1], WhitelistMessage)
    assert producer.paths[0] == "/api/v1/message/ws?token=secret"
    assert producer.headers[0]["Authorization"] == "Bearer secret"
    status = client.status()
    assert status["requests_sent"] == 3 and status["connects"] == 1 and "secret" not in str(status)


@pytest.mark.parametrize(("limit", "wire"), [(0, 0), (200, 200)])
async def test_initial_candle_limit_is_honoured(producer, limit, wire):
    client = make_client(producer.port, initial_candle_limit=limit)
    client.start()
    try:
        texts = await producer.wait_requests(3)
    finally:
        await client.stop()
    assert texts[2] == f'{{"type":"analyzed_df","data":{{"limit":{wire},"pair":null}}}}'


def test_token_is_url_encoded_and_bad_addresses_are_config_errors():
    assert message_ws_url("h", 8080, True, "a b&c=d") == "wss://h:8080/api/v1/message/ws?token=a%20b%26c%3Dd"
    assert message_ws_url("::1", 80, False) == "ws://[::1]:80/api/v1/message/ws"
    for host, port in (("bad host", 80), ("h/x", 80), ("h", 0), ("h", 70000)):
        with pytest.raises(ConfigError):
            message_ws_url(host, port, False)


async def test_requests_queued_while_disconnected_are_sent_after_the_sequence(producer):
    client = make_client(producer.port)
    client.request("ETH/USDT", 4)
    client.request("ETH/USDT", 2)  # same pair: one request, the larger limit
    client.start()
    try:
        texts = await producer.wait_requests(4)
        await asyncio.sleep(0.05)
    finally:
        await client.stop()
    assert texts[3] == '{"type":"analyzed_df","data":{"limit":4,"pair":"ETH/USDT"}}'
    assert len(producer.requests) == 4


async def test_wrong_token_logs_once_and_backs_off_without_tight_loop(producer, caplog):
    clock = FakeClock()
    client = make_client(producer.port, clock=clock, producer={"ws_token": "wrong"}, sleep_time=4)
    caplog.set_level(logging.DEBUG, "tradecast.fleet.client")
    client.start()
    try:
        await eventually(lambda: len(client.delays) >= 7)
    finally:
        await client.stop()
    refused = [r for r in caplog.records if r.levelno == logging.ERROR and "token refused (check ws_token)" in
               r.getMessage()]
    assert len(refused) == 1 and "producer default" in refused[0].getMessage()
    nominal = [0.5, 1, 2, 4, 4, 4, 4]
    for delay, cap in zip(client.delays, nominal, strict=False):
        assert cap / 2 <= delay <= cap
    assert producer.handshakes == len(client.delays) or producer.handshakes == len(client.delays) + 1
    assert client.status()["connected"] is False and "HTTP 403" in client.status()["last_error"]


async def test_dying_right_after_each_sync_keeps_backing_off(producer):
    client = make_client(producer.port, sleep_time=8)
    client.start()
    try:
        for round_ in range(1, 4):
            await eventually(lambda r=round_: client.connects == r and client.synced, timeout=15)
            for conn in producer.live:
                conn.transport.abort()  # the producer (or its slow-consumer rule) drops us right after each sync
        await eventually(lambda: client.connects >= 4, timeout=15)
    finally:
        await client.stop()
    assert len(client.delays) >= 3
    assert client.delays[2] >= 1.0  # grew: a full resync every half second would be a request storm


async def test_backoff_resets_after_a_healthy_session(producer):
    client = make_client(producer.port, sleep_time=1)
    client.start()
    try:
        for round_ in range(1, 4):
            await eventually(lambda r=round_: client.connects == r and client.synced, timeout=15)
            await asyncio.sleep(1.1)  # synced and lived sleep_time: healthy
            for conn in producer.live:
                conn.transport.abort()
        await eventually(lambda: client.connects >= 4, timeout=15)
    finally:
        await client.stop()
    assert all(d <= 0.5 for d in list(client.delays)[:3])  # every reconnect starts from the initial delay


async def test_oversize_message_is_refused_logged_once_and_backs_off(producer, caplog):
    caplog.set_level(logging.INFO, "tradecast.fleet.client")
    noise = np.random.default_rng(5).random((1500, 60))
    producer.frames["BTC/USDT"] = make_frame(1500).assign(**{f"c{i}": noise[:, i] for i in range(60)})
    assert len(encode_message(analyzed("BTC/USDT", producer.frames["BTC/USDT"]))) > 1 << 20
    client = make_client(producer.port, message_size_limit=1, sleep_time=2)
    client.start()
    try:
        await eventually(lambda: len(client.delays) >= 5)
    finally:
        await client.stop()
    logged = [r for r in caplog.records if "message_size_limit" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.ERROR
    assert client.errors["oversize"] >= 5
    assert client.delays[3] >= 1.0  # grew instead of reconnecting at once


async def test_ping_after_silence_and_reconnect_when_no_pong():
    server = await FakeProducer(pairs=[]).start()
    try:
        healthy = make_client(server.port, wait_timeout=0.1, ping_timeout=0.2)
        healthy.start()
        await asyncio.sleep(0.6)  # several pings, all answered
        assert healthy.connects == 1 and healthy.connected
        await healthy.stop()

        server.ignore_pings = True
        mute = make_client(server.port, wait_timeout=0.1, ping_timeout=0.2)
        mute.start()
        try:
            await eventually(lambda: mute.connects >= 2, timeout=3)
        finally:
            await mute.stop()
        assert mute.errors["ping_timeout"] >= 1
        assert "no pong within 0.2s" in mute.status()["last_error"]
    finally:
        await server.kill()


async def test_garbage_then_good_data_keeps_the_connection(producer, caplog):
    caplog.set_level(logging.WARNING, "tradecast.fleet.client")
    sink = Sink()
    client = make_client(producer.port, sink)
    client.start()
    try:
        await eventually(lambda: client.synced)
        good = encode_message(analyzed("BTC/USDT", make_frame(151).tail(1))).decode()
        no_date = encode_message(analyzed("BTC/USDT", make_frame(2).drop(columns="date"))).decode()
        bad = ["not json at all", "{not json", '{"type":"nope","data":1}', '["a"]', '{"type":"whitelist"}',
               good[: len(good) // 2], no_date, '{"type":"analyzed_df","data":{"key":["BTC/USDT","5m"]}}',
               "not json again"]
        for text in bad:
            await producer.broadcast(text)
        await producer.broadcast(good)
        await eventually(lambda: len(sink.frames()) == 3)
    finally:
        await client.stop()
    assert client.connects == 1
    assert sum(client.errors.values()) == len(bad)
    assert {"not_json", "unknown_type", "not_object", "bad_envelope", "truncated"} <= set(client.errors)
    assert client.errors["missing_date"] + client.errors["bad_dataframe"] == 1
    assert client.errors["not_json"] == 3
    warned = [r for r in caplog.records if "not_json" in r.getMessage()]
    assert len(warned) == 1  # once per kind
    assert sink.frames()[-1] == ("BTC/USDT", 1, False)


async def test_message_for_a_pair_nobody_asked_for_is_dropped(producer):
    sink = Sink()
    client = make_client(producer.port, sink)
    client.start()
    try:
        await eventually(lambda: client.synced)
        await producer.broadcast(analyzed("DOGE/USDT", make_frame(1)))
        await producer.broadcast(analyzed("BTC/USDT", make_frame(1)))
        await eventually(lambda: len(sink.frames()) == 3)
    finally:
        await client.stop()
    assert client.errors["unexpected_pair"] == 1
    assert [p for p, _, _ in sink.frames()] == ["BTC/USDT", "ETH/USDT", "BTC/USDT"]


async def test_gap_request_reply_is_marked_as_reply(producer):
    sink = Sink()
    client = make_client(producer.port, sink)
    client.start()
    try:
        await eventually(lambda: client.synced)
        client.request("ETH/USDT", 3)
        await eventually(lambda: len(sink.frames()) == 3)
        await producer.broadcast(analyzed("ETH/USDT", make_frame(1)))
        await eventually(lambda: len(sink.frames()) == 4)
    finally:
        await client.stop()
    assert sink.frames()[2:] == [("ETH/USDT", 3, True), ("ETH/USDT", 1, False)]


def test_a_one_row_reply_for_a_pair_with_no_data_counts_as_the_reply() -> None:
    """A producer holding a single analysed row (a new listing) answers with one row; taking that for a
    broadcast left the pair -- and the whole sync -- pending forever (found against real freqtrade)."""
    from types import SimpleNamespace

    from tradecast.fleet.client import ProducerClient

    producer = SimpleNamespace(name="p", host="127.0.0.1", port=8080, secure=False, ws_token="t")
    consumer = SimpleNamespace(message_size_limit=8, wait_timeout=30, ping_timeout=10, sleep_time=10,
                               initial_candle_limit=1500)
    stored: set[str] = set()
    client = ProducerClient(producer, consumer, lambda *a: None, has_data=lambda pair: pair in stored)
    client._all_requested = True
    client._all_pending = {"NEW/USDT", "OLD/USDT"}
    stored.add("OLD/USDT")
    assert client._is_reply("NEW/USDT", 1)  # nothing stored: the one row is the reply
    assert not client._is_reply("OLD/USDT", 1)  # data stored: a one-row frame is a broadcast
    assert client._is_reply("OLD/USDT", 1500)


# ------------------------------------------------------------------------------------------ tradecast.v1


class V1Producer(FakeProducer):
    """A FakeProducer that records the offered subprotocols/extensions and (``select``) selects tradecast.v1."""

    def __init__(self, *args, select: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.select = select
        self.offers: list[tuple[str, str]] = []

    async def start(self) -> V1Producer:
        from websockets.asyncio.server import serve

        self._server = await serve(self._handler, "127.0.0.1", self.port, process_request=self._check,
                                   max_size=None, ping_interval=None,
                                   select_subprotocol=self._select)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def _select(self, connection, offered):
        return "tradecast.v1" if self.select and "tradecast.v1" in offered else None

    def _check(self, connection, request):
        self.offers.append((request.headers.get("Sec-WebSocket-Protocol", ""),
                            request.headers.get("Sec-WebSocket-Extensions", "")))
        return super()._check(connection, request)


async def test_v1_is_offered_without_deflate_and_binary_frames_are_inflated() -> None:
    from tradecast.wire import compress_message

    server = await V1Producer(pairs=["BTC/USDT"]).start()
    server.frames = {"BTC/USDT": make_frame(150)}
    sink = Sink()
    client = make_client(server.port, sink)
    client.start()
    try:
        await eventually(lambda: client.synced)  # the replies came as text frames: accepted on v1 too
        assert client.compact and client.status()["wire"] == "tradecast.v1"
        assert server.offers[0] == ("tradecast.v1", "")  # no permessage-deflate on top of tradecast.v1
        update = encode_message(analyzed("BTC/USDT", make_frame(151).tail(1)))
        await server.broadcast(compress_message(update))  # bytes: a binary frame
        await eventually(lambda: len(sink.frames()) == 2)
        big = make_frame(1500, seed=4)  # inflates to more than 64 KiB: decoded in a worker thread
        await server.broadcast(compress_message(encode_message(analyzed("BTC/USDT", big))))
        await eventually(lambda: len(sink.frames()) == 3)
    finally:
        await client.stop()
        await server.kill()
    assert sink.frames()[1:] == [("BTC/USDT", 1, False), ("BTC/USDT", 1500, False)]
    assert not client.errors


async def test_bad_binary_frames_are_counted_and_the_connection_stays() -> None:
    import zlib

    server = await V1Producer(pairs=["BTC/USDT"]).start()
    server.frames = {"BTC/USDT": make_frame(10)}
    sink = Sink()
    client = make_client(server.port, sink, message_size_limit=1)
    client.start()
    try:
        await eventually(lambda: client.synced)
        bomb = zlib.compress(b" " * (64 << 20), 9)  # 64 MiB of spaces in ~64 KiB: over the 1 MiB limit
        good = encode_message(analyzed("BTC/USDT", make_frame(11).tail(1)))
        for data in (bomb, b"\x78\x9cgarbage", zlib.compress(good)[:-3], zlib.compress(good)):
            await server.broadcast(data)
        await eventually(lambda: len(sink.frames()) == 2)
    finally:
        await client.stop()
        await server.kill()
    assert client.connects == 1
    assert dict(client.errors) == {"oversize": 1, "bad_compression": 1, "truncated": 1}


async def test_a_batched_binary_frame_is_applied_message_by_message_in_order() -> None:
    from tradecast.wire import compress_message, join_frames

    server = await V1Producer(pairs=["BTC/USDT"]).start()
    server.frames = {"BTC/USDT": make_frame(10)}
    sink = Sink()
    client = make_client(server.port, sink, message_size_limit=1)
    client.start()
    try:
        await eventually(lambda: client.synced)
        before = client.messages
        rows = [encode_message(analyzed("BTC/USDT", make_frame(11 + i).tail(1))) for i in range(3)]
        batch = join_frames([compress_message(rows[0]), compress_message(b'{"type":"nope","data":1}'),
                             compress_message(rows[1]), compress_message(rows[2])])
        await server.broadcast(batch)  # one websocket message, four messages inside (one of them bad)
        await eventually(lambda: len(sink.frames()) == 4)
        over = b'{"type":"whitelist","data":[' + b",".join([b'"BTC/USDT"'] * 40_000) + b"]}"  # 0.4 MiB each
        await server.broadcast(join_frames([compress_message(over)] * 3))  # together over the 1 MiB limit
        await server.broadcast(compress_message(rows[2]))
        await eventually(lambda: len(sink.frames()) == 5)
    finally:
        await client.stop()
        await server.kill()
    dates = [m.frame["date"].iloc[0] for _, m, _ in sink.items if isinstance(m, AnalyzedDfMessage)][1:]
    assert dates == [make_frame(11 + i)["date"].iloc[-1] for i in (0, 1, 2, 2)]  # in order; the big frame dropped
    assert dict(client.errors) == {"unknown_type": 1, "oversize": 1}
    assert client.messages - before == 4 + 1 + 1 and client.connects == 1


async def test_a_producer_that_does_not_select_v1_gets_plain_json_unchanged() -> None:
    server = await V1Producer(pairs=["BTC/USDT"], select=False).start()  # like freqtrade's producer
    server.frames = {"BTC/USDT": make_frame(30)}
    sink = Sink()
    client = make_client(server.port, sink)
    client.start()
    try:
        await eventually(lambda: client.synced)
        await server.broadcast(analyzed("BTC/USDT", make_frame(31).tail(1)))
        await eventually(lambda: len(sink.frames()) == 2)
    finally:
        await client.stop()
        await server.kill()
    assert not client.compact and client.status()["wire"] == "json"
    assert server.requests[:3] == SEQUENCE and not client.errors
    assert sink.frames() == [("BTC/USDT", 30, True), ("BTC/USDT", 1, False)]


async def test_compact_false_offers_deflate_and_no_subprotocol() -> None:
    server = await V1Producer(pairs=[]).start()
    client = ProducerClient(producer_cfg(server.port), consumer_config(server.port), Sink(), clock=FakeClock(),
                            compact=False)
    client.start()
    try:
        await eventually(lambda: client.connected)
    finally:
        await client.stop()
        await server.kill()
    protocol, extensions = server.offers[0]
    assert protocol == "" and "permessage-deflate" in extensions and not client.compact
