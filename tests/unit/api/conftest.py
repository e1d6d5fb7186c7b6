"""Shared fixtures: an api_server config stand-in, a test app with a dummy protected router, a client."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends

from tradecast.api import FailedLoginLimiter, create_app, require_auth
from tradecast.core.clock import FakeClock
from tradecast.core.errors import TradeRejected

JWT_KEY = "k" * 40
USERNAME = "alice"
PASSWORD = "correct horse battery"


def make_api_config(**overrides: Any) -> SimpleNamespace:
    """What the config package's ApiServerConfig will provide, with test values."""
    values: dict[str, Any] = {
        "enabled": True,
        "listen_ip_address": "127.0.0.1",
        "listen_port": 8080,
        "verbosity": "error",
        "enable_openapi": False,
        "jwt_secret_key": JWT_KEY,
        "CORS_origins": [],
        "username": USERNAME,
        "password": PASSWORD,
        "ws_token": None,
        "enable_message_ws": False,
        "ui_path": None,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def dummy_router() -> APIRouter:
    """A protected router like the ones the REST step will add."""
    router = APIRouter(prefix="/api/v1")

    @router.get("/whoami")
    def whoami(user: Annotated[str, Depends(require_auth)]) -> dict[str, str]:
        return {"user": user}

    @router.get("/numbers")
    def numbers(limit: int = 3) -> dict[str, Any]:
        return {"limit": limit, "nan": math.nan, "inf": math.inf, "values": [1.5, -math.inf]}

    @router.post("/forceenter")
    def forceenter() -> dict[str, str]:
        raise TradeRejected("Force_entry not enabled.")

    @router.get("/boom")
    def boom() -> dict[str, str]:
        raise RuntimeError("bug")

    return router


class ManualClock:
    """Seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def api_config() -> SimpleNamespace:
    return make_api_config()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def app_factory(clock: ManualClock) -> Callable[..., Any]:
    def build(config: SimpleNamespace | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("routers", [dummy_router()])
        kwargs.setdefault("limiter", FailedLoginLimiter(clock=clock))
        return create_app(config or make_api_config(), jwt_key=JWT_KEY, **kwargs)

    return build


@pytest.fixture
async def client(app_factory: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_factory())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as ac:
        yield ac


# --------------------------------------------------------------------------- a real bot behind the REST app

REST_STRATEGY = '''
from tradecast.strategy import IStrategy


class RestTestStrategy(IStrategy):
    """Never signals on its own: trades in these tests come from /forceenter only."""

    INTERFACE_VERSION = 3
    timeframe = "5m"
    minimal_roi = {"0": 10.0}
    stoploss = -0.5
    startup_candle_count = 3
    order_types = {"entry": "market", "exit": "market", "force_entry": "market", "force_exit": "market",
                   "stoploss": "market", "stoploss_on_exchange": False}
    plot_config = {"main_plot": {"sma3": {"color": "blue"}}}

    def populate_indicators(self, dataframe, metadata):
        dataframe["sma3"] = dataframe["close"].rolling(3).mean()
        dataframe["up"] = (dataframe["close"] > dataframe["open"]).astype(int)
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        dataframe["enter_long"] = 0
        dataframe.loc[dataframe.index[::50], "enter_long"] = 1
        dataframe.loc[dataframe.index[-1], "enter_long"] = 0
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        dataframe["exit_long"] = 0
        return dataframe
'''

REST_PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
SIM_START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def rest_config_dict(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    strategies = tmp_path / "strategies"
    strategies.mkdir(exist_ok=True)
    (strategies / "rest_test.py").write_text(REST_STRATEGY)
    config: dict[str, Any] = {
        "bot_name": "resttest",
        "strategy": "RestTestStrategy",
        "strategy_path": str(strategies),
        "max_open_trades": 3,
        "stake_currency": "USDT",
        "stake_amount": 100,
        "dry_run": True,
        "dry_run_wallet": 1000,
        "force_entry_enable": True,
        "db_url": f"sqlite:///{tmp_path / 'rest.sqlite'}",
        "user_data_dir": str(tmp_path),
        "exchange": {"name": "sim", "pair_whitelist": REST_PAIRS, "pair_blacklist": ["DOGE/USDT"]},
        "internals": {"process_throttle_secs": 1, "heartbeat_interval": 0},
        "api_server": {"enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": 8080,
                       "username": USERNAME, "password": PASSWORD, "jwt_secret_key": JWT_KEY},
    }
    config.update(overrides)
    return config


def write_rest_config(tmp_path: Path, **overrides: Any) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(rest_config_dict(tmp_path, **overrides), indent=2))
    return path


BASIC = {"Authorization": "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()}


@dataclass
class RestHarness:
    """A started bot on a FakeClock sim market, its app, and an authenticated client."""

    bot: Any
    clock: FakeClock
    client: httpx.AsyncClient
    anon: httpx.AsyncClient
    config_path: Path

    async def trade_count(self) -> int:
        return await self.bot.db.run(self.bot.repo.count_trades)

    async def enter(self, pair: str, **body: Any) -> dict[str, Any]:
        response = await self.client.post("/api/v1/forceenter", json={"pair": pair, **body})
        assert response.status_code == 200, response.text
        return response.json()

    async def exit(self, trade_id: int | str) -> None:
        response = await self.client.post("/api/v1/forceexit", json={"tradeid": trade_id})
        assert response.status_code == 200, response.text


@pytest.fixture
async def rest(tmp_path: Path) -> AsyncIterator[RestHarness]:
    from tradecast.api.attach import build_app
    from tradecast.bot import Bot
    from tradecast.config import load_config
    from tradecast.market.sim import SimMarket

    path = write_rest_config(tmp_path)
    config = load_config([path], env={})
    sim_clock = FakeClock(SIM_START)
    bot = Bot(config, market=SimMarket(seed=1, clock=sim_clock))
    await bot.start()
    app = build_app(bot, limiter=FailedLoginLimiter(clock=ManualClock()))
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=BASIC) as authed,
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as anon,
        ):
            yield RestHarness(bot, sim_clock, authed, anon, path)
    finally:
        await bot.stop()
