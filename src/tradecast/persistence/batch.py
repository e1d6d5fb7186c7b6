"""Batch transactions: many repository calls, one commit (used by the signal ingester for throughput).

A batch is one write transaction on its own connection, opened by ``Database.begin_batch`` and committed by
``Database.end_batch``. Who uses it:

* the asyncio task that called ``Database.join_batch`` (the ingester, while it executes one Redis read):
  its calls run inside the batch, inline on the event loop when the batch is SQLite (``DbExecutor.run``),
  otherwise on the database thread marked as acting for the batch;
* code inside ``with database.joined():`` (synchronous callers, and ``begin_batch``'s own query).

Inside the batch each ``write()`` is a SAVEPOINT: a failing call undoes only its own writes, exactly as its
own transaction would have; reads see the batch's writes. A lock makes the users take turns.

Everyone else is not held up by the batch and keeps its guarantees: a ``write()`` from another caller first
commits what the batch did so far (a checkpoint), then runs in its own transaction (durable when it
returns, never waiting for the batch's locks), and the batch goes on in a new transaction. Their reads use
their own connection (they see committed data). An in-memory SQLite database has a single connection, so
there every caller uses the batch.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection

#: (batch, task) an asyncio task joined. The task is kept because tasks it creates inherit the context
#: and must not count as joined.
JOINED: ContextVar[tuple[Batch, Any] | None] = ContextVar("tradecast_db_batch", default=None)
_acting = threading.local()  # .batch: the batch the current thread's call runs for


class Batch:
    """The open batch transaction of a database."""

    def __init__(self, conn: Connection, transaction: Any, *, sqlite: bool, shared: bool) -> None:
        self.conn = conn
        self.transaction = transaction
        self.lock = threading.RLock()
        self._sqlite = sqlite
        self._shared = shared  # in-memory SQLite: one connection for everybody
        self._savepoints = 0

    def task_joined(self) -> bool:
        """True in the asyncio task that joined this batch."""
        joined = JOINED.get()
        if joined is None or joined[0] is not self:
            return False
        try:
            return asyncio.current_task() is joined[1]
        except RuntimeError:  # a thread without an event loop (asyncio.to_thread copies the context)
            return False

    def serves_caller(self) -> bool:
        """Whether a call made here belongs to the batch."""
        return self._shared or getattr(_acting, "batch", None) is self or self.task_joined()

    @contextmanager
    def acting(self) -> Iterator[None]:
        """Calls of this thread inside the block belong to the batch."""
        previous = getattr(_acting, "batch", None)
        _acting.batch = self
        try:
            yield
        finally:
            _acting.batch = previous

    def bind(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` wrapped to run as part of the batch on whichever thread calls it."""
        return functools.partial(_run_acting, self, fn)

    @contextmanager
    def savepoint(self) -> Iterator[Connection]:
        """A savepoint of the batch: released when the block ends, rolled back alone if it raises."""
        with self.lock:
            conn = self.conn
            if not self._sqlite:
                with conn.begin_nested():
                    yield conn
                return
            # SQLite: plain SAVEPOINT statements on the driver cursor (SQLAlchemy's begin_nested costs ~10x)
            self._savepoints += 1
            name = f"tc_sp{self._savepoints}"
            cursor = raw_cursor(conn)
            cursor.execute(f"SAVEPOINT {name}")
            try:
                yield conn
            except BaseException:
                cursor.execute(f"ROLLBACK TO {name}")
                cursor.execute(f"RELEASE {name}")
                raise
            cursor.execute(f"RELEASE {name}")

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.lock:
            yield self.conn

    @contextmanager
    def checkpoint(self) -> Iterator[None]:
        """For a caller outside the batch: commit the batch so far, let the caller run, go on afresh."""
        with self.lock:
            self.transaction.commit()
            try:
                yield
            finally:
                self.transaction = self.conn.begin()

    def finish(self, commit: bool) -> None:
        with self.lock:
            try:
                if commit:
                    self.transaction.commit()
                else:
                    self.transaction.rollback()
            finally:
                self.conn.close()  # rolls back whatever a failed commit left


def _run_acting(batch: Batch, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with batch.acting():
        return fn(*args, **kwargs)


def raw_cursor(conn: Connection) -> Any:
    """A DB-API cursor on the connection's driver connection (same transaction as ``conn``)."""
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
