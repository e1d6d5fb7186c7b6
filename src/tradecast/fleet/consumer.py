"""``ConsumerService``: a consumer bot's side of producer/consumer mode (fact sheet section 5, improved).

It owns the :class:`~tradecast.data.producer_frames.ProducerFrameStore` (rows kept per key:
``initial_candle_limit``, or 1500 when that is 0; ``remove_entry_exit_signals`` applied on receipt) and one
:class:`~tradecast.fleet.client.ProducerClient` per configured producer, and it is the strategy's
``self.dp`` producer source (through :class:`~tradecast.fleet.producer_feed.ProducerFeed`).

Per message:

* ``analyzed_df`` -> ``store.apply(producer, msg, is_reply=...)``; a gap or a missing history becomes one
  request through that producer's client (the store asks at most once per candle and pair). When the frame
  was stored (new candle or updated candle) and the pair is one the bot trades (whitelist or open trade),
  the pair is queued for **event-driven analysis**: a pending set drained by one task that calls
  ``bot.analyze_now(pairs)`` with every pair waiting (candles refreshed for them, strategy analysed with
  ``force=True``, the engine deciding pair by pair as each result arrives), so a producer's candle is traded
  on within milliseconds instead of at the next loop. Bursts (the initial sync, a candle close with 500
  pairs) coalesce: a pair waiting in the set is analysed once, oldest first.
* ``whitelist`` -> ``store.set_whitelist``. Other types are counted and ignored.
* On every (re)connect the store forgets its requests in flight for that producer (they died with the
  connection).

``producer_data_only``: the bot downloads no candles (``bot.pipeline.fetch_candles = False``); the candles a
strategy analyses for a pair are the OHLCV columns of the newest ``pipeline.candle_limit`` rows (1000, as
many as a bot keeps of its own candles) of the producer frame at the strategy's timeframe (the first
configured producer that has the pair wins); the full producer frame stays available through
``dp.get_producer_df``. Orders still price from the bot's market tickers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from tradecast.core.clock import Clock, LiveClock
from tradecast.core.frames import column_values, frame_from_arrays
from tradecast.data.producer_frames import ApplyOutcome, ProducerFrameStore
from tradecast.fleet.client import ProducerClient
from tradecast.fleet.producer_feed import ProducerFeed
from tradecast.wire import AnalyzedDfMessage, WhitelistMessage

__all__ = ["OHLCV", "ConsumerService"]

log = logging.getLogger("tradecast.fleet.consumer")

OHLCV = ["date", "open", "high", "low", "close", "volume"]
_STORED = frozenset({ApplyOutcome.REPLACED, ApplyOutcome.MERGED, ApplyOutcome.APPENDED, ApplyOutcome.UPDATED})


class ConsumerService:
    """Producer clients + frame store + event-driven analysis for one consumer bot (a bot component)."""

    name = "external_message_consumer"

    def _holder(self, producer: str) -> Callable[[str], bool]:
        """``pair -> bool``: is a frame of this producer stored for the pair at our timeframe?"""
        def has_data(pair: str) -> bool:
            return self.store.entry(producer, pair, self.bot.strategy.timeframe) is not None
        return has_data

    def __init__(
        self,
        bot: Any,
        config: Any,
        *,
        connect: Callable[..., Any] | None = None,
        clock: Clock | None = None,
        rng: Any = None,
    ) -> None:
        self.bot = bot
        self.config = config
        self.clock: Clock = clock or LiveClock()
        self.store = ProducerFrameStore(
            max_rows=config.initial_candle_limit or 1500,
            remove_entry_exit_signals=config.remove_entry_exit_signals,
        )
        self.producer_names = [p.name for p in config.producers]
        self.feed = ProducerFeed(self.store, self.producer_names)
        options: dict[str, Any] = {"clock": self.clock, "on_connect": self._on_connect, "rng": rng}
        if connect is not None:
            options["connect"] = connect
        self.clients = {
            p.name: ProducerClient(p, config, self._on_message, has_data=self._holder(p.name),
                                   compact=bool(getattr(config, "tradecast_wire", True)), **options)
            for p in config.producers
        }
        self.producer_data_only = bool(getattr(config, "producer_data_only", False))
        self.outcomes: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()
        self.analyses = 0
        self.analysis_batches = 0
        self._pending: dict[str, float] = {}  # pair -> monotonic time its data arrived
        self._drain_task: asyncio.Task[None] | None = None
        self._analysis_failed_logged = False
        #: called with (pair, seconds from message to decision) after each event-driven analysis
        self.decision_listeners: list[Callable[[str, float], Any]] = []
        bot.dataprovider.producer_source = self.feed
        if self.producer_data_only:
            bot.pipeline.fetch_candles = False

    # --------------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Start one client task per producer."""
        for client in self.clients.values():
            client.start()
        log.info("consumer: following %d producer(s): %s%s", len(self.clients),
                 ", ".join(f"{c.name} ({c.public_url})" for c in self.clients.values()),
                 "; candles come from the producers only" if self.producer_data_only else "")

    async def stop(self) -> None:
        """Stop the clients and the pending analysis."""
        for client in self.clients.values():
            await client.stop()
        task, self._drain_task = self._drain_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def status(self) -> dict[str, Any]:
        """Health: per-producer connection state and counters, store size, analysis counters."""
        return {
            "producers": {name: client.status() for name, client in self.clients.items()},
            "frames": len(self.store.keys()),
            "outcomes": dict(self.outcomes),
            "ignored_messages": dict(self.ignored),
            "event_analyses": self.analyses,
            "analysis_batches": self.analysis_batches,
            "pending_analyses": len(self._pending),
            "producer_data_only": self.producer_data_only,
        }

    # ---------------------------------------------------------------------------------- messages

    def _on_connect(self, producer: str) -> None:
        self.store.forget_requests(producer)

    async def _on_message(self, producer: str, msg: Any, is_reply: bool) -> None:
        if isinstance(msg, AnalyzedDfMessage):
            # applied at once, even while an analysis pass runs (the store swaps whole entries): waiting here
            # for a bot pass would stall every producer's receive loop and get us dropped as a slow consumer
            self._on_frame(producer, msg, is_reply, time.monotonic())
        elif isinstance(msg, WhitelistMessage):
            self.store.set_whitelist(producer, msg.pairs)
        else:
            self.ignored[str(getattr(msg, "type", type(msg).__name__))] += 1

    def _on_frame(self, producer: str, msg: AnalyzedDfMessage, is_reply: bool, arrived: float | None = None) -> None:
        arrived = time.monotonic() if arrived is None else arrived
        result = self.store.apply(producer, msg, is_reply=is_reply)
        self.outcomes[result.outcome.value] += 1
        if result.needs is not None:
            self.clients[producer].request(result.needs.pair, result.needs.limit)
        if result.outcome not in _STORED:
            return
        timeframe = self.bot.strategy.timeframe
        if self.producer_data_only and msg.timeframe == timeframe and msg.candle_type == "spot":
            self._feed_candles(producer, msg.pair, timeframe)
        if msg.pair in self._tradable():
            self._pending.setdefault(msg.pair, arrived)
            if self._drain_task is None or self._drain_task.done():
                self._drain_task = asyncio.create_task(self._drain(), name="consumer-analysis")

    def _tradable(self) -> set[str]:
        engine = self.bot.engine
        return set(engine.whitelist).union(t.pair for t in engine.open_trades.values())

    def _feed_candles(self, producer: str, pair: str, timeframe: str) -> None:
        """Candles for ``pair`` = the OHLCV columns of the highest-priority producer frame that has it."""
        for name in self.producer_names:
            entry = self.store.entry(name, pair, timeframe, "spot")
            if entry is None:
                continue
            if name != producer:
                return  # an earlier producer in the config has this pair: it wins
            frame = entry.frame
            if not set(OHLCV).issubset(frame.columns):
                self.ignored["frame_without_ohlcv"] += 1
                return
            limit = getattr(self.bot.pipeline, "candle_limit", None)
            first = max(len(frame) - limit, 0) if limit else 0  # as many candles as a bot keeps of its own
            # the newest rows of the six columns, copied into a new frame: the store's stays untouched
            arrays = [column_values(frame, name)[first:] for name in OHLCV]
            if all(values.dtype == np.float64 for values in arrays[1:]):
                candles = frame_from_arrays(OHLCV, arrays)
            else:  # e.g. a producer's whole-number prices: pandas converts them
                candles = frame.iloc[first:, [frame.columns.get_loc(c) for c in OHLCV]]
                candles = candles.astype({c: "float64" for c in OHLCV[1:]}).reset_index(drop=True)
            self.bot.candles.set(pair, timeframe, candles)
            return

    # ---------------------------------------------------------------------------------- analysis

    async def _drain(self) -> None:
        """Analyse the pending pairs, oldest first, until none are left.

        Each pass takes every pair waiting and decides pair by pair as the worker streams results, so a pair
        never waits for pairs that arrived after it, and a burst pays the worker hand-over once. A pair
        updated again while it waits is analysed once, with the newest data.
        """
        while self._pending:
            arrivals, self._pending = self._pending, {}
            await self.analyze_pairs(arrivals)

    async def analyze_pairs(self, arrivals: dict[str, float]) -> int:
        """Analyse these pairs now through the bot (its engine decides); returns how many were analysed."""
        if self.bot.state != "running":
            return 0
        self.analysis_batches += 1

        def decided(pair: str) -> None:
            if not self.decision_listeners:
                return
            seconds = time.monotonic() - arrivals.get(pair, time.monotonic())
            for listener in self.decision_listeners:
                try:
                    listener(pair, seconds)
                except Exception:
                    log.exception("consumer: decision listener failed for %s", pair)

        try:
            done = await self.bot.analyze_now(list(arrivals), decided)
        except Exception as exc:  # never let one failure stop event-driven analysis
            if not self._analysis_failed_logged:
                self._analysis_failed_logged = True
                log.warning("consumer: event-driven analysis failed (%s: %s); the bot loop still analyses "
                            "(logged once)", type(exc).__name__, exc)
            return 0
        self.analyses += done
        return done
