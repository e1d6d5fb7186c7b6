"""Benchmark: consumer freshness (candle close -> consumer decision) and consumer memory.

1. Freshness. A real producer bot process (``tradecast trade``, ProducerStrategy, message websocket on) and a
   consumer Bot in this process (ConsumerStrategy, ``producer_data_only``, its bot loop running too) follow
   the same sim market (same seed, epoch and speed; 1m candles) over loopback. For each measured candle:

   * all decided: from the candle's close (wall time, from the shared sim clock) until the consumer's engine
     has decided (``engine.on_analyzed`` returned) for every pair on that candle;
   * per pair: from the producer's emit (its ``la``, converted from sim to wall time) to the consumer's
     decision for that pair, p50 / p99 over all pairs and candles.

   Targets (issue): 100 pairs all decided within 0.5 s of the close; per pair p99 < 20 ms at 10 pairs.
2. Memory. A synthetic producer (a child process serving 500 pairs x 1,500 rows with ProducerStrategy's
   columns) and a fresh consumer process; RSS after the sync and the analysis of every pair.
   Target: < 400 MB.

    .venv/bin/python bench/fleet_freshness.py [--pairs 10,100,500] [--candles 5] [--min-samples 200]
                                             [--skip-memory]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tradecast.bot import Bot
from tradecast.config import Config
from tradecast.core.timeframes import candle_open
from tradecast.fleet.attach import attach_consumer
from tradecast.market.sim import SimMarket

TOKEN = "bench-token"
TIMEFRAME_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bot_config(directory: Path, name: str, strategy: str, pairs: list[str], speed: float, epoch: datetime,
               extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "bot_name": name, "strategy": strategy, "timeframe": "1m", "max_open_trades": 5, "stake_currency": "USDT",
        "stake_amount": 20, "dry_run": True, "dry_run_wallet": 1000, "user_data_dir": str(directory),
        "db_url": f"sqlite:///{directory / (name + '.sqlite')}",
        "exchange": {"name": "sim", "pair_whitelist": pairs, "sim": {"seed": 7, "speed": speed,
                                                                    "epoch": epoch.isoformat()}},
        "internals": {"process_throttle_secs": 5, "heartbeat_interval": 0}, **extra,
    }


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def freshness(count: int, candles: int, directory: Path, synthetic: bool = False) -> dict[str, Any]:
    pairs = list(SimMarket().markets())[:count]
    period_s = max(3.0, count * 0.025)  # wall seconds per 1m candle: room for both analyses on a small box
    speed = TIMEFRAME_S / period_s
    epoch = datetime.now(UTC).replace(microsecond=0)
    port = free_port()
    producer_cfg = bot_config(directory, "producer", "ProducerStrategy", pairs, speed, epoch, {"api_server": {
        "enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": port, "enable_message_ws": True,
        "ws_token": TOKEN, "jwt_secret_key": "k" * 40, "username": "bench", "password": "bench-password"}})
    path = directory / "producer.json"
    path.write_text(json.dumps(producer_cfg))
    log = open(directory / "producer.log", "w")  # noqa: SIM115, ASYNC230 - closed below
    command = [sys.executable, "-m", "tradecast", "trade", "--config", str(path)]
    if synthetic:
        command = [sys.executable, __file__, "--serve-synthetic", str(port), str(count), "1000", str(speed),
                   str(epoch.timestamp())]
    producer = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: ASYNC220
    consumer_cfg = Config.model_validate(bot_config(directory, "consumer", "ConsumerStrategy", pairs, speed, epoch, {
        "external_message_consumer": {"enabled": True, "producer_data_only": True, "sleep_time": 1, "producers": [
            {"name": "default", "host": "127.0.0.1", "port": port, "ws_token": TOKEN}]}}))
    bot = Bot(consumer_cfg)
    service = attach_consumer(bot)
    epoch_s = epoch.timestamp()

    def wall(sim: datetime) -> float:
        return epoch_s + (sim.timestamp() - epoch_s) / speed

    decided: dict[tuple[str, Any], float] = {}
    emitted: dict[tuple[str, Any], float] = {}
    received: dict[tuple[str, Any], float] = {}
    engine_on_analyzed = bot.engine.on_analyzed
    on_frame = service._on_frame

    async def record_decision(pair: str, signals: Any) -> None:
        await engine_on_analyzed(pair, signals)
        decided.setdefault((pair, signals.candle_date), time.time())

    def record_emit(name: str, msg: Any, is_reply: bool, arrived: float | None = None) -> None:
        if len(msg.frame) and not is_reply:
            key = (msg.pair, msg.frame["date"].iloc[-1].to_pydatetime())
            emitted.setdefault(key, wall(msg.last_analyzed))
            received.setdefault(key, time.time())
        on_frame(name, msg, is_reply, arrived)

    bot.engine.on_analyzed = record_decision
    service._on_frame = record_emit
    await bot.start()
    loop_task = asyncio.create_task(bot.run() if not os.environ.get("BENCH_NO_LOOP") else asyncio.sleep(0))
    client = service.clients["default"]
    try:
        deadline = time.monotonic() + 120
        while not client.synced:
            if time.monotonic() > deadline or producer.poll() is not None:
                raise RuntimeError(f"no sync with the producer: {client.status()}")
            await asyncio.sleep(0.1)
        await asyncio.sleep(period_s * 1.5)  # past the first candle after the sync
        all_decided: list[float] = []
        missing = 0
        per_pair: list[float] = []
        transport: list[float] = []
        emit_after_close: list[float] = []
        for _ in range(candles):
            now = bot.clock.now()
            closed_open = candle_open(now, "1m")  # the candle closing next opened at ...
            close_wall = wall(closed_open + timedelta(seconds=TIMEFRAME_S))
            await asyncio.sleep(max(0.0, close_wall - time.time()) + period_s * 0.9)
            times = [decided.get((pair, closed_open)) for pair in pairs]
            missing += sum(t is None for t in times)
            got = [t - close_wall for t in times if t is not None]
            if got:
                all_decided.append(max(got))
            for pair in pairs:
                key = (pair, closed_open)
                if key in decided and key in emitted:
                    per_pair.append(decided[key] - emitted[key])
                    transport.append(received[key] - emitted[key])
                    emit_after_close.append(emitted[key] - close_wall)
    finally:
        await bot.stop()
        loop_task.cancel()
        producer.terminate()
        producer.wait(timeout=20)
        log.close()
    return {"pairs": count, "period_s": period_s, "all_decided": all_decided, "missing": missing,
            "p50": percentile(per_pair, 50), "p99": percentile(per_pair, 99), "samples": len(per_pair),
            "transport_p50": percentile(transport, 50), "emit_after_close_p50": percentile(emit_after_close, 50),
            "emit_after_close_max": max(emit_after_close, default=float("nan"))}


# ------------------------------------------------------------------------------------------------- memory


def synthetic_frame(rows: int, end: datetime, seed: int, freq: str = "5min") -> pd.DataFrame:
    """ProducerStrategy's columns over ``rows`` candles ending at ``end``."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, rows)))
    dates = pd.date_range(end=end, periods=rows, freq=freq, tz="UTC")
    frame = pd.DataFrame({"date": dates, "open": close * 0.999, "high": close * 1.002, "low": close * 0.997,
                          "close": close, "volume": rng.uniform(1, 10, rows)})
    for column in ("rsi", "bb_lowerband", "bb_middleband", "bb_upperband", "tema"):
        frame[column] = rng.random(rows)
    frame["enter_long"], frame["exit_long"] = 0, 0
    frame["enter_tag"], frame["exit_tag"] = None, None
    return frame


