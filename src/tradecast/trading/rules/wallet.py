"""The wallet of a bot, computed from its trades (never accumulated, so it cannot drift).

Formula (the money model of model/records.py)::

    free  = starting_balance + closed_profit + realized_profit - used
    used  = sum(open trades' open_trade_value)
    total = free + used = starting_balance + closed_profit + realized_profit

where ``closed_profit`` sums closed trades' ``close_profit_abs`` (which already include their partial exits)
and ``realized_profit`` sums open trades' ``realized_profit`` (partial exits of positions still open).
Sums use ``math.fsum`` so the order of trades does not change the result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from tradecast.model import Trade


@dataclass(frozen=True, slots=True)
class Wallet:
    """Quote-currency balances of one bot."""

    starting_balance: float
    closed_profit: float
    realized_profit: float
    used: float
    open_trades: int = 0
    closed_trades: int = 0

    @property
    def free(self) -> float:
        return math.fsum((self.starting_balance, self.closed_profit, self.realized_profit, -self.used))

    @property
    def total(self) -> float:
        return math.fsum((self.starting_balance, self.closed_profit, self.realized_profit))

    @classmethod
    def from_trades(cls, starting_balance: float, trades: Iterable[Trade]) -> Wallet:
        """Balances after ``trades`` (open and closed, any order)."""
        closed: list[float] = []
        realized: list[float] = []
        used: list[float] = []
        for trade in trades:
            if trade.is_open:
                realized.append(trade.realized_profit)
                used.append(trade.open_trade_value)
            else:
                closed.append(trade.close_profit_abs or 0.0)
        return cls(
            starting_balance=float(starting_balance),
            closed_profit=math.fsum(closed),
            realized_profit=math.fsum(realized),
            used=math.fsum(used),
            open_trades=len(used),
            closed_trades=len(closed),
        )

    def reconcile(self, reported_free: float) -> float:
        """``reported_free - free``: 0 when a balance reported elsewhere agrees with the trades."""
        return reported_free - self.free


def reconcile(reported_free: float, starting_balance: float, trades: Iterable[Trade]) -> float:
    """Difference between a reported free balance and the one the trades imply (reported minus computed)."""
    return Wallet.from_trades(starting_balance, trades).reconcile(reported_free)
