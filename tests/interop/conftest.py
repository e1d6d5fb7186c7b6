"""Interop with real freqtrade 2026.9: its processes run under ``.venv-freqtrade/bin/python``.

``scripts/freqtrade-venv.sh`` (run by ``make test``) creates that venv; without it every test here is skipped
with the reason. The freqtrade side runs the scripts in ``ft_scripts/`` as subprocesses that speak JSON
lines on stdin/stdout (:class:`FtProcess`); our side runs in-process on the test's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FT_VENV = ROOT / os.environ.get("FREQTRADE_VENV", ".venv-freqtrade")  # as scripts/freqtrade-venv.sh
FT_PYTHON = FT_VENV / "bin" / "python"
FT_VERSION = "2026.9"
SCRIPTS = Path(__file__).resolve().parent / "ft_scripts"
#: how long one command to a freqtrade process may take
COMMAND_TIMEOUT_S = 15.0


def freqtrade_missing() -> str | None:
    """Why the interop tests cannot run, or None."""
    if not FT_PYTHON.exists():
        return (f"{FT_PYTHON.relative_to(ROOT) if FT_PYTHON.is_relative_to(ROOT) else FT_PYTHON} is missing: "
                "run `bash scripts/freqtrade-venv.sh` (make test does; it needs PyPI once)")
    if not (FT_VENV / f".freqtrade-{FT_VERSION}").exists():
        return f"{FT_VENV} does not hold freqtrade=={FT_VERSION}: rerun `bash scripts/freqtrade-venv.sh`"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = freqtrade_missing()
    if reason is None:
        return
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.skip(reason=reason))


class FtProcess:
    """A script of ``ft_scripts/`` under the freqtrade venv; JSON lines out, commands (lines) in."""

    def __init__(self, proc: asyncio.subprocess.Process, stderr_path: Path) -> None:
        self.proc = proc
        self.stderr_path = stderr_path

    @classmethod
    async def start(cls, script: str, *args: str, stderr_path: Path) -> FtProcess:
        stderr = open(stderr_path, "wb")  # noqa: SIM115 - kept by the child; closed below
        try:
            proc = await asyncio.create_subprocess_exec(
                str(FT_PYTHON), str(SCRIPTS / script), *args, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=stderr, limit=64 << 20,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": ""}, cwd=str(stderr_path.parent))
        finally:
            stderr.close()
        return cls(proc, stderr_path)

    def stderr_tail(self, limit: int = 4000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    async def read_json(self, timeout: float = COMMAND_TIMEOUT_S) -> dict[str, Any]:
        assert self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        except TimeoutError:
            raise AssertionError(f"freqtrade process silent for {timeout}s; stderr:\n{self.stderr_tail()}") from None
        if not line:
            code = await asyncio.wait_for(self.proc.wait(), 5)
            raise AssertionError(f"freqtrade process exited ({code}); stderr:\n{self.stderr_tail()}")
        return json.loads(line)

    async def command(self, command: str | dict[str, Any], timeout: float = COMMAND_TIMEOUT_S) -> dict[str, Any]:
        assert self.proc.stdin is not None
        text = command if isinstance(command, str) else json.dumps(command)
        self.proc.stdin.write(text.encode() + b"\n")
        await self.proc.stdin.drain()
        return await self.read_json(timeout)

    async def poll(self, command: str | dict[str, Any], until: Callable[[dict[str, Any]], bool], what: str,
                   timeout: float = 15.0, interval: float = 0.2) -> dict[str, Any]:
        """Repeat ``command`` until ``until(reply)``; fails after ``timeout`` seconds with the last reply."""
        deadline = asyncio.get_running_loop().time() + timeout
        reply: dict[str, Any] = {}
        while asyncio.get_running_loop().time() < deadline:
            reply = await self.command(command)
            if until(reply):
                return reply
            await asyncio.sleep(interval)
        short = json.dumps(reply)[:3000]
        raise AssertionError(f"{what}: not reached within {timeout}s; last reply {short}\nstderr:\n"
                             f"{self.stderr_tail()}")

    async def close(self) -> int:
        """Close its stdin (it then quits); kill it when it does not within 5 s. Returns the exit code."""
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                assert self.proc.stdin is not None
                self.proc.stdin.close()  # end of input: every ft_scripts/ script then shuts down
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode if self.proc.returncode is not None else -1


FtStarter = Callable[..., Awaitable[FtProcess]]


@pytest.fixture
async def ft_process(tmp_path: Path) -> AsyncIterator[FtStarter]:
    """Start ``ft_scripts/<script>`` under the freqtrade venv; every process is stopped at teardown."""
    reason = freqtrade_missing()
    if reason is not None:
        pytest.skip(reason)
    started: list[FtProcess] = []

    async def start(script: str, *args: str) -> FtProcess:
        proc = await FtProcess.start(script, *args, stderr_path=tmp_path / f"{Path(script).stem}-{len(started)}.err")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        await proc.close()


# ------------------------------------------------------------------------------------ our producer, in-process

JWT_KEY = "interop-jwt-key-" + "k" * 32
WS_TOKEN = "interop-ws-token-0123456789"
USERNAME, PASSWORD = "frequi", "interop-password-123"


class TradecastProducer:
    """A tradecast Bot (ProducerStrategy, sim market on a FakeClock) with its API server and message ws.

    Nothing runs by itself: the test calls ``bot.run_once()`` (one analysis pass and its broadcasts) and
    moves ``clock``.
    """

    def __init__(self, bot: Any, server: Any, clock: Any, hub: Any) -> None:
        self.bot, self.server, self.clock, self.hub = bot, server, clock, hub

    @property
    def port(self) -> int:
        return int(self.server.port)

    def ws_url(self, token: str) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/message/ws?token={token}"

    @classmethod
    async def start(cls, tmp_path: Path, pairs: list[str], start: Any) -> TradecastProducer:
        from tradecast.api import ApiServer, create_app
        from tradecast.api.message_ws import attach_producer
        from tradecast.bot import Bot
        from tradecast.config import Config
        from tradecast.core.clock import FakeClock
        from tradecast.fleet.hub import ProducerHub
        from tradecast.market.sim import SimMarket

        config = Config.model_validate({
            "strategy": "ProducerStrategy", "stake_currency": "USDT", "stake_amount": 100, "max_open_trades": 3,
            "db_url": f"sqlite:///{tmp_path / 'producer.sqlite'}",
            "exchange": {"name": "sim", "pair_whitelist": pairs},
            "api_server": {"enabled": True, "listen_port": 8080, "enable_message_ws": True,
                           "ws_token": WS_TOKEN, "jwt_secret_key": JWT_KEY, "username": USERNAME,
                           "password": PASSWORD},
        })
        clock = FakeClock(start)
        bot = Bot(config, market=SimMarket(seed=3, clock=clock))
        hub = ProducerHub()
        app = create_app(config.api_server, public_routers=attach_producer(bot, hub=hub), jwt_key=JWT_KEY)
        server = ApiServer(app, "127.0.0.1", 0)
        await bot.start()
        await server.start()
        return cls(bot, server, clock, hub)

    async def stop(self) -> None:
        await self.server.stop(timeout_s=3)
        await self.bot.stop()


async def run_ft_script(script: str, *args: str, timeout: float = COMMAND_TIMEOUT_S) -> dict[str, Any]:
    """Run a one-shot ``ft_scripts/`` script under the freqtrade venv; its last stdout line as JSON."""
    reason = freqtrade_missing()
    if reason is not None:
        pytest.skip(reason)
    proc = await asyncio.create_subprocess_exec(
        str(FT_PYTHON), str(SCRIPTS / script), *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": ""})
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"{script} did not finish within {timeout}s") from None
    lines = out.decode().strip().splitlines()
    assert proc.returncode == 0 and lines, f"{script} failed ({proc.returncode}):\n{err.decode()[-3000:]}"
    return json.loads(lines[-1])
