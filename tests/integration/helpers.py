"""Helpers for tests that run real bot processes (real sockets, real SQLite files)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: a strategy that trades often on the sim market, so a few seconds at high speed give many trades
BUSY_STRATEGY = '''
from tradecast.strategy import IStrategy


class BusyStrategy(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    minimal_roi = {"0": 0.003}
    stoploss = -0.004
    startup_candle_count = 2
    process_only_new_candles = True
    order_types = {"entry": "market", "exit": "market", "stoploss": "market", "stoploss_on_exchange": False}

    def populate_indicators(self, dataframe, metadata):
        dataframe["up"] = (dataframe["close"] > dataframe["open"]).astype(int)
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        dataframe.loc[(dataframe["up"] == 1) & (dataframe["up"].shift(1) == 1), ["enter_long", "enter_tag"]] = (
            1, "two_up")
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        dataframe.loc[(dataframe["up"] == 0) & (dataframe["up"].shift(1) == 0), ["exit_long", "exit_tag"]] = (
            1, "two_down")
        return dataframe
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_bot_config(directory: Path, *, name: str = "bot", speed: float = 600.0, pairs: list[str] | None = None,
                     strategy: str = "BusyStrategy", extra: dict[str, Any] | None = None) -> Path:
    """Write a strategy file and a config for a fast sim-market bot into ``directory``."""
    strategies = directory / "strategies"
    strategies.mkdir(parents=True, exist_ok=True)
    (strategies / "busy.py").write_text(BUSY_STRATEGY)
    config: dict[str, Any] = {
        "bot_name": name,
        "strategy": strategy,
        "strategy_path": str(strategies),
        "max_open_trades": 3,
        "stake_currency": "USDT",
        "stake_amount": 100,
        "dry_run": True,
        "dry_run_wallet": 1000,
        "db_url": f"sqlite:///{directory / (name + '.sqlite')}",
        "user_data_dir": str(directory),
        "exchange": {"name": "sim", "pair_whitelist": pairs or ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"],
                     "sim": {"seed": 7, "speed": speed}},
        "internals": {"process_throttle_secs": 0.2, "heartbeat_interval": 0},
    }
    config.update(extra or {})
    path = directory / f"{name}.json"
    path.write_text(json.dumps(config, indent=2))
    return path


class BotProcess:
    """A ``tradecast trade`` subprocess whose output goes to a log file."""

    def __init__(self, config: Path, log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "a")  # noqa: SIM115 - closed in stop()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "tradecast", "trade", "--config", str(config)],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def output(self) -> str:
        return self.log_path.read_text()

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.output()
            if text in out:
                return out
            if self.proc.poll() is not None:
                raise AssertionError(f"bot exited with {self.proc.returncode} before {text!r}:\n{out[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not seen within {timeout}s:\n{self.output()[-3000:]}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def redis_up(url: str) -> bool:
    """Does a Redis server answer at ``url``?"""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.exceptions.ConnectionError:
        return False


class RedisServer:
    """A redis-server of our own (AOF on, so data survives) that a test can kill and start again on one port."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.workdir = free_port(), workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(self.workdir), "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while not redis_up(self.url):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None
