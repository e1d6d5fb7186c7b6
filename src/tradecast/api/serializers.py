"""Records as freqtrade-shaped JSON dicts (spec §5): trades, orders, locks and date formats.

Conventions (the ones FreqUI and freqtrade-client parse):

* ``*_date`` / ``*_time`` strings are ``%Y-%m-%d %H:%M:%S`` in UTC without a zone;
* ``*_timestamp`` values are epoch **milliseconds** (ints);
* ``*_pct`` values are ratios times 100 rounded to 2 decimals;
* missing values are ``None``; NaN/inf become ``null`` in the JSON renderer.

Everything here is pure: the current rate of an open trade is passed in by the caller.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from tradecast.core.timeframes import timeframe_to_minutes
from tradecast.model import Order, PairLock, Trade

__all__ = [
    "DATE_FORMAT",
    "fmt_date",
    "iso_z",
    "lock_to_dict",
    "open_trade_to_dict",
    "order_to_dict",
    "pct",
    "trade_to_dict",
    "ts_ms",
]

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def fmt_date(value: datetime | None) -> str | None:
    """``%Y-%m-%d %H:%M:%S`` (UTC) or None."""
    return _utc(value).strftime(DATE_FORMAT) if value is not None else None


def ts_ms(value: datetime | None) -> int | None:
    """Epoch milliseconds or None."""
    return int(_utc(value).timestamp() * 1000) if value is not None else None


def iso_z(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix (how pydantic renders freqtrade's datetime fields)."""
    if value is None:
        return None
    return _utc(value).isoformat().replace("+00:00", "Z")


def pct(ratio: float | None) -> float | None:
    """A ratio as a percentage rounded to 2 decimals (None and NaN stay None)."""
    if ratio is None or (isinstance(ratio, float) and not math.isfinite(ratio)):
        return None
    return round(ratio * 100, 2)


def _listed(order: Order) -> bool:
    # freqtrade lists only open or (partly) filled orders
    return order.is_open or order.filled > 0


def order_to_dict(order: Order) -> dict[str, Any]:
    """One order with freqtrade's ``Order`` fields plus the raw ``to_json`` extras."""
    return {
        "pair": order.pair,
        "order_id": order.order_id,
        "status": order.status,
        "remaining": order.remaining,
        "amount": order.amount,
        "safe_price": order.safe_price,
        "cost": order.cost,
        "filled": order.filled,
        "ft_order_side": order.ft_order_side,
        "order_type": order.order_type,
        "is_open": order.is_open,
        "order_timestamp": ts_ms(order.order_date),
        "order_filled_timestamp": ts_ms(order.order_filled_date),
        "ft_fee_base": None,
        "ft_order_tag": order.ft_order_tag,
        "ft_is_entry": order.ft_is_entry,
        "average": order.average,
        "price": order.price,
        "order_date": fmt_date(order.order_date),
        "order_filled_date": fmt_date(order.order_filled_date),
        "funding_fee": 0.0,
    }


def _entry_fill_date(trade: Trade) -> datetime | None:
    dates = [o.order_filled_date for o in trade.orders if o.ft_is_entry and o.order_filled_date]
    return min(dates) if dates else None


def _exit_order_status(trade: Trade) -> str | None:
    exits = [o for o in trade.orders if not o.ft_is_entry]
    return exits[-1].status if exits else None


