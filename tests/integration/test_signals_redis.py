"""External signals against a real Redis: consumer group, acks, redelivery, dead letters, outage, sender, CLI.

Uses DB 9 of the Redis on 127.0.0.1:6379 with a key prefix unique to each test (deleted afterwards); the
outage test starts its own redis-server on a free port.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import redis

from tests.integration.helpers import RedisServer, free_port, redis_up
from tradecast.core.errors import TransientError
from tradecast.signals import Signal, SignalIngester, SignalOutcome, SignalSender
from tradecast.signals.cli import main as cli_main

pytestmark = [pytest.mark.integration, pytest.mark.redis]

REDIS_URL = "redis://127.0.0.1:6379/9"
PAIRS = {"BTC/USDT", "ETH/USDT"}


@pytest.fixture
def settings() -> Iterator[SimpleNamespace]:
    if not redis_up(REDIS_URL):
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"test-signals-{uuid.uuid4().hex[:10]}"
    yield make_settings(REDIS_URL, prefix)
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def make_settings(url: str, prefix: str, **changes: object) -> SimpleNamespace:
    values = {
        "enabled": True,
        "redis_url": url,
        "stream": f"{prefix}:signals",
        "group": "tradecast",
        "consumer": "bot-1",
        "dead_letter_stream": f"{prefix}:signals:dead",
        "signal_ttl_s": 60,
        "min_confidence": 0.0,
        "allowed_signal_types": ["random", "test", "anomaly"],
        "max_signals_per_minute": 600,
        "max_entry_bytes": 65536,
    }
    values.update(changes)
    return SimpleNamespace(**values)


class FakeBot:
    """The ``execute`` callback: records ids like the bot's database does, can be told to fail."""

    def __init__(self) -> None:
        self.recorded: dict[str, str] = {}
        self.calls: list[str] = []
        self.fail_with: dict[str, Exception] = {}  # pair -> exception to raise

    async def execute(self, signal: Signal) -> SignalOutcome:
        assert signal.id
        self.calls.append(signal.id)
        if signal.pair in self.fail_with:
            raise self.fail_with[signal.pair]
        if signal.id in self.recorded:
            return SignalOutcome.duplicate()
        if signal.action == "hold":
            self.recorded[signal.id] = "ignored"
            return SignalOutcome.ignored()
        self.recorded[signal.id] = "executed"
        return SignalOutcome.executed(trade_id=len(self.recorded))

    @property
    def executed(self) -> list[str]:
        return [i for i, outcome in self.recorded.items() if outcome == "executed"]


def ingester_for(settings: SimpleNamespace, bot: FakeBot, **kwargs: object) -> SignalIngester:
    return SignalIngester(settings, bot.execute, tradable_pairs=lambda: PAIRS, block_ms=0, **kwargs)


async def drain(ingester: SignalIngester, rounds: int = 20) -> int:
    handled = 0
    for _ in range(rounds):
        count = await ingester.run_once(block_ms=0)
        handled += count
        if count == 0 and ingester._pending_cursor is None:
            break
    return handled


def client(settings: SimpleNamespace) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url)


def dead_letters(settings: SimpleNamespace) -> list[dict[str, str]]:
    rows = client(settings).xrange(settings.dead_letter_stream)
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in rows]


# ------------------------------------------------------------------------------------------ ingester


async def test_group_is_created_and_a_signal_is_executed_then_acknowledged(settings) -> None:
    bot = FakeBot()
    ingester = ingester_for(settings, bot)
    assert await ingester.run_once(block_ms=0) == 0
    groups = client(settings).xinfo_groups(settings.stream)
    assert [g["name"] for g in groups] == [b"tradecast"]

    sender = SignalSender.from_config(settings)
    signal_id = sender.send("BTC/USDT", "buy", signal_type="anomaly", confidence=0.9)
    assert await drain(ingester) == 1
    assert bot.executed == [signal_id]
    assert client(settings).xpending(settings.stream, settings.group)["pending"] == 0
    outcome = sender.wait_for_outcomes([signal_id], timeout_s=1)[signal_id]
    assert outcome["status"] == "executed" and outcome["trade_id"] == "1" and outcome["pair"] == "BTC/USDT"
    assert ingester.status()["executed"] == 1 and ingester.status()["received"] == 1
    await ingester.stop()


