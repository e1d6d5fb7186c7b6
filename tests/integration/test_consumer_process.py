"""A real consumer bot process following a real producer bot process over loopback.

The producer runs ProducerStrategy with the message websocket on; the consumer runs the seeds' ConsumerStrategy
with ``producer_data_only``. Both use the sim market at 120x with 1m candles (a candle every 0.5 s).
"""

from __future__ import annotations

import itertools
import signal
import time
from pathlib import Path

import pytest

from tests.integration.helpers import BotProcess, free_port, write_bot_config
from tradecast.core.errors import PersistenceError
from tradecast.core.timeframes import candle_open
from tradecast.persistence import Database, TradeRepository

pytestmark = pytest.mark.integration

PAIRS = [f"{coin}/USDT" for coin in ("BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "BNB", "LTC", "DOT", "LINK",
                                      "AVAX", "TRX", "ATOM", "UNI", "XLM", "ETC", "FIL", "NEAR")]
TOKEN = "ws token&with=odd chars"


def write_configs(directory: Path, port: int, consumer_token: str = TOKEN) -> tuple[Path, Path]:
    common = {"timeframe": "1m", "max_open_trades": 5, "stake_amount": 50}
    producer = write_bot_config(directory / "producer", name="producer", strategy="ProducerStrategy", pairs=PAIRS,
                                speed=120, extra={**common, "api_server": {
                                    "enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": port,
                                    "enable_message_ws": True, "ws_token": TOKEN, "jwt_secret_key": "k" * 40,
                                    "username": "user", "password": "password-123"}})
    consumer = write_bot_config(directory / "consumer", name="consumer", strategy="ConsumerStrategy", pairs=PAIRS,
                                speed=120, extra={**common, "external_message_consumer": {
                                    "enabled": True, "producer_data_only": True, "sleep_time": 2,
                                    "producers": [{"name": "default", "host": "127.0.0.1", "port": port,
                                                   "ws_token": consumer_token}]}})
    return producer, consumer


def trades(db_file: Path) -> list:
    try:
        database = Database(f"sqlite:///{db_file}", read_only=True)
    except PersistenceError:
        return []
    try:
        return TradeRepository(database).trades()
    except PersistenceError:
        return []
    finally:
        database.close()


def wait_until(check, proc: BotProcess, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc.proc.poll() is not None:
            raise AssertionError(f"consumer exited before {what}:\n{proc.output()[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout}s:\n{proc.output()[-3000:]}")


def test_consumer_trades_on_a_real_producer_and_resyncs_after_it_is_killed(bot_dir: Path) -> None:
    port = free_port()
    producer_cfg, consumer_cfg = write_configs(bot_dir, port)
    producer = BotProcess(producer_cfg, bot_dir / "producer1.log")
    consumer = BotProcess(consumer_cfg, bot_dir / "consumer.log")
    db_file = bot_dir / "consumer" / "consumer.sqlite"
    try:
        consumer.wait_for(f"synced {len(PAIRS)} pair(s)", timeout=30)
        wait_until(lambda: len(trades(db_file)) >= 1, consumer, 60, "consumer trade")
        producer.stop(signal.SIGKILL)
        consumer.wait_for("retrying with backoff", timeout=10)
        before = len(trades(db_file))
        time.sleep(2)  # the consumer keeps running on what it has while the producer is down
        producer = BotProcess(producer_cfg, bot_dir / "producer2.log")
        wait_until(lambda: consumer.output().count(f"synced {len(PAIRS)} pair(s)") >= 2, consumer, 30, "resync")
        wait_until(lambda: len(trades(db_file)) > before, consumer, 60, "trade after the resync")
    finally:
        code = consumer.stop(signal.SIGINT)
        producer.stop(signal.SIGINT)
    out = consumer.output()
    assert code == 0, out[-3000:]
    assert "Traceback" not in out and "token refused" not in out
    assert "candles come from the producers only" in out
    found = trades(db_file)
    by_pair: dict[str, list] = {}
    for trade in found:
        by_pair.setdefault(trade.pair, []).append(trade)
    for pair, items in by_pair.items():
        items.sort(key=lambda t: t.open_date)
        candles = [candle_open(t.open_date, "1m") for t in items]
        assert len(candles) == len(set(candles)), f"{pair}: two trades on one candle {candles}"
        for earlier, later in itertools.pairwise(items):
            assert earlier.close_date is not None and earlier.close_date <= later.open_date, (pair, earlier, later)


def test_wrong_token_is_reported_once_and_the_consumer_keeps_retrying(bot_dir: Path) -> None:
    port = free_port()
    producer_cfg, consumer_cfg = write_configs(bot_dir, port, consumer_token="not-the-token")
    producer = BotProcess(producer_cfg, bot_dir / "producer.log")
    consumer = BotProcess(consumer_cfg, bot_dir / "consumer.log")
    try:
        producer.wait_for("started", timeout=30)
        consumer.wait_for("token refused (check ws_token)", timeout=30)
        time.sleep(4)  # several more attempts (backoff 0.5 .. 2 s), one log line
    finally:
        code = consumer.stop(signal.SIGINT)
        producer.stop(signal.SIGINT)
    out = consumer.output()
    assert code == 0, out[-3000:]
    assert out.count("token refused (check ws_token)") == 1
    assert "producer default" in out and "not-the-token" not in out
    assert "synced" not in out
