"""The bot's HTTP side: FastAPI app factory, authentication, security checks, static UI and the server.

Only this package (with ``fleet`` and ``signals``) imports FastAPI/uvicorn. The lead wires it in the bot:
``check_api_security`` -> ``create_app`` (with the REST routers) -> ``ApiServer(...).start()``.
"""

from __future__ import annotations

from tradecast.api.app import JsonResponse, create_app
from tradecast.api.auth import (
    AuthSettings,
    create_token,
    decode_token,
    get_auth_settings,
    require_auth,
    ws_token_ok,
)
from tradecast.api.ratelimit import FailedLoginLimiter
from tradecast.api.security import SecurityCheck, check_api_security
from tradecast.api.server import ApiServer

__all__ = [
    "ApiServer",
    "AuthSettings",
    "FailedLoginLimiter",
    "JsonResponse",
    "SecurityCheck",
    "check_api_security",
    "create_app",
    "create_token",
    "decode_token",
    "get_auth_settings",
    "require_auth",
    "ws_token_ok",
]
