"""Wire external signals into a bot (``tradecast.assembly`` calls :func:`attach_signals` when enabled).

What it connects:

* a :class:`~tradecast.signals.ingester.SignalIngester` reading ``external_signals.stream``, started and
  stopped with the bot (a bot component). Its ``execute`` callback is a
  :class:`~tradecast.signals.execution.SignalExecutor` on the bot's engine and database, awaited in the
  bot's own event loop: a signal trades as soon as it is read, without waiting for the candle loop;
* tradable pairs: the bot's whitelist plus the pairs of its open trades (so a sell can close a trade whose
  pair left the whitelist); anything else is rejected ``pair_not_tradable`` before reaching the engine;
* ``bot.health_reporters["external_signals"]``: the ingester's status (connected, degraded and why,
  counters, rejections by reason, lag, custom stoplosses) for ``/api/v1/health``. The ingester logs the
  moment Redis becomes unreachable and the moment it is back, once each;
* ``bot.strategy.signal_stoplosses``: ``pair -> ratio | None``, the custom stoplosses set through Redis,
  which :class:`~tradecast.strategy.builtin.execution_only.ExecutionOnlyStrategy` returns from its
  ``custom_stoploss``.

Signal timestamps are wall-clock times, so the ingester and the records use the wall clock even when the
bot's market runs a simulated (scaled) clock.
"""

from __future__ import annotations

import logging
from typing import Any

from tradecast.core.clock import Clock, LiveClock
from tradecast.signals.execution import SignalExecutor
from tradecast.signals.ingester import SignalIngester

log = logging.getLogger(__name__)

HEALTH_KEY = "external_signals"


class SignalsComponent:
    """The ingester as a bot component (``async start()`` / ``async stop()``)."""

    name = HEALTH_KEY

    def __init__(self, ingester: SignalIngester) -> None:
        self.ingester = ingester

    async def start(self) -> None:
        self.ingester.start()
        log.info(
            "external signals: reading %s as %s/%s",
            self.ingester.config.stream,
            self.ingester.config.group,
            self.ingester.config.consumer,
        )

    async def stop(self) -> None:
        await self.ingester.stop()


def tradable_pairs(engine: Any) -> set[str]:
    """The pairs a signal may name: the engine's whitelist and the pairs of its open trades."""
    return set(engine.whitelist).union(trade.pair for trade in engine.open_trades.values())


def attach_signals(bot: Any, *, clock: Clock | None = None, **ingester_options: Any) -> SignalIngester:
    """Attach the signal ingester to ``bot``; returns it (tests pass ``block_ms`` etc. as options)."""
    config = bot.config.external_signals
    clock = clock or LiveClock()
    engine = bot.engine
    executor = SignalExecutor(engine, bot.db, bot.repo, clock=clock, is_running=lambda: bot.state == "running")
    ingester = SignalIngester(
        config, executor, tradable_pairs=lambda: tradable_pairs(engine), clock=clock, **ingester_options
    )
    bot.add_component(SignalsComponent(ingester))
    bot.health_reporters[HEALTH_KEY] = ingester.status
    strategy = bot.strategy
    strategy.signal_stoplosses = ingester.custom_stoploss
    if not getattr(strategy, "use_custom_stoploss", False):
        log.warning(
            "external signals: strategy %s does not use custom_stoploss, so stoplosses set through Redis "
            "are not applied (ExecutionOnlyStrategy applies them)",
            type(strategy).__name__,
        )
    return ingester
