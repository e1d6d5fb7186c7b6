"""Trade routes: open trades, the closed-trade history, one trade, trade commands and custom data, and the
profit views computed from the trades (profit, performance, daily/weekly/monthly, stats, tag statistics).

Open trades come from the engine (the live objects, written through to the database on every change);
closed trades come from the database, read on the database thread.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from tradecast.api.deps import BotDep, bot_now, current_rates, not_found
from tradecast.api.serializers import open_trade_to_dict, trade_to_dict
from tradecast.api.stats import (
    balance_history,
    exit_stats,
    performance,
    period_profit,
    profit_summary,
    tag_performance,
)
from tradecast.core.errors import TradeRejected
from tradecast.model import Trade

__all__ = ["trades_router"]

trades_router = APIRouter(prefix="/api/v1", tags=["trades"])

MAX_PAGE = 500
#: the largest id or offset SQL databases (64-bit integers) and the JSON answers can hold
MAX_OFFSET = 2**63 - 1


def _open_trades(bot: Any) -> list[Trade]:
    return sorted(bot.engine.open_trades.values(), key=lambda t: t.id or 0)


async def _all_trades(bot: Any) -> list[Trade]:
    closed = await bot.db.run(bot.repo.trades, is_open=False)
    return sorted([*closed, *_open_trades(bot)], key=lambda t: t.id or 0)


def _precision(bot: Any, pair: str) -> Any:
    return bot.market.markets().get(pair)


async def open_trade_payload(bot: Any, trade: Trade) -> dict[str, Any]:
    """One trade as ``OpenTrade`` (current rate and unrealised profit for an open trade)."""
    rates = await current_rates(bot, [trade]) if trade.is_open else {}
    return open_trade_to_dict(trade, rates.get(trade.id or -1), now=bot_now(bot),
                              precision=_precision(bot, trade.pair))


@trades_router.get("/status")
async def status(bot: BotDep) -> list[dict[str, Any]]:
    """Open trades with their current rate and unrealised profit (``[]`` when none)."""
    trades = _open_trades(bot)
    rates = await current_rates(bot, trades)
    now = bot_now(bot)
    markets = bot.market.markets()  # once per request: the sim market builds this dict on every call
    return [open_trade_to_dict(t, rates.get(t.id or -1), now=now, precision=markets.get(t.pair))
            for t in trades]


@trades_router.get("/trades")
async def trades(
    bot: BotDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    order_by_id: bool = True,
) -> dict[str, Any]:
    """Closed trades, a page at a time: by id ascending (or newest close first with ``order_by_id=false``).

    The page and ``total_trades`` are read in one call on the database thread, where every write also
    runs, so no trade can close between the two and paging until ``len == total_trades`` terminates.
    """
    repo = bot.repo

    def page() -> tuple[list[Trade], int]:
        total = repo.count_trades(is_open=False)
        if order_by_id:
            return repo.trades(is_open=False, limit=limit, offset=offset), total
        everything = repo.trades(is_open=False)
        everything.sort(key=lambda t: (t.close_date, t.id or 0), reverse=True)
        return everything[offset:offset + limit], total

    found, total = await bot.db.run(page)
    now = bot_now(bot)
    markets = bot.market.markets()
    rows = [trade_to_dict(t, now=now, precision=markets.get(t.pair)) for t in found]
    return {"trades": rows, "trades_count": len(rows), "offset": offset, "total_trades": total}


async def _find_trade(bot: Any, trade_id: int) -> Trade | None:
    if not -MAX_OFFSET - 1 <= trade_id <= MAX_OFFSET:
        return None  # no database id is that large (SQL integers are 64-bit)
    trade = bot.engine.open_trades.get(trade_id)
    if trade is None:
        trade = await bot.db.run(bot.repo.get_trade, trade_id)
    return trade


@trades_router.get("/trade/{tradeid}")
async def trade(tradeid: int, bot: BotDep) -> dict[str, Any]:
    """One trade (open or closed); 404 "Trade not found." when there is none with this id."""
    found = await _find_trade(bot, tradeid)
    if found is None:
        raise not_found("Trade not found.")
    return await open_trade_payload(bot, found)


@trades_router.delete("/trades/{tradeid}")
async def delete_trade(tradeid: int, bot: BotDep) -> dict[str, Any]:
    """Remove a trade from the database, cancelling its open orders first."""
    found = await _find_trade(bot, tradeid)
    if found is None:
        raise TradeRejected(f"invalid argument: no trade with id {tradeid}")
    cancelled = sum(1 for o in found.orders if o.is_open)
    await bot.engine.delete_trade(tradeid)
    return {
        "result": "success",
        "trade_id": tradeid,
        "result_msg": f"Deleted trade {tradeid}. Closed {cancelled} open orders.",
        "cancel_order_count": cancelled,
    }


@trades_router.delete("/trades/{tradeid}/open-order")
async def cancel_open_order(tradeid: int, bot: BotDep) -> dict[str, Any]:
    """Cancel the open order of an open trade (an unfilled entry removes the trade)."""
    found = await bot.engine.cancel_open_order(tradeid)
    return await open_trade_payload(bot, found)


@trades_router.post("/trades/{tradeid}/reload")
async def reload_trade(tradeid: int, bot: BotDep) -> dict[str, Any]:
    """The trade as the engine holds it now (paper orders have no exchange state to re-read)."""
    found = await _find_trade(bot, tradeid)
    if found is None:
        raise TradeRejected(f"Could not find trade with id {tradeid}.")
    return await open_trade_payload(bot, found)


def _custom_data_entry(trade_id: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"trade_id": trade_id, "custom_data": rows}


@trades_router.get("/trades/open/custom-data")
async def open_custom_data(
    bot: BotDep,
    key: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Custom data of the open trades (optionally one key); 404 when none has any."""
    trades = _open_trades(bot)[offset:offset + limit]
    result = []
    for item in trades:
        rows = await bot.db.run(bot.repo.get_custom_data, item.id, key)
        if rows:
            result.append(_custom_data_entry(item.id, rows))
    if not result:
        raise not_found("No custom-data found for open trades" + (f" with key '{key}'." if key else "."))
    return result


