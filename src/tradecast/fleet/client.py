"""``ProducerClient``: one consumer connection to one producer's message websocket, kept alive forever.

Connect sequence (compatible with a freqtrade producer, fact sheet 2.1, without its 0.5 s throttle)::

    {"type":"subscribe","data":["whitelist","analyzed_df"]}
    {"type":"whitelist"}
    {"type":"analyzed_df","data":{"limit":<initial_candle_limit, 0 = everything>,"pair":null}}

then the queued gap-fill requests (one per pair, the largest limit wins). Requests queued while disconnected
are kept and sent after the next initial sequence (freqtrade loses them).

Replies versus broadcasts: the client remembers what it asked for. After the all-pairs request, the first
``analyzed_df`` of each pair of the producer's whitelist is a reply; after a per-pair request, the next
``analyzed_df`` of that pair is. A message for a pair outside the producer's known whitelist that nobody
requested is counted (``unexpected_pair``) and dropped. The connection is *synced* once the whitelist and
a reply for each of its pairs arrived.

Reconnects (fact sheet 8.2-8.4 fixed): exponential backoff with jitter from 0.5 s up to ``sleep_time``,
restarted after a synced session or one that lasted ``sleep_time``; never a tight loop, never a give-up.
An HTTP 401/403 at the handshake is logged at ERROR once per failure streak as a token problem; a message
over ``message_size_limit`` (close 1009) is logged with the reason once per streak. Keepalive: the client
pings after ``wait_timeout`` seconds without a message and reconnects when the pong takes longer than
``ping_timeout`` (``wait_timeout`` 0 disables it). Network timing is wall-clock; ``clock`` only sleeps the
backoff and stamps the status (tests pass a fake clock).

Decoding: ``decode_message(raw, max_bytes)``; payloads over 64 KiB are decoded in a worker thread so a
1500-row frame never blocks the event loop. ``WireError``s are counted per kind and logged once per kind.

``tradecast.v1`` (``compact=True``, default; :mod:`tradecast.wire.compact`): the client offers it; a tradecast
producer selects it and sends broadcasts and large replies as binary frames, zlib-compressed once for all its
consumers; one binary frame may hold several consecutive messages (concatenated zlib streams), applied in order.
They are inflated here with a bound (``message_size_limit`` applies to the JSON inside, all of a frame's messages
together: over it the frame is dropped as ``oversize``, the connection stays). Text frames are JSON as always. A
freqtrade producer never selects it and the connection is plain JSON. With tradecast.v1 offered, permessage-deflate
is **not** offered: that choice precedes the handshake, and deflate on top of tradecast.v1 compresses every
compressed message again, once per connection, the very producer cost tradecast.v1 removes. The price: a freqtrade
producer then sends uncompressed JSON (2.4x the bytes of a deflated sync, less CPU for it). ``compact=False``: JSON
and deflate.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ipaddress
import logging
import re
import ssl
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from tradecast.core.backoff import backoff_delays
from tradecast.core.clock import Clock, LiveClock
from tradecast.core.errors import ConfigError, WireError
from tradecast.wire import (
    SUBPROTOCOL,
    AnalyzedDfMessage,
    AnalyzedDfRequest,
    MessageType,
    SubscribeRequest,
    WhitelistMessage,
    WhitelistRequest,
    decode_message,
    decompress_messages,
    encode_message,
    mib_to_bytes,
)

__all__ = ["THREAD_DECODE_BYTES", "ProducerClient", "message_ws_url"]

log = logging.getLogger("tradecast.fleet.client")

#: payloads larger than this are decoded in a worker thread (tradecast.v1 binary: 1/4 of it, inflated ~3x)
THREAD_DECODE_BYTES = 64 * 1024
#: first reconnect delay (seconds); grows to ``sleep_time``
INITIAL_BACKOFF_S = 0.5
#: how long closing waits for the producer's close frame
CLOSE_TIMEOUT_S = 2.0
_TOPICS = (MessageType.WHITELIST, MessageType.ANALYZED_DF)
_HANDSHAKE_KINDS = frozenset({"auth", "http", "handshake", "tls", "unreachable", "error"})
_HOST = re.compile(r"^[A-Za-z0-9._-]+$")

OnMessage = Callable[[str, Any, bool], Any]


def message_ws_url(host: str, port: int, secure: bool, token: str | None = None) -> str:
    """``ws[s]://host:port/api/v1/message/ws`` (+ ``?token=`` URL-encoded); ConfigError when invalid."""
    host = host.strip()
    try:
        address = ipaddress.ip_address(host.strip("[]"))
        host = f"[{address}]" if address.version == 6 else str(address)
    except ValueError:
        if not _HOST.match(host):
            raise ConfigError(f"external_message_consumer: invalid producer host {host!r}") from None
    if not 0 < int(port) < 65536:
        raise ConfigError(f"external_message_consumer: invalid producer port {port!r} (1..65535)")
    url = f"{'wss' if secure else 'ws'}://{host}:{int(port)}/api/v1/message/ws"
    if token is not None:
        url += "?token=" + quote(token, safe="")
    try:
        websockets.uri.parse_uri(url)
    except InvalidURI as exc:
        raise ConfigError(f"external_message_consumer: invalid producer address: {exc}") from None
    return url


