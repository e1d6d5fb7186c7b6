"""Read-only information routes: config, health, system, logs, count, balance, pair lists, strategies.

Also the routes that only freqtrade's ``webserver`` mode serves (backtest, background jobs, pairlist
evaluation): a trading bot answers them with freqtrade's 503 ``{"detail": "Bot is not in the correct
state."}`` instead of a 404, so FreqUI shows the same message it shows against a freqtrade trade bot.
"""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path
from typing import Annotated, Any

import psutil
from fastapi import APIRouter, Query, Request

from tradecast import __version__
from tradecast.api.app import JsonResponse
from tradecast.api.deps import BotDep, current_rates, not_found, rpc_error
from tradecast.api.serializers import iso_z, pct
from tradecast.core.timeframes import timeframe_to_minutes, timeframe_to_msecs
from tradecast.strategy import list_strategies, load_strategy

__all__ = ["API_VERSION", "info_router", "webserver_only_router"]

#: the freqtrade API version advertised: every feature FreqUI gates up to 2.40 is served, and the newer
#: calls it would make above 2.40 (e.g. /download_data, background analysis) are not needed
API_VERSION = 2.40

_STAKE_DECIMALS = {"BTC": 8, "ETH": 5, "BNB": 5, "USDT": 3, "USDC": 3, "BUSD": 3, "USD": 3, "EUR": 3}
_STRATEGY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

info_router = APIRouter(prefix="/api/v1", tags=["info"])


def _stake_amount_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def show_config_payload(bot: Any) -> dict[str, Any]:
    """freqtrade's ``ShowConfig`` for ``bot`` (strategy attributes are the effective ones)."""
    config, strategy = bot.config, bot.strategy
    timeframe = strategy.timeframe
    return {
        "version": __version__,
        "strategy_version": strategy.version(),
        "api_version": API_VERSION,
        "dry_run": config.dry_run,
        "trading_mode": "spot",
        "short_allowed": False,
        "stake_currency": config.stake_currency,
        "stake_amount": _stake_amount_text(config.stake_amount),
        "available_capital": config.available_capital,
        "stake_currency_decimals": _STAKE_DECIMALS.get(config.stake_currency, 3),
        "max_open_trades": config.max_open_trades,
        "minimal_roi": dict(strategy.minimal_roi),
        "stoploss": strategy.stoploss,
        "stoploss_on_exchange": bool(strategy.order_types.get("stoploss_on_exchange", False)),
        "trailing_stop": strategy.trailing_stop,
        "trailing_stop_positive": strategy.trailing_stop_positive,
        "trailing_stop_positive_offset": strategy.trailing_stop_positive_offset,
        "trailing_only_offset_is_reached": strategy.trailing_only_offset_is_reached,
        "unfilledtimeout": config.unfilledtimeout.model_dump(),
        "order_types": dict(strategy.order_types),
        "use_custom_stoploss": strategy.use_custom_stoploss,
        "timeframe": timeframe,
        "timeframe_ms": timeframe_to_msecs(timeframe),
        "timeframe_min": timeframe_to_minutes(timeframe),
        "exchange": bot.market.name,
        "strategy": strategy.name,
        "force_entry_enable": config.force_entry_enable,
        "exit_pricing": config.exit_pricing.model_dump(),
        "entry_pricing": config.entry_pricing.model_dump(),
        "bot_name": config.bot_name,
        "state": bot.state,
        "runmode": "dry_run" if config.dry_run else "live",
        "position_adjustment_enable": False,
        "max_entry_position_adjustment": -1,
    }


@info_router.get("/show_config")
def show_config(bot: BotDep) -> dict[str, Any]:
    """The trading-relevant part of the configuration (FreqUI reads ``api_version`` and ``state``)."""
    return show_config_payload(bot)


