"""A small in-test producer speaking the message-websocket wire format, plus frame builders.

``FakeProducer`` serves ``/api/v1/message/ws`` with the ``websockets`` library: it checks the token (HTTP 403
before the upgrade, like a freqtrade producer), records every request text, answers ``whitelist`` and
``analyzed_df`` requests from ``frames`` (encoded with ``tradecast.wire.encode_message``), and can broadcast,
send raw text, stop answering pings, and be killed and restarted on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from http import HTTPStatus
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
from websockets.asyncio.server import ServerConnection, serve

from tradecast.config.consumer_models import ExternalMessageConsumerConfig
from tradecast.wire import AnalyzedDfMessage, WhitelistMessage, decode_request, encode_message
from tradecast.wire.messages import AnalyzedDfRequest, WhitelistRequest

START = datetime(2026, 1, 1, tzinfo=UTC)


def make_frame(rows: int, *, start: datetime = START, freq: str = "5min", seed: int = 1,
               signals: bool = True) -> pd.DataFrame:
    """An analysed-looking frame: OHLCV, indicators, and signal/tag columns."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, rows)))
    frame = pd.DataFrame({
        "date": pd.date_range(start, periods=rows, freq=freq, tz="UTC"),
        "open": close * 0.999, "high": close * 1.002, "low": close * 0.997, "close": close,
        "volume": rng.uniform(1, 10, rows), "rsi": rng.uniform(0, 100, rows),
    })
    frame["enter_long"] = (np.arange(rows) % 7 == 0).astype(int) if signals else 0
    frame["exit_long"] = (np.arange(rows) % 5 == 0).astype(int) if signals else 0
    frame["enter_tag"] = np.where(frame["enter_long"] == 1, "tagged", None)
    frame["exit_tag"] = None
    return frame


def analyzed(pair: str, frame: pd.DataFrame, timeframe: str = "5m") -> AnalyzedDfMessage:
    return AnalyzedDfMessage(pair, timeframe, "spot", frame, datetime.now(UTC))


def consumer_config(port: int, **overrides: Any) -> ExternalMessageConsumerConfig:
    producer = {"name": "default", "host": "127.0.0.1", "port": port, "ws_token": "secret"}
    producer.update(overrides.pop("producer", {}))
    data = {"enabled": True, "producers": [producer], "sleep_time": 2, "wait_timeout": 30, "ping_timeout": 5}
    data.update(overrides)
    return ExternalMessageConsumerConfig(**data)


def producer_cfg(port: int, **overrides: Any) -> Any:
    values = {"name": "default", "host": "127.0.0.1", "port": port, "secure": False, "ws_token": "secret"}
    values.update(overrides)
    return SimpleNamespace(**values)


class FakeProducer:
    """An in-process producer endpoint (see the module docstring)."""

    def __init__(self, token: str = "secret", pairs: list[str] | None = None) -> None:
        self.token = token
        self.frames: dict[str, pd.DataFrame] = {}
        self.whitelist: list[str] = list(pairs or [])
        self.requests: list[str] = []  # every text received, in order, across connections
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.connections: list[ServerConnection] = []
        self.handshakes = 0
        self.ignore_pings = False
        self.answer_requests = True
        self.port = 0
        self._server: Any = None
        self.received = asyncio.Event()

    @property
    def live(self) -> list[ServerConnection]:
        return [c for c in self.connections if c.state.name == "OPEN"]

    async def start(self) -> FakeProducer:
        self._server = await serve(self._handler, "127.0.0.1", self.port, process_request=self._check,
                                   max_size=None, ping_interval=None)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def kill(self) -> None:
        """Stop listening and drop every connection (abruptly, like a killed process)."""
        if self._server is not None:
            self._server.close(close_connections=False)
            for conn in list(self.connections):
                conn.transport.abort()
            await self._server.wait_closed()
            self._server = None

    def _check(self, connection: ServerConnection, request: Any) -> Any:
        self.handshakes += 1
        self.paths.append(request.path)
        self.headers.append({"Authorization": request.headers.get("Authorization", "")})
        query = parse_qs(urlsplit(request.path).query)
        if query.get("token", [None])[0] != self.token:
            return connection.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")
        return None

    async def _handler(self, conn: ServerConnection) -> None:
        self.connections.append(conn)
        if self.ignore_pings:
            conn.transport.pause_reading()  # pings are never read, so never answered
            with contextlib.suppress(Exception):
                await conn.wait_closed()
            return
        with contextlib.suppress(Exception):
            async for text in conn:
                text = text if isinstance(text, str) else text.decode()
                self.requests.append(text)
                self.received.set()
                if self.answer_requests:
                    await self._answer(conn, text)

    async def _answer(self, conn: ServerConnection, text: str) -> None:
        request = decode_request(text)
        if isinstance(request, WhitelistRequest):
            await conn.send(encode_message(WhitelistMessage(tuple(self.whitelist))).decode())
        elif isinstance(request, AnalyzedDfRequest):
            pairs = [request.pair] if request.pair else list(self.whitelist)
            for pair in pairs:
                frame = request.select(self.frames.get(pair, pd.DataFrame()))
                await conn.send(encode_message(analyzed(pair, frame)).decode())

    async def broadcast(self, message: Any) -> None:
        data = message if isinstance(message, str | bytes) else encode_message(message).decode()
        for conn in self.live:
            await conn.send(data)

    async def wait_requests(self, count: int, timeout: float = 5.0) -> list[str]:
        async with asyncio.timeout(timeout):
            while len(self.requests) < count:
                self.received.clear()
                await self.received.wait()
        return self.requests


async def eventually(check: Any, timeout: float = 5.0, interval: float = 0.01) -> None:
    """Wait until ``check()`` is true (raise AssertionError after ``timeout``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)
