"""TradeRepository: store and load model records (synchronous; call it from one thread, see DbExecutor).

Every public method is one transaction: it commits fully or not at all, so a crash (even SIGKILL) loses at
most the call that was running. Ids assigned by the database are written back onto the records only once the
transaction committed; a failed call leaves the objects as they were.

Batches (see :mod:`~tradecast.persistence.batch`): ``begin_batch(signal_ids)`` opens one transaction that
the calls of the task that joined it (or inside ``database.joined()``) share, each one a savepoint of it (it
still writes all or nothing; a failing call undoes only itself); ``end_batch()`` commits them together. Ids
are assigned at once, but those calls are durable only when the batch commits: a crash before that loses
them all (the signal ingester acknowledges nothing before, so Redis redelivers them). Other callers' calls
stay one durable transaction each.

On SQLite, INSERTs and UPDATEs run through :mod:`~tradecast.persistence.rawsql` (compiled once, executed on
the driver cursor); other databases use SQLAlchemy Core.

Upsert rules: a record with ``id is None`` is inserted and gets its id; a record with an id is updated
(and inserted with that id if the row is gone). Orders of a trade and keys of ``Trade.custom_data`` are
upserted the same way; ones missing from the object are left in the database (the object may be an older
copy; use ``delete_trade`` to remove a trade with everything it owns).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from tradecast.core.clock import Clock
from tradecast.core.errors import TradecastError
from tradecast.model import Order, PairLock, SignalRecord, Trade
from tradecast.persistence import tables
from tradecast.persistence.batch import raw_cursor
from tradecast.persistence.database import Database, write_state
from tradecast.persistence.rawsql import RawWriter


class DuplicateSignal(TradecastError):
    """A signal with this ``signal_id`` is already stored; nothing of the call was written."""

    def __init__(self, signal_id: str) -> None:
        super().__init__(f"signal {signal_id!r} was already handled")
        self.signal_id = signal_id


def _columns(table: Table) -> list[str]:
    return [column.name for column in table.columns if column.name != "id"]


_TRADE_COLUMNS = _columns(tables.trades)
_ORDER_COLUMNS = _columns(tables.orders)
_LOCK_COLUMNS = _columns(tables.pair_locks)
_SIGNAL_COLUMNS = _columns(tables.signals)
_TRADE_FIELDS = {f.name for f in fields(Trade)}
_ORDER_FIELDS = {f.name for f in fields(Order)}


class _Undo:
    """Attributes changed on records during a transaction, restored if it does not commit."""

    def __init__(self) -> None:
        self._changes: list[tuple[Any, str, Any]] = []

    def set(self, obj: Any, attr: str, value: Any) -> None:
        self._changes.append((obj, attr, getattr(obj, attr)))
        setattr(obj, attr, value)

    def restore(self) -> None:
        for obj, attr, old in reversed(self._changes):
            setattr(obj, attr, old)
        self._changes.clear()


class TradeRepository:
    """Trades (with orders and custom data), pair locks, signal records and bot state."""

    def __init__(self, database: Database, *, clock: Clock | None = None) -> None:
        self.database = database
        self._clock = clock
        self._raw = RawWriter(database.engine.dialect) if database.is_sqlite else None
        self._integrity_errors = (IntegrityError, *database.driver_integrity_errors)

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    # -- writes ---------------------------------------------------------------------------------------------

    def save_trade(self, trade: Trade) -> Trade:
        """Insert or update ``trade`` with its orders and custom data; returns the same object, ids set."""
        self.commit(trades=(trade,))
        return trade

    def save_lock(self, lock: PairLock) -> PairLock:
        self.commit(locks=(lock,))
        return lock

    def save_signal(self, signal: SignalRecord) -> SignalRecord:
        """Store one signal record; :class:`DuplicateSignal` if its ``signal_id`` is already stored."""
        self.commit(signals=(signal,))
        return signal

    def commit(
        self,
        trades: Iterable[Trade] = (),
        locks: Iterable[PairLock] = (),
        signals: Iterable[SignalRecord] = (),
    ) -> None:
        """Persist trades, locks and signals in ONE transaction.

        A new signal whose ``signal_id`` exists raises :class:`DuplicateSignal` and nothing is written.
        A signal with ``outcome == "executed"`` and no ``trade_id``, committed together with exactly one
        trade, is linked to that trade (its id is only known inside this transaction).
        """
        trades, locks, signals = list(trades), list(locks), list(signals)
        undo = _Undo()
        now = self._now()
        try:
            with self.database.write() as conn:
                for trade in trades:
                    self._write_trade(conn, trade, undo, now)
                for lock in locks:
                    self._upsert(conn, tables.pair_locks, lock, _values(lock, _LOCK_COLUMNS), undo)
                for signal in signals:
                    if signal.trade_id is None and len(trades) == 1 and signal.outcome == "executed":
                        undo.set(signal, "trade_id", trades[0].id)
                    self._write_signal(conn, signal, undo)
        except BaseException:
            undo.restore()
            raise

    def begin_batch(self, signal_ids: Iterable[str] = ()) -> dict[str, SignalRecord]:
        """Open a batch (see the module docstring) and return the already stored records among
        ``signal_ids``, by id: the duplicate check of a whole batch in one query."""
        self.database.begin_batch()
        try:
            with self.database.joined():
                return self.signals_by_id(signal_ids)
        except BaseException:
            self.database.end_batch(commit=False)
            raise

    def end_batch(self, commit: bool = True) -> None:
        """Commit the open batch (all its calls at once); ``commit=False`` rolls it back. No batch: no-op."""
        self.database.end_batch(commit)

    def delete_trade(self, trade_id: int) -> bool:
        """Delete a trade, its orders and custom data; False when there was no such trade."""
        with self.database.write() as conn:
            conn.execute(
                delete(tables.trade_custom_data).where(tables.trade_custom_data.c.trade_id == trade_id)
            )
            conn.execute(delete(tables.orders).where(tables.orders.c.trade_id == trade_id))
            return bool(conn.execute(delete(tables.trades).where(tables.trades.c.id == trade_id)).rowcount)

    def deactivate_lock(self, lock_id: int) -> PairLock | None:
        """Mark a lock inactive; returns it as stored now, None when there is no such lock."""
        table = tables.pair_locks
        with self.database.write() as conn:
            conn.execute(update(table).where(table.c.id == lock_id).values(active=False))
            row = conn.execute(select(table).where(table.c.id == lock_id)).mappings().first()
        return PairLock(**row) if row is not None else None

    def set_custom_data(self, trade_id: int, key: str, value: Any) -> None:
        """Set one custom data value of a trade (JSON types and datetimes)."""
        with self.database.write() as conn:
            self._write_custom_data(conn, trade_id, {key: value}, self._now())

    def set_state(self, key: str, value: str) -> None:
        with self.database.write() as conn:
            write_state(conn, key, str(value))

    # -- reads ----------------------------------------------------------------------------------------------

    def get_trade(self, trade_id: int) -> Trade | None:
        with self.database.read() as conn:
            found = self._load_trades(conn, select(tables.trades).where(tables.trades.c.id == trade_id))
        return found[0] if found else None

    def open_trades(self) -> list[Trade]:
        return self.trades(is_open=True)

    def trades(
        self,
        is_open: bool | None = None,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
        pair: str | None = None,
    ) -> list[Trade]:
        """Trades ordered by id (insertion order), oldest first unless ``newest_first``."""
        table = tables.trades
        query = select(table).order_by(table.c.id.desc() if newest_first else table.c.id.asc())
        if is_open is not None:
            query = query.where(table.c.is_open == is_open)
        if pair is not None:
            query = query.where(table.c.pair == pair)
        if offset:
            query = query.offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.database.read() as conn:
            return self._load_trades(conn, query)

    def count_trades(self, is_open: bool | None = None) -> int:
        query = select(func.count()).select_from(tables.trades)
        if is_open is not None:
            query = query.where(tables.trades.c.is_open == is_open)
        with self.database.read() as conn:
            return int(conn.execute(query).scalar_one())

    def locks(
        self, active_only: bool = True, now: datetime | None = None, pair: str | None = None
    ) -> list[PairLock]:
        """Pair locks by id. ``active_only`` keeps locks whose ``active`` flag is set and, when ``now`` is
        given, whose ``lock_end_time`` is after ``now`` (pass the bot clock's time: a simulated clock is not
        the wall clock, so the repository never guesses it)."""
        table = tables.pair_locks
        query = select(table).order_by(table.c.id)
        if active_only:
            query = query.where(table.c.active.is_(True))
            if now is not None:
                query = query.where(table.c.lock_end_time > now)
        if pair is not None:
            query = query.where(table.c.pair == pair)
        with self.database.read() as conn:
            return [PairLock(**row) for row in conn.execute(query).mappings()]

    def get_lock(self, lock_id: int) -> PairLock | None:
        with self.database.read() as conn:
            row = (
                conn.execute(select(tables.pair_locks).where(tables.pair_locks.c.id == lock_id))
                .mappings()
                .first()
            )
        return PairLock(**row) if row is not None else None

    def get_signal(self, signal_id: str) -> SignalRecord | None:
        """The record of ``signal_id`` (a lookup on the unique index of ``signal_id``)."""
        return self.signals_by_id((signal_id,)).get(signal_id)

    def signals_by_id(self, signal_ids: Iterable[str]) -> dict[str, SignalRecord]:
        """The stored records among ``signal_ids``, by signal id (``WHERE signal_id IN (...)``)."""
        table = tables.signals
        wanted = list(dict.fromkeys(signal_ids))
        found: dict[str, SignalRecord] = {}
        if not wanted:
            return found
        with self.database.read() as conn:
            for start in range(0, len(wanted), 500):  # well below every driver's parameter limit
                chunk = wanted[start : start + 500]
                query = select(table).where(table.c.signal_id.in_(chunk))
                for row in conn.execute(query).mappings():
                    found[row["signal_id"]] = SignalRecord(**row)
        return found

    def signals(self, limit: int = 100, outcome: str | None = None) -> list[SignalRecord]:
        """The newest signal records first."""
        table = tables.signals
        query = select(table).order_by(table.c.id.desc()).limit(limit)
        if outcome is not None:
            query = query.where(table.c.outcome == outcome)
        with self.database.read() as conn:
            return [SignalRecord(**row) for row in conn.execute(query).mappings()]

    def count_signals_by_outcome(self) -> dict[str, int]:
        table = tables.signals
        query = select(table.c.outcome, func.count()).group_by(table.c.outcome)
        with self.database.read() as conn:
            return {outcome: int(count) for outcome, count in conn.execute(query)}

    def get_custom_data(self, trade_id: int, key: str | None = None) -> list[dict[str, Any]]:
        """Custom data rows of a trade as ``{key, value, type, created_at, updated_at}``, by key."""
        table = tables.trade_custom_data
        query = select(table).where(table.c.trade_id == trade_id).order_by(table.c.key)
        if key is not None:
            query = query.where(table.c.key == key)
        with self.database.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {
                "key": row["key"],
                "value": _decode(row["value"], row["value_type"]),
                "type": row["value_type"],
                "created_at": row["created_at"],
                "updated_at": row["updated_at"],
            }
            for row in rows
        ]

    def get_state(self, key: str) -> str | None:
        table = tables.bot_state
        with self.database.read() as conn:
            return conn.execute(select(table.c.value).where(table.c.key == key)).scalar_one_or_none()

    # -- internals ------------------------------------------------------------------------------------------

    def _write_trade(self, conn: Connection, trade: Trade, undo: _Undo, now: datetime) -> None:
        self._upsert(conn, tables.trades, trade, _values(trade, _TRADE_COLUMNS), undo)
        for order in trade.orders:
            if order.trade_id != trade.id:
                undo.set(order, "trade_id", trade.id)
            self._upsert(conn, tables.orders, order, _values(order, _ORDER_COLUMNS), undo)
        if trade.custom_data:
            self._write_custom_data(conn, trade.id, trade.custom_data, now)

    def _write_signal(self, conn: Connection, signal: SignalRecord, undo: _Undo) -> None:
        # The unique index on signal_id is the duplicate check (no SELECT first): the failing INSERT raises,
        # and the enclosing transaction (or batch savepoint) is rolled back by the caller, on every database.
        try:
            self._upsert(conn, tables.signals, signal, _values(signal, _SIGNAL_COLUMNS), undo)
        except self._integrity_errors as exc:
            raise DuplicateSignal(signal.signal_id) from exc

    def _write_custom_data(
        self, conn: Connection, trade_id: int, data: dict[str, Any], now: datetime
    ) -> None:
        table = tables.trade_custom_data
        stored = {
            row.key: (row.value, row.value_type)
            for row in conn.execute(
                select(table.c.key, table.c.value, table.c.value_type).where(table.c.trade_id == trade_id)
            )
        }
        for key, value in data.items():
            encoded = _encode(value)
            if key not in stored:
                conn.execute(
                    insert(table).values(
                        trade_id=trade_id,
                        key=key,
                        value=encoded[0],
                        value_type=encoded[1],
                        created_at=now,
                        updated_at=now,
                    )
                )
            elif stored[key] != encoded:
                conn.execute(
                    update(table)
                    .where(table.c.trade_id == trade_id, table.c.key == key)
                    .values(value=encoded[0], value_type=encoded[1], updated_at=now)
                )

    def _upsert(
        self, conn: Connection, table: Table, record: Any, values: dict[str, Any], undo: _Undo
    ) -> None:
        raw = self._raw
        if raw is not None:  # SQLite fast path (see rawsql)
            cursor = raw_cursor(conn)
            if record.id is not None:
                if not raw.update(cursor, table, record.id, values):
                    raw.insert(cursor, table, {"id": record.id, **values})
                return
            undo.set(record, "id", raw.insert(cursor, table, values))
            return
        if record.id is not None:
            if conn.execute(update(table).where(table.c.id == record.id).values(**values)).rowcount:
                return
            conn.execute(insert(table).values(id=record.id, **values))
            self._sync_sequence(conn, table)
            return
        new_id = conn.execute(insert(table).values(**values)).inserted_primary_key[0]
        undo.set(record, "id", int(new_id))

    def _sync_sequence(self, conn: Connection, table: Table) -> None:
        """After inserting an explicit id on PostgreSQL, move the id sequence past it."""
        if self.database.dialect != "postgresql":
            return  # SQLite picks max(id) + 1 by itself
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"
            )
        )

    def _load_trades(self, conn: Connection, query: Any) -> list[Trade]:
        rows = conn.execute(query).mappings().all()
        if not rows:
            return []
        result = [Trade(**{k: v for k, v in row.items() if k in _TRADE_FIELDS}) for row in rows]
        by_id = {trade.id: trade for trade in result}
        orders_t, custom_t = tables.orders, tables.trade_custom_data
        for row in conn.execute(
            select(orders_t).where(orders_t.c.trade_id.in_(by_id)).order_by(orders_t.c.id)
        ).mappings():
            by_id[row["trade_id"]].orders.append(
                Order(**{k: v for k, v in row.items() if k in _ORDER_FIELDS})
            )
        for row in conn.execute(
            select(custom_t).where(custom_t.c.trade_id.in_(by_id)).order_by(custom_t.c.key)
        ).mappings():
            by_id[row["trade_id"]].custom_data[row["key"]] = _decode(row["value"], row["value_type"])
        return result


def _values(record: Any, columns: list[str]) -> dict[str, Any]:
    return {name: getattr(record, name) for name in columns}


def _encode(value: Any) -> tuple[str, str]:
    """Custom data value -> (JSON text, type name). Datetimes are stored as ISO text, typed ``datetime``."""
    if isinstance(value, datetime):
        return json.dumps(value.isoformat()), "datetime"
    try:
        return json.dumps(value), type(value).__name__
    except TypeError as exc:
        raise TypeError(
            f"custom data must be JSON-compatible or a datetime, got {type(value).__name__}"
        ) from exc


def _decode(text_value: str, value_type: str) -> Any:
    value = json.loads(text_value)
    if value_type == "datetime":
        return datetime.fromisoformat(value)
    return value
