"""Deciding whether an open trade should exit now, and why.

The order of the checks is the operator's contract and is logged with each exit:

1. ``stop_loss`` / ``trailing_stop_loss``: the rate fell to the (possibly trailed or custom) stop price.
2. ``exit_signal``: the strategy's ``exit_long`` on the newest analysed candle (``use_exit_signal``), subject to
   ``exit_profit_only``; an entry signal on the same candle cancels it.
3. ``custom_exit`` (the reason the callback returned, or "custom_exit" when it returned True).
4. ``roi``: the minimal ROI table says the profit is enough for the trade's age, unless
   ``ignore_roi_if_entry_signal`` and the strategy still signals an entry.

Strategy callbacks run through :func:`call_strategy` so that one failing callback is logged and skipped,
never fatal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tradecast.model import Trade
from tradecast.trading.rules.roi import roi_reached
from tradecast.trading.rules.stoploss import new_stop_price


@dataclass(frozen=True, slots=True)
class Signals:
    """The strategy's verdict on the newest analysed candle of a pair."""

    enter: bool = False
    exit: bool = False
    enter_tag: str | None = None
    exit_tag: str | None = None
    candle_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class ExitDecision:
    reason: str
    detail: str


def call_strategy(strategy: Any, name: str, default: Any, **kwargs: Any) -> Any:
    """Call an optional strategy callback through the strategy's isolating ``call_callback``."""
    if getattr(strategy, name, None) is None:
        return default
    return strategy.call_callback(name, default, **kwargs)


def update_stop(trade: Trade, rate: float, now: datetime, strategy: Any) -> None:
    """Move the trade's stop price up as trailing / custom stoploss rules allow (never down)."""
    trade.adjust_high_low(rate)
    custom_ratio = None
    if getattr(strategy, "use_custom_stoploss", False):
        value = call_strategy(
            strategy, "custom_stoploss", None,
            pair=trade.pair, trade=trade, current_time=now, current_rate=rate,
            current_profit=trade.profit_ratio(rate), after_fill=False,
        )
        if isinstance(value, int | float) and -1 < value < 0:
            custom_ratio = float(value)
    stop = new_stop_price(
        open_rate=trade.open_rate,
        current_stop=trade.stop_loss,
        max_rate=trade.max_rate or rate,
        current_rate=rate,
        stoploss=strategy.stoploss,
        trailing_stop=bool(strategy.trailing_stop),
        trailing_stop_positive=strategy.trailing_stop_positive,
        trailing_stop_positive_offset=strategy.trailing_stop_positive_offset or 0.0,
        trailing_only_offset_is_reached=bool(strategy.trailing_only_offset_is_reached),
        custom_stop_ratio=custom_ratio,
        fee_open=trade.fee_open,
        fee_close=trade.fee_close,
    )
    if stop > trade.stop_loss:
        trade.stop_loss = stop
        trade.stop_loss_pct = stop / trade.open_rate - 1 if trade.open_rate else None
        trade.stoploss_last_update = now


def evaluate_exit(trade: Trade, rate: float, now: datetime, strategy: Any, signals: Signals) -> ExitDecision | None:
    """Return why ``trade`` should exit at ``rate`` now, or None to keep it."""
    profit = trade.profit_ratio(rate)
    if trade.stop_loss and rate <= trade.stop_loss:
        trailed = trade.stop_loss > trade.initial_stop_loss * (1 + 1e-12)
        reason = "trailing_stop_loss" if trailed else "stop_loss"
        return ExitDecision(reason, f"rate {rate:.8g} <= stop {trade.stop_loss:.8g}")
    wants_exit = getattr(strategy, "use_exit_signal", True) and signals.exit and not signals.enter
    profit_ok = not getattr(strategy, "exit_profit_only", False) or profit > getattr(strategy, "exit_profit_offset", 0)
    if wants_exit and profit_ok:
        return ExitDecision(signals.exit_tag or "exit_signal", f"exit signal on candle {signals.candle_date}")
    custom = call_strategy(
        strategy, "custom_exit", None,
        pair=trade.pair, trade=trade, current_time=now, current_rate=rate, current_profit=profit,
    )
    if custom:
        reason = custom if isinstance(custom, str) else "custom_exit"
        return ExitDecision(reason[:64], "custom_exit callback")
    age_min = (now - trade.open_date).total_seconds() / 60
    roi_blocked = getattr(strategy, "ignore_roi_if_entry_signal", False) and signals.enter
    if not roi_blocked and roi_reached(strategy.minimal_roi or {}, age_min, profit):
        return ExitDecision("roi", f"profit {profit:.2%} after {age_min:.0f} min")
    return None
