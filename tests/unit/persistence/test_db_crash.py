"""Crash safety: a writer SIGKILLed at a random moment loses only the save that had not returned yet."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tradecast.persistence import Database, TradeRepository

# Each save stamps a new version on the trade row (max_rate) and on every one of its orders (filled), adds an
# order to the previous trade and records the order count in custom data: a half-written transaction shows up
# as orders whose version differs from their trade's, or as a count that does not match.
WRITER = textwrap.dedent(
    """
    import itertools, sys
    from datetime import UTC, datetime
    from tradecast.model import Order, Trade
    from tradecast.persistence import Database, TradeRepository

    repo = TradeRepository(Database(sys.argv[1]))
    now = datetime(2024, 1, 1, tzinfo=UTC)
    version = itertools.count(1)
    previous = None

    def stamp_and_save(trade):
        trade.max_rate = float(next(version))
        for order in trade.orders:
            order.filled = trade.max_rate
        trade.custom_data["orders"] = len(trade.orders)
        repo.save_trade(trade)

    while True:
        trade = Trade(pair="BTC/USDT", stake_currency="USDT", amount=1.0, open_rate=100.0, open_date=now,
                      fee_open=0.001, fee_close=0.001, strategy="S", timeframe="1m")
        trade.orders = [Order(pair="BTC/USDT", order_id="o", side="buy", order_type="market", amount=1.0,
                              price=100.0) for _ in range(20)]
        stamp_and_save(trade)
        print(trade.id, flush=True)
        if previous is not None:
            previous.orders.append(Order(pair="BTC/USDT", order_id="x", side="sell", order_type="market",
                                         amount=1.0, price=101.0, ft_is_entry=False))
            stamp_and_save(previous)
        previous = trade
    """
)


def _run_and_kill(url: str, saves: int, delay_s: float) -> list[int]:
    """Start the writer, let it save ``saves`` trades, kill it ``delay_s`` later; return every printed id."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 10
    try:
        while len(lines) < saves and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        # a random pause, so the kill does not always land right after a print (between two saves)
        time.sleep(delay_s)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=5)
    assert proc.returncode == -signal.SIGKILL, err
    assert len(lines) == saves, f"writer too slow or failed: {err}"
    # ids printed before the kill: the lines already read plus the complete lines still in the pipe
    return [int(line) for line in lines + out.split("\n")[:-1]]


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_sigkill_loses_nothing_that_was_saved(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/crash.sqlite"
    rng = random.Random(7)
    saved: list[int] = []
    for _ in range(2):  # two crashes into the same file, each reopened by the next writer
        before = len(saved)
        saved += _run_and_kill(url, 30, rng.uniform(0.001, 0.03))
        assert len(saved) >= before

        db = Database(url)
        try:
            stored = {trade.id: trade for trade in TradeRepository(db).trades()}
        finally:
            db.close()
        assert set(saved) <= set(stored), "a save that returned is missing after the crash"
        for trade in stored.values():
            assert len(trade.orders) == trade.custom_data.get("orders"), f"trade {trade.id} is half-written"
            assert all(order.trade_id == trade.id for order in trade.orders)
            assert {order.filled for order in trade.orders} == {trade.max_rate}, f"trade {trade.id} is torn"
