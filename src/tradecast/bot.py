"""The composition root: builds a bot's parts from its config, wires them, and owns start/stop.

A bot is one asyncio event loop. ``Bot.run()`` loops: refresh candles, analyse (worker thread), let the engine
decide, manage open trades, then sleep until the next candle closes or ``process_throttle_secs`` passes,
whichever comes first. ``run_once()`` does one such pass (tests use it to be deterministic).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from tradecast import __version__
from tradecast.core.errors import ConfigError, TradecastError
from tradecast.core.runtime import freeze_startup_objects
from tradecast.core.timeframes import next_candle_open
from tradecast.data.analyzed import AnalyzedStore
from tradecast.data.candles import CandleStore
from tradecast.data.provider import DataProvider
from tradecast.market import create_market
from tradecast.persistence import Database, DbExecutor, TradeRepository
from tradecast.strategy import load_strategy
from tradecast.trading.analysis import AnalysisPipeline, Analyzed
from tradecast.trading.broker import LiveBroker, PaperBroker
from tradecast.trading.engine import TradingEngine
from tradecast.trading.events import EventListener
from tradecast.trading.exits import Signals

log = logging.getLogger("tradecast.bot")

#: how long one part (API server, consumer, ingester, market) may take to stop before the bot goes on without it
COMPONENT_STOP_S = 5.0
#: how long after a candle's close the loop wakes to fetch it: the sim market has the closed candle at once
#: (waking a little early only costs one more short pass); an exchange needs a moment to publish it
CLOSE_DELAY_S = {"sim": 0.002}
DEFAULT_CLOSE_DELAY_S = 0.05


class Component(Protocol):
    """A long-lived part attached to a bot (API server, producer hub, consumer client, signal ingester)."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Bot:
    """One trading bot: market, strategy, engine, database, and (later) API and fleet parts."""

    def __init__(self, config: Any, *, market: Any | None = None) -> None:
        self.config = config
        self.market = market or create_market(config.exchange, config.dry_run)
        self.clock = self.market.clock
        self.strategy = load_strategy(config.strategy, config, getattr(config, "strategy_path", None))
        self.database = Database(config.db_url or config.effective_db_url())
        self.repo = TradeRepository(self.database)
        self.db = DbExecutor(self.repo)
        self.candles = CandleStore()
        self.analyzed = AnalyzedStore()
        self.event_listeners: list[EventListener] = []
        self.analyzed_listeners: list[Callable[[Analyzed], Any]] = []
        self.engine = TradingEngine(config=config, strategy=self.strategy, market=self.market,
                                    broker=PaperBroker(self.market) if config.dry_run else LiveBroker(self.market),
                                    db=self.db, repo=self.repo, listeners=[self._dispatch_event])
        self.dataprovider = DataProvider(config, self.candles, self.analyzed, lambda: list(self.engine.whitelist),
                                         runmode="dry_run" if config.dry_run else "live")
        self.strategy.dp = self.dataprovider
        self.pipeline = AnalysisPipeline(market=self.market, strategy=self.strategy, candles=self.candles,
                                         analyzed=self.analyzed)
        self.state = config.initial_state
        self.started_at: datetime | None = None
        self.last_process: datetime | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_heartbeat = 0.0
        self.components: list[Component] = []
        self._started_components: list[Component] = []
        #: callables returning a JSON-able dict, merged into /health (e.g. the signal ingester's state)
        self.health_reporters: dict[str, Callable[[], dict[str, Any]]] = {}

    def add_component(self, component: Component) -> None:
        """Attach a part that starts after the bot's core and stops before it."""
        self.components.append(component)

    # ------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Open the market and the database, resume open trades, compute the whitelist."""
        self.db.start()
        await self.market.start()
        await self.engine.load()
        self.engine.whitelist = self._compute_whitelist()
        self.started_at = self.clock.now()
        for component in self.components:
            await component.start()
            self._started_components.append(component)
        freeze_startup_objects()  # what exists now lives as long as the bot: keep it out of full collections
        log.info("tradecast %s started: strategy %s, %s on %s, %d pair(s), dry_run=%s, state %s",
                 __version__, type(self.strategy).__name__, self.strategy.timeframe, self.market.name,
                 len(self.engine.whitelist), self.config.dry_run, self.state)

    async def stop(self) -> None:
        """Stop the loop and close everything; open trades stay open in the database."""
        self._stop.set()
        self._wake.set()
        if self._task is not None and self._task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for component in reversed(self._started_components):
            name = getattr(component, "name", type(component).__name__)
            began = asyncio.get_running_loop().time()
            try:
                # bounded: SIGINT/SIGTERM must end the bot even if a part hangs (committed data is safe anyway)
                await asyncio.wait_for(component.stop(), timeout=COMPONENT_STOP_S)
            except TimeoutError:
                log.warning("%s did not stop within %.0f s; shutting down without it", name, COMPONENT_STOP_S)
            except Exception:
                log.exception("component %s did not stop cleanly", name)
            took = asyncio.get_running_loop().time() - began
            if took > 1.0:
                log.info("%s took %.1f s to stop", name, took)
        self._started_components.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.market.stop(), timeout=COMPONENT_STOP_S)
        try:  # queued writes finish on the database thread; the loop does not block on them
            await asyncio.wait_for(asyncio.to_thread(self.db.stop), timeout=2 * COMPONENT_STOP_S)
        except TimeoutError:
            log.warning("database writes did not finish within %.0f s; committed trades are safe",
                        2 * COMPONENT_STOP_S)
        self.database.close()
        wallet = self.engine.wallet()
        log.info("stopped; %d open trade(s) kept; wallet free=%r total=%r %s", len(self.engine.open_trades),
                 wallet.free, wallet.total, self.config.stake_currency)

    def request_stop(self) -> None:
        """Ask the loop to end after the current step (signal handlers call this)."""
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        """Run the next pass now instead of waiting for the throttle (new data arrived)."""
        self._wake.set()

    async def run(self) -> None:
        """Loop until :meth:`request_stop`."""
        self._task = asyncio.current_task()
        while not self._stop.is_set():
            try:
                await self.run_once()
            except TradecastError as exc:
                log.warning("bot loop step failed: %s", exc)
            except Exception:
                log.exception("bot loop step failed unexpectedly; retrying next round")
            await self._sleep_until_next()

    async def run_once(self) -> None:
        """One pass: refresh, analyse, decide, manage."""
        if self.state != "running":
            return
        now = self.clock.now()
        try:
            self.strategy.bot_loop_start(current_time=now)
        except Exception as exc:
            log.warning("strategy bot_loop_start failed: %s (ignored)", exc)
        pairs = list(self.engine.whitelist)
        open_pairs = [t.pair for t in self.engine.open_trades.values() if t.pair not in pairs]
        timeframe = self.strategy.timeframe
        targets = [(p, timeframe) for p in pairs + open_pairs] + self._informative_pairs()
        await self.pipeline.refresh(targets)
        await self.pipeline.analyze(pairs + open_pairs, self._on_analyzed)
        await self.engine.manage()
        self.last_process = self.clock.now()
        self._heartbeat()

    async def analyze_now(self, pairs: list[str], on_decided: Callable[[str], Any] | None = None) -> int:
        """Analyse ``pairs`` right away and let the engine decide (new producer data arrived).

        Refreshes those pairs' candles first (a no-op when the pipeline does not fetch), then analyses them
        even without a new candle, in one pass that decides pair by pair; ``on_decided(pair)`` runs after
        each decision. Returns how many pairs were analysed; nothing happens while stopped.
        """
        if self.state != "running" or not pairs:
            return 0
        timeframe = self.strategy.timeframe
        await self.pipeline.refresh([(pair, timeframe) for pair in pairs])
        if on_decided is None:
            return await self.pipeline.analyze(pairs, self._on_analyzed, force=True)

        async def decide(result: Analyzed) -> None:
            await self._on_analyzed(result)
            on_decided(result.pair)

        return await self.pipeline.analyze(pairs, decide, force=True)

    def _informative_pairs(self) -> list[tuple[str, str]]:
        try:
            extra = self.strategy.informative_pairs() or []
        except Exception as exc:
            log.warning("strategy informative_pairs failed: %s (ignored)", exc)
            return []
        return [(item[0], item[1]) for item in extra if len(item) >= 2]

    async def _on_analyzed(self, result: Analyzed) -> None:
        for listener in self.analyzed_listeners:
            try:
                listener(result)
            except Exception:
                log.exception("analysis listener failed for %s", result.pair)
        enter, exit_, enter_tag, exit_tag, candle_date = self.strategy.get_latest_signal(result.frame)
        try:
            await self.engine.on_analyzed(result.pair, Signals(enter=enter, exit=exit_, enter_tag=enter_tag,
                                                                exit_tag=exit_tag, candle_date=candle_date))
        except Exception as exc:  # one pair's trouble (ticker, database) must not end the pass for the others
            log.warning("%s: decision failed this round: %s: %s", result.pair, type(exc).__name__, exc)

    def seconds_until_next_pass(self) -> float:
        """Wall seconds until the next loop pass: just after the next candle close, at most the throttle."""
        throttle = float(self.config.internals.process_throttle_secs)
        now = self.clock.now()
        until_close = (next_candle_open(now, self.strategy.timeframe) - now).total_seconds()
        delay = CLOSE_DELAY_S.get(getattr(self.market, "name", ""), DEFAULT_CLOSE_DELAY_S)
        return min(throttle, self.clock.to_wall_seconds(until_close) + delay)

    async def _sleep_until_next(self) -> None:
        wait = self.seconds_until_next_pass()
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=max(0.01, wait))

    def _heartbeat(self) -> None:
        interval = float(getattr(self.config.internals, "heartbeat_interval", 60) or 0)
        now = asyncio.get_running_loop().time()
        if interval and now - self._last_heartbeat >= interval:
            self._last_heartbeat = now
            wallet = self.engine.wallet()
            log.info("heartbeat: %s, %d open trade(s), wallet %.2f %s free / %.2f total", self.state,
                     len(self.engine.open_trades), wallet.free, self.config.stake_currency, wallet.total)

    # ------------------------------------------------------------ whitelist
    def _compute_whitelist(self) -> list[str]:
        markets = self.market.markets()
        pairs: list[str] = []
        for pair in self.config.exchange.pair_whitelist:
            if pair not in markets:
                log.warning("pair %s does not exist on %s; removed from the whitelist", pair, self.market.name)
            elif self.engine.is_blacklisted(pair):
                log.info("pair %s is blacklisted; removed from the whitelist", pair)
            elif pair.split("/")[1].split(":")[0] != self.config.stake_currency:
                log.warning("pair %s is not quoted in %s; removed from the whitelist", pair,
                            self.config.stake_currency)
            elif pair not in pairs:
                pairs.append(pair)
        if not pairs:
            raise ConfigError("exchange.pair_whitelist: no tradable pair left after checking the market and "
                              "the blacklist")
        return pairs

    def refresh_whitelist(self) -> None:
        """Recompute the whitelist after a blacklist change."""
        self.engine.whitelist = self._compute_whitelist()

    # -------------------------------------------------------------- control
    def start_trading(self) -> str:
        if self.state == "running":
            return "already running"
        self.state = "running"
        self.wake()
        return "starting trader ..."

    def stop_trading(self) -> str:
        if self.state == "stopped":
            return "already stopped"
        self.state = "stopped"
        return "stopping trader ..."

    def stop_entry(self) -> str:
        self.engine.entries_enabled = False
        return "No more entries will occur from now. Run /reload_config to reset."

    def _dispatch_event(self, kind: str, payload: dict[str, Any]) -> None:
        for listener in self.event_listeners:
            listener(kind, payload)


async def run_bot(bot: Bot, extra_start: Callable[[Bot], Any] | None = None) -> None:
    """Start ``bot``, run it until SIGINT/SIGTERM, then stop it cleanly."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, bot.request_stop)
    if extra_start is not None:
        maybe = extra_start(bot)  # attaches optional components before they are started
        if asyncio.iscoroutine(maybe):
            await maybe
    try:
        await bot.start()
        await bot.run()
    finally:
        await bot.stop()
