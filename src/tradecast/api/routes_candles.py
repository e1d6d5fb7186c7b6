"""Candle routes: the analysed candles the bot trades on (``/pair_candles``) and stored candles analysed on
demand by any strategy (``/pair_history``), both in freqtrade's ``PairHistory`` shape (spec §5).

``/pair_history`` fetches the market's candles for the timerange and runs the strategy in a worker thread,
so the event loop (and trading) never waits for it.
"""

from __future__ import annotations

import asyncio
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, Query

from tradecast.api.deps import BotDep, PairCandlesPayload, PairHistoryPayload, bot_now, not_found
from tradecast.api.serializers import fmt_date, iso_z
from tradecast.core.errors import ConfigError, StrategyError, TradeRejected
from tradecast.core.timeframes import timeframe_to_msecs, timeframe_to_seconds
from tradecast.strategy import load_strategy

__all__ = ["candles_router", "frame_payload", "parse_timerange"]

candles_router = APIRouter(prefix="/api/v1", tags=["candles"])

OHLCV = ("date", "open", "high", "low", "close", "volume")
SIGNALS = ("enter_long", "exit_long", "enter_short", "exit_short")
TAGS = ("enter_tag", "exit_tag")
#: longest /pair_history answer, in candles
MAX_HISTORY_CANDLES = 50_000
DEFAULT_HISTORY_CANDLES = 1000

_TIMERANGE = re.compile(r"^(\d{8}|\d{10,13})?-(\d{8}|\d{10,13})?$")


def _parse_point(text: str | None) -> datetime | None:
    if not text:
        return None
    if len(text) == 8:
        return datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC)
    value = int(text)
    return datetime.fromtimestamp(value / 1000 if len(text) == 13 else value, UTC)


def parse_timerange(text: str | None) -> tuple[datetime | None, datetime | None]:
    """``YYYYMMDD-YYYYMMDD`` (either side may be empty) or epoch seconds/ms; ``""``/None mean no range."""
    if text is None or text.strip() in ("", "None"):
        return None, None
    match = _TIMERANGE.match(text.strip())
    if match is None:
        raise ValueError(f"timerange must look like 20260101-20260201, got {text!r}")
    start, end = (_parse_point(part) for part in match.groups())
    if start is not None and end is not None and end <= start:
        raise ValueError(f"timerange end must be after its start, got {text!r}")
    return start, end


def _signal_count(frame: pd.DataFrame, column: str) -> int:
    if column not in frame.columns:
        return 0
    return int((pd.to_numeric(frame[column], errors="coerce") == 1).sum())


def frame_payload(frame: pd.DataFrame | None, *, pair: str, timeframe: str, strategy: str,
                  last_analyzed: datetime | None, columns: list[str] | None = None) -> dict[str, Any]:
    """A (possibly analysed) candle frame as freqtrade's ``PairHistory``.

    ``columns`` keeps only those indicator columns (OHLCV, signal and tag columns always stay). Rows follow
    ``columns`` in the answer: dates as ISO strings, ``__date_ts`` in ms, ``_<signal>_signal_close`` is the
    close price on signal candles; NaN, NaT and inf become null.
    """
    frame = frame if frame is not None else pd.DataFrame(columns=list(OHLCV))
    all_columns = [str(c) for c in frame.columns]
    if columns:
        keep = set(columns) | set(OHLCV) | set(SIGNALS) | set(TAGS)
        frame = frame[[c for c in frame.columns if c in keep]]
    frame = frame.copy()
    has_rows = not frame.empty and "date" in frame.columns
    if has_rows:
        dates = pd.to_datetime(frame["date"], utc=True)
        frame["__date_ts"] = dates.astype("int64") // 1_000_000
        for signal in SIGNALS:
            if signal in frame.columns:
                hit = pd.to_numeric(frame[signal], errors="coerce") == 1
                frame[f"_{signal}_signal_close"] = frame["close"].where(hit, np.nan)
        frame["date"] = dates.map(lambda d: d.isoformat())
    start = dates.iloc[0].to_pydatetime() if has_rows else None
    stop = dates.iloc[-1].to_pydatetime() if has_rows else None
    values = frame.astype(object).where(frame.notna(), None).to_numpy().tolist() if has_rows else []
    rows = [[None if isinstance(v, float) and not math.isfinite(v) else v for v in row] for row in values]
    return {
        "strategy": strategy,
        "pair": pair,
        "timeframe": timeframe,
        "timeframe_ms": timeframe_to_msecs(timeframe),
        "columns": [str(c) for c in frame.columns],
        "all_columns": all_columns,
        "data": rows,
        "length": len(rows),
        "buy_signals": _signal_count(frame, "enter_long"),
        "sell_signals": _signal_count(frame, "exit_long"),
        "enter_long_signals": _signal_count(frame, "enter_long"),
        "exit_long_signals": _signal_count(frame, "exit_long"),
        "enter_short_signals": _signal_count(frame, "enter_short"),
        "exit_short_signals": _signal_count(frame, "exit_short"),
        "last_analyzed": iso_z(last_analyzed),
        "last_analyzed_ts": int(last_analyzed.timestamp()) if last_analyzed else 0,
        "data_start": fmt_date(start) or "",
        "data_start_ts": int(start.timestamp() * 1000) if start else 0,
        "data_stop": fmt_date(stop) or "",
        "data_stop_ts": int(stop.timestamp() * 1000) if stop else 0,
    }