async def test_execute_raising_leaves_the_signal_pending_until_a_restart(settings) -> None:
    bot = FakeBot()
    bot.fail_with["ETH/USDT"] = RuntimeError("engine bug")
    sender = SignalSender.from_config(settings)
    first = ingester_for(settings, bot)
    await first.run_once(block_ms=0)
    failing = sender.send("ETH/USDT", "buy")
    fine = sender.send("BTC/USDT", "buy")
    await drain(first)
    assert bot.calls == [failing, fine] and bot.executed == [fine]
    pending = client(settings).xpending(settings.stream, settings.group)
    assert pending["pending"] == 1
    assert first.status()["failed"] == 1 and "engine bug" in first.status()["last_error"]
    await drain(first)  # the same process does not loop on it
    assert bot.calls == [failing, fine]
    await first.stop()

    bot.fail_with.clear()
    second = ingester_for(settings, bot)  # "restarted bot", same consumer name
    await drain(second)
    assert bot.calls == [failing, fine, failing]
    assert sorted(bot.executed) == sorted([failing, fine])
    assert client(settings).xpending(settings.stream, settings.group)["pending"] == 0
    await second.stop()


async def test_transient_error_is_retried_after_backoff(settings) -> None:
    bot = FakeBot()
    bot.fail_with["BTC/USDT"] = TransientError("database busy")
    ingester = ingester_for(settings, bot)
    await ingester.run_once(block_ms=0)
    signal_id = SignalSender.from_config(settings).send("BTC/USDT", "buy")
    with pytest.raises(TransientError, match="database busy"):
        await ingester.run_once(block_ms=0)
    assert client(settings).xpending(settings.stream, settings.group)["pending"] == 1
    bot.fail_with.clear()
    await drain(ingester)
    assert bot.executed == [signal_id] and bot.calls == [signal_id, signal_id]
    assert ingester.status()["retries"] == 1
    assert client(settings).xpending(settings.stream, settings.group)["pending"] == 0
    await ingester.stop()


async def test_crash_after_commit_before_ack_is_a_duplicate_not_a_second_trade(settings) -> None:
    bot = FakeBot()
    sender = SignalSender.from_config(settings)
    ingester = ingester_for(settings, bot)
    await ingester.run_once(block_ms=0)
    signal_id = sender.send("BTC/USDT", "buy")
    bot.recorded[signal_id] = "executed"  # committed by the "previous process", which died before XACK
    again = sender.send("BTC/USDT", "buy", id=signal_id)  # and a sender that sends the same id twice
    assert again == signal_id
    await drain(ingester)
    assert bot.executed == [signal_id] and bot.calls == [signal_id, signal_id]
    assert ingester.status()["duplicates"] == 2 and ingester.status()["rejected"] == {"duplicate": 2}
    assert [d["reason"] for d in dead_letters(settings)] == ["duplicate", "duplicate"]
    assert client(settings).xpending(settings.stream, settings.group)["pending"] == 0
    await ingester.stop()


