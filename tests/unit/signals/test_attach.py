"""attach_signals wires the ingester into a real Bot, and ExecutionOnlyStrategy applies Redis stoplosses."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from tradecast.bot import Bot
from tradecast.config import Config
from tradecast.signals.attach import HEALTH_KEY, SignalsComponent, attach_signals, tradable_pairs
from tradecast.signals.execution import SignalExecutor
from tradecast.strategy import load_strategy
from tradecast.strategy.builtin.execution_only import ExecutionOnlyStrategy
from tradecast.trading.exits import update_stop

MINIMAL = Config.model_validate({"stake_currency": "USDT", "stake_amount": 100, "max_open_trades": 1})


def bot_config(tmp_path: Path, strategy: str = "ExecutionOnlyStrategy") -> Config:
    return Config.model_validate(
        {
            "strategy": strategy,
            "stake_currency": "USDT",
            "stake_amount": 100,
            "max_open_trades": 3,
            "db_url": f"sqlite:///{tmp_path / 'bot.sqlite'}",
            "exchange": {"name": "sim", "pair_whitelist": ["BTC/USDT", "ETH/USDT"]},
            "external_signals": {
                "enabled": True,
                "redis_url": "redis://127.0.0.1:1/0",
                "stream": "t:signals",
                "dead_letter_stream": "t:dead",
            },
        }
    )


def test_attach_registers_component_health_and_stoploss_hook(tmp_path: Path) -> None:
    bot = Bot(bot_config(tmp_path))
    try:
        ingester = attach_signals(bot)
        (component,) = bot.components
        assert isinstance(component, SignalsComponent) and component.ingester is ingester
        assert component.name == HEALTH_KEY
        assert isinstance(ingester._execute, SignalExecutor)
        assert bot.health_reporters[HEALTH_KEY]() == ingester.status()
        assert ingester.status()["degraded"] is False and ingester.status()["stream"] == "t:signals"
        ingester._stoplosses = {"BTC/USDT": -0.02}
        assert bot.strategy.custom_stoploss("BTC/USDT", None, datetime.now(UTC), 1.0, 0.0) == -0.02
        assert bot.strategy.custom_stoploss("ETH/USDT", None, datetime.now(UTC), 1.0, 0.0) is None
    finally:
        bot.database.close()


def test_attach_warns_when_the_strategy_cannot_apply_stoplosses(tmp_path: Path, caplog) -> None:
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    (strategies / "plain.py").write_text(
        "from tradecast.strategy import IStrategy\n"
        "class Plain(IStrategy):\n"
        "    def populate_indicators(self, df, md): return df\n"
        "    def populate_entry_trend(self, df, md): return df\n"
    )
    config = bot_config(tmp_path, strategy="Plain").model_copy(update={"strategy_path": str(strategies)})
    bot = Bot(config)
    try:
        attach_signals(bot)
    finally:
        bot.database.close()
    assert "does not use custom_stoploss" in caplog.text


def test_tradable_pairs_are_the_whitelist_and_the_open_trades() -> None:
    engine = SimpleNamespace(whitelist=["BTC/USDT"], open_trades={7: SimpleNamespace(pair="OLD/USDT")})
    assert tradable_pairs(engine) == {"BTC/USDT", "OLD/USDT"}


def test_execution_only_strategy_has_no_analysis_and_the_seed_settings() -> None:
    strategy = load_strategy("ExecutionOnlyStrategy", MINIMAL)
    assert isinstance(strategy, ExecutionOnlyStrategy)
    assert (strategy.timeframe, strategy.startup_candle_count, strategy.stoploss) == ("1m", 1, -0.10)
    assert strategy.minimal_roi == {} and strategy.use_custom_stoploss is True
    assert strategy.process_only_new_candles is True
    assert {strategy.order_types[k] for k in ("entry", "exit", "force_entry", "force_exit", "stoploss")} == {"market"}
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2026-01-01", periods=3, freq="1min", tz="UTC"),
            "open": [1.0] * 3,
            "high": [1.0] * 3,
            "low": [1.0] * 3,
            "close": [1.0] * 3,
            "volume": [1.0] * 3,
        }
    )
    analysed = strategy.analyze(frame, {"pair": "BTC/USDT"})
    assert not analysed.get("enter_long", pd.Series(dtype=float)).fillna(0).any()
    assert not analysed.get("exit_long", pd.Series(dtype=float)).fillna(0).any()
    # no hook set: only the safety net
    assert strategy.custom_stoploss("BTC/USDT", None, datetime.now(UTC), 1.0, 0.0) is None


@pytest.mark.parametrize(("ratio", "expected_stop"), [(None, 90.0), (-0.02, 98.0), (-0.5, 90.0)])
def test_the_custom_ratio_moves_the_stop_relative_to_the_current_rate(ratio, expected_stop) -> None:
    strategy = ExecutionOnlyStrategy(MINIMAL)
    strategy.signal_stoplosses = {"BTC/USDT": ratio}.get
    trade = SimpleNamespace(
        pair="BTC/USDT",
        open_rate=100.0,
        stop_loss=90.0,
        initial_stop_loss=90.0,
        max_rate=100.0,
        fee_open=0.0,
        fee_close=0.0,
        stop_loss_pct=-0.1,
        stoploss_last_update=None,
        adjust_high_low=lambda rate: None,
        profit_ratio=lambda rate: rate / 100.0 - 1,
    )
    update_stop(trade, 100.0, datetime.now(UTC), strategy)
    assert trade.stop_loss == pytest.approx(expected_stop)  # -0.5 is looser than the stop: never moves down


@pytest.mark.parametrize(
    ("value", "signal_id", "status", "exits"),
    [
        (None, "a", "executed", False),
        ("1", "a", "executed", True),
        ("1", "a", "duplicate", False),
        ("b", "a", "executed", False),
        ("b", "b", "executed", True),
    ],
)
def test_crash_hook_exits_only_when_asked(monkeypatch, value, signal_id, status, exits) -> None:
    from tradecast.signals import testhooks

    codes: list[int] = []
    monkeypatch.setattr(testhooks.os, "_exit", codes.append)
    if value is None:
        monkeypatch.delenv(testhooks.CRASH_ENV, raising=False)
    else:
        monkeypatch.setenv(testhooks.CRASH_ENV, value)
    testhooks.crash_after_commit(signal_id, status)
    assert codes == ([137] if exits else [])
