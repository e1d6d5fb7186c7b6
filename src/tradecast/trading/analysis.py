"""Refresh candles and run the strategy over them without blocking the event loop.

Candles are fetched concurrently (bounded), then analysed in one worker-thread pass that streams each pair's
result back to the event loop as soon as it exists. The loop stores it, tells the listeners (the producer hub,
the engine) and so publishes and trades on that pair while the worker goes on with the next ones; the worker
never waits for the loop, and the loop stays free for the API and the websockets throughout.

A short pass (a consumer's few pairs whose producer data just arrived) of a strategy whose recent analyses all
took under ``INLINE_BUDGET_S`` runs on the loop instead, one pair per loop turn. Handing a 2 ms analysis to
a thread costs more than the analysis: while the worker holds the GIL, every socket read and wake-up of the
loop waits up to a switch interval for it, so results, decisions and the next messages queue up. The loop
then never waits longer than the budget at a time, and one analysis over it sends the next passes back to
the worker.

A strategy error for one pair is logged once per pair and kind of error, and that pair is skipped; the others
go on.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from tradecast.core.errors import ConfigError, StrategyError, TransientError
from tradecast.core.timeframes import timeframe_to_seconds

log = logging.getLogger("tradecast.analysis")

#: how many candles a pair keeps (and how many the first fetch asks for)
DEFAULT_CANDLE_LIMIT = 1000
#: how many candle requests may be in flight at once (network markets)
FETCH_CONCURRENCY = 16
#: a market that computes candles in-process (the sim) gets fewer at once, so one loop turn stays short
LOCAL_FETCH_CONCURRENCY = 2
#: how long the analysis thread may hold the GIL before the event loop gets it back (Python's default: 5 ms)
GIL_SWITCH_INTERVAL_S = 0.001
#: a pass of at most this many pairs may run on the event loop itself ...
INLINE_MAX_PAIRS = 8
#: ... when each of the strategy's recent analyses took at most this long (the longest the loop then waits)
INLINE_BUDGET_S = 0.004
#: how many recent analysis times that decision looks at
INLINE_HISTORY = 32


def _last_date(result: Any) -> Any:
    """The last candle's date of an analysed frame (read in the worker, to keep the loop's share short)."""
    if not isinstance(result, pd.DataFrame):
        return _UNKNOWN
    try:
        return result["date"].iloc[-1] if not result.empty else None
    except Exception:  # no usable date column: the loop reads it again and reports what is wrong
        return _UNKNOWN


_UNKNOWN: Any = object()


@dataclass(frozen=True, slots=True)
class Analyzed:
    """One pair's analysis result."""

    pair: str
    timeframe: str
    frame: pd.DataFrame
    new_candle: bool
    analyzed_at: datetime


AnalyzedListener = Callable[[Analyzed], Any]


