"""``tradecast demo``: a producer and a consumer paper-trading on the simulated market, logs interleaved.

Each bot is its own process (one event loop per bot), started with ``python -m tradecast trade``. The demo
writes their configs under ``--dir`` so the user can look at them, copy them, or run one bot by hand.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

DEMO_PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT", "DOGE/USDT", "BNB/USDT", "LINK/USDT"]


def demo_bot_config(directory: Path, name: str, *, speed: float, port: int, strategy: str,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A complete config for one demo bot on the sim market."""
    config: dict[str, Any] = {
        "bot_name": name,
        "strategy": strategy,
        "max_open_trades": 4,
        "stake_currency": "USDT",
        "stake_amount": "unlimited",
        "dry_run": True,
        "dry_run_wallet": 1000,
        "timeframe": "5m",
        "db_url": f"sqlite:///{(directory / f'{name}.sqlite').as_posix()}",
        "exchange": {"name": "sim", "pair_whitelist": DEMO_PAIRS, "pair_blacklist": [],
                     "sim": {"seed": 42, "speed": speed}},
        "internals": {"process_throttle_secs": 1, "heartbeat_interval": 30},
        "api_server": {"enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": port,
                       "username": "demo", "password": secrets.token_urlsafe(12),
                       "jwt_secret_key": secrets.token_hex(32), "ws_token": secrets.token_urlsafe(25),
                       "enable_message_ws": True, "CORS_origins": []},
    }
    for key, value in (extra or {}).items():
        config[key] = value
    return config


def _pump(prefix: str, stream, lock: threading.Lock) -> None:
    for line in iter(stream.readline, ""):
        with lock:
            sys.stdout.write(f"{prefix} {line}")
            sys.stdout.flush()


def run_demo(directory: Path, *, speed: float = 60.0, duration_s: float = 0.0, base_port: int = 8080) -> int:
    """Write the demo configs, start the bots and stream their logs until Ctrl-C (or ``duration_s``)."""
    directory.mkdir(parents=True, exist_ok=True)
    bots = demo_layout(directory, speed, base_port)
    processes: list[tuple[str, subprocess.Popen[str]]] = []
    lock = threading.Lock()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    for name, config in bots:
        path = directory / f"{name}.json"
        path.write_text(json.dumps(config, indent=2))
        api = config["api_server"]
        print(f"[{name}] config {path}; API http://127.0.0.1:{api['listen_port']} "
              f"(user {api['username']}, password {api['password']})")
        proc = subprocess.Popen([sys.executable, "-m", "tradecast", "trade", "--config", str(path)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        threading.Thread(target=_pump, args=(f"[{name}]", proc.stdout, lock), daemon=True).start()
        processes.append((name, proc))
        time.sleep(1.0)  # let a producer come up before its consumer dials it
    print(f"demo running at speed {speed:g} (one simulated minute every {60 / speed:.2g} s); Ctrl-C stops it")
    started = time.monotonic()
    code = 0
    try:
        while all(proc.poll() is None for _, proc in processes):
            if duration_s and time.monotonic() - started > duration_s:
                break
            time.sleep(0.2)
        for name, proc in processes:
            if proc.poll() not in (None, 0):
                print(f"[{name}] exited with code {proc.returncode}")
                code = 1
    except KeyboardInterrupt:
        pass
    finally:
        for _, proc in processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for _, proc in processes:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return code


def demo_layout(directory: Path, speed: float, base_port: int = 8080) -> list[tuple[str, dict[str, Any]]]:
    """Which bots the demo runs: a producer analysing the pairs and a consumer trading on its frames.

    Both use the same sim seed and speed, so they agree on candle dates; the consumer computes nothing
    itself (``producer_data_only``) and reacts as soon as each analysed candle arrives.
    """
    producer = demo_bot_config(directory, "producer", speed=speed, port=base_port, strategy="ProducerStrategy")
    token = producer["api_server"]["ws_token"]
    consumer = demo_bot_config(directory, "consumer", speed=speed, port=base_port + 1, strategy="ConsumerStrategy",
                               extra={"external_message_consumer": {
                                   "enabled": True,
                                   "producers": [{"name": "default", "host": "127.0.0.1", "port": base_port,
                                                  "ws_token": token}],
                                   "producer_data_only": True,
                                   "sleep_time": 5,
                               }})
    consumer["api_server"]["enable_message_ws"] = False
    return [("producer", producer), ("consumer", consumer)]
