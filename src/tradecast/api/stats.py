"""Profit maths of the REST API as pure functions of trades (no I/O, no clock reads).

* :func:`profit_summary` -> ``/profit`` (freqtrade's ``Profit`` fields);
* :func:`performance` -> ``/performance``; :func:`tag_performance` -> ``/entries``, ``/exits``, ``/mix_tags``;
* :func:`period_profit` -> ``/daily``, ``/weekly``, ``/monthly``;
* :func:`exit_stats` -> ``/stats``; :func:`max_drawdown` and :func:`expectancy` are used by the summary.

Closed trades carry ``close_profit_abs`` (quote currency, fees included) and ``close_profit`` (ratio).
Open trades count in the ``profit_all_*`` fields at the rate the caller passes in ``open_rates``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from tradecast.api.serializers import fmt_date, pct, ts_ms
from tradecast.model import Trade

__all__ = [
    "Drawdown",
    "exit_stats",
    "expectancy",
    "humanize_since",
    "max_drawdown",
    "performance",
    "period_profit",
    "profit_summary",
    "tag_performance",
]

Period = Literal["days", "weeks", "months"]


def _closed(trades: Iterable[Trade]) -> list[Trade]:
    return [t for t in trades if not t.is_open and t.close_date is not None]


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else 0.0


@dataclass(frozen=True, slots=True)
class Drawdown:
    """Largest fall of the closed-trade balance from a previous high."""

    abs: float = 0.0
    ratio: float = 0.0
    start: datetime | None = None  # when the high was reached
    end: datetime | None = None  # when the low was reached


def max_drawdown(closed: Sequence[Trade], starting_balance: float) -> Drawdown:
    """Walk the balance after each closed trade (by close date); ratio = fall / balance at the high."""
    ordered = sorted(_closed(closed), key=lambda t: (t.close_date, t.id or 0))
    balance = peak = starting_balance
    peak_at: datetime | None = ordered[0].open_date if ordered else None
    best = Drawdown()
    for trade in ordered:
        balance += trade.close_profit_abs or 0.0
        if balance > peak:
            peak, peak_at = balance, trade.close_date
            continue
        fall = peak - balance
        if fall > best.abs:
            best = Drawdown(fall, fall / peak if peak > 0 else 0.0, peak_at, trade.close_date)
    return best


def expectancy(closed: Sequence[Trade]) -> tuple[float, float]:
    """``(expectancy, expectancy_ratio)``: mean profit per trade, and the risk-reward-weighted ratio
    ``(1 + avg_win / avg_loss) * winrate - 1`` (0 when there is no loss to weigh against)."""
    profits = [t.close_profit_abs or 0.0 for t in _closed(closed)]
    if not profits:
        return 0.0, 0.0
    wins = [p for p in profits if p > 0]
    losses = [-p for p in profits if p < 0]
    avg_win, avg_loss = _mean(wins), _mean(losses)
    winrate, lossrate = len(wins) / len(profits), len(losses) / len(profits)
    value = winrate * avg_win - lossrate * avg_loss
    ratio = (1 + avg_win / avg_loss) * winrate - 1 if avg_loss > 0 else 0.0
    return value, ratio


def humanize_since(when: datetime | None, now: datetime) -> str:
    """``"3 hours ago"`` style text (freqtrade's ``*_humanized``); ``""`` for None."""
    if when is None:
        return ""
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def _duration_text(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


def _trading_volume(trades: Iterable[Trade]) -> float:
    return math.fsum(o.cost for t in trades for o in t.orders if o.filled > 0)


def _open_profit(trade: Trade, rate: float | None) -> tuple[float, float]:
    if rate is None or not math.isfinite(rate):
        return trade.realized_profit, 0.0
    return trade.profit_abs(rate), trade.profit_ratio(rate)


def profit_summary(
    trades: Sequence[Trade],
    *,
    open_rates: Mapping[int, float | None],
    starting_balance: float,
    now: datetime,
    bot_start: datetime | None = None,
) -> dict[str, Any]:
    """freqtrade's ``Profit`` response for ``trades`` (open and closed); an empty list gives zeros and ""."""
    closed = _closed(trades)
    opened = [t for t in trades if t.is_open]
    closed_abs = [t.close_profit_abs or 0.0 for t in closed]
    closed_ratio = [t.close_profit or 0.0 for t in closed]
    open_values = [_open_profit(t, open_rates.get(t.id or -1)) for t in opened]
    all_abs = closed_abs + [v[0] for v in open_values]
    all_ratio = closed_ratio + [v[1] for v in open_values]

    def block(prefix: str, absolute: list[float], ratios: list[float]) -> dict[str, Any]:
        coin = math.fsum(absolute)
        ratio = coin / starting_balance if starting_balance > 0 else 0.0
        return {
            f"{prefix}_coin": coin,
            f"{prefix}_percent_mean": pct(_mean(ratios)),
            f"{prefix}_ratio_mean": _mean(ratios),
            f"{prefix}_percent_sum": pct(math.fsum(ratios)),
            f"{prefix}_ratio_sum": math.fsum(ratios),
            f"{prefix}_percent": pct(ratio),
            f"{prefix}_ratio": ratio,
            f"{prefix}_fiat": 0.0,
        }

    ordered = sorted(trades, key=lambda t: (t.open_date, t.id or 0))
    first = ordered[0].open_date if ordered else None
    latest = ordered[-1].open_date if ordered else None
    wins = [p for p in closed_abs if p > 0]
    losses = [p for p in closed_abs if p < 0]
    loss_sum = abs(math.fsum(losses))
    profit_factor = math.fsum(wins) / loss_sum if loss_sum > 0 else (math.inf if wins else 0.0)
    durations = [(t.close_date - t.open_date).total_seconds() for t in closed]  # type: ignore[operator]
    best = performance(closed)[:1]
    drawdown = max_drawdown(closed, starting_balance)
    exp_value, exp_ratio = expectancy(closed)
    return {
        **block("profit_closed", closed_abs, closed_ratio),
        **block("profit_all", all_abs, all_ratio),
        "trade_count": len(trades),
        "closed_trade_count": len(closed),
        "first_trade_date": fmt_date(first) or "",
        "first_trade_humanized": humanize_since(first, now),
        "first_trade_timestamp": ts_ms(first) or 0,
        "latest_trade_date": fmt_date(latest) or "",
        "latest_trade_humanized": humanize_since(latest, now),
        "latest_trade_timestamp": ts_ms(latest) or 0,
        "avg_duration": _duration_text(_mean(durations)) if durations else "0:00:00",
        "best_pair": best[0]["pair"] if best else "",
        "best_rate": best[0]["profit_pct"] if best else 0.0,
        "best_pair_profit_ratio": best[0]["profit_ratio"] if best else 0.0,
        "winning_trades": len(wins),
        "losing_trades": len(losses),
        "profit_factor": profit_factor,
        "winrate": len(wins) / len(closed) if closed else 0.0,
        "expectancy": exp_value,
        "expectancy_ratio": exp_ratio,
        "max_drawdown": drawdown.ratio,
        "max_drawdown_abs": drawdown.abs,
        "max_drawdown_start": fmt_date(drawdown.start) or "",
        "max_drawdown_start_timestamp": ts_ms(drawdown.start) or 0,
        "max_drawdown_end": fmt_date(drawdown.end) or "",
        "max_drawdown_end_timestamp": ts_ms(drawdown.end) or 0,
        "trading_volume": _trading_volume(trades),
        "bot_start_timestamp": ts_ms(bot_start) or 0,
        "bot_start_date": fmt_date(bot_start) or "",
    }


def _grouped(closed: Iterable[Trade], key: Callable[[Trade], str], name: str) -> list[dict[str, Any]]:
    groups: dict[str, list[Trade]] = defaultdict(list)
    for trade in closed:
        groups[key(trade)].append(trade)
    rows = []
    for value, members in groups.items():
        ratio = math.fsum(t.close_profit or 0.0 for t in members)
        rows.append({
            name: value,
            "profit_ratio": ratio,
            "profit_pct": pct(ratio),
            "profit_abs": math.fsum(t.close_profit_abs or 0.0 for t in members),
            "count": len(members),
        })
    rows.sort(key=lambda row: row["profit_abs"], reverse=True)
    return rows


def performance(trades: Iterable[Trade]) -> list[dict[str, Any]]:
    """Closed-trade profit per pair, best first: ``pair, profit, profit_ratio, profit_pct, profit_abs, count``."""
    rows = _grouped(_closed(trades), lambda t: t.pair, "pair")
    for row in rows:
        row["profit"] = row["profit_pct"]
    return rows


def tag_performance(trades: Iterable[Trade], kind: Literal["enter_tag", "exit_reason", "mix_tag"],
                    pair: str | None = None) -> list[dict[str, Any]]:
    """Closed-trade profit per entry tag, exit reason, or ``"<enter_tag> <exit_reason>"`` (``"Other"`` when
    unset), optionally for one pair."""
    closed = [t for t in _closed(trades) if pair is None or t.pair == pair]
    if kind == "enter_tag":
        key: Callable[[Trade], str] = lambda t: t.enter_tag or "Other"  # noqa: E731
    elif kind == "exit_reason":
        key = lambda t: t.exit_reason or "Other"  # noqa: E731
    else:
        key = lambda t: f"{t.enter_tag or 'Other'} {t.exit_reason or 'Other'}"  # noqa: E731
    return _grouped(closed, key, kind)


def _period_start(day: date, unit: Period) -> date:
    if unit == "weeks":
        return day - timedelta(days=day.weekday())
    if unit == "months":
        return day.replace(day=1)
    return day


def _step_back(start: date, unit: Period) -> date:
    if unit == "days":
        return start - timedelta(days=1)
    if unit == "weeks":
        return start - timedelta(weeks=1)
    previous = start - timedelta(days=1)
    return previous.replace(day=1)


def period_profit(
    trades: Iterable[Trade], *, unit: Period, timescale: int, now: datetime, current_balance: float
) -> list[dict[str, Any]]:
    """Profit of closed trades per day/week/month, newest period first, ``timescale`` periods.

    ``starting_balance`` of a period is ``current_balance`` minus the profit of that period and every
    later one, so ``rel_profit = abs_profit / starting_balance`` is the period's return.
    """
    by_period: dict[date, list[Trade]] = defaultdict(list)
    for trade in _closed(trades):
        closed_day = trade.close_date.astimezone(UTC).date()  # type: ignore[union-attr]
        by_period[_period_start(closed_day, unit)].append(trade)
    start = _period_start(now.astimezone(UTC).date(), unit)
    balance = current_balance
    rows = []
    for _ in range(timescale):
        members = by_period.get(start, [])
        profit = math.fsum(t.close_profit_abs or 0.0 for t in members)
        balance -= profit
        rows.append({
            "date": start.isoformat(),
            "abs_profit": profit,
            "rel_profit": round(profit / balance, 8) if balance > 0 else 0.0,
            "starting_balance": balance,
            "fiat_value": 0.0,
            "trade_count": len(members),
        })
        start = _step_back(start, unit)
    return rows


def exit_stats(trades: Iterable[Trade]) -> dict[str, Any]:
    """``/stats``: wins/losses/draws per exit reason and mean durations (seconds, None when no trade)."""
    reasons: dict[str, dict[str, int]] = defaultdict(lambda: {"wins": 0, "losses": 0, "draws": 0})
    durations: dict[str, list[float]] = {"wins": [], "draws": [], "losses": []}
    for trade in _closed(trades):
        profit = trade.close_profit_abs or 0.0
        outcome = "wins" if profit > 0 else "losses" if profit < 0 else "draws"
        reasons[trade.exit_reason or "Other"][outcome] += 1
        durations[outcome].append((trade.close_date - trade.open_date).total_seconds())  # type: ignore[operator]
    return {
        "exit_reasons": dict(reasons),
        "durations": {k: (_mean(v) if v else None) for k, v in durations.items()},
    }


def balance_history(closed: list[Any], starting_balance: float, start: datetime | None) -> dict[str, Any]:
    """``/historic_balance``: the quote balance after each closed trade, in freqtrade's column layout.

    freqtrade samples its wallet into a table; tradecast derives the same curve from the trades (the wallet
    is derived from them anyway), so ``capture_start_ts`` is 0: all of it is reconstructed.
    """
    rows: list[list[Any]] = []
    balance = starting_balance
    if start is not None:
        rows.append([start.isoformat(), int(start.timestamp() * 1000), balance])
    for trade in sorted(closed, key=lambda t: (t.close_date, t.id or 0)):
        balance += trade.close_profit_abs or 0.0
        rows.append([trade.close_date.isoformat(), int(trade.close_date.timestamp() * 1000), balance])
    return {"columns": ["date", "__date_ts", "total_quote"], "data": rows, "length": len(rows),
            "capture_start_ts": 0}
