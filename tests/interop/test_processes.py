"""Whole processes, live timing: a ``tradecast trade`` bot process and a freqtrade process, over loopback.

* freqtrade's ExternalMessageConsumer follows a ``tradecast trade`` producer (ProducerStrategy, message ws,
  sim market at 120x with 1m candles: a candle every 0.5 s) while the producer keeps analysing;
* a ``tradecast trade`` consumer (ConsumerStrategy, ``producer_data_only``) follows freqtrade's own producer
  running live on the same simulated clock (speed and epoch shared), and trades on its signals.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.helpers import BotProcess, free_port, write_bot_config
from tests.interop.conftest import JWT_KEY, PASSWORD, USERNAME, WS_TOKEN, FtStarter

pytestmark = pytest.mark.integration

PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"]
SPEED = 120.0
TF_MS = 60_000


async def wait_log(bot: BotProcess, text: str, timeout: float = 20.0) -> None:
    await asyncio.to_thread(bot.wait_for, text, timeout)


async def test_freqtrade_consumer_follows_a_tradecast_trade_process(tmp_path: Path, ft_process: FtStarter) -> None:
    port = free_port()
    config = write_bot_config(tmp_path / "producer", name="producer", strategy="ProducerStrategy", pairs=PAIRS,
                              speed=SPEED, extra={"timeframe": "1m", "api_server": {
                                  "enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": port,
                                  "enable_message_ws": True, "ws_token": WS_TOKEN, "jwt_secret_key": JWT_KEY,
                                  "username": USERNAME, "password": PASSWORD}})
    producer = BotProcess(config, tmp_path / "producer.log")
    try:
        await wait_log(producer, "started")
        consumer = await ft_process("ft_consumer.py", str(port), WS_TOKEN, "1m", *PAIRS)
        assert (await consumer.read_json()) == {"ready": True}
        first = await consumer.poll("snapshot", lambda s: all(s["frames"][p]["rows"] >= 100 for p in PAIRS),
                                    "initial sync", timeout=20)
        assert first["producer_pairs"] == PAIRS
        started = time.monotonic()
        await asyncio.sleep(4.0)  # ~8 candles at 120x
        snap = await consumer.command("snapshot")
        elapsed = time.monotonic() - started
        for pair in PAIRS:
            before, after = first["frames"][pair], snap["frames"][pair]
            assert {"rsi", "tema", "bb_middleband", "enter_long", "exit_long"} <= set(after["columns"])
            assert after["date_tz"] == "UTC"
            grown = (after["dates_ms"][-1] - before["dates_ms"][-1]) // TF_MS
            assert grown >= 4, f"{pair}: only {grown} new candle(s) in {elapsed:.1f}s"
            # appended to the synced history (not replaced): rows grew, the old dates are kept
            assert after["rows"] == min(before["rows"] + grown, 1500), (pair, before["rows"], after["rows"], grown)
            assert after["dates_ms"][: before["rows"]] == before["dates_ms"], pair
            dates = after["dates_ms"]
            assert all(b - a == TF_MS for a, b in itertools.pairwise(dates)), f"{pair}: holes in dates"
            la = datetime.fromisoformat(after["la"])
            assert la.tzinfo is not None
        problems = [r for r in snap["log"] if r["level"] in ("ERROR", "CRITICAL")]
        assert not problems, problems
        # no request loop (freqtrade's consumer re-requests twice a second when it loops). During the sync,
        # broadcasts that overtake the initial reply make it ask for 1500 rows (its own startup race, one per
        # candle and pair until the reply lands); after the sync, a missed broadcast would cost one request.
        holes_at_sync = [r["msg"] for r in first["log"] if "Holes in data" in r["msg"]]
        holes_later = [r["msg"] for r in snap["log"][len(first["log"]):] if "Holes in data" in r["msg"]]
        assert len(holes_at_sync) <= 4 * len(PAIRS), holes_at_sync
        assert len(holes_later) <= len(PAIRS), holes_later

        # our producer restarts (SIGINT: subscribers get close 1001): freqtrade reconnects and resyncs
        assert producer.stop() == 0, producer.output()[-3000:]
        producer = BotProcess(config, tmp_path / "producer-restarted.log")
        await wait_log(producer, "started")
        last = {pair: snap["frames"][pair]["dates_ms"][-1] for pair in PAIRS}

        def resynced(s: dict[str, Any]) -> bool:
            connects = sum("Connected to channel" in r["msg"] for r in s["log"])
            return connects >= 2 and all(s["frames"][p]["dates_ms"][-1] > last[p] for p in PAIRS)

        snap = await consumer.poll("snapshot", resynced, "reconnect and resync", timeout=20)
        for pair in PAIRS:
            dates = snap["frames"][pair]["dates_ms"]
            assert all(b - a == TF_MS for a, b in itertools.pairwise(dates)), f"{pair}: holes after the restart"
        problems = [r for r in snap["log"] if r["level"] in ("ERROR", "CRITICAL")
                    and not r["msg"].startswith("Connection Refused")]  # while our producer was down
        assert not problems, problems
    finally:
        code = producer.stop()
    out = producer.output()
    assert code == 0, out[-3000:]
    assert "Traceback" not in out and "Traceback" not in (tmp_path / "producer.log").read_text()


# ----------------------------------------------------------------------------- tradecast consumer process


def _rest(port: int, path: str) -> Any:
    response = httpx.get(f"http://127.0.0.1:{port}/api/v1/{path}", auth=(USERNAME, PASSWORD), timeout=5)
    response.raise_for_status()
    return response.json()


async def test_tradecast_trade_consumer_follows_a_live_freqtrade_producer(tmp_path: Path,
                                                                          ft_process: FtStarter) -> None:
    speed, epoch = 60.0, datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    live = {"speed": speed, "epoch_ms": int(epoch.timestamp() * 1000), "timeframe": "1m", "pairs": PAIRS,
            "entry_pair": PAIRS[0], "entry_every": 4, "rows": 200}
    spec_path = tmp_path / "live.json"
    spec_path.write_text(json.dumps(live))
    ft = await ft_process("ft_producer.py", "--live", str(spec_path), WS_TOKEN, JWT_KEY)
    ready = await ft.read_json()
    assert ready["ready"], ready

    api_port = free_port()
    config = write_bot_config(tmp_path / "consumer", name="consumer", strategy="ConsumerStrategy", pairs=PAIRS,
                              speed=speed, extra={
                                  "timeframe": "1m", "max_open_trades": 4, "stake_amount": 50,
                                  "exchange": {"name": "sim", "pair_whitelist": PAIRS,
                                               "sim": {"seed": 7, "speed": speed, "epoch": epoch.isoformat()}},
                                  "external_message_consumer": {
                                      "enabled": True, "producer_data_only": True, "sleep_time": 2,
                                      "producers": [{"name": "default", "host": "127.0.0.1",
                                                     "port": ready["port"], "ws_token": WS_TOKEN}]},
                                  "api_server": {"enabled": True, "listen_ip_address": "127.0.0.1",
                                                 "listen_port": api_port, "jwt_secret_key": JWT_KEY,
                                                 "username": USERNAME, "password": PASSWORD}})
    consumer = BotProcess(config, tmp_path / "consumer.log")
    try:
        await wait_log(consumer, f"synced {len(PAIRS)} pair(s)", timeout=25)
        deadline = time.monotonic() + 15
        trades: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            trades = await asyncio.to_thread(_rest, api_port, "status")
            if trades:
                break
            await asyncio.sleep(0.3)
        sent = await ft.command({"cmd": "dump", "pair": PAIRS[0]})
        assert trades, f"no trade on the producer's signals:\n{consumer.output()[-3000:]}"
        assert {t["pair"] for t in trades} == {PAIRS[0]}, trades  # only the pair whose producer frame says so
        entry_dates = set(sent["entry_dates_ms"])
        for trade in trades:
            # entered right after a candle that carries the producer's cross (at most one candle later)
            candle = trade["open_timestamp"] // TF_MS * TF_MS - TF_MS
            assert {candle, candle - TF_MS} & entry_dates, (trade["open_date"], sorted(entry_dates)[-5:])

        # what the consumer merged equals what freqtrade sent (rsi_default etc. per date, 10 decimals)
        candles = await asyncio.to_thread(_rest, api_port, f"pair_candles?pair={PAIRS[0]}&timeframe=1m")
        columns = candles["columns"]
        assert {"rsi_default", "tema_default", "bb_middleband_default", "enter_long_default"} <= set(columns)
        by_date = {row[columns.index("__date_ts")]: row for row in candles["data"]}
        compared = 0
        for when, values in sent["rows"].items():
            row = by_date.get(int(when))
            if row is None:
                continue
            compared += 1
            for name, value in values.items():
                got = row[columns.index(f"{name}_default")]
                if value is None:
                    assert got is None, (when, name, got)
                elif isinstance(value, str):
                    assert got == value, (when, name, got)
                else:
                    assert got is not None and abs(got - value) <= 1e-10, (when, name, got, value)
        assert compared >= 20, f"only {compared} common candle(s)"
        assert entry_dates & set(by_date), "no entry candle in the consumer's frame"

        requests = (await ft.command({"cmd": "stats"}))["requests"]
        gap_requests = [r for r in requests[3:] if r.get("type") == "analyzed_df"]
        assert len(gap_requests) <= 2 * len(PAIRS), requests
        health = await asyncio.to_thread(_rest, api_port, "health")
        status = health["external_message_consumer"]["producers"]["default"]
        assert status["connects"] == 1 and not status["errors"], status
    finally:
        code = consumer.stop()
    out = consumer.output()
    assert code == 0, out[-3000:]
    assert "Traceback" not in out
