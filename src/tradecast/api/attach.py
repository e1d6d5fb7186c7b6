"""Wiring the REST API into a bot: ``attach_api(bot)`` (called by :mod:`tradecast.assembly` when
``api_server.enabled``) and ``build_app(bot)`` (the same app without a socket, for tests).

``attach_api`` checks the ``api_server`` settings (an unsafe exposed setup is a ``ConfigError``: exit 2),
keeps the newest log records for ``/logs``, masks secrets in every root log handler, attaches the message
websocket producer when ``enable_message_ws`` is set, and adds an :class:`ApiComponent` that serves the app
in the bot's own event loop between the bot's start and stop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, FastAPI

from tradecast import __version__
from tradecast.api.app import create_app
from tradecast.api.routes_candles import candles_router
from tradecast.api.routes_control import control_router
from tradecast.api.routes_info import info_router, webserver_only_router
from tradecast.api.routes_trades import trades_router
from tradecast.api.security import check_api_security
from tradecast.api.server import ApiServer
from tradecast.core.logbuffer import LogBufferHandler, install_secret_mask

__all__ = ["ApiComponent", "attach_api", "build_app", "install_log_buffer", "rest_routers"]

log = logging.getLogger(__name__)


def rest_routers() -> list[APIRouter]:
    """Every authenticated REST router, in registration order."""
    return [info_router, trades_router, control_router, candles_router, webserver_only_router]


def _listen_address(api_config: Any) -> str:
    address = str(getattr(api_config, "listen_ip_address", "127.0.0.1"))
    return "127.0.0.1" if address == "localhost" else address


def _checked_config(api_config: Any) -> Any:
    if getattr(api_config, "listen_ip_address", None) == "localhost" and hasattr(api_config, "model_copy"):
        return api_config.model_copy(update={"listen_ip_address": "127.0.0.1"})
    return api_config


def install_log_buffer(bot: Any, capacity: int = 1000) -> LogBufferHandler:
    """Keep the newest log records on ``bot.log_buffer`` (once) and mask secrets in every root handler."""
    root = logging.getLogger()
    for handler in root.handlers:
        install_secret_mask(handler)
    buffer = getattr(bot, "log_buffer", None)
    if buffer is None:
        buffer = LogBufferHandler(capacity)
        root.addHandler(buffer)
        bot.log_buffer = buffer
    return buffer


def build_app(bot: Any, *, jwt_key: str | None = None, public_routers: Iterable[APIRouter] = (),
              **create_kwargs: Any) -> FastAPI:
    """The API app serving ``bot`` (routes find it as ``request.app.state.bot``).

    ``jwt_key`` defaults to the checked key of ``bot.config.api_server``. Extra ``public_routers`` (such
    as a message-websocket router) and ``bot.api_public_routers``, if a part registered any, are included
    without REST auth.
    """
    api_config = bot.config.api_server
    if jwt_key is None:
        jwt_key = check_api_security(_checked_config(api_config)).jwt_secret_key
    extra_public = [*public_routers, *getattr(bot, "api_public_routers", [])]
    app = create_app(api_config, routers=rest_routers(), public_routers=extra_public, version=__version__,
                     jwt_key=jwt_key, **create_kwargs)
    app.state.bot = bot
    app.state.log_buffer = getattr(bot, "log_buffer", None)
    return app


class ApiComponent:
    """Runs :class:`ApiServer` for the app as a part of the bot (started after its core, stopped before)."""

    name = "api"

    def __init__(self, app: FastAPI, host: str, port: int, access_log: bool = False) -> None:
        self.app = app
        self.server = ApiServer(app, host, port, access_log=access_log)

    @property
    def url(self) -> str:
        return self.server.url

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop(timeout_s=3.0)  # requests get 3 s to finish; the bot bounds the whole stop


def attach_api(bot: Any) -> ApiComponent:
    """Check the API settings, install the log buffer and add the API server to ``bot``'s components.

    :raises ConfigError: the ``api_server`` settings are unsafe for the address it listens on.
    """
    api_config = bot.config.api_server
    check = check_api_security(_checked_config(api_config))
    for warning in check.warnings:
        log.warning("%s", warning)
    install_log_buffer(bot)
    verbose = getattr(api_config, "verbosity", "error") == "info"
    if verbose:
        # one line per request (tokens in query strings are masked by the server's filter)
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    first_new = len(bot.components)
    app = build_app(bot, jwt_key=check.jwt_secret_key, public_routers=_message_ws_routers(bot))
    component = ApiComponent(app, _listen_address(api_config), int(api_config.listen_port), access_log=verbose)
    # the server goes before the producer: it starts first and stops last, so the producer can say goodbye
    # to its subscribers before the server waits for open connections to end
    bot.components.insert(first_new, component)
    bot.api = component
    return component


def _message_ws_routers(bot: Any) -> list[APIRouter]:
    """The message websocket (when ``api_server.enable_message_ws``): registers the producer part on the
    bot and returns its router."""
    if not getattr(bot.config.api_server, "enable_message_ws", False):
        return []
    from tradecast.api.message_ws import attach_producer

    return attach_producer(bot)