def trade_to_dict(trade: Trade, *, now: datetime | None = None, precision: Any = None) -> dict[str, Any]:
    """A trade as freqtrade's ``Trade.to_json()``: closed trades carry realised profit, open ones None.

    ``now`` (the bot clock) sets the duration of open trades; ``precision`` is the pair's ``MarketInfo``.
    """
    closed = not trade.is_open
    end = trade.close_date if closed else now
    duration_s = int((_utc(end) - _utc(trade.open_date)).total_seconds()) if end is not None else None
    close_ratio = trade.close_profit if closed else None
    close_abs = trade.close_profit_abs if closed else None
    fee_close_cost = (
        trade.amount * trade.close_rate * trade.fee_close if closed and trade.close_rate is not None else None
    )
    realized_ratio = trade.realized_profit / trade.open_trade_value if trade.open_trade_value > 0 else None
    try:
        timeframe = timeframe_to_minutes(trade.timeframe)
    except (ValueError, TypeError):
        timeframe = None
    return {
        "trade_id": trade.id,
        "pair": trade.pair,
        "base_currency": trade.base_currency,
        "quote_currency": trade.stake_currency,
        "is_open": trade.is_open,
        "is_short": False,
        "exchange": trade.exchange,
        "amount": trade.amount,
        "amount_requested": trade.amount_requested,
        "stake_amount": trade.stake_amount,
        "max_stake_amount": trade.stake_amount,
        "strategy": trade.strategy,
        "enter_tag": trade.enter_tag,
        "timeframe": timeframe,
        "fee_open": trade.fee_open,
        "fee_open_cost": trade.fee_open_cost,
        "fee_open_currency": trade.stake_currency,
        "fee_close": trade.fee_close,
        "fee_close_cost": fee_close_cost,
        "fee_close_currency": trade.stake_currency if closed else None,
        "open_date": fmt_date(trade.open_date),
        "open_timestamp": ts_ms(trade.open_date),
        "open_fill_date": fmt_date(_entry_fill_date(trade)),
        "open_fill_timestamp": ts_ms(_entry_fill_date(trade)),
        "open_rate": trade.open_rate,
        "open_rate_requested": trade.open_rate_requested,
        "open_trade_value": trade.open_trade_value,
        "close_date": fmt_date(trade.close_date),
        "close_timestamp": ts_ms(trade.close_date),
        "close_rate": trade.close_rate,
        "close_rate_requested": trade.close_rate_requested,
        "close_profit": close_ratio,
        "close_profit_pct": pct(close_ratio),
        "close_profit_abs": close_abs,
        "profit_ratio": close_ratio,
        "profit_pct": pct(close_ratio),
        "profit_abs": close_abs,
        "profit_fiat": None,
        "realized_profit": trade.realized_profit,
        "realized_profit_ratio": realized_ratio,
        "exit_reason": trade.exit_reason,
        "exit_order_status": _exit_order_status(trade),
        "stop_loss_abs": trade.stop_loss,
        "stop_loss_ratio": trade.stop_loss_pct,
        "stop_loss_pct": pct(trade.stop_loss_pct),
        "stoploss_last_update": fmt_date(trade.stoploss_last_update),
        "stoploss_last_update_timestamp": ts_ms(trade.stoploss_last_update),
        "initial_stop_loss_abs": trade.initial_stop_loss,
        "initial_stop_loss_ratio": trade.initial_stop_loss_pct,
        "initial_stop_loss_pct": pct(trade.initial_stop_loss_pct),
        "min_rate": trade.min_rate,
        "max_rate": trade.max_rate,
        "has_open_orders": trade.has_open_orders,
        "orders": [order_to_dict(o) for o in trade.orders if _listed(o)],
        "leverage": 1.0,
        "interest_rate": 0.0,
        "liquidation_price": None,
        "funding_fees": 0.0,
        "trading_mode": "spot",
        "amount_precision": getattr(precision, "amount_precision", None),
        "price_precision": getattr(precision, "price_precision", None),
        "precision_mode": 4 if precision is not None else None,  # ccxt TICK_SIZE
        "precision_mode_price": 4 if precision is not None else None,
        "contract_size": 1.0,
        "trade_duration_s": duration_s,
        "trade_duration": duration_s // 60 if duration_s is not None else None,
    }


def open_trade_to_dict(
    trade: Trade, current_rate: float | None, *, now: datetime | None = None, precision: Any = None
) -> dict[str, Any]:
    """freqtrade's ``OpenTradeSchema``: the trade plus unrealised profit at ``current_rate``.

    ``profit_*`` are unrealised (this position only); ``total_profit_*`` add the profit already realised
    by partial exits. A closed trade keeps its realised values. Without a rate the profit fields are None.
    """
    data = trade_to_dict(trade, now=now, precision=precision)
    if not trade.is_open:
        data.update(current_rate=trade.close_rate, total_profit_abs=trade.close_profit_abs,
                    total_profit_fiat=None, total_profit_ratio=trade.close_profit)
        data.update(dict.fromkeys(_STOP_DISTANCE_KEYS))
        return data
    rate = current_rate if current_rate is not None and math.isfinite(current_rate) else None
    unrealised = trade.close_value(rate) - trade.open_trade_value if rate else None
    ratio = trade.profit_ratio(rate) if rate else None
    total_ratio = (
        (unrealised + trade.realized_profit) / trade.open_trade_value
        if unrealised is not None and trade.open_trade_value > 0
        else None
    )
    stop = trade.stop_loss or None
    data.update(
        current_rate=rate,
        profit_ratio=ratio,
        profit_pct=pct(ratio),
        profit_abs=unrealised,
        total_profit_abs=unrealised + trade.realized_profit if unrealised is not None else None,
        total_profit_fiat=None,
        total_profit_ratio=total_ratio,
        stoploss_current_dist=stop - rate if stop and rate else None,
        stoploss_current_dist_ratio=(stop - rate) / rate if stop and rate else None,
        stoploss_current_dist_pct=pct((stop - rate) / rate) if stop and rate else None,
        stoploss_entry_dist=trade.close_value(stop) - trade.open_trade_value if stop else None,
        stoploss_entry_dist_ratio=trade.profit_ratio(stop) if stop else None,
    )
    return data


_STOP_DISTANCE_KEYS = (
    "stoploss_current_dist",
    "stoploss_current_dist_ratio",
    "stoploss_current_dist_pct",
    "stoploss_entry_dist",
    "stoploss_entry_dist_ratio",
)


def lock_to_dict(lock: PairLock, now: datetime) -> dict[str, Any]:
    """freqtrade's ``Lock`` shape; ``active`` is true only while the lock is in force at ``now``."""
    return {
        "id": lock.id,
        "active": lock.is_active(now),
        "lock_end_time": fmt_date(lock.lock_end_time),
        "lock_end_timestamp": ts_ms(lock.lock_end_time),
        "lock_time": fmt_date(lock.lock_time),
        "lock_timestamp": ts_ms(lock.lock_time),
        "pair": lock.pair,
        "side": lock.side,
        "reason": lock.reason,
    }
