"""The producer side of the message websocket: what a bot publishes, and how it answers one connection.

:class:`ProducerPublisher` listens to the bot and publishes through a :class:`~tradecast.fleet.hub.ProducerHub`:

* after each pair's analysis: ``analyzed_df`` with the newest analysed row (``frame.tail(1)``, ``la`` = the
  analysis time), then ``new_candle`` when that pair's last candle date changed (freqtrade's order);
* trade events (``entry``, ``entry_fill``, ``entry_cancel``, ``exit``, ``exit_fill``, ``exit_cancel`` and the
  other flat RPC types) as flat messages;
* ``whitelist`` whenever the active whitelist (the whitelist plus pairs with open trades) differs from the
  last one published, checked after every analysis and once a second.

Each message is encoded once (nothing is encoded for a type nobody subscribed to) and the same text goes to
every subscriber. Frames use freqtrade's wire form (double-encoded split JSON, epoch-ms dates) at full float
precision, so freqtrade consumers decode them. A frame over 8 MiB (freqtrade consumers' default limit) is
still sent, with a warning: the consumer would close with 1009, and cutting the frame would corrupt it.

:meth:`ProducerPublisher.serve` runs one connection's requests (``subscribe``, ``whitelist``,
``analyzed_df``) over a minimal :class:`Connection`; the FastAPI endpoint lives in
:mod:`tradecast.api.message_ws`. Differences from freqtrade, on purpose:

* a bad request (unknown type, malformed arguments) gets ``{"type":"exception","data":...}`` and the
  connection stays open;
* ``subscribe`` keeps the known topics of a list and logs unknown ones once (freqtrade ignores the whole
  list); an empty list changes nothing;
* replies are encoded in a worker thread (a consumer's initial sync never blocks the event loop);
* an identical ``(pair, limit)`` request is answered at most once per candle per connection. A freqtrade
  consumer re-requests 1500 rows twice a second forever when the producer holds fewer than 100 rows for a
  pair (spec §8.1); the repeats are dropped (counted in ``repeats_dropped``) until the pair's next candle.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd

from tradecast.fleet.hub import ProducerHub, Subscription
from tradecast.wire import (
    DEFAULT_MESSAGE_SIZE_LIMIT_MIB,
    FLAT_EVENT_TYPES,
    AnalyzedDfMessage,
    AnalyzedDfRequest,
    CandleType,
    EventMessage,
    ExceptionMessage,
    MessageType,
    NewCandleMessage,
    SubscribeRequest,
    WhitelistMessage,
    WireError,
    decode_request,
    encode_message,
    mib_to_bytes,
)

__all__ = ["Connection", "Ended", "ProducerPublisher"]

log = logging.getLogger("tradecast.fleet.producer")

#: freqtrade consumers refuse messages above this size by default (``message_size_limit`` = 8 MiB)
CONSUMER_SIZE_LIMIT = mib_to_bytes(DEFAULT_MESSAGE_SIZE_LIMIT_MIB)
#: largest request text we parse (requests are tiny; uvicorn already caps frames at 16 MiB)
MAX_REQUEST_BYTES = 64 << 10
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WHITELIST_CHECK_S = 1.0

_ids = itertools.count(1)


class Connection(Protocol):
    """What :meth:`ProducerPublisher.serve` needs from a websocket."""

    async def recv(self) -> str | bytes | None:
        """The next text or binary message; ``None`` when the peer has closed."""
        ...

    async def send(self, data: str) -> None:
        """Send one text frame."""
        ...


@dataclass(frozen=True, slots=True)
class Ended:
    """Why a connection ended: ``by_client`` (the socket closed under us) or not, and the close code to send."""

    reason: str
    by_client: bool = False
    close_code: int = 1000


class ProducerPublisher:
    """Publishes a bot's analysis, whitelist and trade events, and serves message-websocket requests.

    ``bot`` needs ``analyzed_listeners``, ``event_listeners``, ``engine.whitelist``, ``engine.open_trades``,
    ``analyzed`` (an ``AnalyzedStore``) and ``strategy.timeframe``. Listeners are registered here;
    :meth:`start` / :meth:`stop` run the periodic whitelist check.
    """

    def __init__(self, bot: Any, hub: ProducerHub, *, candle_type: str = CandleType.SPOT,
                 size_warning_bytes: int = CONSUMER_SIZE_LIMIT) -> None:
        self.bot = bot
        self.hub = hub
        self.candle_type = CandleType(candle_type)
        self.size_warning_bytes = size_warning_bytes
        self.repeats_dropped = 0
        self._last_whitelist: tuple[str, ...] | None = None
        self._task: asyncio.Task[None] | None = None
        bot.analyzed_listeners.append(self.on_analyzed)
        bot.event_listeners.append(self.on_event)

    # ---------------------------------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Start the once-a-second whitelist check (whitelist edits happen between analyses too)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch_whitelist(), name="producer-wl")

    async def stop(self) -> None:
        """Stop the whitelist check and disconnect every subscriber."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.hub.close()

    async def _watch_whitelist(self) -> None:
        while True:
            await asyncio.sleep(WHITELIST_CHECK_S)  # wall time on purpose: a fake bot clock must not spin
            try:
                self.check_whitelist()
            except Exception:
                log.exception("whitelist check failed")

    # ------------------------------------------------------------------------------------------ encode
    def encode(self, message: Any) -> str:
        """The wire text of ``message`` (one encode; warns when a freqtrade consumer would refuse it)."""
        raw = encode_message(message)
        if len(raw) > self.size_warning_bytes:
            what = f" for {message.pair}" if isinstance(message, AnalyzedDfMessage) else ""
            log.warning("message ws: a %s message%s is %.1f MiB, above the 8 MiB freqtrade consumers accept by "
                        "default (they close with 1009); raise their message_size_limit or send fewer columns",
                        _type_of(message), what, len(raw) / (1 << 20))
        return raw.decode("utf-8")

    # ----------------------------------------------------------------------------------------- publish
    def active_whitelist(self) -> list[str]:
        """The whitelist plus pairs with open trades (freqtrade's active whitelist)."""
        engine = self.bot.engine
        pairs = list(engine.whitelist)
        for trade in list(getattr(engine, "open_trades", {}).values()):
            if trade.pair not in pairs:
                pairs.append(trade.pair)
        return pairs

    def is_known_pair(self, pair: str) -> bool:
        """A pair this producer trades or has analysed (what a client may make us remember per connection)."""
        return pair in self.active_whitelist() or self.bot.analyzed.get(pair, self.bot.strategy.timeframe) is not None

    def on_analyzed(self, result: Any) -> None:
        """Bot listener: broadcast the newest analysed row, then ``new_candle`` if the candle is new."""
        self.check_whitelist()  # a pair that just joined is announced before its first candle
        hub = self.hub
        if hub.wants(MessageType.ANALYZED_DF) and not result.frame.empty:
            message = AnalyzedDfMessage(result.pair, result.timeframe, self.candle_type, result.frame.tail(1),
                                        result.analyzed_at)
            hub.publish(MessageType.ANALYZED_DF, self.encode(message))
        if result.new_candle and hub.wants(MessageType.NEW_CANDLE):
            candle = NewCandleMessage(result.pair, result.timeframe, self.candle_type)
            hub.publish(MessageType.NEW_CANDLE, self.encode(candle))

    def on_event(self, kind: str, payload: dict[str, Any]) -> None:
        """Bot listener: broadcast a flat trade event (unknown kinds are ignored)."""
        if kind not in FLAT_EVENT_TYPES or not self.hub.wants(kind):
            return
        fields = {k: v for k, v in payload.items() if k != "type"}
        self.hub.publish(kind, self.encode(EventMessage(MessageType(kind), fields)))

    def check_whitelist(self) -> bool:
        """Broadcast the active whitelist if it changed since the last broadcast; returns whether it did."""
        current = tuple(self.active_whitelist())
        if current == self._last_whitelist:
            return False
        self._last_whitelist = current
        if self.hub.wants(MessageType.WHITELIST):
            self.hub.publish(MessageType.WHITELIST, self.encode(WhitelistMessage(current)))
        return True

    # -------------------------------------------------------------------------------------- connection
    async def serve(self, conn: Connection, peer: str = "?") -> Ended:
        """Run one connection until it ends; returns why (for the caller's log line and close code).

        Raises :class:`~tradecast.fleet.hub.HubClosed` when the producer is shutting down.
        """
        closed = asyncio.Event()
        sub = self.hub.subscribe(f"{peer}#{next(_ids)}", conn.send, on_close=lambda reason: closed.set(),
                                 compact=getattr(conn, "compact", False))  # tradecast.v1 negotiated
        session = _Session(self, sub, peer)
        closed_wait = asyncio.ensure_future(closed.wait())
        try:
            while True:
                receiving = asyncio.ensure_future(conn.recv())
                await asyncio.wait({receiving, closed_wait}, return_when=asyncio.FIRST_COMPLETED)
                if not receiving.done():
                    receiving.cancel()
                    return Ended(sub.reason or "closed by the producer", close_code=sub.close_code)
                raw = receiving.result()
                if raw is None:
                    return Ended("socket closed", by_client=True)
                try:
                    await session.handle(raw)
                except Exception as exc:  # a bad frame to encode, a hostile request: answer, keep serving
                    log.warning("message ws %s: request failed: %s: %s", peer, type(exc).__name__, exc)
                    await session._reply(ExceptionMessage("Error processing request"))
                if sub.closed:
                    return Ended(sub.reason or "closed by the producer", close_code=sub.close_code)
        finally:
            closed_wait.cancel()
            if "receiving" in locals() and not receiving.done():
                receiving.cancel()
            if not sub.closed:
                self.hub.unsubscribe(sub, "connection ended")

    def frame_for(self, pair: str) -> tuple[pd.DataFrame, datetime]:
        """The stored analysed frame of ``pair`` and its ``la``; empty frame and the epoch when missing."""
        stored = self.bot.analyzed.get(pair, self.bot.strategy.timeframe)
        if stored is None:
            return pd.DataFrame(), EPOCH
        return stored