def _check_pair_and_timeframe(bot: Any, pair: str, timeframe: str, *, pair_must_exist: bool = True) -> None:
    try:
        seconds = timeframe_to_seconds(timeframe)
    except (ValueError, KeyError, OverflowError):
        seconds = 0
    if not 0 < seconds <= 366 * 86400:  # 1m .. 1y; "99999999999999999999w" must not reach int64 maths
        raise HTTPException(status_code=422, detail=f"unknown timeframe {timeframe!r}, e.g. 5m or 1h")
    if pair_must_exist and pair not in bot.market.markets():
        raise TradeRejected(f"pair {pair} is not traded on {bot.market.name}")


def _pair_candles(bot: Any, pair: str, timeframe: str, limit: int | None, columns: list[str] | None) -> Any:
    # an unknown pair gives an empty result, as freqtrade answers (FreqUI then shows an empty chart)
    _check_pair_and_timeframe(bot, pair, timeframe, pair_must_exist=False)
    stored = bot.analyzed.get(pair, timeframe)
    if stored is not None:
        frame, last_analyzed = stored
    else:  # not analysed (yet, or another timeframe): the raw candles the bot holds, if any
        frame, last_analyzed = bot.candles.get(pair, timeframe), None
    if frame is not None and limit:
        frame = frame.tail(limit)
    return frame_payload(frame, pair=pair, timeframe=timeframe, strategy=bot.strategy.name,
                         last_analyzed=last_analyzed, columns=columns)


@candles_router.get("/pair_candles")
def pair_candles(bot: BotDep, pair: str, timeframe: str,
                 limit: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
    """The analysed frame the bot trades ``pair`` on (empty until it was analysed)."""
    return _pair_candles(bot, pair, timeframe, limit, None)


@candles_router.post("/pair_candles")
def pair_candles_filtered(payload: PairCandlesPayload, bot: BotDep) -> dict[str, Any]:
    """Like GET, keeping only the named indicator ``columns``."""
    return _pair_candles(bot, payload.pair, payload.timeframe, payload.limit, payload.columns)


def _strategy_instance(bot: Any, name: str) -> Any:
    instance = type(bot.strategy)(bot.config) if name == bot.strategy.name else load_strategy(name, bot.config)
    instance.dp = bot.dataprovider
    return instance


def _analyse(bot: Any, name: str, frame: pd.DataFrame, pair: str) -> tuple[str, pd.DataFrame]:
    strategy = _strategy_instance(bot, name)
    if frame.empty:
        return strategy.name, frame
    return strategy.name, strategy.analyze(frame, {"pair": pair})


async def _pair_history(bot: Any, pair: str, timeframe: str, timerange: str | None, strategy: str,
                        columns: list[str] | None) -> dict[str, Any]:
    _check_pair_and_timeframe(bot, pair, timeframe)
    try:
        start, end = parse_timerange(timerange)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    step = timedelta(seconds=timeframe_to_seconds(timeframe))
    end = min(end or bot_now(bot), bot_now(bot))
    start = start or end - step * DEFAULT_HISTORY_CANDLES
    wanted = math.ceil((end - start) / step) + 1
    if wanted > MAX_HISTORY_CANDLES:
        raise HTTPException(status_code=422, detail=f"timerange covers {wanted} candles; at most "
                            f"{MAX_HISTORY_CANDLES} per request")
    frame = await bot.market.fetch_ohlcv(pair, timeframe, since=start, limit=max(wanted, 1))
    frame = frame[frame["date"] < pd.Timestamp(end)].reset_index(drop=True) if not frame.empty else frame
    try:
        name, analysed = await asyncio.to_thread(_analyse, bot, strategy, frame, pair)
    except ConfigError as exc:
        raise not_found(f"strategy {strategy!r} cannot be loaded: {exc}") from None
    except StrategyError as exc:
        raise TradeRejected(f"strategy {strategy} failed on {pair}: {exc}") from None
    return frame_payload(analysed, pair=pair, timeframe=timeframe, strategy=name,
                         last_analyzed=datetime.now(UTC), columns=columns)


@candles_router.get("/pair_history")
async def pair_history(bot: BotDep, pair: str, timeframe: str, strategy: str, timerange: str | None = None,
                       freqaimodel: str | None = None) -> dict[str, Any]:
    """The market's candles for ``timerange`` analysed by ``strategy`` (default: the newest 1000)."""
    return await _pair_history(bot, pair, timeframe, timerange, strategy, None)


@candles_router.post("/pair_history")
async def pair_history_filtered(payload: PairHistoryPayload, bot: BotDep) -> dict[str, Any]:
    """Like GET, keeping only the named indicator ``columns``."""
    return await _pair_history(bot, payload.pair, payload.timeframe, payload.timerange, payload.strategy,
                               payload.columns)