async def test_bad_entries_are_dead_lettered_with_reasons(settings) -> None:
    settings.min_confidence = 0.5
    bot = FakeBot()
    sender = SignalSender.from_config(settings)
    ingester = ingester_for(settings, bot)
    await ingester.run_once(block_ms=0)
    now = datetime.now(UTC)
    good = {
        "action": "buy",
        "pair": "BTC/USDT",
        "signal_type": "test",
        "confidence": 0.9,
        "timestamp": now.isoformat(),
    }

    def raw(**changes: object) -> None:
        sender.send_raw({"signal": json.dumps({**good, **changes})})

    sender.send_raw({"signal": "{not json"})
    raw(id="wrong-type", confidence="high")
    raw(id="future", timestamp=(now + timedelta(minutes=5)).isoformat())
    raw(id="no-zone", timestamp=now.replace(tzinfo=None).isoformat())
    raw(id="unknown-field", price=3)
    raw(id="unknown-pair", pair="NOPE/USDT")
    raw(id="expired", timestamp=(now - timedelta(minutes=5)).isoformat())
    raw(id="low-confidence", confidence=0.2)
    sender.send_raw({"signal": "x" * 10_000_000})  # 10 MB
    sender.send_raw({k: v if isinstance(v, str) else json.dumps(v) for k, v in good.items()} | {"id": "seed"})
    hold = sender.send("ETH/USDT", "hold")

    await drain(ingester)
    assert bot.calls == ["seed", hold]
    assert bot.recorded == {"seed": "executed", hold: "ignored"}
    letters = {d["signal_id"]: d for d in dead_letters(settings)}
    entry_ids = [d["entry_id"] for d in letters.values()]
    expected = {  # signal id -> (reason code, pattern of the detail)
        f"stream-{entry_ids[0]}": ("invalid", r"signal: is not valid JSON \("),
        "wrong-type": ("invalid", r"confidence: must be a number, got string$"),
        "future": ("invalid", r"timestamp: is (299|300)\.\d s in the future \(allowed clock skew 5 s\)$"),
        "no-zone": ("invalid", r"timestamp: must carry a time zone"),
        "unknown-field": ("invalid", r"price: unknown field \(allowed: action, "),
        "unknown-pair": ("pair_not_tradable", r"NOPE/USDT is not tradable on this bot$"),
        "expired": ("expired", r"signal is 300\.\d s old, its time to live is 60 s$"),
        "low-confidence": ("low_confidence", r"confidence 0\.2 is below min_confidence 0\.5$"),
        f"stream-{entry_ids[-1]}": ("invalid", r"signal: is 10000000 bytes, the limit is 65536$"),
    }
    assert letters.keys() == expected.keys()
    for signal_id, (code, pattern) in expected.items():
        assert letters[signal_id]["reason"] == code, signal_id
        assert re.match(pattern, letters[signal_id]["detail"]), (signal_id, letters[signal_id]["detail"])
    assert len(letters[f"stream-{entry_ids[-1]}"]["entry"]) < 1100  # the 10 MB entry is not copied
    status = ingester.status()
    assert status["rejected"] == {"invalid": 6, "pair_not_tradable": 1, "expired": 1, "low_confidence": 1}
    assert (status["received"], status["executed"], status["ignored"]) == (11, 1, 1)
    assert client(settings).xpending(settings.stream, settings.group)["pending"] == 0
    await ingester.stop()


async def test_a_flood_beyond_the_rate_limit_is_rejected(settings) -> None:
    settings.max_signals_per_minute = 5
    bot = FakeBot()
    sender = SignalSender.from_config(settings)
    ingester = ingester_for(settings, bot)
    await ingester.run_once(block_ms=0)
    ids = [sender.send("BTC/USDT", "buy") for _ in range(8)]
    await drain(ingester)
    assert bot.executed == ids[:5]
    assert ingester.status()["rejected"] == {"rate_limited": 3}
    assert [d["signal_id"] for d in dead_letters(settings)] == ids[5:]
    assert dead_letters(settings)[0]["detail"] == "more than 5 signals in the last minute"
    await ingester.stop()


async def test_background_task_executes_within_milliseconds_and_reads_stoplosses(settings) -> None:
    bot = FakeBot()
    sender = SignalSender.from_config(settings)
    sender.set_custom_stoploss("BTC/USDT", -0.03)
    ingester = SignalIngester(settings, bot.execute, tradable_pairs=PAIRS)  # default block of 1 s
    ingester.start()
    try:
        for _ in range(100):
            if ingester.connected and ingester._pending_cursor is None:
                break
            await asyncio.sleep(0.01)
        started = time.monotonic()
        signal_id = sender.send("BTC/USDT", "buy")
        while not bot.executed and time.monotonic() - started < 2:
            await asyncio.sleep(0.001)
        assert bot.executed == [signal_id]
        assert time.monotonic() - started < 0.5
        assert ingester.custom_stoploss("BTC/USDT") == -0.03
        assert ingester.custom_stoploss("ETH/USDT") is None
    finally:
        await ingester.stop()
    assert ingester.connected is False


