"""Stake sizing; the expected values are computed by hand in the comments."""

from __future__ import annotations

import pytest

from tradecast.trading.rules import StakeDecision, available_stake, stake_for_entry


def test_available_stake() -> None:
    # total 1000 + 50 = 1050, tradable 1050 * 0.99 = 1039.5, minus 300 used = 739.5
    assert available_stake(1000, 50, [100, 200], 0.99) == pytest.approx(739.5)
    # available_capital replaces the ratio: 500 + 50 - 300 = 250
    assert available_stake(1000, 50, [100, 200], 0.99, available_capital=500) == pytest.approx(250)
    assert available_stake(100, 0, [200], 1.0) == 0.0


def test_unlimited_splits_the_tradable_total_over_max_open_trades() -> None:
    # tradable 1000 * 0.99 = 990, / 4 slots = 247.5
    d = stake_for_entry("unlimited", 1000, 0, 4, 0.0, tradable_balance_ratio=0.99, total_quote=1000)
    assert d.stake == pytest.approx(247.5)
    # with one trade open using 247.5: available min(752.5, 990 - 247.5) = 742.5, share still 247.5
    d = stake_for_entry("unlimited", 752.5, 1, 4, 0.0, tradable_balance_ratio=0.99, total_quote=1000)
    assert d.stake == pytest.approx(247.5)
    # the fee is inside the share: stake * 1.001 == 247.5 (never above)
    d = stake_for_entry("unlimited", 1000, 0, 4, 0.001, tradable_balance_ratio=0.99, total_quote=1000)
    assert d.stake * 1.001 <= 247.5
    assert d.stake == pytest.approx(247.5 / 1.001, rel=1e-15)


def test_unlimited_last_slot_gets_what_is_left() -> None:
    # total 1000, used 900: available min(100, 990 - 900) = 90 < share 247.5
    d = stake_for_entry("unlimited", 100, 3, 4, 0.0, tradable_balance_ratio=0.99, total_quote=1000)
    assert d.stake == pytest.approx(90)
    assert "capped" in d.reason


def test_unlimited_needs_a_finite_max_open_trades() -> None:
    d = stake_for_entry("unlimited", 1000, 0, -1, 0.0)
    assert d == StakeDecision(None, "stake_amount 'unlimited' needs a positive max_open_trades")


def test_fixed_stake() -> None:
    d = stake_for_entry(100, 1000, 0, 3, 0.001, total_quote=1000)
    assert d.stake == 100 and d.ok
    # no limit on trades with -1
    assert stake_for_entry(100.0, 1000, 50, -1, 0.001).stake == 100


def test_fixed_stake_reduced_when_the_wallet_is_short() -> None:
    # 100 * 1.001 = 100.1 > 50: reduced to 50 / 1.001 = 49.95...
    d = stake_for_entry(100, 50, 0, 3, 0.001, total_quote=50)
    assert d.stake == pytest.approx(49.95004995, rel=1e-9)
    assert d.stake * 1.001 <= 50
    assert "reduced" in d.reason
    # 100.1 exactly fits: not reduced
    assert stake_for_entry(100, 100.1, 0, 3, 0.001, total_quote=100.1).stake == 100


def test_tradable_ratio_limits_a_fixed_stake() -> None:
    # total 1000, ratio 0.5, used 450: available min(550, 500 - 450) = 50
    d = stake_for_entry(100, 550, 1, 3, 0.0, tradable_balance_ratio=0.5, total_quote=1000)
    assert d.stake == pytest.approx(50)


def test_min_cost_and_max_open_trades() -> None:
    d = stake_for_entry(100, 1000, 0, 3, 0.0, min_cost=150)
    assert d.stake is None and "minimum" in d.reason
    d = stake_for_entry(100, 1000, 3, 3, 0.0)
    assert d == StakeDecision(None, "max_open_trades (3) reached")
    d = stake_for_entry(100, 0, 0, 3, 0.0)
    assert d.stake is None and "no balance" in d.reason
    assert stake_for_entry(-5, 1000, 0, 3, 0.0).stake is None
