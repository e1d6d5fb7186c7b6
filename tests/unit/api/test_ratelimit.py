"""Failed-login limiter: the pure window and its effect on login and Basic auth."""

from __future__ import annotations

import base64

import httpx

from tradecast.api.ratelimit import FailedLoginLimiter

from .conftest import PASSWORD, USERNAME, ManualClock

TOO_MANY = {"detail": "Too many failed login attempts, try again later."}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_sliding_window() -> None:
    clock = ManualClock()
    limiter = FailedLoginLimiter(max_failures=3, window_s=60, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("a") is None
        limiter.record_failure("a")
        clock.now += 10
    assert limiter.retry_after("a") == 30  # the first failure (t=0) leaves the window at t=60; now t=30
    assert limiter.retry_after("b") is None  # per client
    clock.now += 30
    assert limiter.retry_after("a") is None
    limiter.record_failure("a")
    assert limiter.retry_after("a") == 10  # failures at 10, 20, 60: blocked until 70


def test_client_table_is_bounded() -> None:
    limiter = FailedLoginLimiter(max_failures=1, clock=ManualClock(), max_clients=2)
    for key in ("a", "b", "c"):
        limiter.record_failure(key)
    assert limiter.retry_after("a") is None  # forgotten, the oldest
    assert limiter.retry_after("c") is not None


async def test_ten_failures_then_429_then_recovery(client: httpx.AsyncClient, clock: ManualClock) -> None:
    for _ in range(10):
        response = await client.post("/api/v1/token/login", headers=basic(USERNAME, "nope"))
        assert response.status_code == 401
    blocked = await client.post("/api/v1/token/login", headers=basic(USERNAME, PASSWORD))
    assert blocked.status_code == 429 and blocked.json() == TOO_MANY
    assert blocked.headers["retry-after"] == "60"
    # Basic on any route is blocked too, even with the right password
    assert (await client.get("/api/v1/whoami", headers=basic(USERNAME, PASSWORD))).status_code == 429
    # Bearer tokens are not affected by the Basic limiter
    clock.now += 59
    assert (await client.get("/api/v1/whoami", headers=basic(USERNAME, PASSWORD))).status_code == 429
    clock.now += 1
    assert (await client.post("/api/v1/token/login", headers=basic(USERNAME, PASSWORD))).status_code == 200


async def test_basic_failures_on_routes_count(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        await client.get("/api/v1/whoami", headers=basic("x", "y"))
    for _ in range(5):
        await client.get("/api/v1/whoami", headers={"Authorization": "Basic ***"})  # malformed counts too
    assert (await client.get("/api/v1/whoami", headers=basic("x", "y"))).status_code == 429
