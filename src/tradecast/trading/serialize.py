"""Trades as plain dicts with freqtrade's field names (for ``show-trades --json`` and the REST API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tradecast.model import Trade


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def trade_summary(trade: Trade, current_rate: float | None = None) -> dict[str, Any]:
    """The core fields of a trade; profit is realised for closed trades, unrealised at ``current_rate``."""
    if trade.is_open:
        rate = current_rate
        profit_abs = trade.profit_abs(rate) if rate else None
        profit_ratio = trade.profit_ratio(rate) if rate else None
    else:
        profit_abs, profit_ratio = trade.close_profit_abs, trade.close_profit
    return {
        "trade_id": trade.id,
        "pair": trade.pair,
        "is_open": trade.is_open,
        "amount": trade.amount,
        "stake_amount": trade.stake_amount,
        "open_rate": trade.open_rate,
        "close_rate": trade.close_rate,
        "open_date": _iso(trade.open_date),
        "close_date": _iso(trade.close_date),
        "fee_open": trade.fee_open,
        "fee_close": trade.fee_close,
        "profit_abs": profit_abs,
        "profit_ratio": profit_ratio,
        "exit_reason": trade.exit_reason,
        "enter_tag": trade.enter_tag,
    }
