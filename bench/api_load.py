"""Benchmark: the REST API of a trading ``tradecast trade`` process under load, on loopback.

Prints one table:

* ``/api/v1/status`` (100 open trades) and ``/api/v1/trades`` (1,000 closed trades, the default page of
  500): requests/s and p50 / p99 latency with ``--concurrency`` clients for ``--duration`` seconds each,
  while the bot trades BusyStrategy on ``--pairs`` sim pairs (speed 60: a new 1m candle every second) with
  max_open_trades 200. The trades are written straight into the bot's SQLite file before it starts.
* ``/api/v1/ping`` p99 from one client while a second bot analyses ``--analysis-pairs`` pairs
  (target < 20 ms).

The load generator runs in a separate process (this script with ``--worker``: httpx, asyncio, N clients,
bounded by time and by ``--max-requests``), so its CPU use is not charged to the server's event loop.

    .venv/bin/python bench/api_load.py [--duration 8] [--concurrency 8] [--pairs 200] [--analysis-pairs 500]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.helpers import BUSY_STRATEGY, BotProcess, free_port, write_bot_config  # noqa: E402
from tradecast.market.sim import SimMarket, start_of_utc_day  # noqa: E402
from tradecast.model import Order, Trade  # noqa: E402
from tradecast.persistence import Database, TradeRepository  # noqa: E402

USERNAME = "bench"
PASSWORD = "bench-password-for-loopback-only"
JWT_KEY = "b" * 64
SEED = 7
OPEN_TRADES = 100
CLOSED_TRADES = 1000
STAKE = 100.0
FEE = 0.001

LOAD_STRATEGY = BUSY_STRATEGY.replace("class BusyStrategy", "class LoadStrategy") + '''
    def confirm_trade_exit(self, pair, trade, order_type, amount, rate, time_in_force, exit_reason,
                           current_time, **kwargs):
        return trade.enter_tag != "seed"  # the seeded open trades stay open for the whole run
'''

ANALYSIS_STRATEGY = '''
from tradecast.strategy import IStrategy


class AnalysisStrategy(IStrategy):
    """Computes a few indicators on every pair and never trades: the load is the analysis itself."""

    INTERFACE_VERSION = 3
    timeframe = "1m"
    minimal_roi = {"0": 10.0}
    stoploss = -0.9
    startup_candle_count = 50
    process_only_new_candles = True

    def populate_indicators(self, dataframe, metadata):
        close = dataframe["close"]
        dataframe["sma20"] = close.rolling(20).mean()
        dataframe["sma50"] = close.rolling(50).mean()
        dataframe["std20"] = close.rolling(20).std()
        dataframe["ret"] = close.pct_change()
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        dataframe["enter_long"] = 0
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        dataframe["exit_long"] = 0
        return dataframe
'''


# --------------------------------------------------------------------------- seeding


def _order(pair: str, side: str, amount: float, price: float, when: Any, n: int) -> Order:
    return Order(pair=pair, order_id=f"seed-{side}-{n}", side=side, order_type="market", amount=amount, price=price,
                 status="closed", ft_is_entry=side == "buy", filled=amount, average=price,
                 fee_cost=amount * price * FEE, order_date=when, order_filled_date=when)


def seed_trades(db_url: str, open_pairs: list[str], closed_pairs: list[str], strategy: str) -> None:
    """``OPEN_TRADES`` open trades (one per pair) and ``CLOSED_TRADES`` closed ones, dated before the bot's
    sim clock starts (the start of today UTC), written in one transaction."""
    market = SimMarket(seed=SEED)
    start = start_of_utc_day()
    trades: list[Trade] = []
    for i, pair in enumerate(open_pairs[:OPEN_TRADES]):
        when = start - timedelta(minutes=10 + i)
        rate = market.price_at(pair, when)
        amount = STAKE / rate
        trades.append(Trade(pair=pair, stake_currency="USDT", amount=amount, amount_requested=amount, open_rate=rate,
                            open_rate_requested=rate, open_date=when, fee_open=FEE, fee_close=FEE,
                            strategy=strategy, timeframe="1m", enter_tag="seed", stop_loss=rate * 0.1,
                            stop_loss_pct=-0.9, initial_stop_loss=rate * 0.1, initial_stop_loss_pct=-0.9,
                            max_rate=rate, min_rate=rate, orders=[_order(pair, "buy", amount, rate, when, i)]))
    for i in range(CLOSED_TRADES):
        pair = closed_pairs[i % len(closed_pairs)]
        opened = start - timedelta(days=3) + timedelta(minutes=3 * i)
        closed = opened + timedelta(minutes=2)
        rate, exit_rate = market.price_at(pair, opened), market.price_at(pair, closed)
        amount = STAKE / rate
        trade = Trade(pair=pair, stake_currency="USDT", amount=amount, amount_requested=amount, open_rate=rate,
                      open_date=opened, fee_open=FEE, fee_close=FEE, strategy=strategy, timeframe="1m",
                      enter_tag="seed", max_rate=max(rate, exit_rate), min_rate=min(rate, exit_rate),
                      orders=[_order(pair, "buy", amount, rate, opened, 10_000 + i),
                              _order(pair, "sell", amount, exit_rate, closed, 20_000 + i)])
        trade.close(exit_rate, closed, "roi" if exit_rate > rate else "exit_signal")
        trades.append(trade)
    database = Database(db_url)
    try:
        TradeRepository(database).commit(trades=trades)
    finally:
        database.close()


# --------------------------------------------------------------------------- load generator (worker process)


async def _load(url: str, concurrency: int, duration: float, max_requests: int) -> dict[str, Any]:
    auth = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(headers={"Authorization": auth}, limits=limits, timeout=30) as client:
        await client.get(url)  # warm-up (connection, first serialisation)

        async def one_client() -> None:
            while time.perf_counter() < deadline and len(latencies) < max_requests:
                began = time.perf_counter()
                try:
                    response = await client.get(url)
                    response.read()
                    if response.status_code != 200:
                        errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
                        continue
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    count = len(latencies)

    def pct(p: float) -> float:
        return latencies[min(count - 1, int(p * count))] * 1000 if count else float("nan")

    return {"requests": count, "errors": errors, "seconds": elapsed, "rps": count / elapsed if elapsed else 0.0,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": latencies[-1] * 1000 if count else float("nan"),
            "mean_ms": statistics.fmean(latencies) * 1000 if count else float("nan")}


def run_worker(url: str, concurrency: int, duration: float, max_requests: int) -> dict[str, Any]:
    """Run the load generator in its own process and return its summary."""
    out = subprocess.run(
        [sys.executable, __file__, "--worker", url, "--concurrency", str(concurrency), "--duration", str(duration),
         "--max-requests", str(max_requests)],
        capture_output=True, text=True, timeout=duration + 60, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- bot processes


def api_config(port: int) -> dict[str, Any]:
    return {"enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": port, "username": USERNAME,
            "password": PASSWORD, "jwt_secret_key": JWT_KEY}


def get_json(base: str, path: str) -> Any:
    response = httpx.get(base + path, auth=(USERNAME, PASSWORD), timeout=30)
    response.raise_for_status()
    return response.json()


def wait_api(proc: BotProcess, base: str) -> None:
    proc.wait_for("API server listening on", timeout=60)
    deadline = time.monotonic() + 60
    while not get_json(base, "/api/v1/health").get("last_process_ts"):  # the first pass (analysis) is done
        if time.monotonic() > deadline:
            raise RuntimeError("the bot did not finish a pass within 60 s")
        time.sleep(0.2)


def trading_phase(work: Path, args: argparse.Namespace) -> list[tuple[str, dict[str, Any], str]]:
    names = [f"SIM{i:03d}/USDT" for i in range(1, 501)]
    open_pairs, whitelist = names[:OPEN_TRADES], names[OPEN_TRADES:OPEN_TRADES + args.pairs]
    port = free_port()
    (work / "strategies").mkdir(exist_ok=True)
    (work / "strategies" / "load.py").write_text(LOAD_STRATEGY)
    config = write_bot_config(work, name="loadbot", speed=60.0, pairs=whitelist, strategy="LoadStrategy", extra={
        "max_open_trades": 200, "dry_run_wallet": 1_000_000, "api_server": api_config(port),
        "exchange": {"name": "sim", "pair_whitelist": whitelist, "sim": {"seed": SEED, "speed": 60.0}},
        "internals": {"process_throttle_secs": 1, "heartbeat_interval": 0},
    })
    seed_trades(f"sqlite:///{work / 'loadbot.sqlite'}", open_pairs, names, "LoadStrategy")
    proc = BotProcess(config, work / "loadbot.log")
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        wait_api(proc, base)
        before_open = len(get_json(base, "/api/v1/status"))
        before_closed = get_json(base, "/api/v1/trades?limit=1")["total_trades"]
        if before_open < OPEN_TRADES or before_closed < CLOSED_TRADES:
            raise RuntimeError(f"seeded trades missing: {before_open} open, {before_closed} closed")
        for path in ("/api/v1/status", "/api/v1/trades"):
            result = run_worker(base + path, args.concurrency, args.duration, args.max_requests)
            open_now = len(get_json(base, "/api/v1/status"))
            closed_now = get_json(base, "/api/v1/trades?limit=1")["total_trades"]
            note = f"{open_now} open / {closed_now} closed"
            rows.append((f"GET {path}", result, note))
        print(f"# trading during the run: {before_open}->{open_now} open, {before_closed}->{closed_now} closed "
              f"({args.pairs} whitelisted pairs + {OPEN_TRADES} open-trade pairs analysed each pass)")
    finally:
        code = proc.stop(signal.SIGINT)
    if code != 0:
        raise RuntimeError(f"load bot exited with {code}:\n{proc.output()[-2000:]}")
    return rows


def analysis_phase(work: Path, args: argparse.Namespace) -> list[tuple[str, dict[str, Any], str]]:
    names = [f"SIM{i:03d}/USDT" for i in range(1, args.analysis_pairs + 1)]
    port = free_port()
    (work / "strategies").mkdir(exist_ok=True)
    (work / "strategies" / "analysis.py").write_text(ANALYSIS_STRATEGY)
    config = write_bot_config(work, name="analysisbot", speed=60.0, pairs=names, strategy="AnalysisStrategy", extra={
        "api_server": api_config(port), "internals": {"process_throttle_secs": 1, "heartbeat_interval": 0},
    })
    proc = BotProcess(config, work / "analysisbot.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_api(proc, base)
        passes_before = get_json(base, "/api/v1/health")["last_process_ts"]
        result = run_worker(base + "/api/v1/ping", 1, args.duration, args.max_requests)
        passes_after = get_json(base, "/api/v1/health")["last_process_ts"]
        analysed = get_json(base, "/api/v1/available_pairs?timeframe=1m")["length"]
    finally:
        code = proc.stop(signal.SIGINT)
    if code != 0:
        raise RuntimeError(f"analysis bot exited with {code}:\n{proc.output()[-2000:]}")
    simulated = passes_after - passes_before
    note = f"{analysed} pairs, {simulated / 60:.0f} sim minutes analysed"
    return [("GET /api/v1/ping (1 client)", result, note)]


# --------------------------------------------------------------------------- main


def print_table(rows: list[tuple[str, dict[str, Any], str]], args: argparse.Namespace) -> None:
    load = os.getloadavg()
    print(f"# machine: {platform.node()} {platform.machine()}, nproc={os.cpu_count()}, "
          f"loadavg={load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}, python {platform.python_version()}")
    print(f"# {args.concurrency} concurrent clients (ping: 1), {args.duration:g} s per row, loopback, Basic auth")
    header = (f"{'endpoint':<30} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
              f"{'errors':>7}  state")
    print(header)
    print("-" * len(header))
    for name, r, note in rows:
        errors = sum(r["errors"].values())
        print(f"{name:<30} {r['requests']:>8} {r['rps']:>8.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
              f"{r['max_ms']:>8.2f} {errors:>7}  {note}")
    ping = rows[-1][1]
    verdict = "ok" if ping["p99_ms"] < 20 else "MISSED"
    print(f"# ping p99 target < 20 ms while analysing {args.analysis_pairs} pairs: {ping['p99_ms']:.2f} ms ({verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of load per row")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients for status/trades")
    parser.add_argument("--max-requests", type=int, default=50_000, help="request cap per row")
    parser.add_argument("--pairs", type=int, default=200, help="whitelisted pairs of the trading bot")
    parser.add_argument("--analysis-pairs", type=int, default=500, help="pairs analysed during the ping row")
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(_load(args.worker, args.concurrency, args.duration, args.max_requests))))
        return
    if not 1 <= args.pairs <= 400 or not 1 <= args.analysis_pairs <= 500:
        parser.error("--pairs must be 1..400 and --analysis-pairs 1..500 (the sim market has SIM001..SIM500)")
    with tempfile.TemporaryDirectory(prefix="tradecast-api-load-") as tmp:
        (Path(tmp) / "trading").mkdir()
        (Path(tmp) / "analysis").mkdir()
        rows = trading_phase(Path(tmp) / "trading", args)
        rows += analysis_phase(Path(tmp) / "analysis", args)
    print_table(rows, args)


if __name__ == "__main__":
    main()
