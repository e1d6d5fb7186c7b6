"""The command line as a user types it (real processes, real files)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradecast.model import Order, Trade
from tradecast.persistence import Database, TradeRepository

pytestmark = pytest.mark.integration


def run(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tradecast", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def free_port_pair() -> int:
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
        try:
            with socket.socket() as second:
                second.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no two adjacent free ports")


def test_new_config_show_config_and_refusing_to_overwrite(tmp_path: Path) -> None:
    made = run("new-config", "--output", "config.json", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    shown = run("show-config", "--config", "config.json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    effective = json.loads(shown.stdout)
    assert effective["dry_run"] is True and effective["exchange"]["name"] == "sim"
    raw = (tmp_path / "config.json").read_text()
    assert effective["api_server"]["jwt_secret_key"] == "***" and "***" not in raw  # masked, not lost
    again = run("new-config", "--output", "config.json", cwd=tmp_path)
    assert again.returncode == 2 and "config.json" in again.stderr


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"stake_amount": -5, "max_open_trades": 1, "stake_currency": "USDT"}')
    result = run("trade", "--config", "bad.json", cwd=tmp_path)
    assert result.returncode == 2
    assert 'stake_amount: must be a positive number or "unlimited", got -5' in result.stderr
    assert "Traceback" not in result.stderr
    missing = run("show-config", "--config", "nope.json", cwd=tmp_path)
    assert missing.returncode == 2 and "nope.json" in missing.stderr and "Traceback" not in missing.stderr


def test_list_strategies_finds_the_shipped_ones(tmp_path: Path) -> None:
    result = run("list-strategies", cwd=tmp_path)
    names = {line.split()[0] for line in result.stdout.splitlines()}
    assert {"ProducerStrategy", "ConsumerStrategy", "ExecutionOnlyStrategy"} <= names


def test_show_trades_json_uses_freqtrade_field_names(tmp_path: Path) -> None:
    db_file = tmp_path / "trades.sqlite"
    database = Database(f"sqlite:///{db_file}")
    opened = datetime(2026, 11, 20, 12, tzinfo=UTC)
    order = Order(pair="BTC/USDT", order_id="dry-1", side="buy", order_type="market", amount=0.01, price=50_000,
                  status="closed", filled=0.01, average=50_000, order_date=opened, order_filled_date=opened)
    trade = Trade(pair="BTC/USDT", stake_currency="USDT", amount=0.01, open_rate=50_000, open_date=opened,
                  fee_open=0.001, fee_close=0.001, strategy="S", timeframe="5m", enter_tag="t", orders=[order])
    TradeRepository(database).save_trade(trade)
    database.close()
    (tmp_path / "c.json").write_text(json.dumps({"max_open_trades": 1, "stake_currency": "USDT",
                                                 "stake_amount": 10, "db_url": f"sqlite:///{db_file}"}))
    result = run("show-trades", "--config", "c.json", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert set(row) >= {"trade_id", "pair", "is_open", "amount", "stake_amount", "open_rate", "close_rate",
                        "open_date", "close_date", "fee_open", "fee_close", "profit_abs", "profit_ratio",
                        "exit_reason", "enter_tag"}
    assert (row["pair"], row["is_open"], row["enter_tag"], row["stake_amount"]) == ("BTC/USDT", True, "t", 500.0)
    table = run("show-trades", "--config", "c.json", cwd=tmp_path)
    assert "BTC/USDT" in table.stdout


def test_demo_runs_a_producer_and_a_consumer_that_follows_it(tmp_path: Path) -> None:
    port = free_port_pair()
    result = run("demo", "--duration", "12", "--speed", "120", "--dir", str(tmp_path / "demo"),
                 "--port", str(port), cwd=tmp_path, timeout=60)
    out = result.stdout
    assert result.returncode == 0, out[-3000:]
    assert f"[producer] config {tmp_path / 'demo' / 'producer.json'}" in out
    assert "[consumer]" in out and "synced" in out  # the consumer received the producer's frames
    assert out.count("API server listening") == 2
    assert "[producer]" in out and out.count("stopped;") == 2  # both shut down cleanly on the demo's SIGINT
