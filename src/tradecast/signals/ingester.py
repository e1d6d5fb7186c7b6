"""Reads external signals from a Redis stream through a consumer group and hands them to the bot.

Delivery is at-least-once (Redis keeps an entry pending for our consumer until we XACK it); execution is
exactly-once because the bot's ``execute`` callback records the signal id in the same database transaction
as the trade, and we acknowledge only after that transaction committed. A crash between commit and XACK
means the entry comes back, and the callback answers ``duplicate``.

Per entry: decode -> validate (schema) -> acceptance rules (type, pair, age, confidence) -> rate limit ->
``await execute(signal)`` -> XACK together with an outcome record (and a dead letter when refused).

Batching (throughput): what one XREADGROUP returned is executed in order inside one database batch when the
callback offers ``batch(signals)`` (:class:`~tradecast.signals.execution.SignalExecutor` does): one commit
for all of it, then one MULTI/EXEC with every outcome record, dead letter and a single XACK. Nothing waits
for a batch to fill, so a lone signal is committed and acknowledged at once.

Failure policy:

* invalid or refused entries: dead letter with the reason, outcome record, XACK (never retried);
* ``execute`` raises :class:`TransientError`: not acknowledged; the pending entries are re-read after a
  backoff delay;
* ``execute`` raises anything else: logged, not acknowledged, and not retried by this process (a bug must
  not loop); a restarted bot with the same consumer name gets it again;
* Redis unreachable: :attr:`degraded` is set with the reason, we reconnect with backoff and then re-read our
  pending entries before new ones. Signals that expired meanwhile are rejected as ``expired``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import redis.exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from tradecast.core.backoff import backoff_delays
from tradecast.core.clock import Clock, LiveClock
from tradecast.core.errors import PersistenceError, TransientError
from tradecast.signals.outcome import (
    DEAD_LETTER_MAXLEN,
    OUTCOMES_MAXLEN,
    Ack,
    SignalOutcome,
    dead_letter_record,
    decode_stoplosses,
    outcome_record,
    outcomes_stream,
    redact_url,
    stoploss_key,
    text,
)
from tradecast.signals.schema import RateLimiter, Screened, Signal, entry_signal_id, screen_entry
from tradecast.signals.testhooks import crash_after_commit

log = logging.getLogger(__name__)

Execute = Callable[[Signal], Awaitable[SignalOutcome]]
PairsSource = Callable[[], Collection[str]] | Collection[str] | None

#: errors that mean "Redis is not reachable right now" (everything else from redis is a real error)
_CONNECTION_ERRORS = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError, TimeoutError)
#: how often the stoploss cache and the group statistics are refreshed at most
_REFRESH_EVERY_S = 1.0
#: inside a batch, give the event loop a turn after this many entries (see _run_chunk)
_YIELD_EVERY = 16
_COUNTERS = ("received", "executed", "duplicates", "ignored", "failed", "retries", "disconnects")


class SignalIngester:
    """Consumes ``config.stream`` as ``config.consumer`` of ``config.group`` and calls ``execute`` per signal.

    ``config`` is any object with the ``ExternalSignalsConfig`` attributes (redis_url, stream, group,
    consumer, dead_letter_stream, signal_ttl_s, min_confidence, allowed_signal_types,
    max_signals_per_minute, max_entry_bytes). ``tradable_pairs`` is a collection or a callable returning
    one (asked per signal, so whitelist changes apply at once); None skips the pair check.
    """

    def __init__(
        self,
        config: Any,
        execute: Execute,
        tradable_pairs: PairsSource = None,
        clock: Clock | None = None,
        redis_factory: Callable[[], Redis] | None = None,
        *,
        block_ms: int = 1000,
        batch_size: int = 100,
        max_batch_s: float = 0.05,
        reconnect_initial_s: float = 0.5,
        reconnect_max_s: float = 10.0,
    ) -> None:
        self.config = config
        self._execute = execute
        self._pairs = tradable_pairs
        self._clock = clock or LiveClock()
        self._redis_factory = redis_factory or self._default_redis
        self.block_ms = block_ms
        self.batch_size = batch_size
        #: a chunk of a read batch is committed and acknowledged after at most this long (see _run_chunk)
        self.max_batch_s = max_batch_s
        self._backoff = (reconnect_initial_s, reconnect_max_s)
        self._limiter = RateLimiter(config.max_signals_per_minute, self._clock)
        self._outcomes = outcomes_stream(config.stream)
        self._stoploss_key = stoploss_key(config.stream)

        self._redis: Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._pending_cursor: str | None = "0"  # None once our pending entries have been re-read
        self._failed_entries: set[str] = set()  # raised a non-transient error: not retried by this process
        self._stoplosses: dict[str, float] = {}
        self._refreshed_at = float("-inf")
        self._busy = False  # handling a batch: stop() lets it finish
        self._unusable_seen: set[tuple[str, str]] = set()

        self.connected = False
        self.degraded = False
        self.degraded_reason: str | None = None
        self.last_error: str | None = None
        self.lag: int | None = None
        self.pending: int | None = None
        self.counters: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()

    # ------------------------------------------------------------------ lifecycle

    def _default_redis(self) -> Redis:
        # Our own loop owns retries and backoff, so the client must fail fast instead of retrying inside.
        return Redis.from_url(
            self.config.redis_url,
            socket_connect_timeout=5,
            socket_timeout=self.block_ms / 1000 + 5,
            retry=Retry(NoBackoff(), 0),
        )

    def start(self) -> None:
        """Start the background task (idempotent)."""
        if self._task is None or self._task.done():
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="signal-ingester")

    async def stop(self, timeout_s: float | None = None) -> None:
        """Finish the batch in hand, then stop; cancel if that takes longer than ``timeout_s``.

        When no entry is being handled the task is cancelled at once: an entry delivered during a
        cancelled read stays pending for this consumer and is re-read on the next start.
        """
        self._stop.set()
        task, self._task = self._task, None
        if task is not None and not self._busy:
            task.cancel()
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout_s or self.block_ms / 1000 + 2)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise  # we were cancelled ourselves, not the task
        await self._close()

    async def _close(self) -> None:
        client, self._redis = self._redis, None
        self.connected = False
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _run(self) -> None:
        delays = None
        while not self._stop.is_set():
            try:
                await self.run_once()
                delays = None  # a good round resets the backoff
            except TransientError as exc:
                delays = delays or backoff_delays(*self._backoff)
                delay = next(delays)
                log.warning("external signals: %s; retrying in %.1f s", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
            except Exception:  # a bug must not kill the bot; say so loudly and slow down
                log.exception("external signals: unexpected error in the ingester loop")
                self.last_error = "unexpected error (see log)"
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._backoff[1])

    async def connect(self) -> None:
        """Connect, make sure the consumer group exists, and arrange to re-read our pending entries."""
        if self._redis is None:
            self._redis = self._redis_factory()
        await self._redis.ping()
        try:
            await self._redis.xgroup_create(self.config.stream, self.config.group, id="0", mkstream=True)
            log.info("external signals: created group %s on %s", self.config.group, self.config.stream)
        except redis_errors.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        if self.degraded:
            log.warning("external signals: Redis is back (%s)", redact_url(self.config.redis_url))
        self.connected = True
        self.degraded = False
        self.degraded_reason = None
        self._pending_cursor = "0"

    async def _degrade(self, exc: BaseException) -> None:
        reason = f"Redis unreachable at {redact_url(self.config.redis_url)}: {exc or type(exc).__name__}"
        if not self.degraded:
            log.error("external signals: %s", reason)
        self.degraded = True
        self.degraded_reason = reason
        self.last_error = reason
        self.counters["disconnects"] += 1
        await self._close()

    # ------------------------------------------------------------------ one round

    async def run_once(self, block_ms: int | None = None) -> int:
        """Connect if needed, then read and handle one batch; returns how many entries were handled.

        Re-reads this consumer's pending entries first (after start and after every reconnect), then new
        entries, waiting up to ``block_ms`` for them. Raises :class:`TransientError` when Redis is
        unreachable or the bot asked for a retry; the caller backs off.
        """
        try:
            if not self.connected:
                await self.connect()
            await self._refresh()
            entries = await self._read(block_ms)
            return await self._handle_batch(entries)
        except redis_errors.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # the stream or group vanished (Redis restarted without persistence, or someone deleted it)
            log.warning("external signals: consumer group missing, creating it again")
            self.connected = False
            return 0
        except _CONNECTION_ERRORS as exc:
            await self._degrade(exc)
            raise TransientError(self.degraded_reason or "Redis unreachable") from exc

    async def _read(self, block_ms: int | None) -> list[tuple[bytes, dict[bytes, bytes]]]:
        assert self._redis is not None
        stream, group, consumer = self.config.stream, self.config.group, self.config.consumer
        while self._pending_cursor is not None:
            # "0"-style ids return entries delivered to us earlier and never acknowledged (a crash, an
            # outage, a retry); a cursor past those already seen this round lets us page through them.
            reply = await self._redis.xreadgroup(
                group, consumer, {stream: self._pending_cursor}, count=self.batch_size
            )
            entries = reply[0][1] if reply else []
            if entries:
                self._pending_cursor = text(entries[-1][0])
                fresh = [e for e in entries if text(e[0]) not in self._failed_entries]
                if fresh:
                    return fresh
                continue
            self._pending_cursor = None
        block = self.block_ms if block_ms is None else block_ms
        reply = await self._redis.xreadgroup(
            group, consumer, {stream: ">"}, count=self.batch_size, block=block or None
        )
        return reply[0][1] if reply else []

    async def _handle_batch(self, entries: list[tuple[bytes, Any]]) -> int:
        """Execute and acknowledge what one read returned, chunk by chunk (see _run_chunk)."""
        handled = 0
        self._busy = True
        try:
            items = [(text(entry_id), fields or {}) for entry_id, fields in entries]
            while handled < len(items) and not self._stop.is_set():
                handled += await self._run_chunk(items[handled:])
        finally:
            self._busy = False
        return handled

    async def _run_chunk(self, items: list[tuple[str, Mapping[bytes, bytes]]]) -> int:
        """Execute entries in order inside ONE database batch, then XACK them all in ONE round trip.

        Exactly-once per chunk: its decisions are committed together when the batch ends (the executor's
        ``batch`` context), and only then are its entries acknowledged; a crash before the commit redelivers
        the chunk with nothing stored, a crash after it redelivers records (duplicates). Each entry is
        screened (expiry, rate limit...) just before it is executed. A chunk ends after ``max_batch_s`` so
        the write lock is never held long; it never waits for more entries. Returns how many were handled.
        """
        acks: list[Ack] = []
        retry: TransientError | None = None
        handled = 0
        deadline = time.monotonic() + self.max_batch_s
        try:
            async with contextlib.AsyncExitStack() as stack:
                batch_open = False
                for entry_id, fields in items:
                    if self._stop.is_set() or (handled and time.monotonic() > deadline):
                        break  # the rest: next chunk, or pending for us until the next start
                    if handled and handled % _YIELD_EVERY == 0:
                        await asyncio.sleep(0)  # inline database calls never suspend: let other tasks run
                    screened = self._screen(entry_id, fields)
                    if not batch_open and screened.reason is None and screened.signal is not None:
                        batch_open = True  # the first signal to execute opens the batch (refusals need none)
                        await stack.enter_async_context(self._batch(items[handled:]))
                    try:
                        ack = await self._decide(entry_id, screened)
                    except TransientError as exc:
                        retry = exc
                        break
                    handled += 1
                    if ack is not None:
                        acks.append(ack)
        except PersistenceError as exc:
            # the batch could not be opened or committed: the executor reloaded the engine from what is stored,
            # nothing is acknowledged; read our pending entries again (stored ones answer duplicate)
            self.last_error = f"database: {exc}"
            self._pending_cursor = "0"
            raise TransientError(f"database batch failed, signals will be read again: {exc}") from exc
        for ack in acks:  # test hook (after the commit, before the XACK); does nothing unless asked to
            crash_after_commit(ack.outcome["signal_id"], ack.status)
        await self._ack(acks)
        if retry is not None:
            raise retry
        return handled

    def _screen(self, entry_id: str, fields: Mapping[bytes, bytes]) -> Screened:
        self.counters["received"] += 1
        pairs = self._pairs() if callable(self._pairs) else self._pairs
        return screen_entry(entry_id, fields, self.config, self._clock.now(), pairs, self._limiter)

    def _batch(self, items: list[tuple[str, Mapping[bytes, bytes]]]) -> AbstractAsyncContextManager[Any]:
        """The callback's ``batch(signal_ids)`` context when it has one (``SignalExecutor``), else nothing."""
        batch = getattr(self._execute, "batch", None)
        if batch is None:
            return contextlib.nullcontext()
        limit = self.config.max_entry_bytes  # the ids the entries claim: their records are looked up at once
        ids = (entry_signal_id(entry_id, fields, limit) for entry_id, fields in items)
        return batch([signal_id for signal_id in ids if signal_id])

    async def _decide(self, entry_id: str, screened: Screened) -> Ack | None:
        """Execute one screened entry; returns what to acknowledge, None to leave it pending."""
        signal, signal_id, reason = screened.signal, screened.signal_id, screened.reason
        if reason is not None or signal is None:
            code, detail = (reason.code, reason.detail) if reason else ("invalid", "")
            return self._finish(entry_id, signal_id, signal, "rejected", code, detail, screened.payload)
        try:
            outcome = await self._execute(signal)
            if not isinstance(outcome, SignalOutcome):
                raise TypeError(f"execute must return a SignalOutcome, got {outcome!r}")
        except TransientError as exc:
            self.counters["retries"] += 1
            self.last_error = f"execute {signal_id}: {exc}"
            self._pending_cursor = "0"  # read it (and anything after it) again after the backoff
            raise TransientError(f"bot asked to retry signal {signal_id}: {exc}") from exc
        except Exception as exc:
            self.counters["failed"] += 1
            self.last_error = f"execute {signal_id}: {exc!r}"
            self._failed_entries.add(entry_id)
            log.exception("external signals: executing %s failed; left pending for the next start", signal_id)
            return None
        # The bot's own refusals and duplicates are dead-lettered like ours, under a stable reason code.
        code = {"duplicate": "duplicate", "rejected": "trade_rejected"}.get(outcome.status, outcome.status)
        detail = outcome.reason or ""
        if outcome.status == "duplicate":
            detail = f"signal id {signal_id} was already processed"
        return self._finish(entry_id, signal_id, signal, outcome.status, code, detail, trade_id=outcome.trade_id)

    def _finish(self, entry_id: str, signal_id: str, signal: Signal | None, status: str, code: str, detail: str,
                payload: Any = None, trade_id: int | None = None) -> Ack:
        """Count the decision; returns the outcome record (+ dead letter when refused) to write with the XACK."""
        now = self._clock.now()
        dead = None
        if status in ("executed", "ignored"):
            self.counters[status] += 1
            action, pair = (signal.action, signal.pair) if signal else (None, None)
            log.info("external signal %s %s %s: %s", signal_id, action, pair, status)
        else:
            self.counters["duplicates"] += status == "duplicate"
            self.rejected[code] += 1
            total = self.rejected[code]
            if total == 1 or total % 100 == 0:  # a flood must not flood the log as well
                log.warning("external signal %s rejected (%s, %d so far): %s", signal_id, code, total, detail)
            shown = signal.to_json() if payload is None and signal is not None else payload
            dead = dead_letter_record(signal_id, entry_id, code, detail, shown, now, self.config.consumer)
        record = outcome_record(signal_id, entry_id, status, code, detail, trade_id, signal, now)
        return Ack(entry_id, status, dead, record)

    async def _ack(self, acks: list[Ack]) -> None:
        """Outcome records, dead letters and the XACK of ``acks`` in ONE MULTI/EXEC: all or nothing."""
        if not acks:
            return
        assert self._redis is not None
        async with self._redis.pipeline(transaction=True) as pipe:
            for ack in acks:
                if ack.dead is not None:
                    pipe.xadd(self.config.dead_letter_stream, ack.dead, maxlen=DEAD_LETTER_MAXLEN, approximate=True)
                pipe.xadd(self._outcomes, ack.outcome, maxlen=OUTCOMES_MAXLEN, approximate=True)
            pipe.xack(self.config.stream, self.config.group, *(ack.entry_id for ack in acks))
            await pipe.execute()

    # ------------------------------------------------------------------ stoplosses and statistics

    async def _refresh(self) -> None:
        if time.monotonic() - self._refreshed_at < _REFRESH_EVERY_S:
            return
        await self.refresh()

    async def refresh(self) -> None:
        """Reload the custom stoplosses and the group statistics now (done about once a second anyway)."""
        assert self._redis is not None
        self._stoplosses, unusable = decode_stoplosses(await self._redis.hgetall(self._stoploss_key))
        for pair, value in unusable.items() - self._unusable_seen:  # once each, not every second
            log.warning("external signals: ignoring unusable stoploss %r for %s", value, pair)
        self._unusable_seen = set(unusable.items())
        try:
            groups = await self._redis.xinfo_groups(self.config.stream)
        except redis_errors.ResponseError:  # the stream vanished; the next read recreates it
            groups = []
        for group in groups:
            if text(group.get("name")) == self.config.group:
                self.lag = group.get("lag")
                self.pending = group.get("pending")
        self._refreshed_at = time.monotonic()

    def custom_stoploss(self, pair: str) -> float | None:
        """The stoploss ratio set for ``pair`` through Redis, or None. Last known values survive an outage."""
        return self._stoplosses.get(pair)

    @property
    def stoplosses(self) -> dict[str, float]:
        """All custom stoplosses currently known (a copy)."""
        return dict(self._stoplosses)

    def status(self) -> dict[str, Any]:
        """A JSON-ready snapshot for the API and logs."""
        return {
            "connected": self.connected,
            "degraded": self.degraded,
            "degraded_reason": self.degraded_reason,
            "last_error": self.last_error,
            "stream": self.config.stream,
            "group": self.config.group,
            "consumer": self.config.consumer,
            **{name: self.counters[name] for name in _COUNTERS},
            "rejected": dict(self.rejected),
            "lag": self.lag,
            "pending": self.pending,
            "custom_stoplosses": dict(self._stoplosses),
        }
