"""ProducerHub: publish never blocks, one object fans out, bounded queues, slow subscribers are cut off."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tradecast.fleet.hub import HubClosed, ProducerHub


class Sink:
    """A subscriber's socket: records what was sent; ``gate`` (when set) blocks every send until opened."""

    def __init__(self, blocked: bool = False) -> None:
        self.items: list[object] = []
        self.times: list[float] = []
        self.gate = asyncio.Event()
        if not blocked:
            self.gate.set()
        self.closed_with: list[str] = []

    async def send(self, data: object) -> None:
        await self.gate.wait()
        self.items.append(data)
        self.times.append(time.perf_counter())

    def on_close(self, reason: str) -> None:
        self.closed_with.append(reason)


async def settle(rounds: int = 5) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_the_same_object_reaches_every_subscriber_of_the_topic() -> None:
    hub = ProducerHub()
    a, b, c = Sink(), Sink(), Sink()
    hub.subscribe("a", a.send, ["analyzed_df"])
    hub.subscribe("b", b.send, ["analyzed_df", "whitelist"])
    hub.subscribe("c", c.send, ["whitelist"])
    payload = '{"type":"analyzed_df"}'
    assert hub.publish("analyzed_df", payload) == 2
    await settle()
    assert a.items == [payload] and b.items == [payload] and c.items == []
    assert a.items[0] is payload and b.items[0] is payload  # encoded once, never copied per subscriber
    assert hub.wants("whitelist") and not hub.wants("entry")
    await hub.close()


async def test_publish_never_awaits_even_when_every_socket_is_stuck() -> None:
    hub = ProducerHub(max_queue_messages=10)
    sinks = [Sink(blocked=True) for _ in range(50)]
    for index, sink in enumerate(sinks):
        hub.subscribe(f"s{index}", sink.send, ["analyzed_df"])
    await settle()
    start = time.perf_counter()
    for _ in range(100):
        hub.publish("analyzed_df", "x" * 100)  # a plain call: it cannot await
    assert time.perf_counter() - start < 0.5
    stats = hub.stats()
    # the senders did not even run meanwhile: 10 wait in each queue, the other 90 were dropped
    assert all(s["queued"] == 10 and s["dropped"] == 90 for s in stats["per_subscriber"])
    await hub.close()


async def test_queue_bound_in_bytes_is_respected() -> None:
    hub = ProducerHub(max_queue_messages=1000, max_queue_bytes=1000)
    sink = Sink(blocked=True)
    hub.subscribe("s", sink.send, ["analyzed_df"])
    await settle()
    hub.publish("analyzed_df", "first")  # taken by the blocked send
    await settle()
    for _ in range(20):
        hub.publish("analyzed_df", "y" * 100)
    (stats,) = hub.stats()["per_subscriber"]
    assert stats["queued_bytes"] <= 1000 and stats["queued"] == 10 and stats["dropped"] == 10
    await hub.close()


async def test_slow_subscriber_is_disconnected_after_the_bounded_time_and_freed(caplog) -> None:
    clock = Clock()
    hub = ProducerHub(max_queue_messages=3, slow_timeout_s=5.0, clock=clock)
    slow, fast = Sink(blocked=True), Sink()
    slow_sub = hub.subscribe("slow", slow.send, ["analyzed_df"], on_close=slow.on_close)
    hub.subscribe("fast", fast.send, ["analyzed_df"])
    caplog.set_level(logging.WARNING, logger="tradecast.fleet.hub")
    for step in range(12):  # one publish per simulated second
        hub.publish("analyzed_df", f"m{step}")
        await settle()
        clock.now += 1.0
    assert slow_sub.closed and "queue full for 6.0s (3 messages" in slow_sub.reason
    assert slow.closed_with == [slow_sub.reason] and slow_sub.close_code == 1008
    assert not slow_sub.live and slow_sub.live_bytes == 0  # queue freed at once
    assert "slow disconnected: queue full" in caplog.text
    assert fast.items == [f"m{i}" for i in range(12)]  # the fast one lost nothing
    assert [s["id"] for s in hub.stats()["per_subscriber"]] == ["fast"]
    assert hub.stats()["slow_disconnects"] == 1
    await hub.close()


