"""``/api/v1/message/ws``: the message websocket that consumers (and FreqUI) subscribe to.

Enabled by ``api_server.enable_message_ws``. :func:`attach_producer` builds the producer hub and publisher
for a bot, registers them as a bot component and returns the router to pass to
``create_app(public_routers=...)`` (an empty list when the websocket is disabled).

Authentication happens **before** the websocket is accepted: the token comes from the ``token`` query
parameter (freqtrade's way) or an ``Authorization: Bearer`` header (kept out of URLs and proxy logs), and
is checked with :func:`tradecast.api.auth.ws_token_ok` (constant-time ``ws_token`` match, or a valid access
JWT). A refused client gets ``close(1008)`` before accept, which the server turns into an HTTP 403 at the
handshake; the log names the client address, never the token. Text and binary JSON frames are accepted;
permessage-deflate is negotiated by uvicorn when the client offers it.

The route is a plain ASGI endpoint (a starlette ``WebSocketRoute``, not ``@router.websocket``): the
handshake goes through starlette's ``WebSocket``, but messages are sent with the server's own ASGI ``send``.
A message costs the producer that call once per subscriber, and starlette's per-call state checks plus the
route's exception wrapper were ~10% of it with 100 JSON subscribers.

``tradecast.v1`` (:mod:`tradecast.wire.compact`): when the client offers that subprotocol it is selected and the
subscriber is marked ``compact``; the hub then gives it each broadcast compressed once for all such subscribers,
several queued broadcasts joined into one binary frame. Clients that do not offer it (freqtrade, FreqUI) get the
JSON text frames they always got, one per message. (A client offering both tradecast.v1 and permessage-deflate gets
its binary frames deflated again per connection, since uvicorn negotiates deflate before the app runs; tradecast's
client does not offer deflate with tradecast.v1.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketState

from tradecast.api.auth import ws_token_ok
from tradecast.fleet.hub import HubClosed, ProducerHub
from tradecast.fleet.producer import Ended, ProducerPublisher
from tradecast.wire.compact import SUBPROTOCOL, CompactFrame

__all__ = ["MESSAGE_WS_PATH", "ProducerComponent", "attach_producer", "message_ws_router"]

log = logging.getLogger("tradecast.api.message_ws")

MESSAGE_WS_PATH = "/api/v1/message/ws"
#: how long closing a socket may wait for its peer (a peer that stopped reading never acknowledges)
CLOSE_TIMEOUT_S = 1.0
_CLOSE_REASONS = {1008: "slow consumer", 1001: "producer shutting down"}


class _WsConnection:
    """A FastAPI websocket as the :class:`tradecast.fleet.producer.Connection` the publisher serves."""

    def __init__(self, websocket: WebSocket, send: Send, compact: bool = False) -> None:
        self._receive = websocket.receive
        self._send = send  # the server's ASGI send (see the module docstring)
        self.close_code: int | None = None
        #: the client negotiated tradecast.v1 (read by the publisher when it subscribes this connection)
        self.compact = compact

    async def recv(self) -> str | bytes | None:
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self.close_code = message.get("code")
            return None
        text = message.get("text")
        return text if text is not None else message.get("bytes") or b""

    async def send(self, data: str | bytes) -> None:
        if isinstance(data, str):
            await self._send({"type": "websocket.send", "text": data})
        elif isinstance(data, CompactFrame):
            await self._send({"type": "websocket.send", "bytes": data})
        else:  # JSON as bytes: still a text frame (only tradecast.v1 payloads are binary)
            await self._send({"type": "websocket.send", "text": data.decode("utf-8")})


def _token(websocket: WebSocket) -> list[str]:
    """The candidate tokens: the Bearer header first, then ``?token=``."""
    found: list[str] = []
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        found.append(value.strip())
    query = websocket.query_params.get("token")
    if query:
        found.append(query)
    return found


def _peer(websocket: WebSocket) -> str:
    client = websocket.client
    return f"{client.host}:{client.port}" if client else "unknown"


def message_ws_router(publisher: ProducerPublisher) -> APIRouter:
    """The router with the websocket route, serving connections through ``publisher``."""
    router = APIRouter()
    router.routes.append(WebSocketRoute(MESSAGE_WS_PATH, _MessageWsEndpoint(publisher), name="message_ws"))
    return router


class _MessageWsEndpoint:
    """The message websocket as a plain ASGI app (so that it holds the server's ``send``)."""

    def __init__(self, publisher: ProducerPublisher) -> None:
        self.publisher = publisher

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _serve(WebSocket(scope, receive, send), send, self.publisher)


async def _serve(websocket: WebSocket, send: Send, publisher: ProducerPublisher) -> None:
    auth = websocket.app.state.auth
    peer = _peer(websocket)
    if not any(ws_token_ok(token, auth.api_config, auth.jwt_key) for token in _token(websocket)):
        log.warning("message ws: refused connection from %s: bad token", peer.rsplit(":", 1)[0])
        await websocket.close(code=1008)
        return
    compact = SUBPROTOCOL in websocket.scope.get("subprotocols", ())
    await websocket.accept(subprotocol=SUBPROTOCOL if compact else None)
    log.info("message ws: %s connected%s", peer, f" ({SUBPROTOCOL})" if compact else "")
    conn = _WsConnection(websocket, send, compact)
    try:
        ended = await publisher.serve(conn, peer)
    except HubClosed:
        ended = Ended("producer shutting down", close_code=1001)
    if ended.by_client:
        log.info("message ws: %s disconnected: %s (code %s)", peer, ended.reason, conn.close_code)
        return
    log.info("message ws: %s disconnected: %s", peer, ended.reason)
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await websocket.close(code=ended.close_code, reason=_CLOSE_REASONS.get(ended.close_code, ""))


class ProducerComponent:
    """The producer as a bot component: starts the whitelist watch, and on stop disconnects subscribers."""

    name = "message_ws"

    def __init__(self, publisher: ProducerPublisher) -> None:
        self.publisher = publisher

    async def start(self) -> None:
        await self.publisher.start()

    async def stop(self) -> None:
        await self.publisher.stop()


def attach_producer(bot: Any, hub: ProducerHub | None = None) -> list[APIRouter]:
    """Make ``bot`` a producer when ``api_server.enable_message_ws`` is set.

    Registers the publisher on the bot's listeners, adds a :class:`ProducerComponent` and a ``message_ws``
    health reporter, and returns ``[router]`` for ``create_app(public_routers=...)``; returns ``[]`` when
    the message websocket is disabled.
    """
    if not getattr(bot.config.api_server, "enable_message_ws", False):
        return []
    hub = hub or ProducerHub()
    publisher = ProducerPublisher(bot, hub)
    bot.add_component(ProducerComponent(publisher))
    reporters = getattr(bot, "health_reporters", None)
    if isinstance(reporters, dict):
        reporters["message_ws"] = lambda: _health(hub)
    return [message_ws_router(publisher)]


def _health(hub: ProducerHub) -> dict[str, Any]:
    stats = hub.stats()
    return {
        "subscribers": stats["subscribers"],
        "slow_disconnects": stats["slow_disconnects"],
        "dropped": sum(s["dropped"] for s in stats["per_subscriber"]),
    }
