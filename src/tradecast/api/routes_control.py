"""Control routes: start/stop, stop entries, reload the config, force entries and exits, locks, blacklist.

A rule that says no raises :class:`~tradecast.core.errors.TradeRejected` in the engine; the app factory turns
it into freqtrade's 502 ``{"error": "Error querying <path>: <reason>"}``. Checks that can fail are done
before anything changes, so a rejected request leaves trades, locks and lists as they were.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from tradecast.api.deps import (
    BlacklistPayload,
    BotDep,
    DeleteLockPayload,
    ForceEnterPayload,
    ForceExitPayload,
    LockPayload,
    bot_now,
    rpc_error,
)
from tradecast.api.routes_info import blacklist_payload
from tradecast.api.routes_trades import open_trade_payload
from tradecast.api.serializers import lock_to_dict
from tradecast.config import load_config
from tradecast.core.errors import ConfigError, TradeRejected

__all__ = ["control_router", "reload_config_in_place"]

log = logging.getLogger(__name__)

control_router = APIRouter(prefix="/api/v1", tags=["control"])


@control_router.post("/start")
async def start(bot: BotDep) -> dict[str, str]:
    """Start the trader if it is stopped."""
    return {"status": bot.start_trading()}


@control_router.post("/stop")
async def stop(bot: BotDep) -> dict[str, str]:
    """Stop the trader (open trades stay open); ``/start`` resumes."""
    return {"status": bot.stop_trading()}


@control_router.post("/stopentry")
@control_router.post("/stopbuy")
@control_router.post("/pause")
async def stop_entry(bot: BotDep) -> dict[str, str]:
    """No new entries; open trades are still managed. ``/reload_config`` resets it."""
    return {"status": bot.stop_entry()}


def reload_config_in_place(bot: Any, fresh: Any) -> None:
    """Apply the reloadable settings of ``fresh`` to the running bot and re-enable entries.

    Stake settings, limits, force-entry, order timeouts and pricing are copied onto the live config
    object (the engine reads it on every decision); the blacklist and whitelist are replaced. If the new
    lists leave no tradable pair, everything is put back and :class:`ConfigError` is raised.
    """
    config, engine = bot.config, bot.engine
    fields = ("stake_amount", "max_open_trades", "tradable_balance_ratio", "available_capital",
              "force_entry_enable", "unfilledtimeout", "entry_pricing", "exit_pricing")
    old = {name: getattr(config, name) for name in fields}
    old_lists = (list(config.exchange.pair_whitelist), list(config.exchange.pair_blacklist), list(engine.blacklist))
    for name in fields:
        setattr(config, name, getattr(fresh, name))
    config.exchange.pair_whitelist = list(fresh.exchange.pair_whitelist)
    config.exchange.pair_blacklist = list(fresh.exchange.pair_blacklist)
    engine.blacklist = list(fresh.exchange.pair_blacklist)
    try:
        bot.refresh_whitelist()
    except ConfigError:
        for name, value in old.items():
            setattr(config, name, value)
        config.exchange.pair_whitelist, config.exchange.pair_blacklist, engine.blacklist = old_lists
        bot.refresh_whitelist()
        raise
    engine.entries_enabled = True


@control_router.post("/reload_config")
async def reload_config(request: Request, bot: BotDep) -> Any:
    """Re-read the config files; on success apply the reloadable settings and re-enable entries.

    A broken file answers 502 with the config error and leaves the running settings untouched.
    """
    sources = list(getattr(bot.config, "source_files", []) or [])
    if not sources:
        return rpc_error(request, "the config was not loaded from files; nothing to reload")
    try:
        fresh = await asyncio.to_thread(load_config, sources)
        reload_config_in_place(bot, fresh)
    except ConfigError as exc:
        log.warning("config reload failed, keeping the running settings: %s", exc)
        return rpc_error(request, str(exc))
    log.info("config reloaded from %s", ", ".join(sources))
    return {"status": "Reloading config ..."}


@control_router.post("/forceenter")
@control_router.post("/forcebuy")
async def force_enter(payload: ForceEnterPayload, bot: BotDep) -> dict[str, Any]:
    """Open a trade now (needs ``force_entry_enable``); spot markets allow long entries only."""
    if not bot.config.force_entry_enable:
        raise TradeRejected("Force_entry not enabled.")
    if payload.side == "short":
        raise TradeRejected("short entries are not supported: tradecast trades spot markets, long only")
    if payload.leverage not in (None, 1.0):
        raise TradeRejected(f"leverage {payload.leverage} is not supported on spot markets (use 1)")
    trade = await bot.engine.enter(
        payload.pair,
        enter_tag=payload.entry_tag or "force_entry",
        reason="force_entry",
        forced=True,
        price=payload.price,
        order_type=payload.ordertype,
        stake_amount=payload.stakeamount,
    )
    return await open_trade_payload(bot, trade)


@control_router.post("/forceexit")
@control_router.post("/forcesell")
async def force_exit(payload: ForceExitPayload, bot: BotDep) -> dict[str, str]:
    """Exit one open trade by id, or every open trade with ``"all"``."""
    tradeid = payload.tradeid
    if isinstance(tradeid, str) and tradeid != "all":
        if not tradeid.strip().isdigit():
            raise TradeRejected(f"invalid argument: tradeid must be a trade id or 'all', got {tradeid!r}")
        tradeid = int(tradeid)
    if tradeid != "all" and tradeid not in bot.engine.open_trades:
        raise TradeRejected(f"invalid argument: no open trade with id {tradeid}")
    await bot.engine.force_exit(tradeid, order_type=payload.ordertype, amount=payload.amount, price=payload.price)
    if tradeid == "all":
        return {"result": "Created exit orders for all open trades."}
    return {"result": f"Created exit order for trade {tradeid}."}


def _locks_payload(bot: Any) -> dict[str, Any]:
    now = bot_now(bot)
    locks = [lk for lk in bot.engine.locks if lk.is_active(now)]
    return {"lock_count": len(locks), "locks": [lock_to_dict(lk, now) for lk in locks]}


@control_router.get("/locks")
def locks(bot: BotDep) -> dict[str, Any]:
    """Pair locks in force now."""
    return _locks_payload(bot)


@control_router.post("/locks")
async def add_locks(payload: list[LockPayload], bot: BotDep) -> dict[str, Any]:
    """Lock pairs (``"*"`` locks every pair) until the given times; answers the locks in force."""
    markets = bot.market.markets()
    for item in payload:  # check every item before locking any
        if item.pair != "*" and item.pair not in markets:
            raise TradeRejected(f"pair {item.pair} is not traded on {bot.market.name}")
    for item in payload:
        until = item.until if item.until.tzinfo is not None else item.until.replace(tzinfo=UTC)
        await bot.engine.lock_pair(item.pair, until.astimezone(UTC), reason=item.reason, side=item.side)
    return _locks_payload(bot)


@control_router.delete("/locks/{lockid}")
async def delete_lock(lockid: int, bot: BotDep) -> dict[str, Any]:
    """Remove a lock by id; answers the locks still in force."""
    await bot.engine.unlock(lock_id=lockid)
    return _locks_payload(bot)


@control_router.post("/locks/delete")
async def delete_lock_by(payload: DeleteLockPayload, bot: BotDep) -> dict[str, Any]:
    """Remove locks by id or by pair; answers the locks still in force."""
    if payload.lockid is None and not payload.pair:
        raise TradeRejected("give lockid or pair")
    await bot.engine.unlock(lock_id=payload.lockid, pair=payload.pair)
    return _locks_payload(bot)


@control_router.post("/blacklist")
async def add_blacklist(payload: BlacklistPayload, bot: BotDep) -> dict[str, Any]:
    """Add pairs or patterns to the blacklist; refused entries are listed under ``errors``."""
    engine = bot.engine
    before = list(engine.blacklist)
    errors = engine.add_blacklist(payload.blacklist)
    added = [entry for entry in engine.blacklist if entry not in before]
    try:
        bot.refresh_whitelist()
    except ConfigError:
        engine.remove_blacklist(added)
        bot.refresh_whitelist()
        for entry in added:
            errors[entry] = f"{entry} would leave no pair to trade; not blacklisted"
    return blacklist_payload(bot, errors)


@control_router.delete("/blacklist")
async def delete_blacklist(bot: BotDep, pairs_to_delete: Annotated[list[str], Query()]) -> dict[str, Any]:
    """Remove entries from the blacklist; entries not on it are listed under ``errors``."""
    engine = bot.engine
    errors = {entry: f"Pair {entry} is not in the current blacklist." for entry in pairs_to_delete
              if entry not in engine.blacklist}
    engine.remove_blacklist(pairs_to_delete)
    bot.refresh_whitelist()
    return blacklist_payload(bot, errors)
