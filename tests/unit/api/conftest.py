"""Shared fixtures: an api_server config stand-in, a test app with a dummy protected router, a client."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends

from tradecast.api import FailedLoginLimiter, create_app, require_auth
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