async def serve_synthetic(port: int, count: int, rows: int, speed: float = 0.0, epoch_s: float = 0.0) -> None:
    """Child process: a producer with synthetic frames (no analysis of its own).

    It answers whitelist / analyzed_df requests. With ``speed`` it follows the sim clock (1m candles, shared
    epoch) and broadcasts a one-row update per pair right after every candle close, stamping ``la`` just
    before encoding each message; without, it serves static 5m frames (memory benchmark).
    """
    from websockets.asyncio.server import serve

    from tradecast.core.clock import ScaledClock
    from tradecast.core.timeframes import last_closed_candle_open
    from tradecast.wire import AnalyzedDfMessage, WhitelistMessage, decode_request, encode_message
    from tradecast.wire.messages import AnalyzedDfRequest, WhitelistRequest

    pairs = list(SimMarket().markets())[:count]
    clock = ScaledClock(speed, datetime.fromtimestamp(epoch_s, UTC)) if speed else None
    timeframe, freq = ("1m", "1min") if clock else ("5m", "5min")
    end = last_closed_candle_open(clock.now(), "1m") if clock else candle_open(datetime.now(UTC), "5m")
    frames = {p: synthetic_frame(rows, end - (timedelta(minutes=5) if not clock else timedelta()), i, freq)
              for i, p in enumerate(pairs)}
    connections: set[Any] = set()

    def message(pair: str, frame: pd.DataFrame) -> str:
        now = clock.now() if clock else datetime.now(UTC)
        return encode_message(AnalyzedDfMessage(pair, timeframe, "spot", frame, now)).decode()

    async def handler(conn: Any) -> None:
        connections.add(conn)
        try:
            async for text in conn:
                request = decode_request(text)
                if isinstance(request, WhitelistRequest):
                    await conn.send(encode_message(WhitelistMessage(tuple(pairs))).decode())
                elif isinstance(request, AnalyzedDfRequest):
                    for pair in [request.pair] if request.pair else pairs:
                        await conn.send(message(pair, request.select(frames[pair])))
        finally:
            connections.discard(conn)

    async with serve(handler, "127.0.0.1", port, max_size=None):
        print("serving", flush=True)
        while clock is not None:
            last = last_closed_candle_open(clock.now(), "1m")
            await clock.sleep((last + timedelta(minutes=2) - clock.now()).total_seconds())
            for i, pair in enumerate(pairs):
                row = synthetic_frame(1, last + timedelta(minutes=1), i * 7919 + int(last.timestamp()), freq)
                frames[pair] = pd.concat([frames[pair].iloc[1:], row], ignore_index=True)
                for conn in list(connections):
                    await conn.send(message(pair, row))
        await asyncio.Future()


