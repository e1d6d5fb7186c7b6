"""The trading engine against a hand-driven market, a real strategy object and a real SQLite file."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.unit.trading.fakes import HandMarket
from tradecast.config import Config
from tradecast.core.clock import FakeClock
from tradecast.core.errors import TradeRejected
from tradecast.persistence import Database, DbExecutor, TradeRepository
from tradecast.strategy import IStrategy
from tradecast.trading.broker import PaperBroker
from tradecast.trading.engine import TradingEngine
from tradecast.trading.exits import Signals

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class PlainStrategy(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    minimal_roi = {"0": 0.05, "30": 0.01}
    stoploss = -0.05
    order_types = {"entry": "market", "exit": "market", "stoploss": "market", "stoploss_on_exchange": False}

    def populate_indicators(self, dataframe, metadata):
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        return dataframe


def make_config(**extra) -> Config:
    data = {"strategy": "PlainStrategy", "stake_currency": "USDT", "stake_amount": 100, "max_open_trades": 2,
            "dry_run_wallet": 1000, "exchange": {"name": "sim", "pair_whitelist": ["BTC/USDT", "ETH/USDT"]}}
    data.update(extra)
    return Config.model_validate(data)


@pytest.fixture
async def engine(tmp_path: Path):
    built = await build_engine(tmp_path)
    yield built
    built.db.stop()
    built.repo_db.close()


async def build_engine(tmp_path: Path, config: Config | None = None, strategy_cls=PlainStrategy):
    config = config or make_config()
    clock = FakeClock(START)
    market = HandMarket(clock, {"BTC/USDT": 50_000.0, "ETH/USDT": 3_000.0, "SOL/USDT": 150.0})
    database = Database(f"sqlite:///{tmp_path / 'trades.sqlite'}")
    repo = TradeRepository(database)
    db = DbExecutor(repo)
    db.start()
    strategy = strategy_cls(config)
    engine = TradingEngine(config=config, strategy=strategy, market=market, broker=PaperBroker(market),
                           db=db, repo=repo)
    engine.whitelist = ["BTC/USDT", "ETH/USDT"]
    engine.repo_db = database
    events: list[str] = []
    engine.listeners.append(lambda kind, payload: events.append(kind))
    engine.events = events
    await engine.load()
    return engine


def reconciles(engine: TradingEngine, closed_trades) -> None:
    wallet = engine.wallet()
    expected_free = 1000 + math.fsum(t.close_profit_abs for t in closed_trades) - math.fsum(
        t.open_trade_value for t in engine.open_trades.values())
    assert wallet.free == pytest.approx(expected_free, rel=1e-12)


async def test_entry_signal_opens_a_persisted_trade_at_the_ask(engine) -> None:
    await engine.on_analyzed("BTC/USDT", Signals(enter=True, enter_tag="t1", candle_date=START - timedelta(minutes=5)))
    (trade,) = engine.open_trades.values()
    assert trade.open_rate == pytest.approx(50_000 * 1.001)
    assert trade.stake_amount == pytest.approx(100, rel=1e-9)
    assert trade.enter_tag == "t1"
    assert trade.stop_loss == pytest.approx(trade.open_rate * 0.95)
    stored = await engine.db.run(engine.repo.get_trade, trade.id)
    assert stored is not None and stored.is_open and stored.orders[0].status == "closed"
    assert engine.events == ["entry", "entry_fill"]
    assert engine.wallet().free == pytest.approx(1000 - trade.open_trade_value)


async def test_outdated_signal_is_ignored(engine) -> None:
    await engine.on_analyzed("BTC/USDT", Signals(enter=True, candle_date=START - timedelta(hours=2)))
    assert not engine.open_trades


async def test_rules_refuse_entries_with_reasons(engine) -> None:
    await engine.enter("BTC/USDT")
    with pytest.raises(TradeRejected, match="already open"):
        await engine.enter("BTC/USDT")
    engine.add_blacklist(["ETH/.*"])
    with pytest.raises(TradeRejected, match="blacklisted"):
        await engine.enter("ETH/USDT")
    engine.remove_blacklist(["ETH/.*"])
    await engine.lock_pair("ETH/USDT", START + timedelta(hours=1), reason="cooldown")
    with pytest.raises(TradeRejected, match=r"locked until .*\(cooldown\)"):
        await engine.enter("ETH/USDT")
    await engine.enter("SOL/USDT")
    assert [lock.pair for lock in await engine.unlock(pair="ETH/USDT")] == ["ETH/USDT"]
    with pytest.raises(TradeRejected, match="max_open_trades"):
        await engine.enter("ETH/USDT")
    with pytest.raises(TradeRejected, match="not traded"):
        await engine.enter("NOPE/USDT")
    engine.entries_enabled = False
    await engine.force_exit("all")
    with pytest.raises(TradeRejected, match="stopentry"):
        await engine.enter("BTC/USDT")
    assert len(engine.open_trades) == 0


async def test_stoploss_and_roi_exits_with_reasons(engine) -> None:
    btc = await engine.enter("BTC/USDT")
    eth = await engine.enter("ETH/USDT")
    engine.market.set_price("BTC/USDT", 50_000 * 0.94)  # below the 5% stop
    engine.market.clock.advance(60)
    await engine.manage()
    assert btc.exit_reason == "stop_loss" and not btc.is_open
    assert btc.close_rate == pytest.approx(50_000 * 0.94 * 0.999)
    engine.market.set_price("ETH/USDT", 3_000 * 1.02)  # 2% is not enough at first ...
    await engine.manage()
    assert eth.is_open
    engine.market.clock.advance(31 * 60)  # ... but after 30 minutes 1% is
    await engine.manage()
    assert eth.exit_reason == "roi" and not eth.is_open
    reconciles(engine, [btc, eth])
    assert [t.id for t in await engine.db.run(engine.repo.trades, is_open=False)] == [btc.id, eth.id]


async def test_trailing_stop_follows_the_high(tmp_path: Path) -> None:
    config = make_config(trailing_stop=True, minimal_roi={"0": 10})
    engine = await build_engine(tmp_path, config)
    try:
        trade = await engine.enter("BTC/USDT")
        first_stop = trade.stop_loss
        engine.market.set_price("BTC/USDT", 55_000)
        await engine.manage()
        assert trade.stop_loss > first_stop and trade.is_open
        engine.market.set_price("BTC/USDT", 52_000)  # 5% below the 55k high (bid) triggers the trailed stop
        await engine.manage()
        assert trade.exit_reason == "trailing_stop_loss"
        assert trade.close_profit > 0
    finally:
        engine.db.stop()
        engine.repo_db.close()


async def test_exit_signal_respects_use_exit_signal_and_entry_conflict(engine) -> None:
    trade = await engine.enter("BTC/USDT")
    await engine.on_analyzed("BTC/USDT", Signals(enter=True, exit=True))
    assert trade.is_open  # entry and exit on one candle cancel out
    await engine.on_analyzed("BTC/USDT", Signals(exit=True, exit_tag="rsi_high"))
    assert trade.exit_reason == "rsi_high" and not trade.is_open


async def test_partial_force_exit_keeps_the_wallet_exact(engine) -> None:
    trade = await engine.enter("BTC/USDT")
    engine.market.set_price("BTC/USDT", 51_000)
    half = trade.amount / 2
    await engine.force_exit(trade.id, amount=half)
    assert trade.is_open and trade.amount == pytest.approx(half)
    assert trade.realized_profit != 0
    wallet = engine.wallet()
    assert wallet.free == pytest.approx(1000 + trade.realized_profit - trade.open_trade_value, rel=1e-12)
    await engine.force_exit(trade.id)
    assert not trade.is_open
    assert engine.wallet().free == pytest.approx(1000 + trade.close_profit_abs, rel=1e-12)
    with pytest.raises(TradeRejected, match="no open trade"):
        await engine.force_exit(trade.id)
    with pytest.raises(TradeRejected, match="must be a number"):
        await engine.force_exit("abc")


async def test_limit_entry_waits_for_the_price_and_times_out(tmp_path: Path) -> None:
    config = make_config(unfilledtimeout={"entry": 10, "exit": 10, "unit": "minutes"})
    engine = await build_engine(tmp_path, config)
    try:
        filled = await engine.enter("BTC/USDT", order_type="limit", price=49_000)
        assert filled.has_open_orders and filled.open_rate == 49_000
        # the money is reserved while the order waits
        assert engine.wallet().free == pytest.approx(1000 - filled.open_trade_value)
        engine.market.set_price("BTC/USDT", 48_900)
        await engine.manage()
        assert not filled.has_open_orders and filled.open_rate == 49_000
        assert "entry_fill" in engine.events

        waiting = await engine.enter("ETH/USDT", order_type="limit", price=2_000)
        engine.market.clock.advance(11 * 60)
        await engine.manage()
        assert waiting.id not in engine.open_trades
        assert await engine.db.run(engine.repo.get_trade, waiting.id) is None
        assert "entry_cancel" in engine.events
        assert engine.wallet().free == pytest.approx(1000 - filled.open_trade_value)
    finally:
        engine.db.stop()
        engine.repo_db.close()


async def test_failing_callback_is_isolated(tmp_path: Path) -> None:
    class Broken(PlainStrategy):
        def confirm_trade_entry(self, pair, **kwargs):
            raise RuntimeError("boom")

        def custom_exit(self, pair, trade, **kwargs):
            raise ValueError("bad")

    engine = await build_engine(tmp_path, strategy_cls=Broken)
    try:
        trade = await engine.enter("BTC/USDT")  # confirm failed -> default True, logged
        await engine.manage()
        assert trade.is_open
    finally:
        engine.db.stop()
        engine.repo_db.close()


async def test_restart_resumes_open_trades_and_closed_profit(tmp_path: Path) -> None:
    engine = await build_engine(tmp_path)
    first = await engine.enter("BTC/USDT")
    engine.market.set_price("BTC/USDT", 52_000)
    await engine.force_exit(first.id)
    second = await engine.enter("ETH/USDT")
    free_before = engine.wallet().free
    engine.db.stop()
    engine.repo_db.close()
    again = await build_engine(tmp_path)
    try:
        assert list(again.open_trades) == [second.id]
        assert again.wallet().free == pytest.approx(free_before, rel=1e-12)
    finally:
        again.db.stop()
        again.repo_db.close()


def test_blacklist_entries_and_patterns() -> None:
    from tradecast.trading.pairs import blacklist_entry_problem, blacklisted

    assert blacklisted("BNB/USDT", ["BNB/.*"]) and not blacklisted("XBNB/USDT", ["BNB/.*"])
    assert blacklisted("ETH/USDT", ["ETH/USDT"]) and not blacklisted("ETH/BTC", ["ETH/USDT"])
    assert blacklist_entry_problem("ETH/USDT", ["ETH/USDT"]) == "ETH/USDT is already blacklisted"
    assert "valid pattern" in blacklist_entry_problem("BAD[", [])
    assert blacklist_entry_problem("", []) == "blacklist entries must be non-empty strings"
    assert blacklist_entry_problem("SOL/USDT", []) is None


async def test_a_trailed_stop_is_saved_so_a_restart_keeps_it(tmp_path: Path) -> None:
    engine = await build_engine(tmp_path, make_config(trailing_stop=True, minimal_roi={"0": 10}))
    trade = await engine.enter("BTC/USDT")
    engine.market.set_price("BTC/USDT", 55_000)
    await engine.manage()
    stored = await engine.db.run(engine.repo.get_trade, trade.id)
    assert stored.stop_loss == pytest.approx(trade.stop_loss) and stored.stop_loss > stored.initial_stop_loss
    assert stored.max_rate == pytest.approx(trade.max_rate)
    engine.db.stop()
    engine.repo_db.close()
    again = await build_engine(tmp_path, make_config(trailing_stop=True, minimal_roi={"0": 10}))
    try:
        again.market.set_price("BTC/USDT", 52_000)  # below the trailed stop, above the initial one
        await again.manage()
        assert again.open_trades == {} and (await again.db.run(again.repo.get_trade, trade.id)).exit_reason == (
            "trailing_stop_loss")
    finally:
        again.db.stop()
        again.repo_db.close()


async def test_a_priced_force_entry_is_a_limit_order_and_never_overspends(engine) -> None:
    trade = await engine.enter("ETH/USDT", forced=True, price=300.0, order_type="market")
    assert trade.orders[0].order_type == "limit" and trade.open_rate == 300.0
    assert engine.wallet().free >= 0


async def test_available_capital_bounds_the_stake(tmp_path: Path) -> None:
    config = make_config(available_capital=150, stake_amount="unlimited")
    engine = await build_engine(tmp_path, config)
    try:
        trade = await engine.enter("BTC/USDT")
        assert trade.open_trade_value <= 150 / 2 + 1e-9  # two slots share the 150 the bot may use
    finally:
        engine.db.stop()
        engine.repo_db.close()


def test_blacklist_refuses_patterns_that_could_backtrack_for_minutes() -> None:
    from tradecast.trading.pairs import blacklist_entry_problem

    for risky in ("(.*)*(.*)*Z", "A{1,99}/USDT", ".*+/USDT", "x" * 65):
        assert "only simple patterns" in blacklist_entry_problem(risky, [])
    for fine in ("BNB/.*", ".*/BTC", "SIM0[0-9]+/USDT"):
        assert blacklist_entry_problem(fine, []) is None
