"""Schemathesis against the app's own OpenAPI document, served in-process for a real bot on the sim market.

The bot and the app share the test's event loop (the bot's engine is not thread-safe), so Hypothesis draws
cases in a worker thread and each request is sent back to the loop through ``httpx.ASGITransport``.
Every documented operation gets positive and negative examples (a few each, and extra ones with the ids
of a real trade and lock); the checks are "no 5xx other than freqtrade's 502/503 error answers" and,
for 2xx answers, conformance to the documented response schema.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.unit.api.conftest import BASIC, SIM_START, ManualClock, rest_config_dict

pytestmark = pytest.mark.integration

EXCLUDED = {"/api/v1/message/ws"}
#: operations that change the bot's state for every later one run last
LAST = ("/api/v1/reload_config", "/api/v1/stop", "/api/v1/start")
#: a deterministic few per operation in the suite; ``TRADECAST_FUZZ_EXAMPLES=200`` explores with random seeds
MAX_EXAMPLES = int(os.environ.get("TRADECAST_FUZZ_EXAMPLES", "10"))
#: freqtrade's error answers: 502 {"error"} for a refused bot command, 503 for webserver-only features
EXPECTED_5XX = {502, 503}
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize="TRADECAST_FUZZ_EXAMPLES" not in os.environ,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


class Fuzzer:
    """Sends schemathesis cases to the app on the bot's loop and collects failures."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> None:
        self.loop = loop
        self.client = client
        self.failures: list[str] = []
        self.requests = 0
        self.statuses: dict[int, int] = {}
        self.skipped_negative = 0

    def send(self, case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=BASIC)
        body: dict[str, Any] = {}
        if "json" in kwargs:
            body["json"] = kwargs["json"]
        elif kwargs.get("data") is not None:
            body["content"] = kwargs["data"]
        request = self.client.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                                      headers=kwargs.get("headers"), **body)
        response = asyncio.run_coroutine_threadsafe(request, self.loop).result(timeout=30)
        self.requests += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        label = f"{kwargs['method']} {kwargs['url']} {kwargs.get('params')!r} {body!r}"
        if response.status_code >= 500 and response.status_code not in EXPECTED_5XX:
            self.failures.append(f"{label} -> {response.status_code} {response.text[:300]}")
            return
        if response.status_code in EXPECTED_5XX:
            payload = response.json()
            if not (isinstance(payload, dict) and (payload.get("error") or payload.get("detail"))):
                self.failures.append(f"{label} -> {response.status_code} without an error message: {payload!r}")
            return
        if response.is_success:  # 4xx bodies are freqtrade's {"detail": str}, not FastAPI's validation list
            try:
                case.validate_response(response, checks=[response_schema_conformance])
            except FailureGroup as exc:
                self.failures.append(f"{label} -> {response.status_code}: {str(exc)[:500]}")

    def run(self, operation: Any, mode: Any, **fixed: Any) -> None:
        @FUZZ_SETTINGS
        @given(case=operation.as_strategy(generation_mode=mode, **fixed))
        def examples(case: Any) -> None:
            self.send(case)

        try:
            examples()
        except Unsatisfiable:
            if mode is GenerationMode.POSITIVE:
                raise
            self.skipped_negative += 1  # nothing to make invalid (no parameters and no body)


def ordered_operations(schema: Any) -> list[Any]:
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path not in EXCLUDED]
    return sorted(operations, key=lambda op: (op.path in LAST, LAST.index(op.path) if op.path in LAST else 0))


@pytest.fixture
async def fuzz_target(tmp_path: Path) -> AsyncIterator[tuple[Any, httpx.AsyncClient, dict[str, int]]]:
    from tradecast.api import FailedLoginLimiter
    from tradecast.api.attach import build_app
    from tradecast.bot import Bot
    from tradecast.config import load_config
    from tradecast.core.clock import FakeClock
    from tradecast.market.sim import SimMarket

    config_dict = rest_config_dict(tmp_path)
    config_dict["api_server"]["enable_openapi"] = True
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config_dict))
    bot = Bot(load_config([config_path], env={}), market=SimMarket(seed=1, clock=FakeClock(SIM_START)))
    await bot.start()
    app = build_app(bot, limiter=FailedLoginLimiter(clock=ManualClock()))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=BASIC) as client:
            opened = (await client.post("/api/v1/forceenter", json={"pair": "ETH/USDT"})).json()["trade_id"]
            closed = (await client.post("/api/v1/forceenter", json={"pair": "SOL/USDT"})).json()["trade_id"]
            await client.post("/api/v1/forceexit", json={"tradeid": closed})
            locks = await client.post("/api/v1/locks", json=[{"pair": "BTC/USDT", "until": "2030-01-01T00:00:00Z"}])
            ids = {"open": opened, "closed": closed, "lock": locks.json()["locks"][0]["id"]}
            yield app, client, ids
    finally:
        await bot.stop()


async def test_openapi_fuzz_finds_no_server_error(fuzz_target: tuple[Any, httpx.AsyncClient, dict[str, int]]) -> None:
    app, client, ids = fuzz_target
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = ordered_operations(schema)
    assert len(operations) >= 40, [op.label for op in operations]
    fuzzer = Fuzzer(asyncio.get_running_loop(), client)

    def run_all() -> None:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzzer.run(operation, mode)
            names = {p.name for p in operation.path_parameters}
            if "tradeid" in names:
                for trade_id in (ids["open"], ids["closed"]):
                    fuzzer.run(operation, GenerationMode.POSITIVE, path_parameters={"tradeid": trade_id})
            if "lockid" in names:
                fuzzer.run(operation, GenerationMode.POSITIVE, path_parameters={"lockid": ids["lock"]})

    started = time.monotonic()
    await asyncio.to_thread(run_all)
    elapsed = time.monotonic() - started
    print(f"fuzzed {len(operations)} operations with {fuzzer.requests} requests in {elapsed:.1f}s: "
          f"{dict(sorted(fuzzer.statuses.items()))}")
    assert not fuzzer.failures, "\n".join(fuzzer.failures)
    assert fuzzer.requests >= len(operations) * 2
    assert 200 in fuzzer.statuses and 422 in fuzzer.statuses  # both valid and invalid requests were sent
