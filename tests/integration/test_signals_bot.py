"""Real execution bots (``tradecast trade``) on the sim market, trading on signals from a real Redis.

Each test uses its own stream names (DB 9 of the Redis on 127.0.0.1:6379, keys deleted afterwards); the
Redis restart test runs a redis-server of its own on a free port. The database is read read-only beside
the running bot, the way ``tradecast show-trades`` does.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.integration.helpers import BotProcess, RedisServer, free_port, redis_up, write_bot_config
from tradecast.persistence import Database, TradeRepository
from tradecast.signals import SignalSender
from tradecast.signals.execution import EXIT_REASON
from tradecast.signals.testhooks import CRASH_ENV

pytestmark = [pytest.mark.integration, pytest.mark.redis]

REDIS_URL = "redis://127.0.0.1:6379/9"
STARTED = "started: strategy ExecutionOnlyStrategy"


@pytest.fixture
def signals_section() -> Iterator[dict[str, Any]]:
    """An external_signals config section with streams unique to the test (deleted afterwards)."""
    if not redis_up(REDIS_URL):
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"test-bot-{uuid.uuid4().hex[:10]}"
    yield section(REDIS_URL, prefix)
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def section(url: str, prefix: str, **changes: Any) -> dict[str, Any]:
    values = {
        "enabled": True,
        "redis_url": url,
        "stream": f"{prefix}:signals",
        "group": "tradecast",
        "consumer": "bot-1",
        "dead_letter_stream": f"{prefix}:signals:dead",
        "signal_ttl_s": 30,
        "min_confidence": 0.0,
    }
    values.update(changes)
    return values


class ExecutionBot:
    """An execution-only bot process with its config, database and a sender on its streams."""

    def __init__(self, directory: Path, signals: dict[str, Any], **extra: Any) -> None:
        self.directory = directory
        config = {"external_signals": signals, "max_open_trades": 5, "stake_amount": 50, **extra}
        self.config = write_bot_config(directory, strategy="ExecutionOnlyStrategy", speed=600, extra=config)
        self.db_file = directory / "bot.sqlite"
        self.sender = SignalSender(
            redis_url=signals["redis_url"],
            stream=signals["stream"],
            dead_letter_stream=signals["dead_letter_stream"],
            group=signals["group"],
        )
        self.proc: BotProcess | None = None
        self.runs = 0

    def start(self, env: dict[str, str] | None = None) -> BotProcess:
        self.runs += 1
        saved = {key: os.environ.get(key) for key in (env or {})}
        os.environ.update(env or {})
        try:
            self.proc = BotProcess(self.config, self.directory / f"run{self.runs}.log")
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        self.proc.wait_for(STARTED, timeout=30)
        return self.proc

    def stop(self) -> int | None:
        code = self.proc.stop(signal.SIGINT) if self.proc is not None else None
        self.proc = None
        return code

    def outcomes(self, ids: list[str], by: str = "signal_id", timeout_s: float = 10.0) -> dict[str, dict[str, str]]:
        found = self.sender.wait_for_outcomes(ids, timeout_s=timeout_s, by=by)
        missing = set(ids) - found.keys()
        assert not missing, f"no outcome for {missing}:\n{self.proc.output()[-3000:] if self.proc else ''}"
        return found

    def repo_call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        database = Database(f"sqlite:///{self.db_file}", read_only=True)
        try:
            return getattr(TradeRepository(database), method)(*args, **kwargs)
        finally:
            database.close()

    def cli(self, *args: str) -> tuple[int, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "tradecast", "signal", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        try:
            return done.returncode, json.loads(done.stdout)
        except ValueError:
            return done.returncode, done.stdout + done.stderr


@pytest.fixture
def bot(tmp_path: Path, signals_section) -> Iterator[ExecutionBot]:
    built = ExecutionBot(tmp_path, signals_section)
    yield built
    built.stop()
    built.sender.close()


def _count(rows: list[dict[str, str]], **match: str) -> int:
    return sum(all(row.get(k) == v for k, v in match.items()) for row in rows)


def _all_outcomes(sender: SignalSender) -> list[dict[str, str]]:
    return sender.recent_outcomes(10_000)


# ------------------------------------------------------------------------------------------ trading


def test_buy_then_sell_opens_and_closes_a_trade_with_both_signal_ids_recorded(bot) -> None:
    bot.start()
    buy = bot.sender.send("BTC/USDT", "buy", signal_type="anomaly", confidence=0.9)
    assert bot.outcomes([buy])[buy]["status"] == "executed"
    (trade,) = bot.repo_call("trades")
    assert trade.is_open and trade.pair == "BTC/USDT" and trade.enter_tag == "signal_anomaly"
    sell = bot.sender.send("BTC/USDT", "sell")
    outcome = bot.outcomes([sell])[sell]
    assert (outcome["status"], outcome["trade_id"]) == ("executed", str(trade.id))
    assert bot.stop() == 0

    (trade,) = bot.repo_call("trades")
    assert not trade.is_open and trade.exit_reason == EXIT_REASON
    assert [(o.side, o.order_type, o.status) for o in trade.orders] == [
        ("buy", "market", "closed"),
        ("sell", "market", "closed"),
    ]
    records = {r.signal_id: r for r in bot.repo_call("signals")}
    assert {k: (r.action, r.outcome, r.trade_id) for k, r in records.items()} == {
        buy: ("buy", "executed", trade.id),
        sell: ("sell", "executed", trade.id),
    }


def test_crash_between_commit_and_ack_executes_the_signal_exactly_once(bot) -> None:
    """Decision: the redelivered entry is answered ``duplicate`` (one outcome, one dead letter "duplicate"
    naming the trade); the database holds one trade and one ``executed`` record; nothing stays pending."""
    crash_id = f"crash-{uuid.uuid4().hex[:8]}"
    proc = bot.start(env={CRASH_ENV: crash_id})
    bot.sender.send("BTC/USDT", "buy", id=crash_id)
    proc.proc.wait(timeout=15)
    assert proc.proc.returncode == 137, proc.output()[-2000:]
    bot.stop()
    (trade,) = bot.repo_call("trades")  # committed before the crash ...
    assert trade.is_open and bot.repo_call("get_signal", crash_id).outcome == "executed"
    status = bot.sender.status()
    assert status["delivered_unacknowledged"] == 1  # ... but never acknowledged
    assert _count(_all_outcomes(bot.sender), signal_id=crash_id) == 0

    out = bot.start().wait_for("resumed 1 open trade(s)")
    assert "resumed 1 open trade(s)" in out
    outcome = bot.outcomes([crash_id])[crash_id]
    assert (outcome["status"], outcome["trade_id"]) == ("duplicate", str(trade.id))
    sell = bot.sender.send("BTC/USDT", "sell")  # the bot goes on normally
    assert bot.outcomes([sell])[sell]["status"] == "executed"
    assert bot.stop() == 0

    trades = bot.repo_call("trades")
    assert len(trades) == 1 and not trades[0].is_open
    assert bot.repo_call("count_signals_by_outcome") == {"executed": 2}
    outcomes = _all_outcomes(bot.sender)
    assert _count(outcomes, signal_id=crash_id) == 1
    dead = bot.sender.recent_rejections(100)
    assert [(d["signal_id"], d["reason"]) for d in dead] == [(crash_id, "duplicate")]
    assert bot.sender.status()["pending_signals"] == 0


def test_duplicate_ids_trade_once(bot) -> None:
    bot.start()
    first = bot.sender.send("ETH/USDT", "buy", id="dup-1")
    first_entry = bot.sender.last_entry_id
    bot.sender.send("ETH/USDT", "buy", id="dup-1")
    second_entry = bot.sender.last_entry_id
    bot.sender.send("SOL/USDT", "buy", id="dup-1")  # same id, other pair: still the same signal
    third_entry = bot.sender.last_entry_id
    found = bot.outcomes([first_entry, second_entry, third_entry], by="entry_id")
    assert [found[e]["status"] for e in (first_entry, second_entry, third_entry)] == [
        "executed",
        "duplicate",
        "duplicate",
    ]
    assert first == "dup-1"
    assert len(bot.repo_call("trades")) == 1
    assert bot.repo_call("count_signals_by_outcome") == {"executed": 1}


def test_expired_signals_are_rejected_not_executed(bot) -> None:
    bot.start()
    stale = bot.sender.send("BTC/USDT", "buy", timestamp=datetime.now(UTC) - timedelta(seconds=31))
    # its own ttl (1 s) is shorter than its age (2 s), though the bot's default (30 s) would accept it; a
    # "ttl_s=0.001, sent now" signal was racy: the bot can read it within a millisecond of XADD
    short = bot.sender.send("ETH/USDT", "buy", ttl_s=1, timestamp=datetime.now(UTC) - timedelta(seconds=2))
    fresh = bot.sender.send("SOL/USDT", "buy")
    found = bot.outcomes([stale, short, fresh])
    assert [(found[i]["status"], found[i]["reason"]) for i in (stale, short)] == [("rejected", "expired")] * 2
    assert found[fresh]["status"] == "executed"
    assert [t.pair for t in bot.repo_call("trades")] == ["SOL/USDT"]
    dead = {d["signal_id"]: d for d in bot.sender.recent_rejections(10)}
    assert set(dead) == {stale, short} and "time to live is 30 s" in dead[stale]["detail"]


def test_hold_is_recorded_and_trades_nothing(bot) -> None:
    bot.start()
    hold = bot.sender.send("BTC/USDT", "hold")
    outcome = bot.outcomes([hold])[hold]
    assert (outcome["status"], outcome["reason"], outcome["detail"]) == ("ignored", "ignored", "hold")
    assert bot.repo_call("trades") == []
    record = bot.repo_call("get_signal", hold)
    assert (record.action, record.outcome, record.reason) == ("hold", "ignored", "hold")
    assert bot.sender.recent_rejections(10) == []  # a hold is not a rejection


def test_custom_stoploss_set_through_redis_closes_the_trade(bot) -> None:
    code, answer = bot.cli("stoploss", "set", "--pair", "BTC/USDT", "--ratio", "-0.0005")
    assert code == 0 and answer == {"pair": "BTC/USDT", "stoploss": -0.0005}
    bot.start()
    ids = [bot.sender.send("BTC/USDT", "buy"), bot.sender.send("ETH/USDT", "buy")]
    bot.outcomes(ids)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        btc = next(t for t in bot.repo_call("trades") if t.pair == "BTC/USDT")
        if not btc.is_open:
            break
        time.sleep(0.2)
    assert not btc.is_open, bot.proc.output()[-2000:]
    # the 0.05 % stop trails the price; the strategy's -10 % safety net is far away at 600x speed
    assert btc.exit_reason in ("stop_loss", "trailing_stop_loss")
    assert btc.close_rate > btc.open_rate * 0.99
    eth = next(t for t in bot.repo_call("trades") if t.pair == "ETH/USDT")
    assert eth.is_open and eth.stop_loss == pytest.approx(eth.open_rate * 0.9, rel=1e-9)


# ------------------------------------------------------------------------------------------ status and demo


def test_status_command_numbers_match_what_happened(bot) -> None:
    assert bot.cli("stoploss", "set", "--pair", "ETH/USDT", "--ratio", "-0.03")[0] == 0
    bot.start()
    executed = bot.sender.send("BTC/USDT", "buy", id="st-buy")
    bot.sender.send("BTC/USDT", "buy", id="st-buy")  # duplicate
    duplicate_entry = bot.sender.last_entry_id
    expired = bot.sender.send("BTC/USDT", "sell", timestamp=datetime.now(UTC) - timedelta(minutes=5))
    no_trade = bot.sender.send("ETH/USDT", "sell")
    unknown = bot.sender.send("DOGE/USDT", "buy")
    hold = bot.sender.send("ETH/USDT", "hold")
    bot.outcomes([executed, expired, no_trade, unknown, hold])
    bot.outcomes([duplicate_entry], by="entry_id")
    assert bot.stop() == 0
    # while the bot is down, signals wait in the stream
    waiting = [bot.sender.send("ETH/USDT", "buy"), bot.sender.send("SOL/USDT", "buy")]

    code, status = bot.cli("status", "--rejections", "10", "--outcomes", "20")
    assert code == 0, status
    assert (status["pending_signals"], status["undelivered"], status["signal_pairs"]) == (
        2,
        2,
        ["ETH/USDT", "SOL/USDT"],
    )
    assert (status["active_stoplosses"], status["stoplosses"]) == (1, {"ETH/USDT": -0.03})
    assert status["rejections_total"] == 4
    reasons = {r["signal_id"]: r["reason"] for r in status["recent_rejections"] if r["signal_id"] != "st-buy"}
    assert reasons == {expired: "expired", no_trade: "trade_rejected", unknown: "pair_not_tradable"}
    statuses = sorted(o["status"] for o in status["recent_outcomes"])
    assert statuses == ["duplicate", "executed", "ignored", "rejected", "rejected", "rejected"]

    bot.start()
    bot.outcomes(waiting)
    code, status = bot.cli("status")
    assert code == 0 and status["pending_signals"] == 0 and status["rejections_total"] == 4
    counts = bot.repo_call("count_signals_by_outcome")
    # the database holds what reached the engine; screening rejections live in the dead-letter stream
    assert counts == {"executed": 3, "rejected": 1, "ignored": 1}


def test_signal_demo_against_a_running_bot(tmp_path: Path, signals_section) -> None:
    bot = ExecutionBot(tmp_path, {**signals_section, "min_confidence": 0.5})
    try:
        bot.start()
        code, report = bot.cli("demo", "--timeout", "15")
        assert code == 0, report
        assert report["ok"] is True and report["pair"] == "BTC/USDT"
        got = [step["got"] for step in report["steps"]]
        assert got == [
            "executed",
            "duplicate",
            "rejected:expired",
            "rejected:pair_not_tradable",
            "rejected:low_confidence",
            "ignored",
            "executed",
            "rejected:invalid",
        ]
        trades = bot.repo_call("trades")
        assert len(trades) == 1 and not trades[0].is_open
        assert report["steps"][0]["trade_id"] == report["steps"][6]["trade_id"] == trades[0].id
    finally:
        bot.stop()
        bot.sender.close()


# ------------------------------------------------------------------------------------------ Redis restart


def health(port: int) -> dict[str, Any]:
    """The external_signals part of the bot's /api/v1/health."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/health")
    request.add_header("Authorization", "Basic " + base64.b64encode(b"ops:a-long-test-password").decode())
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["external_signals"]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_redis_restart_mid_stream_degrades_then_processes_the_backlog(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    api_port = free_port()
    api = {
        "enabled": True,
        "listen_ip_address": "127.0.0.1",
        "listen_port": api_port,
        "username": "ops",
        "password": "a-long-test-password",
        "jwt_secret_key": "a-long-random-test-secret-0123456789",
    }
    bot = ExecutionBot(
        tmp_path,
        section(server.url, "restart"),
        internals={"process_throttle_secs": 0.2, "heartbeat_interval": 0.5},
        api_server=api,
    )
    try:
        proc = bot.start()
        first = bot.sender.send("BTC/USDT", "buy")
        assert bot.outcomes([first])[first]["status"] == "executed"

        assert health(api_port)["degraded"] is False

        server.kill()
        proc.wait_for("Redis unreachable", timeout=10)
        during_outage = health(api_port)  # the API stays up and says why signals are not read
        assert during_outage["degraded"] is True and during_outage["connected"] is False
        assert during_outage["degraded_reason"].startswith(f"Redis unreachable at {server.url}")
        marker = len(proc.output())
        time.sleep(2.0)  # the bot keeps running: its loop (heartbeats) goes on, it retries with backoff
        during = proc.output()[marker:]
        assert proc.proc.poll() is None and "heartbeat: running, 1 open trade(s)" in during
        errors = [line for line in proc.output().splitlines() if " ERROR " in line]
        assert len(errors) == 1 and "Redis unreachable" in errors[0]  # the transition, once
        assert "retrying in" in during  # each reconnect attempt says when the next one comes

        server.start()
        stale = bot.sender.send("ETH/USDT", "buy", timestamp=datetime.now(UTC) - timedelta(seconds=40))
        backlog = [bot.sender.send("BTC/USDT", "sell"), bot.sender.send("ETH/USDT", "buy")]
        proc.wait_for("Redis is back", timeout=20)
        found = bot.outcomes([stale, *backlog], timeout_s=15)
        recovered = health(api_port)
        assert (recovered["degraded"], recovered["degraded_reason"], recovered["executed"]) == (False, None, 3)
        assert recovered["disconnects"] >= 1 and recovered["rejected"] == {"expired": 1}
        assert (found[stale]["status"], found[stale]["reason"]) == ("rejected", "expired")
        assert [found[i]["status"] for i in backlog] == ["executed", "executed"]
        assert bot.stop() == 0
        trades = bot.repo_call("trades")
        assert [(t.pair, t.is_open) for t in trades] == [("BTC/USDT", False), ("ETH/USDT", True)]
        assert bot.repo_call("count_signals_by_outcome") == {"executed": 3}  # nothing twice
        assert _count(_all_outcomes(bot.sender), status="executed") == 3
        assert bot.sender.status()["pending_signals"] == 0
    finally:
        bot.stop()
        bot.sender.close()
        server.kill()
