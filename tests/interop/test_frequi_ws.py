"""A FreqUI-style client on our message websocket, with tokens from our ``/api/v1/token/login``.

The tokens are also read by freqtrade's own JWT code (``ft_scripts/ft_jwt.py``), and a token made by
freqtrade's ``create_token`` with the same key is accepted by our websocket.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.interop.conftest import JWT_KEY, PASSWORD, USERNAME, TradecastProducer, run_ft_script

pytestmark = pytest.mark.integration

PAIRS = ["BTC/USDT", "ETH/USDT"]
START = datetime(2026, 11, 20, 12, 0, 30, tzinfo=UTC)
FREQUI_TOPICS = ["whitelist", "entry_fill", "exit_fill", "entry_cancel", "exit_cancel", "new_candle"]


async def collect(ws: ClientConnection, done: Any, what: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Messages until ``done(messages)``; every one must be a text frame of a subscribed topic."""
    messages: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while not done(messages):
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"{what}: not within {timeout}s; got {messages}")
        try:
            text = await asyncio.wait_for(ws.recv(), left)
        except TimeoutError:
            continue
        assert isinstance(text, str), "text frames only"
        message = json.loads(text)
        assert message["type"] in FREQUI_TOPICS, f"{what}: unsubscribed {message['type']} arrived: {message}"
        messages.append(message)
    return messages


def new_candles(messages: list[dict[str, Any]]) -> set[str]:
    return {m["data"][0] for m in messages if m["type"] == "new_candle"}


async def test_frequi_subscription_with_login_tokens(tmp_path: Path) -> None:
    producer = await TradecastProducer.start(tmp_path, PAIRS, START)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{producer.port}", timeout=10) as http:
            response = await http.post("/api/v1/token/login", auth=(USERNAME, PASSWORD))
        assert response.status_code == 200, response.text
        tokens = response.json()

        ft = await run_ft_script("ft_jwt.py", JWT_KEY, USERNAME, tokens["access_token"], tokens["refresh_token"])
        assert ft["access_user"] == USERNAME, ft
        assert ft["refresh_user"] == USERNAME, ft
        assert ft["access_as_refresh"].startswith("refused"), ft

        # a token freqtrade made with the same key opens our websocket too
        async with connect(producer.ws_url(ft["ft_access"]), open_timeout=5) as ws:
            await ws.send('{"type":"whitelist"}')
            assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "whitelist", "data": PAIRS}

        async with connect(producer.ws_url(tokens["access_token"]), open_timeout=5) as ws:
            await ws.send(json.dumps({"type": "subscribe", "data": FREQUI_TOPICS}))
            await ws.send('{"type":"whitelist"}')
            got = await collect(ws, lambda ms: any(m["type"] == "whitelist" for m in ms), "whitelist reply")
            assert got[-1] == {"type": "whitelist", "data": PAIRS}

            # analysis passes: new_candle per pair ([pair, timeframe, candle_type]); never analyzed_df
            await producer.bot.run_once()
            got = await collect(ws, lambda ms: new_candles(ms) == set(PAIRS), "first new_candle")
            assert {tuple(m["data"]) for m in got if m["type"] == "new_candle"} == {(p, "5m", "spot") for p in PAIRS}
            producer.clock.advance(300)
            await producer.bot.run_once()
            await collect(ws, lambda ms: new_candles(ms) == set(PAIRS), "next new_candle")

            # whitelist broadcast on change
            producer.bot.engine.whitelist = PAIRS[:1]
            got = await collect(ws, lambda ms: any(m == {"type": "whitelist", "data": PAIRS[:1]} for m in ms),
                                "whitelist broadcast")

            # trade events: entry is not subscribed, entry_fill is (flat fields, as freqtrade sends them)
            trade = await producer.bot.engine.enter("BTC/USDT", reason="force")
            assert trade is not None
            producer.clock.advance(60)
            await producer.bot.engine.manage()
            got = await collect(ws, lambda ms: any(m["type"] == "entry_fill" for m in ms), "entry_fill")
            fill = next(m for m in got if m["type"] == "entry_fill")
            assert fill["trade_id"] == trade.id and fill["pair"] == "BTC/USDT" and "data" not in fill
    finally:
        await producer.stop()
