"""SQLAlchemy Core tables of the trade database (private to ``persistence``).

One table per model record plus ``trade_custom_data`` (``Trade.custom_data``, one row per key) and
``bot_state`` (small key/value settings such as ``schema_version``).

Datetimes are stored as naive UTC (portable between SQLite, which has no time zones, and PostgreSQL) and are
returned UTC-aware by :class:`UtcDateTime`. Money columns are IEEE doubles so a float round-trips exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

#: bumped when a table changes in a way an older build cannot read
SCHEMA_VERSION = 1


class UtcDateTime(TypeDecorator):
    """A datetime stored as naive UTC and read back as UTC-aware.

    Naive input is taken to be UTC already (the convention of ``core.timeframes.ensure_utc``).
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData()

trades = Table(
    "trades",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pair", String(64), nullable=False),
    Column("stake_currency", String(32), nullable=False),
    Column("exchange", String(64), nullable=False),
    Column("is_open", Boolean, nullable=False),
    Column("amount", Double, nullable=False),
    Column("amount_requested", Double),
    Column("open_rate", Double, nullable=False),
    Column("open_rate_requested", Double),
    Column("open_date", UtcDateTime, nullable=False),
    Column("fee_open", Double, nullable=False),
    Column("fee_close", Double, nullable=False),
    Column("strategy", String(128), nullable=False),
    Column("timeframe", String(16), nullable=False),
    Column("close_rate", Double),
    Column("close_rate_requested", Double),
    Column("close_date", UtcDateTime),
    Column("exit_reason", String(255)),
    Column("enter_tag", String(255)),
    Column("stop_loss", Double, nullable=False),
    Column("stop_loss_pct", Double),
    Column("initial_stop_loss", Double, nullable=False),
    Column("initial_stop_loss_pct", Double),
    Column("stoploss_last_update", UtcDateTime),
    Column("max_rate", Double),
    Column("min_rate", Double),
    Column("realized_profit", Double, nullable=False),
    Column("close_profit", Double),
    Column("close_profit_abs", Double),
    Index("ix_trades_is_open", "is_open"),
    Index("ix_trades_pair", "pair"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("trade_id", Integer, ForeignKey("trades.id", ondelete="CASCADE"), nullable=False),
    Column("pair", String(64), nullable=False),
    Column("order_id", String(255), nullable=False),
    Column("side", String(8), nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("amount", Double, nullable=False),
    Column("price", Double),
    Column("status", String(16), nullable=False),
    Column("ft_is_entry", Boolean, nullable=False),
    Column("filled", Double, nullable=False),
    Column("average", Double),
    Column("fee_cost", Double, nullable=False),
    Column("order_date", UtcDateTime),
    Column("order_filled_date", UtcDateTime),
    Column("ft_order_tag", String(255)),
    Index("ix_orders_trade_id", "trade_id"),
)

pair_locks = Table(
    "pair_locks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pair", String(64), nullable=False),
    Column("side", String(8), nullable=False),
    Column("reason", String(255)),
    Column("lock_time", UtcDateTime, nullable=False),
    Column("lock_end_time", UtcDateTime, nullable=False),
    Column("active", Boolean, nullable=False),
    Index("ix_pair_locks_pair_active", "pair", "active"),
)

signals = Table(
    "signals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("signal_id", String(255), nullable=False),
    Column("pair", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("reason", Text),
    # no FK: a signal record outlives a deleted trade (it still proves the signal was handled)
    Column("trade_id", Integer),
    Column("received_at", UtcDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    UniqueConstraint("signal_id", name="uq_signals_signal_id"),
    Index("ix_signals_outcome", "outcome"),
)

trade_custom_data = Table(
    "trade_custom_data",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("trade_id", Integer, ForeignKey("trades.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", Text, nullable=False),  # JSON text, so every JSON type round-trips
    Column("value_type", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("trade_id", "key", name="uq_trade_custom_data_trade_key"),
)

bot_state = Table(
    "bot_state",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