class AnalysisPipeline:
    """Candle refresh plus strategy analysis for a set of pairs."""

    def __init__(self, *, market: Any, strategy: Any, candles: Any, analyzed: Any,
                 candle_limit: int = DEFAULT_CANDLE_LIMIT) -> None:
        self.market = market
        self.strategy = strategy
        self.candles = candles
        self.analyzed = analyzed
        self.candle_limit = max(candle_limit, int(getattr(strategy, "startup_candle_count", 0) or 0) + 50)
        self._last_candle: dict[str, Any] = {}
        self._reported: set[tuple[str, str]] = set()
        #: False when another part fills ``candles`` (a consumer with ``producer_data_only``): never fetch,
        #: and the loop analyses a pair only when its stored frame was replaced since its last analysis
        self.fetch_candles = True
        self._fed_input: dict[str, pd.DataFrame] = {}
        local = self._local = getattr(market, "name", "") == "sim"
        self._pass_lock = asyncio.Lock()
        #: CPU seconds of the strategy's latest analyses (both ways), for the inline decision
        self._recent: deque[float] = deque(maxlen=INLINE_HISTORY)
        self._fetch_runners = LOCAL_FETCH_CONCURRENCY if local else FETCH_CONCURRENCY
        self._fetch_gate = asyncio.Semaphore(self._fetch_runners)  # shared by concurrent refreshes
        # the worker thread runs pandas for milliseconds at a time; a shorter switch interval lets the
        # event loop (API, websockets, signals) take the GIL back sooner while analysis runs
        if sys.getswitchinterval() > GIL_SWITCH_INTERVAL_S:
            sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)

    # ---------------------------------------------------------------- candles
    async def refresh(self, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Bring the stored candles of each (pair, timeframe) up to date; returns those that succeeded."""
        targets = list(dict.fromkeys(pairs))
        if not self.fetch_candles:
            return [target for target in targets if self.candles.get(*target) is not None]
        results = await self._refresh_each(targets)
        return [target for target in targets if results[target]]

    async def _refresh_each(self, targets: list[tuple[str, str]]) -> dict[tuple[str, str], bool]:
        """Refresh the targets in order, as many at once as the fetch gate admits.

        A few runners that take the next target, not a task per target: 500 tasks started in one loop turn
        held the loop for 10-20 ms.
        """
        pending = iter(targets)
        results: dict[tuple[str, str], bool] = {}

        async def runner() -> None:
            for target in pending:
                results[target] = await self._refresh_one(*target)

        await asyncio.gather(*(runner() for _ in range(min(self._fetch_runners, len(targets)))))
        return results

    async def _refresh_one(self, pair: str, timeframe: str) -> bool:
        async with self._fetch_gate:
            try:
                stored = self.candles.get(pair, timeframe)
                if stored is None or stored.empty:
                    frame = await self.market.fetch_ohlcv(pair, timeframe, limit=self.candle_limit)
                else:
                    frame = await self._fetch_newer(pair, timeframe, stored)
            except (TransientError, ConfigError) as exc:
                self._report_once(pair, "fetch", f"{pair}: candles not refreshed: {exc}")
                return False
            except Exception as exc:  # an adapter bug must not stop the other pairs
                self._report_once(pair, "fetch", f"{pair}: candles not refreshed: {type(exc).__name__}: {exc}")
                return False
            # a simulated market computes candles in this thread: yield so the loop never stalls for long
            await asyncio.sleep(0)
        self.candles.set(pair, timeframe, frame)
        return True

    async def _fetch_newer(self, pair: str, timeframe: str, stored: pd.DataFrame) -> pd.DataFrame:
        last = stored["date"].iloc[-1].to_pydatetime()
        missing = (self.market.clock.now() - last).total_seconds() / timeframe_to_seconds(timeframe)
        if missing >= self.candle_limit:
            return await self.market.fetch_ohlcv(pair, timeframe, limit=self.candle_limit)
        if missing < 2:  # the newest closed candle is already stored
            return stored
        if self._local:
            # a market computing candles in-process serves its newest candles from a cache; building that
            # frame costs half of fetching the new rows and splicing them onto the stored ones
            return await self.market.fetch_ohlcv(pair, timeframe, limit=self.candle_limit)
        newer = await self.market.fetch_ohlcv(pair, timeframe, since=last, limit=int(missing) + 2)
        if newer.empty:
            return stored.tail(self.candle_limit).reset_index(drop=True)
        # stored dates are sorted: slice the rows older than the fetched ones and only as many as are kept
        # (a boolean mask, a concat of all rows and a tail cost twice as much, for every pair and candle)
        older = int(stored["date"].searchsorted(newer["date"].iloc[0], side="left"))
        keep = max(self.candle_limit - len(newer), 0)
        head = stored.iloc[max(older - keep, 0):older]
        if not len(head):
            return newer.tail(self.candle_limit).reset_index(drop=True)
        return pd.concat([head, newer], ignore_index=True)  # at most candle_limit rows, a fresh index

    # --------------------------------------------------------------- analysis
    def wants_analysis(self, pair: str, frame: pd.DataFrame) -> bool:
        """True when the pair has a new closed candle, or always without ``process_only_new_candles``."""
        if frame is None or frame.empty:
            return False
        if not self.fetch_candles:  # candles fed by another part: analyse when that part stored new ones
            return self._fed_input.get(pair) is not frame
        if not getattr(self.strategy, "process_only_new_candles", True):
            return True
        return self._last_candle.get(pair) != frame["date"].iloc[-1]

    async def analyze(self, pairs: Sequence[str], on_result: AnalyzedListener, *, force: bool = False) -> int:
        """Analyse the pairs that need it in the worker thread; ``on_result`` runs in the loop, pair by pair.

        Passes never overlap (the bot loop and the consumer's event-driven analysis both call this): a strategy
        is not written to run twice at once, and an older pass must not store a result over a newer one.
        """
        async with self._pass_lock:
            return await self._pass(list(dict.fromkeys(pairs)), on_result, force)

    def runs_inline(self, pairs: int) -> bool:
        """Would a pass over this many pairs run on the event loop (see the module docstring)?"""
        recent = self._recent
        return 0 < pairs <= INLINE_MAX_PAIRS and len(recent) > 0 and max(recent) <= INLINE_BUDGET_S

    async def _pass(self, pairs: list[str], on_result: AnalyzedListener, force: bool) -> int:
        if self.runs_inline(len(pairs)):
            return await self._pass_inline(pairs, on_result, force)
        return await self._pass_in_worker(pairs, on_result, force)

    async def _pass_inline(self, pairs: list[str], on_result: AnalyzedListener, force: bool) -> int:
        """The pass on the event loop: each pair analysed, stored and handed on, then the loop's other work."""
        timeframe = self.strategy.timeframe
        done = 0
        for index, pair in enumerate(pairs):
            if index:
                await asyncio.sleep(0)  # messages, API requests and decisions between two analyses
            frame = self.candles.get(pair, timeframe)
            if frame is None or not (force or self.wants_analysis(pair, frame)):
                continue
            if not self.fetch_candles:
                self._fed_input[pair] = frame
            result = self._analyze_one(pair, frame)
            if isinstance(result, Exception):
                self._report_once(pair, type(result).__name__, f"{pair}: analysis skipped: {result}")
                continue
            outcome = self._store(pair, timeframe, result, _last_date(result))
            done += 1
            maybe = on_result(outcome)
            if asyncio.iscoroutine(maybe):
                await maybe
        return done

    async def _pass_in_worker(self, pairs: list[str], on_result: AnalyzedListener, force: bool) -> int:
        timeframe = self.strategy.timeframe
        loop = asyncio.get_running_loop()
        inbox: queue.SimpleQueue[tuple[str, pd.DataFrame] | None] = queue.SimpleQueue()
        outbox: deque[tuple[str, Any, Any] | None] = deque()
        woken = asyncio.Event()
        waking = threading.Event()  # a wake-up of the loop is on its way
        inputs: dict[str, pd.DataFrame] = {}
        stop = threading.Event()

        def hand_over(item: tuple[str, Any, Any] | None) -> None:
            # one wake-up of the loop at a time: results that come while one is on its way go with it
            outbox.append(item)
            if not waking.is_set():
                waking.set()
                loop.call_soon_threadsafe(woken.set)

        def worker() -> None:
            # One worker pass over every pair, streaming each result back as soon as it exists: the worker
            # never waits for the loop (a thread hop per pair cost ~1 ms of idle worker each), and the loop
            # still stores, publishes and decides pair by pair while later pairs are being analysed.
            try:
                while (item := inbox.get()) is not None and not stop.is_set():
                    pair, frame = item
                    result = self._analyze_one(pair, frame)
                    hand_over((pair, result, _last_date(result)))
            finally:
                hand_over(None)

        def submit(pair: str) -> None:
            frame = self.candles.get(pair, timeframe)
            if frame is not None and (force or self.wants_analysis(pair, frame)):
                inputs[pair] = frame
                if not self.fetch_candles:
                    self._fed_input[pair] = frame
                inbox.put((pair, frame))

        async def feed() -> None:
            try:
                for index, pair in enumerate(pairs):
                    submit(pair)
                    if index % 64 == 63:
                        await asyncio.sleep(0)  # many pairs: let the loop breathe between batches
            finally:
                inbox.put(None)

        feeding = loop.create_task(feed())
        running = loop.run_in_executor(None, worker)
        done = 0
        try:
            finished = False
            while not finished:
                await woken.wait()
                woken.clear()
                waking.clear()  # before draining: a result added from now on wakes the loop again
                while outbox:
                    item = outbox.popleft()
                    if item is None:
                        finished = True
                        break
                    pair, result, last_date = item
                    if self.candles.get(pair, timeframe) is not inputs[pair]:
                        continue  # newer candles arrived while this pair was analysed: that result is outdated
                    if isinstance(result, Exception):
                        self._report_once(pair, type(result).__name__, f"{pair}: analysis skipped: {result}")
                        continue
                    outcome = self._store(pair, timeframe, result, last_date)
                    done += 1
                    maybe = on_result(outcome)
                    if asyncio.iscoroutine(maybe):
                        await maybe
        finally:
            stop.set()  # cancelled (the bot is stopping): the worker ends after its current pair
            feeding.cancel()  # (a no-op once every pair was handed over)
            inbox.put(None)
            (fed,) = await asyncio.gather(feeding, return_exceptions=True)
            await asyncio.shield(running)  # never two analysis passes of one strategy at once
        if isinstance(fed, Exception):
            raise fed  # choosing the pairs failed (a frame without dates): as loud as before the worker existed
        return done

    def _analyze_one(self, pair: str, frame: pd.DataFrame) -> Any:
        """The analysed frame of ``pair``, or the StrategyError that prevented it (worker thread)."""
        started = time.thread_time()  # CPU time: waiting for the GIL in the worker is not the analysis' cost
        try:
            return self.strategy.analyze(frame, {"pair": pair})
        except StrategyError as exc:
            return exc
        except Exception as exc:  # the strategy wraps user errors; anything else is still isolated
            return StrategyError(f"{type(exc).__name__}: {exc}")
        finally:
            self._recent.append(time.thread_time() - started)

    def _store(self, pair: str, timeframe: str, frame: pd.DataFrame, last_date: Any = _UNKNOWN) -> Analyzed:
        if last_date is _UNKNOWN:
            last_date = frame["date"].iloc[-1] if not frame.empty else None
        new_candle = self._last_candle.get(pair) != last_date
        self._last_candle[pair] = last_date
        now = self.market.clock.now()
        self.analyzed.set(pair, timeframe, frame, now)
        if self._reported:
            self._reported = {key for key in self._reported if key[0] != pair}
        return Analyzed(pair=pair, timeframe=timeframe, frame=frame, new_candle=new_candle, analyzed_at=now)

    def _report_once(self, pair: str, kind: str, message: str) -> None:
        key = (pair, kind)
        if key not in self._reported:
            self._reported.add(key)
            log.warning(message + " (the bot keeps running; logged once until it recovers)")
