"""The FastAPI application factory.

Route order matters (spec §4): public routes, token routes, the authenticated routers given by the caller,
an ``/api/...`` fallback (404 for unknown paths, 405 for a wrong method on a known path), and the UI
catch-all last. Errors keep freqtrade's shapes:

* ``TradeRejected`` (a trading rule said no) -> **502** ``{"error": "Error querying /api/v1/<x>: <msg>"}``,
  the status and key freqtrade uses for its RPCException, which FreqUI and freqtrade-client expect;
* ``HTTPException`` -> ``{"detail": ...}``; validation -> FastAPI's 422;
* anything unexpected -> logged once, 500 ``{"error": "internal error"}`` (tests assert none happen).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import tradecast
from tradecast.api.auth import AuthSettings, auth_router, require_auth
from tradecast.api.ratelimit import FailedLoginLimiter
from tradecast.api.ui import create_ui_router
from tradecast.core.errors import TradeRejected

__all__ = ["JsonResponse", "create_app", "public_router"]

logger = logging.getLogger(__name__)

StartupHook = Callable[[FastAPI], Awaitable[None] | None]


def _json_default(value: Any) -> Any:
    """Types orjson does not know natively (Decimal, sets, pandas/numpy scalars, Paths)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy/pandas scalars
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    try:
        return float(value)  # Decimal and other number-likes
    except (TypeError, ValueError):
        raise TypeError(f"cannot serialise {type(value).__name__} to JSON") from None


class JsonResponse(JSONResponse):
    """orjson-backed JSON response; NaN and ±inf become ``null`` as in freqtrade (orjson does that)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(
            content,
            default=_json_default,
            option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
        )


public_router = APIRouter(prefix="/api/v1", tags=["public"])


@public_router.get("/ping")
def ping() -> dict[str, str]:
    """Liveness check without authentication."""
    return {"status": "pong"}


@public_router.head("/ping", include_in_schema=False)
def ping_head() -> None:
    """``HEAD /ping`` for monitoring tools (newer freqtrade offers it too)."""


@public_router.get("/version", dependencies=[Depends(require_auth)])
def get_version(request: Request) -> dict[str, str]:
    """Version of the running bot."""
    return {"version": request.app.state.version}


class _LastResortErrors:
    """Turns an unhandled exception in an HTTP request into a logged 500 ``{"error": "internal error"}``.

    Sits inside the CORS middleware so the 500 still carries CORS headers. Exceptions are not re-raised:
    the traceback is logged here once instead of again by the server.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # too late for a clean response; let the server drop the connection
            response = JsonResponse({"error": "internal error"}, status_code=500)
            await response(scope, receive, send)


def _trade_rejected(request: Request, exc: Exception) -> JsonResponse:
    return JsonResponse({"error": f"Error querying {request.url.path}: {exc}"}, status_code=502)


def _flat_routes(routers: Iterable[APIRouter]) -> list[BaseRoute]:
    """The HTTP routes of ``routers`` (paths include each router's own prefix; nested includes are
    followed when FastAPI exposes them as ``original_router``)."""
    found: list[BaseRoute] = []
    for router in routers:
        for route in router.routes:
            nested = getattr(route, "original_router", None)
            if nested is not None:
                found.extend(_flat_routes([nested]))
            elif getattr(route, "methods", None):
                found.append(route)
    return found


def _api_fallback_router(known_routes: list[BaseRoute]) -> APIRouter:
    """``/api/{rest}`` for every method: 405 + ``Allow`` if a known route has this path, else 404.

    freqtrade answers a wrong method with 404 or 405 depending on route order; a clean 405 with ``Allow``
    is what HTTP clients expect, and no freqtrade client depends on the 404.
    """
    router = APIRouter(include_in_schema=False)
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]

    @router.api_route("/api/{rest:path}", methods=methods)
    def api_fallback(request: Request, rest: str) -> JsonResponse:
        allowed: set[str] = set()
        for route in known_routes:
            match, _ = route.matches(request.scope)
            if match != Match.NONE:
                allowed |= set(getattr(route, "methods", None) or ())
        if allowed:
            return JsonResponse(
                {"detail": "Method Not Allowed"},
                status_code=405,
                headers={"Allow": ", ".join(sorted(allowed))},
            )
        return JsonResponse({"detail": "Not Found"}, status_code=404)

    return router


def _lifespan(on_startup: StartupHook | None, on_shutdown: StartupHook | None) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if on_startup is not None:
            result = on_startup(app)
            if inspect.isawaitable(result):
                await result
        try:
            yield
        finally:
            if on_shutdown is not None:
                result = on_shutdown(app)
                if inspect.isawaitable(result):
                    await result

    return lifespan


def create_app(
    api_config: Any,
    *,
    routers: Iterable[APIRouter] = (),
    public_routers: Iterable[APIRouter] = (),
    version: str = tradecast.__version__,
    jwt_key: str,
    on_startup: StartupHook | None = None,
    on_shutdown: StartupHook | None = None,
    ui_dir: str | Path | None = None,
    limiter: FailedLoginLimiter | None = None,
) -> FastAPI:
    """Build the API application.

    ``routers`` are included behind :func:`require_auth` (Bearer access JWT or Basic); give their paths in
    full (``APIRouter(prefix="/api/v1")``). ``public_routers`` are included without auth, before them (the
    message websocket checks its own token). ``jwt_key`` is the effective key from
    :func:`tradecast.api.security.check_api_security`. ``ui_dir`` overrides ``api_config.ui_path``.
    ``on_startup``/``on_shutdown`` run in the server's lifespan with the app (sync or async).
    """
    openapi = bool(getattr(api_config, "enable_openapi", False))
    app = FastAPI(
        title="tradecast API",
        version=version,
        docs_url="/docs" if openapi else None,
        openapi_url="/openapi.json" if openapi else None,
        redoc_url=None,
        default_response_class=JsonResponse,
        lifespan=_lifespan(on_startup, on_shutdown),
    )
    app.state.version = version
    app.state.auth = AuthSettings(api_config, jwt_key, limiter or FailedLoginLimiter())

    routers = list(routers)
    public_routers = list(public_routers)
    app.include_router(public_router)
    for router in public_routers:
        app.include_router(router)
    app.include_router(auth_router)
    for router in routers:
        app.include_router(router, dependencies=[Depends(require_auth)])
    known = _flat_routes([public_router, *public_routers, auth_router, *routers])
    app.include_router(_api_fallback_router(known))
    reserved = ("redoc",) if openapi else ("docs", "openapi.json", "redoc")
    app.include_router(create_ui_router(ui_dir or getattr(api_config, "ui_path", None), reserved=reserved))

    app.add_exception_handler(TradeRejected, _trade_rejected)  # type: ignore[arg-type]
    # add_middleware wraps: the last added runs first, so CORS is outermost
    app.add_middleware(_LastResortErrors)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(getattr(api_config, "CORS_origins", None) or []),
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    return app
