"""SignalExecutor on the real trading engine, a hand-driven market and a real SQLite file (no Redis)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.unit.trading.fakes import HandMarket
from tradecast.config import Config
from tradecast.core.clock import FakeClock
from tradecast.core.errors import TransientError
from tradecast.persistence import Database, DbExecutor, TradeRepository
from tradecast.signals import Signal
from tradecast.signals.execution import EXIT_REASON, SignalExecutor
from tradecast.strategy.builtin.execution_only import ExecutionOnlyStrategy
from tradecast.trading.broker import PaperBroker
from tradecast.trading.engine import TradingEngine

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WALL = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


class Harness:
    """A real engine and repository; ``run`` is the executor under test."""

    def __init__(self, tmp_path: Path, **config: object) -> None:
        data = {
            "strategy": "ExecutionOnlyStrategy",
            "stake_currency": "USDT",
            "stake_amount": 100,
            "max_open_trades": 2,
            "dry_run_wallet": 1000,
            "exchange": {"name": "sim", "pair_whitelist": ["BTC/USDT", "ETH/USDT", "SOL/USDT"]},
        }
        data.update(config)
        self.config = Config.model_validate(data)
        self.market = HandMarket(FakeClock(START), {"BTC/USDT": 50_000.0, "ETH/USDT": 3_000.0, "SOL/USDT": 150.0})
        self.database = Database(f"sqlite:///{tmp_path / 'trades.sqlite'}")
        self.repo = TradeRepository(self.database)
        self.db = DbExecutor(self.repo)
        self.db.start()
        self.engine = TradingEngine(
            config=self.config,
            strategy=ExecutionOnlyStrategy(self.config),
            market=self.market,
            broker=PaperBroker(self.market),
            db=self.db,
            repo=self.repo,
        )
        self.engine.whitelist = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
        self.running = True
        self.run = SignalExecutor(
            self.engine, self.db, self.repo, clock=FakeClock(WALL), is_running=lambda: self.running
        )

    def close(self) -> None:
        self.db.stop()
        self.database.close()


@pytest.fixture
async def harness(tmp_path: Path):
    built = Harness(tmp_path)
    await built.engine.load()
    yield built
    built.close()


def signal(action: str, pair: str = "BTC/USDT", id: str = "s1", **extra: object) -> Signal:
    return Signal(action=action, pair=pair, signal_type="anomaly", confidence=0.9, timestamp=WALL, id=id, **extra)


async def test_buy_enters_at_market_and_records_the_signal_with_the_trade(harness) -> None:
    outcome = await harness.run(signal("buy", stake_amount=50.0))
    assert outcome.status == "executed" and outcome.trade_id is not None
    trade = harness.repo.get_trade(outcome.trade_id)
    assert trade.is_open and trade.enter_tag == "signal_anomaly"
    assert trade.orders[0].order_type == "market" and trade.orders[0].status == "closed"
    assert trade.stake_amount == pytest.approx(50.0, rel=1e-9)
    record = harness.repo.get_signal("s1")
    assert (record.outcome, record.trade_id, record.action, record.pair) == ("executed", trade.id, "buy", "BTC/USDT")
    assert record.received_at.replace(tzinfo=UTC) == WALL
    assert record.payload["stake_amount"] == 50.0 and record.payload["signal_type"] == "anomaly"


async def test_sell_exits_the_open_trade_and_links_the_record(harness) -> None:
    opened = await harness.run(signal("buy", id="b1"))
    harness.market.set_price("BTC/USDT", 51_000.0)
    closed = await harness.run(signal("sell", id="s1"))
    assert closed == type(closed)("executed", None, opened.trade_id)
    trade = harness.repo.get_trade(opened.trade_id)
    assert not trade.is_open and trade.exit_reason == EXIT_REASON
    assert trade.close_rate == pytest.approx(51_000 * 0.999)
    assert harness.repo.get_signal("s1").trade_id == trade.id
    assert harness.engine.open_trades == {}


async def test_a_recorded_id_is_a_duplicate_and_trades_nothing(harness) -> None:
    first = await harness.run(signal("buy", id="same"))
    again = await harness.run(signal("buy", pair="ETH/USDT", id="same"))
    assert again.status == "duplicate" and again.trade_id == first.trade_id
    assert harness.repo.count_trades() == 1 and len(harness.engine.open_trades) == 1


async def test_hold_is_recorded_as_ignored_without_a_trade(harness) -> None:
    outcome = await harness.run(signal("hold", id="h1"))
    assert (outcome.status, outcome.reason) == ("ignored", "hold")
    record = harness.repo.get_signal("h1")
    assert (record.outcome, record.reason, record.trade_id) == ("ignored", "hold", None)
    assert harness.repo.count_trades() == 0
    assert (await harness.run(signal("hold", id="h1"))).status == "duplicate"


@pytest.mark.parametrize(
    ("prepare", "action", "expected"),
    [
        ("nothing", "sell", "no open trade for BTC/USDT to sell"),
        ("open BTC", "buy", "a trade for BTC/USDT is already open"),
        ("fill slots", "buy", "max_open_trades (2) reached"),
        ("stopentry", "buy", "entries are stopped"),
        ("stopped", "buy", "the trader is stopped"),
        ("stopped", "sell", "the trader is stopped"),
    ],
)
async def test_engine_refusals_are_recorded_as_rejected_with_the_reason(harness, prepare, action, expected) -> None:
    if prepare == "open BTC" or (prepare == "stopped" and action == "sell"):
        await harness.run(signal("buy", id="pre-btc"))
    if prepare == "fill slots":
        await harness.run(signal("buy", pair="ETH/USDT", id="pre-eth"))
        await harness.run(signal("buy", pair="SOL/USDT", id="pre-sol"))
    harness.engine.entries_enabled = prepare != "stopentry"
    harness.running = prepare != "stopped"
    trades_before = harness.repo.count_trades(is_open=True)
    outcome = await harness.run(signal(action, id="x"))
    assert outcome.status == "rejected" and expected in outcome.reason
    record = harness.repo.get_signal("x")
    assert record.outcome == "rejected" and expected in record.reason and record.trade_id is None
    assert harness.repo.count_trades(is_open=True) == trades_before
    assert (await harness.run(signal(action, id="x"))).status == "duplicate"


async def test_a_market_failure_propagates_and_records_nothing(harness) -> None:
    async def broken(pair):
        raise TransientError("exchange timeout")

    harness.market.fetch_ticker = broken
    with pytest.raises(TransientError):
        await harness.run(signal("buy", id="t1"))
    assert harness.repo.get_signal("t1") is None and harness.repo.count_trades() == 0


async def test_a_hold_reusing_an_executed_id_is_a_duplicate_naming_the_trade(harness) -> None:
    bought = await harness.run(signal("buy", id="b1"))
    again = await harness.run(signal("hold", id="b1"))
    assert (again.status, again.trade_id) == ("duplicate", bought.trade_id)
    assert harness.repo.get_signal("b1").outcome == "executed"