@trades_router.get("/trades/{tradeid}/custom-data")
async def trade_custom_data(tradeid: int, bot: BotDep, key: str | None = None) -> list[dict[str, Any]]:
    """Custom data a strategy stored for one trade (optionally one key)."""
    if await _find_trade(bot, tradeid) is None:
        raise not_found(f"No trade found for trade_id: {tradeid}")
    rows = await bot.db.run(bot.repo.get_custom_data, tradeid, key)
    if not rows:
        suffix = f" with key '{key}'" if key else ""
        raise not_found(f"No custom-data found for Trade ID: {tradeid}{suffix}.")
    return [_custom_data_entry(tradeid, rows)]


async def _profit(bot: Any) -> dict[str, Any]:
    everything = await _all_trades(bot)
    rates = await current_rates(bot, [t for t in everything if t.is_open])
    return profit_summary(everything, open_rates=rates, starting_balance=float(bot.config.dry_run_wallet),
                          now=bot_now(bot), bot_start=bot.started_at)


@trades_router.get("/profit")
async def profit(bot: BotDep) -> dict[str, Any]:
    """Profit summary of closed trades and of all trades (open ones at the current bid)."""
    return await _profit(bot)


@trades_router.get("/profit_all")
async def profit_all(bot: BotDep) -> dict[str, Any]:
    """Newer FreqUI's profit view: ``all`` and ``long`` (the same: tradecast trades long only)."""
    summary = await _profit(bot)
    return {"all": summary, "long": summary, "short": None}


@trades_router.get("/historic_balance")
async def historic_balance(bot: BotDep) -> dict[str, Any]:
    """The balance curve FreqUI's dashboard draws: starting balance, then the balance after each closed trade."""
    closed = await bot.db.run(bot.repo.trades, is_open=False)
    return balance_history(closed, float(bot.config.dry_run_wallet), bot.started_at)


@trades_router.get("/performance")
async def get_performance(bot: BotDep) -> list[dict[str, Any]]:
    """Closed-trade profit per pair, best first."""
    return performance(await bot.db.run(bot.repo.trades, is_open=False))


async def _periods(bot: Any, unit: Literal["days", "weeks", "months"], timescale: int) -> dict[str, Any]:
    closed = await bot.db.run(bot.repo.trades, is_open=False)
    current = float(bot.config.dry_run_wallet) + math.fsum(t.close_profit_abs or 0.0 for t in closed)
    rows = period_profit(closed, unit=unit, timescale=timescale, now=bot_now(bot), current_balance=current)
    return {"data": rows, "fiat_display_currency": "", "stake_currency": bot.config.stake_currency}


_Timescale = Annotated[int, Query(ge=1, le=365)]


@trades_router.get("/daily")
async def daily(bot: BotDep, timescale: _Timescale = 7) -> dict[str, Any]:
    """Closed-trade profit per UTC day, today first."""
    return await _periods(bot, "days", timescale)


@trades_router.get("/weekly")
async def weekly(bot: BotDep, timescale: _Timescale = 4) -> dict[str, Any]:
    """Closed-trade profit per week (weeks start on Monday), this week first."""
    return await _periods(bot, "weeks", timescale)


@trades_router.get("/monthly")
async def monthly(bot: BotDep, timescale: _Timescale = 3) -> dict[str, Any]:
    """Closed-trade profit per calendar month, this month first."""
    return await _periods(bot, "months", timescale)


@trades_router.get("/stats")
async def stats(bot: BotDep) -> dict[str, Any]:
    """Wins, losses and draws per exit reason, and mean trade durations in seconds."""
    return exit_stats(await bot.db.run(bot.repo.trades, is_open=False))


async def _tags(bot: Any, kind: Literal["enter_tag", "exit_reason", "mix_tag"], pair: str | None) -> Any:
    return tag_performance(await bot.db.run(bot.repo.trades, is_open=False), kind, pair)


@trades_router.get("/entries")
async def entries(bot: BotDep, pair: str | None = None) -> list[dict[str, Any]]:
    """Closed-trade profit per entry tag."""
    return await _tags(bot, "enter_tag", pair)


@trades_router.get("/exits")
async def exits(bot: BotDep, pair: str | None = None) -> list[dict[str, Any]]:
    """Closed-trade profit per exit reason."""
    return await _tags(bot, "exit_reason", pair)


@trades_router.get("/mix_tags")
async def mix_tags(bot: BotDep, pair: str | None = None) -> list[dict[str, Any]]:
    """Closed-trade profit per entry tag and exit reason combination."""
    return await _tags(bot, "mix_tag", pair)

