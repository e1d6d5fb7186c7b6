"""The bot side of a signal: :class:`SignalExecutor` turns a validated signal into a trade, exactly once.

It is the ``execute`` callback of :class:`~tradecast.signals.ingester.SignalIngester`. Every decision it
takes is stored as a :class:`~tradecast.model.SignalRecord` keyed by the signal id, in the same database
transaction as the trade it caused (the engine passes the record to ``repo.commit`` with the trade). A
redelivered signal (a crash between that commit and the Redis acknowledgement) therefore finds its record
and is answered ``duplicate`` without trading again.

Actions:

* ``buy``: ``engine.enter(pair, market order, stake_amount of the signal or the config)``;
* ``sell``: market exit of the pair's open trade (none open: rejected, recorded);
* ``hold``: nothing to trade; recorded as ``ignored``.

The engine's refusals (:class:`~tradecast.core.errors.TradeRejected`: max_open_trades, no stake, trade
already open, entries stopped, ...) are recorded as ``rejected`` with the reason. Entries respect the
operator's ``/stopentry`` and, while the trader is stopped (``/stop``), buys and sells are rejected.

Batches: ``async with executor.batch(signal_ids):`` (the ingester does this per chunk of a Redis read) looks
up the records of all those ids in one query and opens one database transaction that every decision inside
it joins (``TradeRepository.begin_batch``); it is committed when the block ends, before the ingester
acknowledges anything. Should that commit fail, the engine reloads its state from the database, so memory
and database agree again, and the unacknowledged signals come back: stored ones as duplicates, the others
executed anew.

Everything else (a market error, a database error) propagates: the ingester retries a
:class:`~tradecast.core.errors.TransientError` and leaves other errors pending for the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from tradecast.core.clock import Clock, LiveClock
from tradecast.core.errors import TradeRejected
from tradecast.model import SignalRecord
from tradecast.persistence.repository import DuplicateSignal
from tradecast.signals.outcome import SignalOutcome
from tradecast.signals.schema import Signal

log = logging.getLogger(__name__)

#: the trade's ``exit_reason`` when a sell signal closed it
EXIT_REASON = "external_signal"


def enter_tag(signal: Signal) -> str:
    """The ``enter_tag`` of a trade opened by ``signal`` (e.g. ``signal_anomaly``)."""
    return f"signal_{signal.signal_type}"


class SignalExecutor:
    """``await executor(signal) -> SignalOutcome``; see the module docstring for the rules.

    ``engine`` is the bot's trading engine (``enter``, ``exit``, ``trade_for``), ``db`` its database
    executor (``await db.run(fn, *args)``) and ``repo`` its repository (``get_signal``, ``commit``).
    ``is_running`` tells whether the trader is running (the bot's state); ``clock`` stamps ``received_at``
    (the wall clock by default: signals carry wall-clock timestamps even when the market is simulated).
    """

    def __init__(
        self,
        engine: Any,
        db: Any,
        repo: Any,
        *,
        clock: Clock | None = None,
        is_running: Callable[[], bool] = lambda: True,
    ) -> None:
        self._engine = engine
        self._db = db
        self._repo = repo
        self._clock = clock or LiveClock()
        self._is_running = is_running
        self._known: dict[str, SignalRecord] | None = None  # inside a batch: the records of its ids
        self._checked: set[str] = set()  # inside a batch: the ids looked up when it began

    @asynccontextmanager
    async def batch(self, signal_ids: Iterable[str] = ()) -> AsyncIterator[None]:
        """Decide on signals (awaiting ``self(signal)`` for each, in order) with ONE database commit.

        The records already stored among ``signal_ids`` (the ids expected in the block) are fetched in one
        query up front; any other id is looked up when its signal comes. The commit happens when the block
        ends, however it ends (what the engine did in memory must be stored). A failed commit reloads the
        engine from the database and raises.
        """
        if self._known is not None:
            raise RuntimeError("SignalExecutor.batch is not reentrant")
        ids = set(signal_ids)
        try:
            self._known = await self._db.run(self._repo.begin_batch, ids)
        except asyncio.CancelledError:
            # begin_batch still runs on the database thread: queue its end right behind it (calls there run
            # in order), or the batch would stay open and swallow every later write
            self._db.queue(self._repo.end_batch, True)
            raise
        # this task's repository calls now run inline in the batch (no thread hop per signal, see DbExecutor)
        self._checked = ids
        token = self._repo.database.join_batch()
        try:
            yield
        finally:
            self._known, self._checked = None, set()
            self._repo.database.leave_batch(token)
            try:
                await self._db.run(self._repo.end_batch, True)
            except asyncio.CancelledError:
                raise  # the commit still runs on the database thread; nothing to undo here
            except Exception:
                log.error("external signals: committing a batch failed; reloading the trades from the database")
                await self._engine.load()
                raise

    async def __call__(self, signal: Signal) -> SignalOutcome:
        """Decide on ``signal`` and record the decision; returns what happened."""
        known = self._known
        if known is not None:  # in a batch: its ids were looked up at once, and it remembers its own
            existing = known.get(signal.id or "")
            if existing is not None:
                return SignalOutcome.duplicate(existing.trade_id)
            outcome, record = await self._decide(signal)
            if record is not None:
                known[record.signal_id] = record
            return outcome
        return (await self._decide(signal))[0]

    async def _decide(self, signal: Signal) -> tuple[SignalOutcome, SignalRecord | None]:
        """What happened, and the record stored (None for a duplicate)."""
        if signal.action == "hold":
            # nothing happens before the commit, and the commit itself refuses a recorded id
            return await self._record_alone(signal, "ignored", "hold")
        if self._known is None or (signal.id or "") not in self._checked:
            existing = await self._db.run(self._repo.get_signal, signal.id or "")
            if existing is not None:
                return SignalOutcome.duplicate(existing.trade_id), None
        record = self.record(signal, "executed", None)
        try:
            if not self._is_running():
                raise TradeRejected("the trader is stopped; start it (/start) to act on signals")
            if signal.action == "buy":
                trade = await self._engine.enter(
                    signal.pair,
                    enter_tag=enter_tag(signal),
                    reason="signal",
                    forced=False,  # forced would bypass the operator's /stopentry
                    order_type="market",
                    stake_amount=signal.stake_amount,
                    signal=record,
                )
            else:
                trade = self._engine.trade_for(signal.pair)
                if trade is None:
                    raise TradeRejected(f"no open trade for {signal.pair} to sell")
                trade = await self._engine.exit(trade, EXIT_REASON, order_type="market", forced=True, signal=record)
        except TradeRejected as exc:
            return await self._record_alone(signal, "rejected", str(exc))
        except DuplicateSignal:
            # another writer recorded the id between our check and the commit; nothing was stored
            return SignalOutcome.duplicate(), None
        return SignalOutcome.executed(trade.id), record

    def record(self, signal: Signal, outcome: str, reason: str | None) -> SignalRecord:
        """The database record of ``signal`` with ``outcome`` (executed, rejected or ignored)."""
        return SignalRecord(
            signal_id=signal.id or "",
            pair=signal.pair,
            action=signal.action,
            outcome=outcome,
            reason=reason,
            received_at=self._clock.now(),
            payload=signal.to_wire(),
        )

    async def _record_alone(
        self, signal: Signal, outcome: str, reason: str
    ) -> tuple[SignalOutcome, SignalRecord | None]:
        record = self.record(signal, outcome, reason)
        try:
            await self._db.run(self._repo.commit, signals=[record])
        except DuplicateSignal:
            existing = await self._db.run(self._repo.get_signal, record.signal_id)
            return SignalOutcome.duplicate(existing.trade_id if existing is not None else None), None
        if outcome == "ignored":
            return SignalOutcome.ignored(reason), record
        log.debug("external signal %s %s %s rejected: %s", signal.id, signal.action, signal.pair, reason)
        return SignalOutcome.rejected(reason), record