class _Session:
    """Request handling of one connection (state: unknown topics logged, repeat-request breaker)."""

    def __init__(self, publisher: ProducerPublisher, sub: Subscription, peer: str) -> None:
        self.publisher = publisher
        self.sub = sub
        self.peer = peer
        self._unknown_logged: set[str] = set()
        self._served: dict[tuple[str, int | None], Any] = {}

    async def handle(self, raw: str | bytes) -> None:
        try:
            request = decode_request(raw, MAX_REQUEST_BYTES)
        except WireError as exc:
            log.info("message ws: bad request from %s: %s", self.peer, exc)
            await self._reply(ExceptionMessage(str(exc)))
            return
        if isinstance(request, SubscribeRequest):
            self._subscribe(request)
        elif isinstance(request, AnalyzedDfRequest):
            await self._analyzed_df(request)
        else:
            await self._reply(WhitelistMessage(tuple(self.publisher.active_whitelist())))

    def _subscribe(self, request: SubscribeRequest) -> None:
        new = [t for t in request.unknown if t not in self._unknown_logged]
        if new:
            self._unknown_logged.update(new)
            log.info("message ws: %s subscribed to unknown topic(s) %s (ignored)", self.peer, ", ".join(new))
        if request.topics:
            self.publisher.hub.set_topics(self.sub, request.topics)

    async def _analyzed_df(self, request: AnalyzedDfRequest) -> None:
        publisher = self.publisher
        pairs = [request.pair] if request.pair else publisher.active_whitelist()
        timeframe = publisher.bot.strategy.timeframe
        for pair in pairs:
            frame, la = publisher.frame_for(pair)
            candle = frame["date"].iloc[-1] if "date" in frame.columns and len(frame) else None
            key = (pair, request.limit)
            if key in self._served and self._served[key] == candle:
                publisher.repeats_dropped += 1
                log.debug("message ws: %s asked again for %s (limit %s) within one candle; not answered",
                          self.peer, pair, request.limit)
                continue
            message = AnalyzedDfMessage(pair, timeframe, publisher.candle_type, request.select(frame), la)
            try:
                text = await asyncio.to_thread(self._encode_reply, message)
            except Exception as exc:  # one pair's unencodable column must not cost the others their frames
                log.warning("message ws: frame of %s cannot be encoded: %s: %s", pair, type(exc).__name__, exc)
                await self._reply(ExceptionMessage(f"Error processing request for {pair}"))
                continue
            if key in self._served or publisher.is_known_pair(pair):  # bounded: only real pairs are recorded
                self._served[key] = candle
            if not await publisher.hub.reply(self.sub, text):
                return

    def _encode_reply(self, message: Any) -> str | bytes:  # worker thread: tradecast.v1 compresses here too
        return self.publisher.hub.payload_for(self.sub, self.publisher.encode(message))

    async def _reply(self, message: Any) -> None:
        await self.publisher.hub.reply(self.sub, self.publisher.encode(message))


def _type_of(message: Any) -> str:
    if isinstance(message, AnalyzedDfMessage):
        return "analyzed_df"
    if isinstance(message, EventMessage):
        return message.type.value
    return type(message).__name__
