"""External signals: an outside system writes signals to a Redis stream; the bot executes each exactly once.

* :mod:`~tradecast.signals.schema`: the strict :class:`Signal` schema and the pure acceptance rules.
* :mod:`~tradecast.signals.ingester`: :class:`SignalIngester`, the bot side (consumer group, dead letters).
* :mod:`~tradecast.signals.sender`: :class:`SignalSender`, the library for the sending side.
* :mod:`~tradecast.signals.cli`: the ``tradecast signal ...`` commands.
"""

from __future__ import annotations

from tradecast.signals.ingester import SignalIngester
from tradecast.signals.outcome import SignalOutcome
from tradecast.signals.schema import RejectReason, Signal, SignalInvalid, check_signal, parse_signal
from tradecast.signals.sender import SignalSender

__all__ = [
    "RejectReason",
    "Signal",
    "SignalIngester",
    "SignalInvalid",
    "SignalOutcome",
    "SignalSender",
    "check_signal",
    "parse_signal",
]