class _PingTimeout(Exception):
    """The pong did not arrive within ``ping_timeout``."""


class ProducerClient:
    """Receives one producer's messages and passes them to ``on_message(name, message, is_reply)``."""

    def __init__(
        self,
        producer_cfg: Any,
        consumer_cfg: Any,
        on_message: OnMessage,
        *,
        clock: Clock | None = None,
        connect: Callable[..., Any] = websockets.connect,
        on_connect: Callable[[str], Any] | None = None,
        rng: Any = None,
        has_data: Callable[[str], bool] | None = None,
        compact: bool = True,
    ) -> None:
        self.name: str = producer_cfg.name
        self.url = message_ws_url(producer_cfg.host, producer_cfg.port, producer_cfg.secure, producer_cfg.ws_token)
        self.public_url = message_ws_url(producer_cfg.host, producer_cfg.port, producer_cfg.secure)
        self._token: str = producer_cfg.ws_token
        self.max_bytes = mib_to_bytes(consumer_cfg.message_size_limit)
        self.wait_timeout = float(consumer_cfg.wait_timeout)
        self.ping_timeout = float(consumer_cfg.ping_timeout)
        self.sleep_time = max(float(consumer_cfg.sleep_time), INITIAL_BACKOFF_S)
        self.initial_limit: int | None = consumer_cfg.initial_candle_limit or None
        self._on_message = on_message
        self._on_connect = on_connect
        #: does the consumer already hold a frame for this pair? (a one-row answer then is a broadcast)
        self._has_data: Callable[[str], bool] = has_data or (lambda pair: False)
        self._clock: Clock = clock or LiveClock()
        self._connect = connect
        self._rng = rng
        self.offer_compact, self.compact = compact, False  # offer tradecast.v1 / this connection uses it
        self._queue: dict[str, int | None] = {}  # pair -> limit (None: everything), insertion ordered
        self._queued = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._streak: set[str] = set()  # problems already logged in this failure streak
        self._logged_kinds: set[str] = set()
        self.delays: deque[float] = deque(maxlen=100)  # the latest backoff delays slept (tests read them)
        self._reset_connection_state()
        self.connected = False
        self.connects = 0
        self.reconnects = 0
        self.requests_sent = 0
        self.messages = 0
        self.last_message_at: float | None = None
        self.last_error: str | None = None
        self.errors: Counter[str] = Counter()
        self.received: Counter[str] = Counter()

    # --------------------------------------------------------------------------------------- public

    def start(self) -> None:
        """Start the connection task (idempotent)."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.create_task(self.run(), name=f"producer-client-{self.name}")

    async def stop(self) -> None:
        """Close the connection and end the task."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def request(self, pair: str, limit: int | None) -> None:
        """Queue ``analyzed_df`` for ``pair`` (``limit=None``: everything); sent when connected."""
        if pair in self._queue:
            old = self._queue[pair]
            limit = None if old is None or limit is None else max(old, limit)
        self._queue[pair] = limit
        self._queued.set()

    @property
    def synced(self) -> bool:
        """True once the whitelist and a reply for each of its pairs arrived on this connection."""
        return self._synced

    def status(self) -> dict[str, Any]:
        """Connection state and counters for ``/health``."""
        return {
            "url": self.public_url,
            "connected": self.connected,
            "wire": SUBPROTOCOL if self.compact else "json",
            "synced": self._synced,
            "last_message_at": self.last_message_at,
            "seconds_since_message": None
            if self.last_message_at is None
            else round(self._clock.timestamp() - self.last_message_at, 3),
            "messages": self.messages,
            "received": dict(self.received),
            "errors": dict(self.errors),
            "connects": self.connects,
            "reconnects": self.reconnects,
            "requests_sent": self.requests_sent,
            "requests_queued": len(self._queue),
            "last_error": self.last_error,
        }

    # --------------------------------------------------------------------------------------- loop

    async def run(self) -> None:
        """Connect, receive, reconnect with backoff; returns only when stopped."""
        delays = self._backoff()
        while not self._stopping:
            lived = False
            try:
                lived = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # classify, log once per streak, never give up
                self._failed(exc)
            if self._stopping:
                break
            if lived:
                delays = self._backoff()
            delay = next(delays)
            self.delays.append(delay)
            log.debug("producer %s: reconnecting in %.2fs", self.name, delay)
            await self._clock.sleep(delay)
            self.reconnects += 1

    async def run_once(self) -> bool:
        """One connection from handshake to close; True when it synced or lived ``sleep_time``.

        Raises what ended the connection (the caller logs it) unless it was a clean close after a sync.
        """
        headers = {"Authorization": f"Bearer {self._token}"}
        offer: dict[str, Any] = {"subprotocols": [SUBPROTOCOL], "compression": None} if self.offer_compact else {}
        async with self._connect(
            self.url, additional_headers=headers, max_size=self.max_bytes, ping_interval=None, open_timeout=10,
            close_timeout=CLOSE_TIMEOUT_S, **offer,
        ) as ws:
            started = time.monotonic()
            self._opened(getattr(ws, "subprotocol", None) == SUBPROTOCOL)
            sender = asyncio.create_task(self._send_loop(ws), name=f"producer-sender-{self.name}")
            try:
                await self._receive_loop(ws, sender)
            except Exception as exc:
                # a healthy session resets the backoff; one that ended on a size or policy close (1009 oversize,
                # 1008 slow consumer) would end the same way again, so its resync must keep backing off
                lived = (self._synced and time.monotonic() - started >= self.sleep_time
                         and _close_code(exc) not in (1008, 1009))
                if lived:
                    self._failed(exc)
                    return True
                raise
            finally:
                self.connected = False
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sender
        return True

    def _backoff(self) -> Any:
        return backoff_delays(INITIAL_BACKOFF_S, self.sleep_time, 2.0, 0.5, self._rng)

    def _reset_connection_state(self) -> None:
        self._synced = False
        self._whitelist: set[str] | None = None
        self._all_pending: set[str] | None = None  # pairs still owing a reply to the all-pairs request
        self._all_replied: set[str] = set()
        self._all_requested = False
        self._pair_pending: dict[str, list[int | None]] = {}

    def _opened(self, compact: bool) -> None:
        self._reset_connection_state()
        self.connected, self.compact = True, compact
        self.connects += 1
        self._sync_started = time.monotonic()
        log.info("producer %s: connected to %s%s%s", self.name, self.public_url, f" ({SUBPROTOCOL})" if compact
                 else "", " (after failures)" if self._streak else "")
        self._streak -= _HANDSHAKE_KINDS  # the rest (oversize, closed, ping) count until a sync
        if self._on_connect is not None:
            self._on_connect(self.name)

    # ------------------------------------------------------------------------------------ sending

    async def _send_loop(self, ws: Any) -> None:
        await ws.send(encode_message(SubscribeRequest(_TOPICS)).decode())
        await ws.send(encode_message(WhitelistRequest()).decode())
        self._all_requested = True
        await ws.send(encode_message(AnalyzedDfRequest(limit=self.initial_limit, pair=None)).decode())
        self.requests_sent += 3
        while True:
            await self._queued.wait()
            self._queued.clear()
            while self._queue:
                pair = next(iter(self._queue))
                limit = self._queue[pair]
                await ws.send(encode_message(AnalyzedDfRequest(limit=limit, pair=pair)).decode())
                if self._queue.get(pair, "sent") == limit:  # after the send: a cut request stays queued,
                    del self._queue[pair]  # and one enlarged meanwhile is sent again
                self._pair_pending.setdefault(pair, []).append(limit)
                self.requests_sent += 1

    # ---------------------------------------------------------------------------------- receiving

    async def _receive_loop(self, ws: Any, sender: asyncio.Task[None]) -> None:
        timeout = self.wait_timeout if self.wait_timeout > 0 else None
        while True:
            if sender.done():
                sender.result()  # a failed send ends the connection
            try:
                # tradecast.v1 tells text (JSON: str) from binary (compressed: bytes); else bytes for both
                raw = await asyncio.wait_for(ws.recv(decode=None if self.compact else False), timeout=timeout)
            except TimeoutError:
                await self._ping(ws)
                continue
            self.messages += 1
            self.last_message_at = self._clock.timestamp()
            await self._handle(raw)

    async def _ping(self, ws: Any) -> None:
        started = time.monotonic()
        pong = await ws.ping()
        try:
            await asyncio.wait_for(pong, timeout=self.ping_timeout)
        except TimeoutError:
            ws.transport.abort()  # a peer that does not answer pings will not answer a close either
            silence = f"no pong within {self.ping_timeout:g}s after {self.wait_timeout:g}s of silence"
            raise _PingTimeout(silence) from None
        log.debug("producer %s: pong after %.1f ms", self.name, (time.monotonic() - started) * 1000)

    async def _handle(self, raw: bytes | str) -> None:
        if self.compact and not isinstance(raw, str):
            # tradecast.v1 binary: one or several messages (a burst the producer found queued). Inflate them all
            # (bounded in total), then each goes on as if it had been its own text frame, in order
            try:
                if len(raw) * 4 > THREAD_DECODE_BYTES:
                    texts = await asyncio.to_thread(decompress_messages, raw, self.max_bytes)
                else:
                    texts = decompress_messages(raw, self.max_bytes)
            except WireError as exc:
                self._count_error(exc.kind, str(exc))
                return
            self.messages += len(texts) - 1  # the receive loop counted the websocket message once
            for text in texts:
                await self._handle_json(text)
            return
        await self._handle_json(raw)

    async def _handle_json(self, raw: bytes | str) -> None:
        try:
            if len(raw) > THREAD_DECODE_BYTES:
                msg = await asyncio.to_thread(decode_message, raw, self.max_bytes)
            else:
                msg = decode_message(raw, self.max_bytes)
        except WireError as exc:
            self._count_error(exc.kind, str(exc))
            return
        except Exception as exc:  # a decoder bug or hostile input: count it, keep the connection
            self._count_error("decode_error", f"{type(exc).__name__}: {exc}")
            return
        is_reply = False
        if isinstance(msg, AnalyzedDfMessage):
            self.received[MessageType.ANALYZED_DF.value] += 1
            is_reply = self._is_reply(msg.pair, len(msg.frame))
            if not is_reply and self._whitelist is not None and msg.pair not in self._whitelist:
                self._count_error("unexpected_pair", f"analyzed_df for {msg.pair}, which is not in its whitelist")
                return
        elif isinstance(msg, WhitelistMessage):
            self.received[MessageType.WHITELIST.value] += 1
            self._whitelist = set(msg.pairs)
            if self._all_requested:
                owed = self._whitelist - self._all_replied
                self._all_pending = owed if self._all_pending is None else self._all_pending & self._whitelist
        else:
            self.received[str(getattr(msg, "type", type(msg).__name__))] += 1
        try:
            result = self._on_message(self.name, msg, is_reply)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:  # a bad frame must not end the connection
            self._count_error("apply_error", f"{type(exc).__name__}: {exc}")
        self._check_synced()

    def _is_reply(self, pair: str, rows: int) -> bool:
        """Does this frame answer one of our requests? A one-row frame only when one row was asked for.

        Broadcasts carry one row, so a one-row frame arriving while a longer reply is due is taken for a
        broadcast (a reply it really was costs one more request at the next candle, never a loop) -- unless
        nothing is stored for the pair yet: then the producer simply holds one row (a new listing), and
        taking its answer as a broadcast would leave the pair, and the sync, waiting forever.
        """
        def one_row_reply_ok() -> bool:  # only asked while a reply is owed: the common broadcast stays cheap
            return rows != 1 or not self._has_data(pair)

        limits = self._pair_pending.get(pair)
        if limits:
            for index, limit in enumerate(limits):
                if limit == 1 or one_row_reply_ok():
                    del limits[index]
                    return True
        owed = self._all_pending is None or pair in self._all_pending
        if self._all_requested and pair not in self._all_replied and owed and (
                self.initial_limit == 1 or one_row_reply_ok()):
            self._all_replied.add(pair)
            if self._all_pending is not None:
                self._all_pending.discard(pair)
            return True
        return False

    def _check_synced(self) -> None:
        if not self._synced and self._all_pending is not None and not self._all_pending:
            self._synced = True
            self._streak.clear()
            log.info("producer %s: synced %d pair(s) in %.2fs", self.name, len(self._whitelist or ()),
                     time.monotonic() - self._sync_started)

    # ------------------------------------------------------------------------------------- errors

    def _count_error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if kind not in self._logged_kinds:
            self._logged_kinds.add(kind)
            log.warning("producer %s: dropped a message (%s): %s (counted; logged once per kind)",
                        self.name, kind, detail)

    def _failed(self, exc: BaseException) -> None:
        kind, level, text = _classify(exc, self)
        self.last_error = text
        if kind in ("oversize", "ping_timeout"):
            self.errors[kind] += 1
        if kind not in self._streak:
            self._streak.add(kind)
            log.log(level, "producer %s: %s", self.name, text)
        else:
            log.debug("producer %s: %s", self.name, text)