@info_router.get("/health")
def health(bot: BotDep) -> dict[str, Any]:
    """Last loop time and start time (``*_ts`` in seconds), plus each registered health reporter."""
    last, started = bot.last_process, bot.started_at
    result: dict[str, Any] = {
        "last_process": iso_z(last),
        "last_process_ts": int(last.timestamp()) if last else None,
        "bot_start": iso_z(started),
        "bot_start_ts": int(started.timestamp()) if started else None,
        "bot_startup": iso_z(started),
        "bot_startup_ts": int(started.timestamp()) if started else None,
    }
    for name, reporter in dict(getattr(bot, "health_reporters", {}) or {}).items():
        try:
            result[name] = reporter()
        except Exception as exc:  # one broken reporter must not hide the others
            result[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return result


@info_router.get("/sysinfo")
def sysinfo() -> dict[str, Any]:
    """CPU use per core since the previous call (non-blocking) and RAM use, in percent."""
    return {"cpu_pct": psutil.cpu_percent(interval=None, percpu=True), "ram_pct": psutil.virtual_memory().percent}


@info_router.get("/logs")
def logs(request: Request, limit: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
    """The newest log records ``[date, epoch_ms, logger, level, message]`` (secrets masked)."""
    buffer = getattr(request.app.state, "log_buffer", None)
    entries = buffer.entries(limit) if buffer is not None else []
    return {"log_count": len(entries), "logs": entries}


@info_router.get("/count")
def count(request: Request, bot: BotDep) -> Any:
    """Open trades, the maximum (-1 = no limit) and the stake in them; 502 while the trader is stopped."""
    if bot.state != "running":
        return rpc_error(request, "trader is not running")
    trades = list(bot.engine.open_trades.values())
    return {
        "current": len(trades),
        "max": int(bot.config.max_open_trades),
        "total_stake": math.fsum(t.stake_amount for t in trades),
    }


def _entry_filled(trade: Any) -> bool:
    return any(o.ft_is_entry and o.filled > 0 for o in trade.orders)


@info_router.get("/balance")
async def balance(bot: BotDep) -> dict[str, Any]:
    """Balances as a dry-run freqtrade bot shows them.

    The stake-currency row is the engine wallet: ``free`` = ``wallet.free``, ``used`` = the value of entry
    orders not filled yet. Each coin held by an open trade is its own row valued at the current bid. So
    ``stake row balance + sum(open_trade_value of filled trades) == wallet.total``.
    """
    engine, config = bot.engine, bot.config
    wallet = engine.wallet()
    trades = sorted(engine.open_trades.values(), key=lambda t: t.id or 0)
    rates = await current_rates(bot, trades)
    pending = math.fsum(t.open_trade_value for t in trades if not _entry_filled(t))
    stake = config.stake_currency
    quote_balance = wallet.free + pending
    rows: list[dict[str, Any]] = [{
        "currency": stake, "free": wallet.free, "balance": quote_balance, "used": pending,
        "bot_owned": quote_balance, "est_stake": quote_balance, "est_stake_bot": quote_balance, "stake": stake,
        "side": "long", "is_position": False, "position": 0.0, "is_bot_managed": True,
    }]
    for trade in trades:
        if not _entry_filled(trade):
            continue
        rate = rates.get(trade.id) or trade.open_rate
        locked = trade.amount if trade.has_open_orders else 0.0
        value = trade.amount * rate
        rows.append({
            "currency": trade.base_currency, "free": trade.amount - locked, "balance": trade.amount,
            "used": locked, "bot_owned": trade.amount, "est_stake": value, "est_stake_bot": value,
            "stake": stake, "side": "long", "is_position": False, "position": 0.0, "is_bot_managed": True,
        })
    total = math.fsum(row["est_stake"] for row in rows)
    starting = float(config.available_capital or config.dry_run_wallet)
    ratio = total / starting - 1 if starting > 0 else 0.0
    return {
        "currencies": rows,
        "total": total,
        "total_bot": total,
        "symbol": "",
        "value": 0.0,
        "value_bot": 0.0,
        "stake": stake,
        "note": "Simulated balances" if config.dry_run else "",
        "starting_capital": starting,
        "starting_capital_ratio": ratio,
        "starting_capital_pct": pct(ratio),
        "starting_capital_fiat": 0.0,
        "starting_capital_fiat_ratio": 0.0,
        "starting_capital_fiat_pct": 0.0,
    }


@info_router.get("/whitelist")
def whitelist(bot: BotDep) -> dict[str, Any]:
    """The active whitelist."""
    pairs = list(bot.engine.whitelist)
    methods = [p.method for p in getattr(bot.config, "pairlists", [])] or ["StaticPairList"]
    return {"whitelist": pairs, "length": len(pairs), "method": methods}


def blacklist_payload(bot: Any, errors: dict[str, str] | None = None) -> dict[str, Any]:
    """freqtrade's ``Blacklist``: entries, the market pairs they match, and per-entry errors."""
    engine = bot.engine
    expanded = [pair for pair in bot.market.markets() if engine.is_blacklisted(pair)]
    entries = list(engine.blacklist)
    methods = [p.method for p in getattr(bot.config, "pairlists", [])] or ["StaticPairList"]
    return {
        "blacklist": entries,
        "blacklist_expanded": expanded,
        "errors": {entry: {"error_msg": msg} for entry, msg in (errors or {}).items()},
        "length": len(entries),
        "method": methods,
    }


@info_router.get("/blacklist")
def blacklist(bot: BotDep) -> dict[str, Any]:
    """The blacklist (pairs and patterns)."""
    return blacklist_payload(bot)


def _strategy_names(config: Any) -> dict[str, str]:
    return {name: path for name, path in reversed(list_strategies(config))}


@info_router.get("/strategies")
async def strategies(bot: BotDep) -> dict[str, Any]:
    """Names of the strategies the bot can load (user files, then built-ins)."""
    found = await asyncio.to_thread(_strategy_names, bot.config)
    return {"strategies": sorted(found)}


def _strategy_details(bot: Any, name: str) -> dict[str, Any] | None:
    found = _strategy_names(bot.config)
    if name not in found:
        return None
    code = Path(found[name]).read_text(encoding="utf-8", errors="replace")
    if name == bot.strategy.name:
        timeframe = bot.strategy.timeframe
    else:
        try:
            timeframe = load_strategy(name, bot.config).timeframe
        except Exception:
            timeframe = None
    return {"strategy": name, "code": code, "timeframe": timeframe}


@info_router.get("/strategy/{strategy}")
async def strategy(strategy: str, bot: BotDep) -> dict[str, Any]:
    """Source code and timeframe of one strategy; 404 when there is none of that name."""
    details = None
    if _STRATEGY_NAME.match(strategy):
        details = await asyncio.to_thread(_strategy_details, bot, strategy)
    if details is None:
        raise not_found("No strategy with that name found.")
    return details


@info_router.get("/plot_config")
async def plot_config(bot: BotDep, strategy: str | None = None) -> dict[str, Any]:
    """The strategy's ``plot_config`` (``{}`` when it defines none); ``?strategy=`` picks another one."""
    if strategy and strategy != bot.strategy.name:
        if not _STRATEGY_NAME.match(strategy):
            raise not_found("No strategy with that name found.")
        try:
            other = await asyncio.to_thread(load_strategy, strategy, bot.config)
        except Exception as exc:
            raise not_found(str(exc)) from None
        return dict(getattr(other, "plot_config", None) or {})
    return dict(getattr(bot.strategy, "plot_config", None) or {})


@info_router.get("/available_pairs")
def available_pairs(bot: BotDep, timeframe: str | None = None, stake_currency: str | None = None) -> dict[str, Any]:
    """Pairs whose candles the bot holds, as ``[pair, timeframe, "spot"]`` (empty strings mean any)."""
    keys = sorted(bot.candles.keys())
    if timeframe:
        keys = [k for k in keys if k[1] == timeframe]
    if stake_currency:
        keys = [k for k in keys if k[0].split("/")[-1].split(":")[0] == stake_currency]
    pairs = list(dict.fromkeys(pair for pair, _ in keys))
    return {"length": len(pairs), "pairs": pairs, "pair_interval": [[p, tf, "spot"] for p, tf in keys]}


@info_router.get("/markets")
def markets(bot: BotDep, base: str | None = None, quote: str | None = None) -> dict[str, Any]:
    """Tradable symbols of the market (FreqUI's chart view lists them)."""
    found = {
        pair: {"symbol": pair, "base": info.base, "quote": info.quote, "spot": True, "swap": False}
        for pair, info in bot.market.markets().items()
        if (not base or info.base == base) and (not quote or info.quote == quote)
    }
    return {"markets": found, "exchange_id": bot.market.name}


webserver_only_router = APIRouter(prefix="/api/v1", tags=["webserver"])

_WRONG_STATE = {"detail": "Bot is not in the correct state."}


def _wrong_state() -> Any:
    """Backtesting, background jobs and pairlist evaluation exist only in freqtrade's webserver mode."""
    return JsonResponse(_WRONG_STATE, status_code=503)


for _area in ("backtest", "background", "pairlists", "download_data", "hyperopt-loss"):
    for _path in (f"/{_area}", f"/{_area}/{{rest:path}}"):
        webserver_only_router.add_api_route(
            _path, _wrong_state, methods=["GET", "POST", "DELETE", "PATCH"], include_in_schema=False
        )
