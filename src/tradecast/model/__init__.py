"""The trading vocabulary shared by every layer: trades, orders, pair locks and signal records.

Plain dataclasses with their arithmetic, no I/O: ``trading`` changes them, ``persistence`` stores them, ``api``
and ``fleet`` show them.
"""

from tradecast.model.records import Order, PairLock, SignalRecord, Trade

__all__ = ["Order", "PairLock", "SignalRecord", "Trade"]
