"""App factory: OpenAPI switch, CORS, JSON rendering, error shapes, 404/405 fallbacks."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest

from .conftest import PASSWORD, USERNAME, make_api_config

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()}


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_openapi_hidden_by_default(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/openapi.json", "/redoc"):
        response = await client.get(path)
        assert response.status_code == 404 and response.json() == {"detail": "Not Found"}, path


async def test_openapi_visible_when_enabled(app_factory) -> None:
    async with client_for(app_factory(make_api_config(enable_openapi=True))) as ac:
        schema = (await ac.get("/openapi.json")).json()
        assert schema["info"]["title"] == "tradecast API"
        assert "/api/v1/whoami" in schema["paths"] and "/api/v1/token/login" in schema["paths"]
        assert "/{path}" not in schema["paths"]
        assert (await ac.get("/docs")).status_code == 200
        assert (await ac.get("/redoc")).status_code == 404


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }


async def test_cors_preflight_allowed_and_denied(app_factory) -> None:
    app = app_factory(make_api_config(CORS_origins=["http://localhost:3000"]))
    async with client_for(app) as ac:
        ok = await ac.options("/api/v1/status", headers=preflight("http://localhost:3000"))
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert ok.headers["access-control-allow-credentials"] == "true"
        denied = await ac.options("/api/v1/status", headers=preflight("http://evil.example"))
        assert denied.status_code == 400 and "access-control-allow-origin" not in denied.headers
        actual = await ac.get("/api/v1/ping", headers={"Origin": "http://localhost:3000"})
        assert actual.headers["access-control-allow-origin"] == "http://localhost:3000"


async def test_cors_off_by_default(client: httpx.AsyncClient) -> None:
    denied = await client.options("/api/v1/ping", headers=preflight("http://localhost:3000"))
    assert denied.status_code == 400


async def test_nan_and_inf_become_null(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/numbers", headers=AUTH)
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"limit": 3, "nan": None, "inf": None, "values": [1.5, None]}


def test_json_response_handles_numpy_and_decimal() -> None:
    from decimal import Decimal

    import numpy as np

    from tradecast.api import JsonResponse

    body = JsonResponse(
        {"a": np.float64("nan"), "b": np.array([1.0, np.inf]), "c": Decimal("1.5"), "d": np.int64(3)}
    ).body
    assert body == b'{"a":null,"b":[1.0,null],"c":1.5,"d":3}'


async def test_trade_rejected_is_502_with_error_key(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/forceenter", headers=AUTH)
    assert response.status_code == 502
    assert response.json() == {"error": "Error querying /api/v1/forceenter: Force_entry not enabled."}


async def test_unexpected_error_is_logged_500(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="tradecast.api.app"):
        response = await client.get("/api/v1/boom", headers=AUTH)
    assert response.status_code == 500 and response.json() == {"error": "internal error"}
    assert any("GET /api/v1/boom" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PUT"])
async def test_unknown_api_path_is_404(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, "/api/v1/nope", headers=AUTH)
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


async def test_wrong_method_on_known_path_is_405(client: httpx.AsyncClient) -> None:
    for method, path in (
        ("PUT", "/api/v1/ping"),
        ("DELETE", "/api/v1/whoami"),
        ("GET", "/api/v1/token/login"),
    ):
        response = await client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.json() == {"detail": "Method Not Allowed"}
        assert response.headers["allow"]


async def test_head_ping(client: httpx.AsyncClient) -> None:
    assert (await client.head("/api/v1/ping")).status_code == 200


async def test_public_routers_skip_auth(app_factory) -> None:
    from fastapi import APIRouter

    open_router = APIRouter(prefix="/api/v1")

    @open_router.get("/open")
    def open_route() -> dict[str, bool]:
        return {"open": True}

    async with client_for(app_factory(public_routers=[open_router])) as ac:
        assert (await ac.get("/api/v1/open")).json() == {"open": True}
