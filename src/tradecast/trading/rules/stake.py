"""Stake sizing: how much quote currency a new trade may spend (freqtrade semantics, pure functions).

Money model (model/records.py): a stake ``s`` with entry fee ratio ``f`` takes ``s * (1 + f)`` from the wallet
(``open_trade_value``). All comparisons with balances below use that value, so a stake returned here always
satisfies ``stake * (1 + fee) <= free``.

The tradable total is ``(free + used) * tradable_balance_ratio`` (``used`` = open trades'
``open_trade_value``), or ``available_capital + realised profit`` when ``available_capital`` is configured
(the ratio is then ignored, as in freqtrade). The available balance is the tradable total minus what open
trades use, never more than free.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

UNLIMITED = "unlimited"


@dataclass(frozen=True, slots=True)
class StakeDecision:
    """The stake for an entry (None = do not enter) and why, in words fit for a log line or an API reply."""

    stake: float | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.stake is not None


def tradable_total(
    total_quote: float,
    tradable_balance_ratio: float,
    available_capital: float | None = None,
    realized_profit: float = 0.0,
) -> float:
    """Quote currency the bot may put into trades in total (open trades included)."""
    if available_capital is not None:
        return available_capital + realized_profit
    return total_quote * tradable_balance_ratio


def available_stake(
    starting_balance: float,
    closed_profit: float,
    open_trade_values: Iterable[float],
    tradable_balance_ratio: float,
    available_capital: float | None = None,
) -> float:
    """Value (fee included) a new trade may take: tradable total minus what open trades use, at least 0.

    ``closed_profit`` is all realised profit: closed trades' ``close_profit_abs`` plus open trades'
    ``realized_profit`` (partial exits), so ``starting_balance + closed_profit`` is the wallet total.
    """
    used = math.fsum(open_trade_values)
    total = tradable_total(
        starting_balance + closed_profit, tradable_balance_ratio, available_capital, closed_profit
    )
    return max(0.0, total - used)


def _stake_within(value: float, fee: float) -> float:
    """The largest stake whose value ``stake * (1 + fee)`` does not exceed ``value`` (exact in floats)."""
    stake = value / (1 + fee)
    while stake > 0 and stake * (1 + fee) > value:
        stake = math.nextafter(stake, 0.0)
    return stake


def stake_for_entry(
    stake_amount_cfg: float | str,
    free_quote: float,
    open_trades_count: int,
    max_open_trades: int,
    fee: float,
    min_cost: float | None = None,
    tradable_balance_ratio: float = 1.0,
    total_quote: float | None = None,
    available_capital: float | None = None,
    realized_profit: float = 0.0,
) -> StakeDecision:
    """Decide the stake of a new trade.

    * ``max_open_trades`` reached (``-1`` = no limit) -> no stake.
    * ``"unlimited"``: freqtrade's formula, each of the ``max_open_trades`` slots gets an equal share of the
      tradable total, ``tradable_total / max_open_trades``, capped at what is available (so the last slots
      get what is left). The share is a value: the stake is that value divided by ``1 + fee``.
    * a fixed stake is used as is, or reduced when the wallet is short so that ``stake * (1 + fee)`` fits.
    * below ``min_cost`` (the market's minimal order value) -> no stake.

    ``total_quote`` is the wallet total (free + used); without it the wallet is taken to hold only ``free``.
    ``realized_profit`` only matters with ``available_capital`` (the tradable total grows with profit).
    """
    if max_open_trades >= 0 and open_trades_count >= max_open_trades:
        return StakeDecision(None, f"max_open_trades ({max_open_trades}) reached")
    total = free_quote if total_quote is None else total_quote
    used = max(0.0, total - free_quote)
    tradable = tradable_total(total, tradable_balance_ratio, available_capital, realized_profit)
    available = min(free_quote, tradable - used)
    if available <= 0:
        return StakeDecision(None, f"no balance available (free {free_quote:.8g}, tradable {tradable:.8g})")
    if stake_amount_cfg == UNLIMITED:
        if max_open_trades <= 0:
            return StakeDecision(None, "stake_amount 'unlimited' needs a positive max_open_trades")
        share = tradable / max_open_trades
        stake = _stake_within(min(share, available), fee)
        reason = f"unlimited: 1/{max_open_trades} of {tradable:.8g}"
        if share > available:
            reason += f", capped at the available {available:.8g}"
    else:
        wanted = float(stake_amount_cfg)
        if wanted <= 0:
            return StakeDecision(None, f"stake_amount must be positive, got {wanted:.8g}")
        if wanted * (1 + fee) <= available:
            stake, reason = wanted, "stake_amount"
        else:
            stake = _stake_within(available, fee)
            reason = f"stake_amount {wanted:.8g} reduced to the available {available:.8g} (fee included)"
    if stake <= 0:
        return StakeDecision(None, "no balance available")
    if min_cost is not None and stake < min_cost:
        return StakeDecision(
            None, f"stake {stake:.8g} is below the minimum order value {min_cost:.8g}"
        )
    return StakeDecision(stake, reason)
