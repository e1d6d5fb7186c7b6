"""attach_api: security check, log buffer, and the API served as a bot component on a real socket."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from pathlib import Path

import httpx
import pytest
import websockets

from tradecast.api.attach import ApiComponent, attach_api
from tradecast.assembly import attach_optional_parts
from tradecast.bot import Bot
from tradecast.config import load_config
from tradecast.core.clock import FakeClock
from tradecast.core.errors import ConfigError
from tradecast.market.sim import SimMarket

from .conftest import BASIC, REST_PAIRS, SIM_START, write_rest_config

WS_TOKEN = "ws-token-for-the-attach-test-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bot(tmp_path: Path, **api: object) -> Bot:
    path = write_rest_config(tmp_path)
    config = load_config([path], env={}, overrides=None)
    for key, value in api.items():
        setattr(config.api_server, key, value)
    return Bot(config, market=SimMarket(seed=1, clock=FakeClock(SIM_START)))


@pytest.fixture
def restore_root_logging():
    root = logging.getLogger()
    handlers = list(root.handlers)
    access_level = logging.getLogger("uvicorn.access").level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    logging.getLogger("uvicorn.access").setLevel(access_level)


def test_unsafe_exposed_api_is_a_config_error(tmp_path: Path, restore_root_logging: None) -> None:
    bot = _bot(tmp_path, listen_ip_address="0.0.0.0", password="short")
    with pytest.raises(ConfigError, match="password"):
        attach_api(bot)
    assert bot.components == [] and not hasattr(bot, "log_buffer")


async def test_api_runs_as_a_bot_component(tmp_path: Path, restore_root_logging: None,
                                           caplog: pytest.LogCaptureFixture) -> None:
    port = _free_port()
    bot = _bot(tmp_path, listen_port=port, verbosity="info", jwt_secret_key="", enable_message_ws=True,
               ws_token=WS_TOKEN)
    with caplog.at_level(logging.WARNING, logger="tradecast.api.attach"):
        attach_optional_parts(bot)  # the same path the CLI takes
    assert "random key" in caplog.text  # the security warnings are logged
    component = bot.components[0]
    assert isinstance(component, ApiComponent) and bot.log_buffer in logging.getLogger().handlers
    assert [c.name for c in bot.components] == ["api", "message_ws"]  # server starts first, stops last
    assert logging.getLogger("uvicorn.access").level == logging.INFO
    await bot.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=BASIC) as client:
            assert (await client.get("/api/v1/ping")).json() == {"status": "pong"}
            config = (await client.get("/api/v1/show_config")).json()
            assert config["bot_name"] == "resttest" and config["state"] == "running"
            logging.getLogger("tradecast.test").warning("visible in /logs")
            logs = (await client.get("/api/v1/logs")).json()["logs"]
            assert any(entry[4] == "visible in /logs" for entry in logs)
            health = (await client.get("/api/v1/health")).json()
            assert health["message_ws"]["subscribers"] == 0
        url = f"ws://127.0.0.1:{port}/api/v1/message/ws"
        async with websockets.connect(f"{url}?token={WS_TOKEN}") as ws:
            await ws.send(json.dumps({"type": "whitelist"}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert reply == {"type": "whitelist", "data": REST_PAIRS}
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(f"{url}?token=wrong-token-wrong-token"):
                pass
    finally:
        await bot.stop()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/api/v1/ping")
