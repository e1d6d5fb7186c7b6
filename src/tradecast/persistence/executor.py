"""DbExecutor: run repository calls from asyncio on one dedicated database thread.

Why one thread: the event loop must never wait on disk or network I/O of the database, and SQLite is then only
ever touched from a single thread, so writes are naturally serialised in the order they were submitted
(a later ``run`` never overtakes an earlier one).

The one exception: a task that joined an open SQLite batch (the signal ingester, see
:mod:`~tradecast.persistence.batch`) runs its calls inline, inside the batch's transaction (which already
holds the write lock, so they wait on no other writer), when no queued call is using the batch at that
moment. They may overtake calls other tasks queued; those write in their own transactions.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from tradecast.core.errors import PersistenceError
from tradecast.persistence.repository import TradeRepository

T = TypeVar("T")


class DbExecutor:
    """``await executor.run(repo.save_trade, trade)`` runs the call on the ``tradecast-db`` thread.

    ``start()`` and ``stop()`` are plain (synchronous) methods. ``run`` starts the executor on first use if
    ``start()`` was not called. ``stop()`` waits until every queued call has finished, so writes submitted
    before it are on disk when it returns; ``run`` after ``stop()`` raises :class:`PersistenceError`.
    """

    def __init__(self, repository: TradeRepository) -> None:
        self.repository = repository
        self._pool: ThreadPoolExecutor | None = None
        self._stopped = False

    @property
    def running(self) -> bool:
        return self._pool is not None

    def start(self) -> None:
        if self._pool is None:
            self._stopped = False
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tradecast-db")

    def stop(self) -> None:
        """Finish queued calls, then stop the thread. Safe to call twice."""
        pool, self._pool = self._pool, None
        self._stopped = True
        if pool is not None:
            pool.shutdown(wait=True)

    def queue(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Queue ``fn(*args, **kwargs)`` on the database thread now, without waiting (it runs after every
        call queued before it). For clean-ups that must happen even when the caller is being cancelled."""
        if self._pool is None:
            raise PersistenceError("database executor is stopped")
        return self._pool.submit(fn, *args, **kwargs)

    async def run(self, fn: Callable[..., T] | str, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on the database thread and return its result (or raise its error).

        ``fn`` may also be the name of a repository method: ``await executor.run("open_trades")``.
        """
        if self._pool is None:
            if self._stopped:
                raise PersistenceError("database executor is stopped")
            self.start()
        assert self._pool is not None
        call = getattr(self.repository, fn) if isinstance(fn, str) else fn
        # Inside an open batch that this task joined (Database.join_batch), the call only touches the batch's
        # transaction (the write lock is already held, nothing waits on other writers): run it right here
        # instead of paying a thread hop, when the batch's connection is free; otherwise queue it as usual.
        database = getattr(self.repository, "database", None)  # (test doubles may have none)
        if database is not None:
            with database.inline_turn() as inline:
                if inline:
                    return call(*args, **kwargs)
            call = database.for_caller(call)  # on the thread, still part of the batch this task joined
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(call, *args, **kwargs))
