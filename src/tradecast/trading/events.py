"""Trade events as flat dicts in freqtrade's RPC message shape (entry, entry_fill, exit, exit_fill, ...).

The same payload feeds the log, the message websocket and anyone else listening, so it is built once here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tradecast.model import Order, Trade

#: a listener receives the message type and its flat payload
EventListener = Callable[[str, dict[str, Any]], None]


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def trade_event(kind: str, trade: Trade, order: Order | None, rate: float | None = None) -> dict[str, Any]:
    """Build the flat payload of an ``entry*`` or ``exit*`` event for ``trade``."""
    quote = trade.stake_currency
    payload: dict[str, Any] = {
        "trade_id": trade.id,
        "exchange": trade.exchange,
        "pair": trade.pair,
        "leverage": 1.0,
        "direction": "Long",
        "order_type": order.order_type if order else None,
        "stake_amount": trade.stake_amount,
        "stake_currency": quote,
        "base_currency": trade.base_currency,
        "quote_currency": quote,
        "fiat_currency": None,
        "amount": order.filled or order.amount if order else trade.amount,
        "open_date": _iso(trade.open_date),
        "current_rate": rate,
        "open_rate": trade.open_rate,
        "order_rate": order.safe_price if order else None,
        "enter_tag": trade.enter_tag,
        "sub_trade": False,
    }
    if kind.startswith("exit"):
        close_rate = trade.close_rate if trade.close_rate is not None else rate
        profit_abs = trade.close_profit_abs if trade.close_profit_abs is not None else (
            trade.profit_abs(close_rate) if close_rate else None)
        profit_ratio = trade.close_profit if trade.close_profit is not None else (
            trade.profit_ratio(close_rate) if close_rate else None)
        payload.update({
            "limit": order.price if order else close_rate,
            "close_rate": close_rate,
            "profit_amount": profit_abs,
            "profit_ratio": profit_ratio,
            "gain": "profit" if (profit_abs or 0) > 0 else "loss",
            "exit_reason": trade.exit_reason or (order.ft_order_tag if order else None),
            "close_date": _iso(trade.close_date),
        })
    return payload
