"""External signals: an outside system writes signals to a Redis stream; the bot executes each exactly once.

* :mod:`~tradecast.signals.schema`: the strict :class:`Signal` schema and the pure acceptance rules.
* :mod:`~tradecast.signals.ingester`: :class:`SignalIngester`, the bot side (consumer group, dead letters).
* :mod:`~tradecast.signals.sender`: :class:`SignalSender`, the library for the sending side.
* :mod:`~tradecast.signals.cli`: the ``tradecast signal ...`` commands.
* :mod:`~tradecast.signals.execution`: :class:`SignalExecutor`, the ``execute`` callback on the bot's engine.
* :mod:`~tradecast.signals.attach`: ``attach_signals(bot)``, which wires it all into a bot.
* :mod:`~tradecast.signals.testhooks`: the crash hook the exactly-once tests use (inactive by default).
"""

from __future__ import annotations

from tradecast.signals.execution import SignalExecutor
from tradecast.signals.ingester import SignalIngester
from tradecast.signals.outcome import SignalOutcome
from tradecast.signals.schema import RejectReason, Signal, SignalInvalid, check_signal, parse_signal
from tradecast.signals.sender import SignalSender

__all__ = [
    "RejectReason",
    "Signal",
    "SignalExecutor",
    "SignalIngester",
    "SignalInvalid",
    "SignalOutcome",
    "SignalSender",
    "check_signal",
    "parse_signal",
]