def _classify(exc: BaseException, client: ProducerClient) -> tuple[str, int, str]:
    """``(kind, log level, message)`` for what ended or prevented a connection."""
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        if status in (401, 403):
            return "auth", logging.ERROR, (
                f"token refused (check ws_token): HTTP {status} from {client.public_url}; "
                "retrying with backoff (configuration problem)"
            )
        return "http", logging.WARNING, f"handshake refused with HTTP {status}; retrying with backoff"
    if isinstance(exc, ConnectionClosed):
        code = exc.sent.code if exc.sent is not None else (exc.rcvd.code if exc.rcvd is not None else None)
        if code == 1009:
            return "oversize", logging.ERROR, (
                f"a message exceeded message_size_limit ({client.max_bytes >> 20} MiB), connection closed "
                "(1009); raise external_message_consumer.message_size_limit or send fewer columns; "
                "reconnecting with backoff"
            )
        return "closed", logging.WARNING, f"connection closed ({exc}); reconnecting with backoff"
    if isinstance(exc, _PingTimeout):
        return "ping_timeout", logging.WARNING, f"{exc}; reconnecting"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls", logging.ERROR, f"TLS certificate of {client.public_url} not trusted: {exc}; retrying"
    if isinstance(exc, InvalidHandshake):
        return "handshake", logging.WARNING, f"handshake failed ({exc}); retrying with backoff"
    if isinstance(exc, OSError | TimeoutError):
        return "unreachable", logging.WARNING, (
            f"cannot reach {client.public_url} ({type(exc).__name__}: {exc}); retrying with backoff "
            f"up to {client.sleep_time:g}s"
        )
    return "error", logging.ERROR, f"connection failed unexpectedly ({type(exc).__name__}: {exc}); retrying"


def _close_code(exc: BaseException) -> int | None:
    """The websocket close code behind a connection error (sent or received), if any."""
    for frame in (getattr(exc, "rcvd", None), getattr(exc, "sent", None)):
        code = getattr(frame, "code", None)
        if code is not None:
            return int(code)
    return None
