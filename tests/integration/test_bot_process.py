"""A real bot process on the sim market at high speed: trades, prices, wallet, clean stop and crash restart."""

from __future__ import annotations

import math
import re
import signal
import time
from pathlib import Path

import pytest

from tests.integration.helpers import BotProcess, write_bot_config
from tradecast.core.errors import PersistenceError
from tradecast.market.sim import SimMarket
from tradecast.persistence import Database, TradeRepository

pytestmark = pytest.mark.integration


def _trades(db_file: Path):
    database = Database(f"sqlite:///{db_file}", read_only=True)
    try:
        return TradeRepository(database).trades()
    finally:
        database.close()


def _wait_for_trades(db_file: Path, proc: BotProcess, *, closed: int = 0, open_: int = 0, timeout: float = 60):
    deadline = time.monotonic() + timeout
    trades = []
    while time.monotonic() < deadline:
        if db_file.exists():
            try:
                trades = _trades(db_file)
            except PersistenceError:  # the bot is still creating its tables
                time.sleep(0.2)
                continue
            if (sum(not t.is_open for t in trades) >= closed and sum(t.is_open for t in trades) >= open_):
                return trades
        if proc.proc.poll() is not None:
            raise AssertionError(f"bot exited early:\n{proc.output()[-3000:]}")
        time.sleep(0.3)
    raise AssertionError(f"not enough trades after {timeout}s ({len(trades)}):\n{proc.output()[-3000:]}")


def _quote(market: SimMarket, pair: str, when) -> tuple[float, float]:
    """The sim's bid and ask at ``when``: a pure function of (seed, pair, time)."""
    price = market.price_at(pair, when)
    half = market.pair_params(pair).spread / 2
    return price * (1 - half), price * (1 + half)


def test_bot_trades_at_sim_prices_and_wallet_reconciles(bot_dir: Path) -> None:
    config = write_bot_config(bot_dir)
    proc = BotProcess(config, bot_dir / "bot.log")
    try:
        trades = _wait_for_trades(bot_dir / "bot.sqlite", proc, closed=3)
    finally:
        code = proc.stop(signal.SIGINT)
    out = proc.output()
    assert code == 0, out[-3000:]
    assert "ENTER" in out and "EXIT" in out
    # every exit log line names the rule that caused it
    reasons = set(re.findall(r"EXIT  #\d+ \S+ \(([a-z_]+)", out))
    assert reasons <= {"roi", "stop_loss", "trailing_stop_loss", "two_down", "exit_signal"}, reasons

    trades = _trades(bot_dir / "bot.sqlite")
    market = SimMarket(seed=7, speed=600)
    for trade in trades:
        # market orders fill at the sim's ask (entry) and bid (exit) at the fill time, exactly
        _, ask = _quote(market, trade.pair, trade.open_date)
        assert trade.open_rate == pytest.approx(ask, rel=1e-9), trade
        assert trade.stake_amount == pytest.approx(trade.amount * trade.open_rate)
        if not trade.is_open:
            bid, _ = _quote(market, trade.pair, trade.close_date)
            assert trade.close_rate == pytest.approx(bid, rel=1e-9), trade
            expected = (trade.amount * trade.close_rate * (1 - trade.fee_close)
                        - trade.amount * trade.open_rate * (1 + trade.fee_open))
            assert trade.close_profit_abs == pytest.approx(expected, rel=1e-12, abs=1e-12)

    # the wallet the bot reported when it stopped equals what the trades say
    match = re.search(r"wallet free=(\S+) total=(\S+)", out)
    assert match, out[-2000:]
    free, total = float(match.group(1)), float(match.group(2))
    closed_profit = math.fsum(t.close_profit_abs for t in trades if not t.is_open)
    used = math.fsum(t.open_trade_value for t in trades if t.is_open)
    assert free == pytest.approx(1000 + closed_profit - used, rel=1e-12, abs=1e-9)
    assert total == pytest.approx(1000 + closed_profit, rel=1e-12, abs=1e-9)


def test_open_trades_survive_sigkill_and_resume(bot_dir: Path) -> None:
    extra = {"minimal_roi": {"0": 10}, "stoploss": -0.99, "use_exit_signal": False}
    config = write_bot_config(bot_dir, extra=extra)
    db_file = bot_dir / "bot.sqlite"
    first = BotProcess(config, bot_dir / "first.log")
    try:
        before = _wait_for_trades(db_file, first, open_=2)
    finally:
        first.stop(signal.SIGKILL)
    open_before = {t.id: t.pair for t in _trades(db_file) if t.is_open}
    assert len(open_before) >= len([t for t in before if t.is_open]) >= 2

    second = BotProcess(config, bot_dir / "second.log")
    try:
        out = second.wait_for("resumed", timeout=30)
        assert f"resumed {len(open_before)} open trade(s)" in out
        time.sleep(2.0)  # let it run a few candles with the resumed trades
    finally:
        assert second.stop(signal.SIGTERM) == 0
    after = _trades(db_file)
    still_open = {t.id: t.pair for t in after if t.is_open}
    assert set(open_before.items()) <= set(still_open.items())
    # never two open trades on one pair (no duplicate entry after the restart)
    pairs = [t.pair for t in after if t.is_open]
    assert len(pairs) == len(set(pairs))
