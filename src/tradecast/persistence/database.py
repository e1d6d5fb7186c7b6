"""The database connection: engine set-up, schema creation and error translation.

``Database(url)`` opens SQLite (the default, ``sqlite:///user_data/tradesv3.sqlite``) or any SQLAlchemy URL
(``postgresql+psycopg://user:pw@host/db``). Opening is eager: tables are created, the schema version is
checked and stored, and that store is a real write in a transaction, so a read-only file or an unreachable
server is reported when the bot starts, not at its first trade.

SQLite settings, and why:

* ``journal_mode=WAL``: readers (the API) never block the writer, and a commit is one append to the log.
* ``synchronous=NORMAL``: with WAL a killed process never loses a committed transaction; only a power loss
  may drop the last commits (freqtrade's trade-off too).
* ``foreign_keys=ON``: orders and custom data cannot point at a missing trade.
* busy timeout: another process holding the write lock makes us wait instead of failing at once.
* the driver's own implicit transactions are switched off and we emit ``BEGIN`` ourselves (``BEGIN IMMEDIATE``
  for writes), so a read-then-write transaction takes the write lock up front and cannot be refused half way.

Every SQLAlchemy/driver error leaving this package is a :class:`PersistenceError` with a one-line message
naming the database (password masked) and the cause.

Batches (``begin_batch`` / ``end_batch``, see :mod:`~tradecast.persistence.batch`): one transaction shared by
many calls of the signal ingester and committed once; other callers are neither held up nor made less durable.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import Token
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, insert, inspect, select, update
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from tradecast.core.errors import PersistenceError
from tradecast.persistence import tables
from tradecast.persistence.batch import JOINED, Batch

_BEGIN_OPTION = "tradecast_begin"


class Database:
    """An open trade database. Create one per bot; share it through a :class:`TradeRepository`."""

    def __init__(self, url: str, *, busy_timeout_s: float = 30.0, read_only: bool = False) -> None:
        self.url = url
        #: a read-only handle (``show-trades`` beside a running bot) never writes, not even the schema version
        self.read_only = read_only
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError) as exc:
            raise PersistenceError(f"invalid database url {url!r}: {exc}") from exc
        self._parsed: URL = parsed
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        #: how messages name this database: the file path for SQLite, the URL with a masked password otherwise
        self.display_name = _display_name(parsed)
        self._engine: Engine | None = None
        self._batch: Batch | None = None
        self._shared_connection = False  # in-memory SQLite: one connection for everybody
        #: the driver's own exception classes (the SQLite fast path runs on the raw DB-API cursor)
        self.driver_errors: tuple[type[BaseException], ...] = ()
        self.driver_integrity_errors: tuple[type[BaseException], ...] = ()
        try:
            self._engine = self._create_engine(busy_timeout_s)
            if read_only:
                self._check_columns()
            else:
                self._create_schema()
        except SQLAlchemyError as exc:
            self.close()
            raise self.error(exc) from exc
        except PersistenceError:
            self.close()
            raise

    # -- public -------------------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise PersistenceError(f"database {self.display_name} is closed")
        return self._engine

    @property
    def dialect(self) -> str:
        """``"sqlite"``, ``"postgresql"``..."""
        return self._parsed.get_backend_name()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back entirely if it raises.

        For a call that belongs to the open batch: a savepoint of it. For any other call while a batch is
        open: the batch is checkpointed first, so this transaction never waits for it."""
        batch = self._batch
        if batch is None:
            with self._transaction("BEGIN IMMEDIATE") as conn:
                yield conn
        elif batch.serves_caller():
            with self._translated(), batch.savepoint() as conn:
                yield conn
        else:
            with self._translated(), batch.checkpoint(), self._transaction("BEGIN IMMEDIATE") as conn:
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction (a consistent snapshot); for a call of the open batch, the batch's view."""
        batch = self._batch
        if batch is not None and batch.serves_caller():
            with self._translated(), batch.reading() as conn:
                yield conn
            return
        with self._transaction("BEGIN") as conn:
            yield conn

    @property
    def in_batch(self) -> bool:
        """True when a call made here belongs to the open batch."""
        return self._batch is not None and self._batch.serves_caller()

    def begin_batch(self) -> None:
        """Open a batch (see :mod:`~tradecast.persistence.batch`); it holds the SQLite write lock until it ends."""
        if self._batch is not None:
            raise PersistenceError(f"database {self.display_name}: a batch is already open")
        conn: Connection | None = None
        try:
            conn = self.engine.connect()
            if self.is_sqlite:
                conn.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
            transaction = conn.begin()
        except (SQLAlchemyError, *self.driver_errors) as exc:
            if conn is not None:
                conn.close()
            raise self.error(exc) from exc
        self._batch = Batch(conn, transaction, sqlite=self.is_sqlite, shared=self._shared_connection)

    def end_batch(self, commit: bool = True) -> None:
        """Commit (or roll back) the open batch; a failed commit leaves nothing of it. No batch: no-op."""
        batch, self._batch = self._batch, None
        if batch is not None:
            with self._translated():
                batch.finish(commit)

    @contextmanager
    def joined(self) -> Iterator[None]:
        """Calls of this thread inside the block belong to the open batch (if any)."""
        batch = self._batch
        if batch is None:
            yield
            return
        with batch.acting():
            yield

    def join_batch(self) -> Token[Any]:
        """Make the current asyncio task's calls belong to the open batch; undo with ``leave_batch(token)``."""
        if self._batch is None:
            raise PersistenceError(f"database {self.display_name}: no batch is open")
        return JOINED.set((self._batch, asyncio.current_task()))

    def leave_batch(self, token: Token[Any]) -> None:
        JOINED.reset(token)

    def for_caller(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` as the database thread must run it for the current task (part of the batch it joined)."""
        batch = self._batch
        return batch.bind(fn) if batch is not None and batch.task_joined() else fn

    @contextmanager
    def inline_turn(self) -> Iterator[bool]:
        """Yields True, holding the batch lock, when this task joined the open batch and the lock is free:
        a repository call may then run right here, without a thread hop. Otherwise yields False at once
        (never waits). SQLite only: inside the batch it already holds the write lock, so a call waits on no
        other writer; a server database would put network round trips on the caller's thread."""
        batch = self._batch
        if batch is None or not self.is_sqlite or not batch.task_joined() or not batch.lock.acquire(False):
            yield False
            return
        try:
            yield True
        finally:
            batch.lock.release()

    def close(self) -> None:
        """Release every pooled connection. Safe to call twice."""
        if self._batch is not None:
            batch, self._batch = self._batch, None
            batch.conn.close()  # an unfinished batch is rolled back
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def error(self, exc: BaseException) -> PersistenceError:
        """Translate a driver/SQLAlchemy error into a one-line :class:`PersistenceError`."""
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        text = " ".join(line.strip() for line in cause[:2]) if cause else type(exc).__name__
        if self._parsed.password:
            text = text.replace(str(self._parsed.password), "***")
        low = text.lower()
        name = self.display_name
        if "readonly" in low or "read-only" in low or "read only" in low:
            return PersistenceError(f"database {name} is read-only ({text})")
        if self.is_sqlite and "unable to open database file" in low:
            return PersistenceError(
                f"cannot open database {name}: unable to open database file "
                "(does its directory exist and is it writable?)"
            )
        if not self.is_sqlite and ("connect" in low or "timeout" in low or "timed out" in low):
            return PersistenceError(f"cannot connect to database {name}: {text}")
        return PersistenceError(f"database {name}: {text}")

    # -- internals ----------------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, sqlite_begin: str) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                if self.is_sqlite:
                    conn.execution_options(**{_BEGIN_OPTION: sqlite_begin})
                with conn.begin():
                    yield conn
        except (SQLAlchemyError, *self.driver_errors) as exc:
            raise self.error(exc) from exc

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except (SQLAlchemyError, *self.driver_errors) as exc:
            raise self.error(exc) from exc

    def _create_engine(self, busy_timeout_s: float) -> Engine:
        if not self.is_sqlite:
            # pre-ping: a server restart between two calls costs a reconnect, not a failed write
            connect_args: dict[str, Any] = {}
            if self.dialect == "postgresql" and "connect_timeout" not in self._parsed.query:
                connect_args["connect_timeout"] = 10  # a black-holed host fails at open, not after minutes
            server = create_engine(self._parsed, pool_pre_ping=True, connect_args=connect_args)
            self._set_driver_errors(server)
            return server
        database = self._parsed.database or ""
        memory = database in ("", ":memory:") or "mode=memory" in str(self._parsed.query)
        kwargs: dict[str, Any] = {
            # the DbExecutor thread uses connections the opening thread created
            "connect_args": {"check_same_thread": False, "timeout": busy_timeout_s},
        }
        if memory:
            # one shared connection, or every checkout would see a different empty database
            kwargs["poolclass"] = StaticPool
            self._shared_connection = True
        elif not self._parsed.query.get("uri"):
            _make_parent_dir(Path(database), self.display_name)
        engine = create_engine(self._parsed, **kwargs)
        self._set_driver_errors(engine)
        timeout_ms = int(busy_timeout_s * 1000)
        read_only = self.read_only

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see module docstring)
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
                if read_only:
                    cursor.execute("PRAGMA query_only=ON")
                else:
                    cursor.execute("PRAGMA journal_mode=WAL")
                    cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA foreign_keys=ON")
            finally:
                cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))

        return engine

    def _set_driver_errors(self, engine: Engine) -> None:
        dbapi = engine.dialect.loaded_dbapi
        self.driver_errors = (dbapi.Error,)
        self.driver_integrity_errors = (dbapi.IntegrityError,)

    def _create_schema(self) -> None:
        tables.metadata.create_all(self.engine)
        self._check_columns()
        with self.write() as conn:
            stored = conn.execute(
                select(tables.bot_state.c.value).where(tables.bot_state.c.key == "schema_version")
            ).scalar_one_or_none()
            if stored is not None and int(stored) > tables.SCHEMA_VERSION:
                raise PersistenceError(
                    f"database {self.display_name} has schema version {stored}, newer than this tradecast "
                    f"({tables.SCHEMA_VERSION}); upgrade tradecast or use another db_url"
                )
            # always written: this is the write check that makes a read-only database fail at open time
            write_state(conn, "schema_version", str(tables.SCHEMA_VERSION))

    def _check_columns(self) -> None:
        """Refuse a database whose tables exist with other columns (e.g. a freqtrade tradesv3.sqlite)."""
        inspector = inspect(self.engine)
        for table in tables.metadata.sorted_tables:
            if self.read_only and not inspector.has_table(table.name):
                raise PersistenceError(f"database {self.display_name} has no {table.name!r} table; "
                                       "has a tradecast bot ever used it?")
            present = {column["name"] for column in inspector.get_columns(table.name)}
            missing = [column.name for column in table.columns if column.name not in present]
            if missing:
                raise PersistenceError(
                    f"database {self.display_name} has a table {table.name!r} without the columns "
                    f"{', '.join(missing)}; it was not created by this tradecast version (use another db_url)"
                )


def write_state(conn: Connection, key: str, value: str) -> None:
    """Insert or update one ``bot_state`` row inside the caller's transaction."""
    table = tables.bot_state
    now = datetime.now(UTC)
    result = conn.execute(update(table).where(table.c.key == key).values(value=value, updated_at=now))
    if not result.rowcount:
        conn.execute(insert(table).values(key=key, value=value, updated_at=now))


def _display_name(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        database = url.database or ":memory:"
        return database.removeprefix("file:")
    return url.render_as_string(hide_password=True)


def _make_parent_dir(path: Path, name: str) -> None:
    parent = path.parent
    if str(parent) in ("", "."):
        return
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PersistenceError(f"cannot create the directory of database {name}: {exc.strerror}") from exc
    if not os.access(parent, os.W_OK) and not path.exists():
        raise PersistenceError(f"cannot create database {name}: directory {parent} is read-only")