async def test_a_single_blocked_send_disconnects_after_the_timeout() -> None:
    hub = ProducerHub(slow_timeout_s=0.05)
    stuck = Sink(blocked=True)
    sub = hub.subscribe("stuck", stuck.send, ["whitelist"], on_close=stuck.on_close)
    hub.publish("whitelist", "w")
    await asyncio.sleep(0.2)
    assert sub.closed and sub.reason == "a send blocked for more than 0.1s"
    assert stuck.closed_with == [sub.reason] and sub.task is not None and sub.task.done()
    await hub.close()


async def test_fast_subscriber_keeps_low_latency_beside_a_stuck_one() -> None:
    hub = ProducerHub(max_queue_messages=100, slow_timeout_s=0.3)
    stuck, fast = Sink(blocked=True), Sink()
    hub.subscribe("stuck", stuck.send, ["analyzed_df"])
    hub.subscribe("fast", fast.send, ["analyzed_df"])
    published: list[float] = []
    for index in range(200):
        published.append(time.perf_counter())
        hub.publish("analyzed_df", f"m{index}")
        await asyncio.sleep(0.002)
    await settle()
    assert len(fast.items) == 200
    latency = max(done - sent for done, sent in zip(fast.times, published, strict=True))
    assert latency < 0.1, f"fast subscriber waited {latency * 1000:.1f} ms"
    assert "stuck" not in [s["id"] for s in hub.stats()["per_subscriber"]]  # cut off meanwhile
    await hub.close()


async def test_replies_wait_for_room_and_live_messages_overtake_them() -> None:
    hub = ProducerHub(max_reply_bytes=10)
    sink = Sink(blocked=True)
    sub = hub.subscribe("s", sink.send, ["analyzed_df"])
    assert await hub.reply(sub, "r1-xxxx")  # taken by the blocked send
    await settle()
    assert await hub.reply(sub, "r2-xxxx")
    third = asyncio.ensure_future(hub.reply(sub, "r3-xxxx"))  # 14 bytes > 10: waits
    await settle()
    assert not third.done()
    hub.publish("analyzed_df", "live")
    sink.gate.set()
    assert await third
    await settle(10)
    assert sink.items == ["r1-xxxx", "live", "r2-xxxx", "r3-xxxx"]
    await hub.close()


async def test_unsubscribe_frees_and_reply_to_a_gone_subscriber_is_refused() -> None:
    hub = ProducerHub()
    sink = Sink(blocked=True)
    sub = hub.subscribe("s", sink.send, ["analyzed_df"], on_close=sink.on_close)
    for _ in range(5):
        hub.publish("analyzed_df", "m")
    hub.unsubscribe(sub)
    await settle()
    assert sub.closed and not sub.live and sink.closed_with == []  # no callback for our own unsubscribe
    assert sub.task is not None and sub.task.cancelled()
    assert await hub.reply(sub, "late") is False
    assert hub.publish("analyzed_df", "m") == 0 and hub.stats()["subscribers"] == 0
    await hub.close()


async def test_set_topics_replaces_and_send_errors_drop_the_subscriber() -> None:
    hub = ProducerHub()

    async def broken(data: object) -> None:
        raise ConnectionResetError("peer gone")

    sink = Sink()
    sub = hub.subscribe("s", sink.send, ["whitelist"])
    hub.set_topics(sub, ["analyzed_df"])
    assert hub.publish("whitelist", "w") == 0 and hub.publish("analyzed_df", "a") == 1
    bad = hub.subscribe("bad", broken, ["analyzed_df"])
    hub.publish("analyzed_df", "a2")
    await settle()
    assert bad.closed and bad.reason.startswith("send failed: ConnectionResetError")
    assert sink.items == ["a", "a2"]
    with pytest.raises(ValueError):
        hub.subscribe("s", sink.send)
    await hub.close()
    assert sub.closed and sub.close_code == 1001
    with pytest.raises(HubClosed):
        hub.subscribe("late", sink.send)
