"""The profit maths behind /profit, /daily, /stats... as pure functions of hand-made trades."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from tradecast.api.stats import (
    exit_stats,
    expectancy,
    humanize_since,
    max_drawdown,
    performance,
    period_profit,
    profit_summary,
    tag_performance,
)
from tradecast.model import Trade

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday


def closed(trade_id: int, profit: float, *, pair: str = "BTC/USDT", opened: datetime = T0, hours: float = 1,
           reason: str = "roi", tag: str | None = None) -> Trade:
    trade = Trade(pair=pair, stake_currency="USDT", amount=1.0, open_rate=100.0, open_date=opened, fee_open=0.0,
                  fee_close=0.0, strategy="S", timeframe="5m", enter_tag=tag, id=trade_id)
    trade.close(100.0 + profit, opened + timedelta(hours=hours), reason)
    return trade


def test_max_drawdown_follows_the_closed_balance() -> None:
    trades = [closed(1, 10, hours=1), closed(2, -30, hours=2), closed(3, 5, hours=3), closed(4, 40, hours=4)]
    dd = max_drawdown(trades, 100.0)
    assert dd.abs == pytest.approx(30)
    assert dd.ratio == pytest.approx(30 / 110)
    assert dd.start == trades[0].close_date and dd.end == trades[1].close_date
    assert max_drawdown([closed(1, 5)], 100.0).abs == 0


def test_expectancy_and_ratio() -> None:
    trades = [closed(1, 10), closed(2, 20), closed(3, -5)]
    value, ratio = expectancy(trades)
    assert value == pytest.approx((2 / 3) * 15 - (1 / 3) * 5)
    assert ratio == pytest.approx((1 + 15 / 5) * (2 / 3) - 1)
    assert expectancy([]) == (0.0, 0.0) and expectancy([closed(1, 3)])[1] == 0.0


def test_profit_summary_counts_open_trades_only_in_profit_all() -> None:
    done = [closed(1, 10, pair="ETH/USDT", tag="a"), closed(2, -4, opened=T0 + timedelta(hours=5), hours=2)]
    still_open = Trade(pair="SOL/USDT", stake_currency="USDT", amount=2.0, open_rate=50.0,
                       open_date=T0 + timedelta(hours=8), fee_open=0.0, fee_close=0.0, strategy="S",
                       timeframe="5m", id=3)
    now = T0 + timedelta(hours=10)
    summary = profit_summary([*done, still_open], open_rates={3: 55.0}, starting_balance=1000.0, now=now)
    assert summary["profit_closed_coin"] == pytest.approx(6)
    assert summary["profit_all_coin"] == pytest.approx(16)
    assert summary["profit_closed_ratio_sum"] == pytest.approx(0.10 - 0.04)
    assert summary["profit_closed_percent_mean"] == 3.0
    assert summary["profit_all_ratio_mean"] == pytest.approx((0.10 - 0.04 + 0.10) / 3)
    assert summary["profit_closed_ratio"] == pytest.approx(0.006)
    assert summary["trade_count"] == 3 and summary["closed_trade_count"] == 2
    assert summary["winning_trades"] == 1 and summary["losing_trades"] == 1
    assert summary["profit_factor"] == pytest.approx(10 / 4) and summary["winrate"] == 0.5
    assert summary["best_pair"] == "ETH/USDT" and summary["best_rate"] == 10.0
    assert summary["avg_duration"] == "1:30:00"
    assert summary["first_trade_date"] == "2026-03-04 10:00:00"
    assert summary["latest_trade_date"] == "2026-03-04 18:00:00"
    assert summary["latest_trade_humanized"] == "2 hours ago"
    assert summary["max_drawdown_abs"] == pytest.approx(4)
    assert summary["trading_volume"] == 0  # these hand-made trades have no orders
    empty = profit_summary([], open_rates={}, starting_balance=1000.0, now=now)
    assert empty["profit_all_coin"] == 0 and empty["first_trade_date"] == "" and empty["best_pair"] == ""
    assert empty["bot_start_date"] == "" and empty["bot_start_timestamp"] == 0
    assert math.isinf(profit_summary([closed(1, 1)], open_rates={}, starting_balance=1.0, now=now)["profit_factor"])


def test_performance_and_tags() -> None:
    trades = [closed(1, 10, tag="x", reason="roi"), closed(2, -2, tag="x", reason="stop_loss"),
              closed(3, 1, pair="ETH/USDT", reason="roi")]
    perf = performance(trades)
    assert [row["pair"] for row in perf] == ["BTC/USDT", "ETH/USDT"]
    assert perf[0]["profit_abs"] == pytest.approx(8) and perf[0]["count"] == 2
    assert perf[0]["profit_ratio"] == pytest.approx(0.08) and perf[0]["profit"] == 8.0
    tags = {row["enter_tag"]: row for row in tag_performance(trades, "enter_tag")}
    assert tags["x"]["count"] == 2 and tags["Other"]["count"] == 1
    mixes = {row["mix_tag"] for row in tag_performance(trades, "mix_tag", pair="BTC/USDT")}
    assert mixes == {"x roi", "x stop_loss"}


def test_period_profit_units_and_starting_balances() -> None:
    trades = [closed(1, 10, opened=T0), closed(2, -5, opened=T0 - timedelta(days=1)),
              closed(3, 20, opened=T0 - timedelta(days=7)), closed(4, 7, opened=T0 - timedelta(days=40))]
    now = T0 + timedelta(hours=5)
    days = period_profit(trades, unit="days", timescale=3, now=now, current_balance=1032.0)
    assert [d["date"] for d in days] == ["2026-03-04", "2026-03-03", "2026-03-02"]
    assert [d["abs_profit"] for d in days] == [10, -5, 0]
    assert days[0]["starting_balance"] == 1022 and days[1]["starting_balance"] == 1027
    assert days[0]["rel_profit"] == pytest.approx(10 / 1022)
    weeks = period_profit(trades, unit="weeks", timescale=2, now=now, current_balance=1032.0)
    assert [w["date"] for w in weeks] == ["2026-03-02", "2026-02-23"]
    assert weeks[0]["trade_count"] == 2 and weeks[1]["abs_profit"] == 20
    months = period_profit(trades, unit="months", timescale=3, now=now, current_balance=1032.0)
    assert [m["date"] for m in months] == ["2026-03-01", "2026-02-01", "2026-01-01"]
    assert [m["trade_count"] for m in months] == [2, 1, 1]


def test_exit_stats_and_humanize() -> None:
    stats = exit_stats([closed(1, 10, hours=2), closed(2, 0, reason="exit_signal"), closed(3, -1, hours=4)])
    assert stats["exit_reasons"] == {"roi": {"wins": 1, "losses": 1, "draws": 0},
                                     "exit_signal": {"wins": 0, "losses": 0, "draws": 1}}
    assert stats["durations"] == {"wins": 7200, "draws": 3600, "losses": 14400}
    assert humanize_since(None, T0) == "" and humanize_since(T0, T0) == "just now"
    assert humanize_since(T0 - timedelta(days=1, hours=3), T0) == "1 day ago"
