"""The producer hub: fan-out of encoded messages to message-websocket subscribers, with backpressure.

Pure asyncio, no sockets: a subscriber is an ``async send(payload)`` callable (the API layer passes the
websocket's send: text, or binary for a ``CompactFrame``). The producer encodes a message **once** and calls
:meth:`ProducerHub.publish` with the payload; the hub puts that same object on the bounded queue of every
subscriber whose topics include the message type, and one sender task per subscriber writes its queue to its
socket. ``publish`` never
awaits and never blocks, so the bot's analysis and trading never wait for a subscriber.

Queues. Every subscriber has two FIFO queues:

* **live** (broadcasts from :meth:`publish`): bounded by ``max_queue_messages`` (default 1000) and
  ``max_queue_bytes`` (default 32 MiB);
* **replies** (answers to that subscriber's own requests, from :meth:`reply`): bounded by
  ``max_reply_bytes`` (default 64 MiB, at least one message). :meth:`reply` is async and waits for room,
  which pauses the requester's own request reading (TCP pushes back on it), never anyone else.

The sender takes live messages first and one reply at a time between them: a consumer's initial sync (a
1500-row frame per pair) never holds the live broadcasts back by more than one reply message, unlike
freqtrade, where broadcasts queue behind the whole bulk reply.

Slow-consumer policy (the written rule DESIGN.md asks for):

1. When a subscriber's live queue is full, a new broadcast for it is **dropped** (the newest one; nothing
   already queued is replaced or coalesced) and counted in ``dropped``. Other subscribers are unaffected.
2. If broadcasts keep being dropped for longer than ``slow_timeout_s`` (default 5 s) since the first drop of
   the current streak, the subscriber is **disconnected** with a logged reason such as
   ``queue full for 5.0s (1000 messages)``. A successful enqueue ends the streak.
3. A single send (one websocket message into the socket) that does not complete within ``slow_timeout_s`` also
   disconnects the subscriber (``a send blocked for more than 5.0s``); this catches a peer that stopped
   reading while its queue is not yet full. One watchdog task checks the sends in progress every
   ``min(1 s, slow_timeout_s / 4)`` (a timer per send would cost more than the send at 100 subscribers).
4. On disconnect both queues are freed at once, the sender task is cancelled, pending :meth:`reply` calls
   return ``False``, and the ``on_close(reason)`` callback given at :meth:`subscribe` tells the connection
   handler to close the socket.

``tradecast.v1`` subscribers (``compact=True`` at :meth:`ProducerHub.subscribe`; see
:mod:`tradecast.wire.compact`): a broadcast is still encoded once as JSON; when at least one ``tradecast.v1``
subscriber takes it, the hub compresses it **once** (``pack``, every broadcast however short) and queues that
same :class:`CompactFrame` for every ``tradecast.v1`` subscriber, and the JSON text for every other one
(freqtrade, FreqUI: unchanged, one text frame per message). When a ``tradecast.v1`` sender wakes and finds
several broadcasts queued (a burst of pairs at a candle close), it sends them as **one** binary message
(:func:`~tradecast.wire.compact.join_frames`: the compressed bytes joined, no work per message), bounded by
``BATCH_MAX_MESSAGES`` / ``BATCH_MAX_RAW_BYTES``. No delay is added to wait for a batch. Per consumer, a
websocket message (ASGI send, frame, ``send()`` syscall) is what a broadcast costs, so a burst of ten pays it
once instead of ten times. Replies are never batched; they are compressed per reply, by the caller in its
worker thread (:meth:`ProducerHub.payload_for`) or else by :meth:`reply`. Queue bounds count the bytes
actually queued; ``sent`` counts messages, ``frames`` websocket messages.

A freqtrade consumer that missed broadcasts sees a gap in candle dates and asks for the missing rows, so a
dropped 1-row broadcast is repaired by the consumer; a disconnected one reconnects and resyncs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tradecast.wire.compact import BATCH_MAX_MESSAGES, BATCH_MAX_RAW_BYTES, join_frames, pack

__all__ = ["HubClosed", "ProducerHub", "Subscription"]

log = logging.getLogger("tradecast.fleet.hub")

Payload = bytes | str
SendFn = Callable[[Any], Awaitable[None]]
CloseFn = Callable[[str], None]

DEFAULT_MAX_QUEUE_MESSAGES = 1000
DEFAULT_MAX_QUEUE_BYTES = 32 << 20
DEFAULT_MAX_REPLY_BYTES = 64 << 20
DEFAULT_SLOW_TIMEOUT_S = 5.0


class HubClosed(RuntimeError):
    """The hub is closed (the producer is shutting down); no new subscriptions."""


@dataclass(eq=False)
class Subscription:
    """One subscriber: its topics, its two queues and counters. Created by :meth:`ProducerHub.subscribe`."""

    id: str
    topics: frozenset[str]
    send: SendFn
    on_close: CloseFn | None = None
    #: a ``tradecast.v1`` subscriber: sent compressed :class:`~tradecast.wire.compact.CompactFrame`s
    compact: bool = False
    live: deque[Payload] = field(default_factory=deque)
    live_bytes: int = 0
    replies: deque[Payload] = field(default_factory=deque)
    reply_bytes: int = 0
    #: messages sent (a batch counts each of its messages) and websocket messages written
    sent: int = 0
    frames: int = 0
    dropped: int = 0
    full_since: float | None = None
    #: when the send in progress started (``None``: not sending); the hub's watchdog reads it
    send_started: float | None = None
    closed: bool = False
    reason: str | None = None
    #: websocket close code for the connection handler: 1008 (slow consumer) or 1001 (shutting down)
    close_code: int = 1000
    #: the idle sender waits on this future (``None`` while it is busy); whoever queues something resolves it.
    #: A bare future, not an ``asyncio.Event``: publish checks it for 100 subscribers per broadcast
    waiter: asyncio.Future[None] | None = None
    room: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def wants(self, message_type: str) -> bool:
        """Whether broadcasts of ``message_type`` go to this subscriber."""
        return message_type in self.topics

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _take_batch(self) -> tuple[Payload, int]:
        """Pop the queued live messages that fit one ``tradecast.v1`` binary message (at least the first)."""
        live = self.live
        first = live.popleft()
        size = len(first)
        raw_total = getattr(first, "raw_size", None)
        if raw_total is None or not live:
            self.live_bytes -= size
            return first, 1
        batch = [first]
        while live and len(batch) < BATCH_MAX_MESSAGES:
            raw = getattr(live[0], "raw_size", None)
            if raw is None or raw_total + raw > BATCH_MAX_RAW_BYTES:
                break
            item = live.popleft()
            batch.append(item)
            size += len(item)
            raw_total += raw
        self.live_bytes -= size
        return join_frames(batch), len(batch)  # type: ignore[arg-type]


class ProducerHub:
    """Fan-out with bounded per-subscriber queues; see the module docstring for the slow-consumer policy.

    ``clock`` (monotonic seconds) is injectable for tests. All methods must be called from the event loop
    that runs the hub (the bot's loop); none is thread-safe, as nothing in the loop needs them to be.
    """

    def __init__(
        self,
        *,
        max_queue_messages: int = DEFAULT_MAX_QUEUE_MESSAGES,
        max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        slow_timeout_s: float = DEFAULT_SLOW_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        pack: Callable[..., Payload] = pack,
    ) -> None:
        if max_queue_messages < 1 or max_queue_bytes < 1 or max_reply_bytes < 1 or slow_timeout_s <= 0:
            raise ValueError("hub queue bounds and slow_timeout_s must be positive")
        self.max_queue_messages = max_queue_messages
        self.max_queue_bytes = max_queue_bytes
        self.max_reply_bytes = max_reply_bytes
        self.slow_timeout_s = slow_timeout_s
        self._clock = clock
        self._pack = pack
        self._subs: dict[str, Subscription] = {}
        self._closed = False
        self._watchdog: asyncio.Task[None] | None = None
        self.published = 0
        self.slow_disconnects = 0
        #: broadcasts compressed for ``tradecast.v1`` subscribers (at most one per publish)
        self.compressions = 0

    # ------------------------------------------------------------------------------------- subscribers
    def subscribe(
        self, subscriber_id: str, send: SendFn, topics: Iterable[str] = (), on_close: CloseFn | None = None,
        *, compact: bool = False,
    ) -> Subscription:
        """Register a subscriber and start its sender task (needs a running loop); ``compact``: tradecast.v1."""
        if self._closed:
            raise HubClosed("the producer hub is closed")
        if subscriber_id in self._subs:
            raise ValueError(f"subscriber {subscriber_id!r} already exists")
        sub = Subscription(subscriber_id, frozenset(str(t) for t in topics), send, on_close, compact)
        sub.room.set()
        loop = asyncio.get_running_loop()
        sub.task = loop.create_task(self._sender(sub), name=f"hub-send-{subscriber_id}")
        self._subs[subscriber_id] = sub
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = loop.create_task(self._watch_sends(), name="hub-watchdog")
        return sub

    def set_topics(self, sub: Subscription, topics: Iterable[str]) -> None:
        """Replace the subscriber's topic list (freqtrade's subscribe semantics)."""
        sub.topics = frozenset(str(t) for t in topics)

    def unsubscribe(self, sub: Subscription, reason: str = "unsubscribed") -> None:
        """Remove a subscriber (its connection ended); frees its queues. ``on_close`` is not called."""
        sub.on_close = None
        self._drop(sub, reason, level=logging.DEBUG)

    def wants(self, message_type: str) -> bool:
        """Whether any subscriber takes ``message_type`` (lets the producer skip encoding for nobody)."""
        return any(message_type in sub.topics for sub in self._subs.values())

    @property
    def subscribers(self) -> list[Subscription]:
        return list(self._subs.values())

    # ----------------------------------------------------------------------------------------- publish
    def publish(self, message_type: str, data: Payload) -> int:
        """Queue ``data`` (already encoded) for every subscriber of ``message_type``; returns how many took it.

        Never awaits. The same object is queued for every subscriber (encode once, send the same bytes); for
        ``tradecast.v1`` subscribers, the same compressed object (compressed once, only if one takes it).
        """
        self.published += 1
        delivered = 0
        too_slow: list[Subscription] = []
        packed: Payload | None = None
        now: float | None = None  # read only when something is dropped
        data_size = len(data)
        max_messages, max_bytes = self.max_queue_messages, self.max_queue_bytes
        # the per-subscriber part of a broadcast: keep it to a queue append (this loop runs 100x per message)
        for sub in self._subs.values():
            if message_type not in sub.topics:
                continue
            if sub.compact:
                if packed is None:
                    packed = self._pack(data, 0)  # every broadcast, however short, so that it can be batched
                    self.compressions += packed is not data
                payload, size = packed, len(packed)
            else:
                payload, size = data, data_size
            queue = sub.live
            if len(queue) < max_messages and (not queue or sub.live_bytes + size <= max_bytes):
                queue.append(payload)
                sub.live_bytes += size
                sub.full_since = None
                if sub.waiter is not None:
                    sub._wake()
                delivered += 1
                continue
            sub.dropped += 1
            if now is None:
                now = self._clock()
            if sub.full_since is None:
                sub.full_since = now
            elif now - sub.full_since > self.slow_timeout_s:
                too_slow.append(sub)
        for sub in too_slow:
            self.slow_disconnects += 1
            full_for = (now or 0.0) - (sub.full_since or 0.0)  # both set by the drops that filled too_slow
            self._drop(sub, f"queue full for {full_for:.1f}s ({len(sub.live)} messages, {sub.live_bytes} bytes)",
                       code=1008)
        return delivered

    def payload_for(self, sub: Subscription, data: Payload) -> Payload:
        """``data`` as ``sub`` receives it: compressed for a ``tradecast.v1`` subscriber, else ``data`` itself.

        Pure and thread-safe: the producer calls it in the worker thread that encoded a large reply.
        """
        return self._pack(data) if sub.compact else data

    async def reply(self, sub: Subscription, data: Payload) -> bool:
        """Queue a reply for one subscriber, waiting while its reply queue is full.

        ``data`` is the JSON text, or what :meth:`payload_for` made of it (compressing twice is a no-op).

        Returns ``False`` (nothing queued) when the subscriber is or becomes disconnected. The wait is
        bounded by the slow-consumer policy: a subscriber that does not drain is disconnected.
        """
        if sub.compact:
            data = self._pack(data)
        while not sub.closed and sub.replies and sub.reply_bytes + len(data) > self.max_reply_bytes:
            sub.room.clear()
            await sub.room.wait()
        if sub.closed:
            return False
        sub.replies.append(data)
        sub.reply_bytes += len(data)
        sub._wake()
        return True

    # ------------------------------------------------------------------------------------------ sender
    async def _sender(self, sub: Subscription) -> None:
        # No timer per send (asyncio.timeout costs more than the send itself at 100 subscribers): the
        # watchdog below cancels this task when ``send_started`` is older than ``slow_timeout_s``.
        clock = self._clock
        loop = asyncio.get_running_loop()
        live, replies = sub.live, sub.replies
        while not sub.closed:
            count = 1
            if live:  # live first, then one reply: a sync never holds broadcasts back by more than one reply
                if sub.compact and len(live) > 1:
                    data, count = sub._take_batch()
                else:
                    data = live.popleft()
                    sub.live_bytes -= len(data)
            elif replies:
                data = replies.popleft()
                sub.reply_bytes -= len(data)
                sub.room.set()
            else:
                # runs once per burst, not per message: publish only appends while this task waits
                sub.waiter = loop.create_future()
                await sub.waiter
                continue
            sub.send_started = clock()
            try:
                await sub.send(data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the socket is gone; the connection handler logs its own close
                self._drop(sub, f"send failed: {type(exc).__name__}: {exc}", level=logging.INFO)
                return
            sub.send_started = None
            sub.sent += count
            sub.frames += 1

    async def _watch_sends(self) -> None:
        """Disconnect subscribers whose current send has been blocked for more than ``slow_timeout_s``."""
        interval = min(1.0, self.slow_timeout_s / 4)
        while self._subs:
            await asyncio.sleep(interval)
            now = self._clock()
            for sub in list(self._subs.values()):
                started = sub.send_started
                if started is not None and now - started > self.slow_timeout_s:
                    self.slow_disconnects += 1
                    self._drop(sub, f"a send blocked for more than {self.slow_timeout_s:.1f}s", code=1008)

    def _drop(self, sub: Subscription, reason: str, level: int = logging.WARNING, code: int = 1000) -> None:
        if sub.closed:
            return
        sub.closed = True
        sub.reason = reason
        sub.close_code = code
        self._subs.pop(sub.id, None)
        sub.live.clear()
        sub.replies.clear()
        sub.live_bytes = sub.reply_bytes = 0
        sub.room.set()
        sub._wake()
        task = sub.task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
        log.log(level, "message ws subscriber %s disconnected: %s (%d dropped)", sub.id, reason, sub.dropped)
        callback, sub.on_close = sub.on_close, None
        if callback is not None:
            try:
                callback(reason)
            except Exception:
                log.exception("on_close callback of subscriber %s failed", sub.id)

    # ---------------------------------------------------------------------------------------- overview
    def stats(self) -> dict[str, Any]:
        """Subscribers, queue depths and counters (JSON-able)."""
        return {
            "subscribers": len(self._subs),
            "published": self.published,
            "slow_disconnects": self.slow_disconnects,
            "compressions": self.compressions,
            "per_subscriber": [
                {
                    "id": sub.id,
                    "topics": sorted(sub.topics),
                    "compact": sub.compact,
                    "queued": len(sub.live),
                    "queued_bytes": sub.live_bytes,
                    "replies_queued": len(sub.replies),
                    "sent": sub.sent,
                    "frames": sub.frames,
                    "dropped": sub.dropped,
                }
                for sub in self._subs.values()
            ],
        }

    async def close(self, reason: str = "producer shutting down") -> None:
        """Disconnect every subscriber (``on_close`` is called with ``reason``) and refuse new ones."""
        self._closed = True
        subs = list(self._subs.values())
        tasks = [sub.task for sub in subs if sub.task is not None]
        for sub in subs:
            self._drop(sub, reason, level=logging.INFO, code=1001)
        if self._watchdog is not None:
            tasks.append(self._watchdog)
            self._watchdog.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