async def memory(count: int, rows: int, directory: Path) -> dict[str, Any]:
    import psutil

    port = free_port()
    command = [sys.executable, __file__, "--serve-synthetic", str(port), str(count), str(rows), "0", "0"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
    assert child.stdout is not None and child.stdout.readline().strip() == "serving"
    pairs = list(SimMarket().markets())[:count]
    cfg = bot_config(directory, "memory", "ConsumerStrategy", pairs, 1.0, datetime.now(UTC), {
        "timeframe": "5m", "external_message_consumer": {"enabled": True, "producer_data_only": True,
                                                         "producers": [{"name": "default", "host": "127.0.0.1",
                                                                        "port": port, "ws_token": TOKEN}]}})
    bot = Bot(Config.model_validate(cfg))
    service = attach_consumer(bot)
    process = psutil.Process()
    before = process.memory_info().rss
    started = time.monotonic()
    await bot.start()
    peak = before
    try:
        while service.analyses < count or service.status()["pending_analyses"]:
            if time.monotonic() - started > 300:
                raise RuntimeError(f"sync/analysis incomplete: {service.status()}")
            await asyncio.sleep(0.2)
            peak = max(peak, process.memory_info().rss)
        elapsed = time.monotonic() - started
        after = process.memory_info().rss
    finally:
        await bot.stop()
        child.terminate()
        child.wait(timeout=10)
    rows_stored = sum(len(service.store.get(*key[:3], key[3])[0]) for key in service.store.keys()[:1])
    return {"before_mb": before / 2**20, "after_mb": after / 2**20, "peak_mb": max(peak, after) / 2**20,
            "sync_and_analysis_s": elapsed,
            "rows_per_pair": rows_stored, "frames": len(service.store.keys())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", default="10,100,500")
    parser.add_argument("--candles", type=int, default=5)
    parser.add_argument("--min-samples", type=int, default=200,
                        help="more candles for few pairs: a p99 of 50 samples is only their maximum")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-synthetic", nargs=5, type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_synthetic:
        port, count, rows, speed, epoch_s = args.serve_synthetic
        asyncio.run(serve_synthetic(int(port), int(count), int(rows), speed, epoch_s))
        return
    if args.memory_only:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(asyncio.run(memory(500, 1500, Path(tmp)))))
        return
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.processor() or '?'}, "
          f"Python {platform.python_version()}")
    print("1. freshness: candle close -> consumer decided (1m candles, loopback, one producer)")
    print(f"{'pairs':>6} | {'candle (s)':>10} | {'all decided after close (s): median / max':>42} | "
          f"{'missed':>6} | {'emit->decision p50 / p99 (ms)':>30}")
    runs = [(int(n), False) for n in args.pairs.split(",")] + [(int(n), True) for n in args.pairs.split(",")]
    for count, synthetic in runs:
        if synthetic and count == int(args.pairs.split(",")[0]):
            print("   same, with a synthetic producer (no analysis of its own: the consumer's share alone)")
        with tempfile.TemporaryDirectory() as tmp:
            candles = max(args.candles, -(-args.min_samples // count))
            result = asyncio.run(freshness(count, candles, Path(tmp), synthetic))
        done = result["all_decided"]
        spread = f"{statistics.median(done):.3f} / {max(done):.3f}" if done else "n/a"
        print(f"{count:>6} | {result['period_s']:>10.1f} | {spread:>42} | {result['missing']:>6} | "
              f"{result['p50'] * 1000:>13.1f} / {result['p99'] * 1000:>6.1f} (n={result['samples']})", flush=True)
        print(f"{'':>6}   producer emitted {result['emit_after_close_p50']:.3f} s (median) / "
              f"{result['emit_after_close_max']:.3f} s (last) after the close; emit->applied in the store p50 "
              f"{result['transport_p50'] * 1000:.1f} ms")
    if not args.skip_memory:
        out = subprocess.run([sys.executable, __file__, "--memory-only"], capture_output=True, text=True, check=True)
        mem = json.loads(out.stdout.strip().splitlines()[-1])
        print("4. consumer memory following 500 pairs x 1,500 candles (fresh process)")
        print(f"   RSS {mem['before_mb']:.0f} MB before -> {mem['after_mb']:.0f} MB after sync + analysis of "
              f"{mem['frames']} frames ({mem['rows_per_pair']} rows each) in {mem['sync_and_analysis_s']:.1f} s; "
              f"peak sampled {mem['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