# ------------------------------------------------------------------------------------------ outage


async def wait_until(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
async def test_redis_outage_degrades_recovers_and_processes_what_arrived_meanwhile(tmp_path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    settings = make_settings(server.url, "outage")
    bot = FakeBot()
    sender = SignalSender.from_config(settings)
    ingester = SignalIngester(
        settings,
        bot.execute,
        tradable_pairs=PAIRS,
        block_ms=200,
        reconnect_initial_s=0.3,
        reconnect_max_s=0.6,
    )
    ingester.start()
    try:
        sender.set_custom_stoploss("BTC/USDT", -0.05)
        first = sender.send("BTC/USDT", "buy")
        acked = redis.Redis(port=server.port)
        await wait_until(
            lambda: bot.executed == [first] and acked.xpending(settings.stream, "tradecast")["pending"] == 0
        )
        acked.close()
        await wait_until(lambda: ingester.custom_stoploss("BTC/USDT") == -0.05)

        server.kill()
        await wait_until(lambda: ingester.degraded)
        status = ingester.status()
        assert status["connected"] is False and "Redis unreachable" in status["degraded_reason"]
        assert ingester.custom_stoploss("BTC/USDT") == -0.05  # last known value kept
        with pytest.raises(TransientError, match="Redis unreachable"):
            sender.send("BTC/USDT", "buy")
        await asyncio.sleep(0.5)  # a few failed reconnects

        server.start()
        fresh = sender.send("ETH/USDT", "buy")
        stale = sender.send("BTC/USDT", "sell", timestamp=datetime.now(UTC) - timedelta(seconds=90))
        await wait_until(lambda: not ingester.degraded and fresh in bot.executed)
        # the sender is synchronous: wait in a thread so that the ingester keeps running meanwhile
        outcomes = await asyncio.to_thread(sender.wait_for_outcomes, [first, fresh, stale], 3)
        assert outcomes[stale]["status"] == "rejected" and outcomes[stale]["reason"] == "expired"
        assert bot.executed == [first, fresh]  # nothing lost, nothing twice, the stale one not executed
        assert bot.calls == [first, fresh]
        assert ingester.status()["disconnects"] >= 1 and ingester.status()["degraded_reason"] is None
        assert sender.status()["pending_signals"] == 0
    finally:
        await ingester.stop()
        sender.close()
        server.kill()


# ------------------------------------------------------------------------------------------ sender


async def test_sender_status_numbers_match_and_clear_skips_waiting_signals(settings) -> None:
    sender = SignalSender.from_config(settings)
    empty = sender.status()
    assert empty["pending_signals"] == 0 and empty["group_exists"] is False
    ids = [sender.send("BTC/USDT", "buy"), sender.send("ETH/USDT", "buy"), sender.send("ETH/USDT", "sell")]
    status = sender.status()  # no group yet: everything is waiting
    assert status["pending_signals"] == 3 and status["signal_pairs"] == ["BTC/USDT", "ETH/USDT"]

    bot = FakeBot()
    bot.fail_with["BTC/USDT"] = RuntimeError("boom")
    ingester = ingester_for(settings, bot, batch_size=2)
    await ingester.run_once(block_ms=0)  # BTC fails (stays pending), first ETH executes; the sell waits
    status = sender.status()
    assert (status["pending_signals"], status["delivered_unacknowledged"], status["undelivered"]) == (2, 1, 1)
    assert status["signal_pairs"] == ["BTC/USDT", "ETH/USDT"] and status["consumers"] == 1

    sender.set_custom_stoploss("ETH/USDT", -0.02)
    sender.set_custom_stoploss("BTC/USDT", -0.1)
    assert sender.clear_custom_stoploss("BTC/USDT") is True
    assert sender.clear_custom_stoploss("BTC/USDT") is False
    with pytest.raises(ValueError, match="between -1 and 0"):
        sender.set_custom_stoploss("BTC/USDT", 0.1)
    sender.send_raw({"signal": "nope"})
    await drain(ingester)
    await ingester.refresh()
    assert ingester.custom_stoploss("ETH/USDT") == -0.02 and ingester.pending == 1 and ingester.lag == 0
    status = sender.status()
    assert status["active_stoplosses"] == 1 and status["stoploss_pairs"] == ["ETH/USDT"]
    assert status["pending_signals"] == 1 and status["rejections_total"] == 1
    assert status["recent_rejections"][0]["reason"] == "invalid"
    assert [o["status"] for o in sender.recent_outcomes()] == ["rejected", "executed", "executed"]

    late = sender.send("ETH/USDT", "buy")
    assert sender.clear_signals() == {"acknowledged": 1, "skipped_undelivered": 1}
    assert sender.status()["pending_signals"] == 0
    bot.fail_with.clear()
    await ingester.stop()
    await drain(ingester_for(settings, bot))  # a restart finds nothing: the cleared ones are skipped
    assert late not in bot.calls and bot.calls.count(ids[0]) == 1


def test_sender_helpers_validate_before_sending(settings) -> None:
    from tradecast.signals import SignalInvalid

    sender = SignalSender.from_config(settings)
    anomaly = sender.send_anomaly_signal(
        "BTC/USDT",
        "buy",
        "CRITICAL",
        "statistical_detector",
        0.95,
        affected_metrics="cpu, memory",
        reason="spike",
    )
    test_id = sender.send_test_signal("ETH/USDT", "sell", "manual")
    random_id = sender.send_random_signal("ETH/USDT", "buy")
    rows = client(settings).xrange(settings.stream)
    sent = [json.loads(fields[b"signal"]) for _, fields in rows]
    assert [s["id"] for s in sent] == [anomaly, test_id, random_id]
    assert sent[0]["metadata"] == {
        "anomaly_severity": "CRITICAL",
        "detector": "statistical_detector",
        "affected_metrics": ["cpu", "memory"],
        "reason": "spike",
    }
    assert sent[1]["signal_type"] == "test" and 0.5 <= sent[2]["confidence"] <= 1
    with pytest.raises(SignalInvalid, match="confidence: must be between 0 and 1"):
        sender.send("BTC/USDT", "buy", confidence=2)
    with pytest.raises(SignalInvalid, match=r"signal: is \d+ bytes, the limit is 65536"):
        sender.send("BTC/USDT", "buy", metadata={"blob": "x" * 70_000})
    assert client(settings).xlen(settings.stream) == 3


# ------------------------------------------------------------------------------------------ CLI


def run_cli(settings, capsys, *args: str) -> tuple[int, dict | None, str]:
    config = SimpleNamespace(external_signals=settings, exchange=SimpleNamespace(pair_whitelist=["BTC/USDT"]))
    code = cli_main(["signal", *args], load_config=lambda paths: config)
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_cli_send_status_stoploss_clear(settings, capsys) -> None:
    code, out, _ = run_cli(
        settings,
        capsys,
        "send",
        "--config",
        "c.json",
        "--pair",
        "BTC/USDT",
        "--action",
        "buy",
        "--type",
        "anomaly",
        "--confidence",
        "0.95",
        "--meta",
        "detector=statistical_detector",
        "--meta",
        "score=3.5",
        "--id",
        "cli-1",
    )
    assert code == 0 and out == {"sent": "cli-1", "stream": settings.stream}
    sent = json.loads(client(settings).xrange(settings.stream)[0][1][b"signal"])
    assert sent["metadata"] == {"detector": "statistical_detector", "score": 3.5}
    assert (
        run_cli(
            settings, capsys, "stoploss", "set", "-c", "c.json", "--pair", "BTC/USDT", "--ratio", "-0.04"
        )[0]
        == 0
    )
    code, out, _ = run_cli(settings, capsys, "status", "-c", "c.json")
    assert code == 0 and out["pending_signals"] == 1 and out["stoplosses"] == {"BTC/USDT": -0.04}
    code, out, _ = run_cli(settings, capsys, "stoploss", "clear", "-c", "c.json", "--pair", "BTC/USDT")
    assert out == {"pair": "BTC/USDT", "cleared": True}
    code, out, _ = run_cli(settings, capsys, "clear", "-c", "c.json")
    assert code == 0 and out == {"acknowledged": 0, "skipped_undelivered": 1}  # created the group at the end
    code, out, _ = run_cli(settings, capsys, "status", "-c", "c.json")
    assert out["pending_signals"] == 0 and out["group_exists"] is True


def test_cli_bad_input_is_one_line_and_exit_code_2(settings, capsys) -> None:
    code, out, err = run_cli(
        settings,
        capsys,
        "send",
        "-c",
        "c.json",
        "--pair",
        "BTC/USDT",
        "--action",
        "buy",
        "--confidence",
        "1.5",
    )
    assert (code, out) == (2, None)
    assert err == "error: confidence: must be between 0 and 1, got 1.5\n"
    code, _, err = run_cli(
        settings, capsys, "stoploss", "set", "-c", "c.json", "--pair", "X/Y", "--ratio", "2"
    )
    assert code == 2 and err.startswith("error: stoploss ratio must be") and err.count("\n") == 1
    code, _, err = run_cli(
        settings,
        capsys,
        "send",
        "-c",
        "c.json",
        "--pair",
        "BTC/USDT",
        "--action",
        "buy",
        "--timestamp",
        "2026-01-01T00:00:00",
    )
    assert code == 2 and "timestamp: must carry a time zone" in err
    settings.redis_url = f"redis://127.0.0.1:{free_port()}/0"
    code, _, err = run_cli(settings, capsys, "status", "-c", "c.json")
    assert code == 1 and err.startswith("error: Redis unreachable")


async def test_cli_demo_against_a_running_ingester(settings, capsys) -> None:
    settings.min_confidence = 0.5
    bot = FakeBot()
    ingester = SignalIngester(settings, bot.execute, tradable_pairs={"BTC/USDT"}, block_ms=100)
    ingester.start()
    try:
        code = await asyncio.to_thread(
            cli_main,
            ["signal", "demo", "-c", "c.json", "--timeout", "5"],
            lambda paths: SimpleNamespace(
                external_signals=settings, exchange=SimpleNamespace(pair_whitelist=["BTC/USDT"])
            ),
        )
    finally:
        await ingester.stop()
    report = json.loads(capsys.readouterr().out)
    assert [(s["step"], s["got"]) for s in report["steps"]] == [
        ("buy", "executed"),
        ("same id again", "duplicate"),
        ("expired timestamp", "rejected:expired"),
        ("unknown pair", "rejected:pair_not_tradable"),
        ("low confidence", "rejected:low_confidence"),
        ("hold", "ignored"),
        ("sell", "executed"),
        ("not JSON", "rejected:invalid"),
    ]
    assert code == 0 and report["ok"] is True


async def test_a_deleted_stream_is_recreated_and_reading_goes_on(settings) -> None:
    bot = FakeBot()
    sender = SignalSender.from_config(settings)
    ingester = ingester_for(settings, bot)
    await ingester.run_once(block_ms=0)
    client(settings).delete(settings.stream)  # as after a Redis restart without persistence
    assert await ingester.run_once(block_ms=0) == 0  # NOGROUP: noticed, group created again next round
    signal_id = sender.send("BTC/USDT", "buy")
    await drain(ingester)
    assert bot.executed == [signal_id] and ingester.degraded is False
    await ingester.stop()


async def test_stop_does_not_wait_for_a_blocking_read(settings) -> None:
    ingester = SignalIngester(settings, FakeBot().execute, tradable_pairs=PAIRS, block_ms=5000)
    ingester.start()
    await wait_until(lambda: ingester.connected)
    await asyncio.sleep(0.05)  # now inside XREADGROUP BLOCK 5000
    started = time.monotonic()
    await ingester.stop()
    assert time.monotonic() - started < 0.5
