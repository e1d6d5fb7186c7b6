"""Shared pieces of the REST routes: the bot of the app, error answers, request bodies, current rates.

Routes reach the bot through ``request.app.state.bot`` (set by :func:`tradecast.api.attach.build_app`), so a
router module is plain FastAPI code and one app serves exactly one bot.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tradecast.api.app import JsonResponse
from tradecast.model import Trade

__all__ = [
    "BotDep",
    "ForceEnterPayload",
    "ForceExitPayload",
    "LockPayload",
    "current_rates",
    "get_bot",
    "not_found",
    "rpc_error",
]

log = logging.getLogger(__name__)


def get_bot(request: Request) -> Any:
    """The bot this app serves."""
    return request.app.state.bot


BotDep = Annotated[Any, Depends(get_bot)]


def rpc_error(request: Request, message: str, status_code: int = 502) -> JsonResponse:
    """freqtrade's RPCException answer: 502 ``{"error": "Error querying /api/v1/<x>: <msg>"}``."""
    return JsonResponse({"error": f"Error querying {request.url.path}: {message}"}, status_code=status_code)


def not_found(detail: str) -> HTTPException:
    """404 ``{"detail": ...}`` (freqtrade's shape for a missing trade, strategy or custom data)."""
    return HTTPException(status_code=404, detail=detail)


def bot_now(bot: Any) -> datetime:
    """The bot clock's time (simulated on the sim market), UTC."""
    now = bot.clock.now()
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


async def current_rates(bot: Any, trades: list[Trade]) -> dict[int, float | None]:
    """The bid of each open trade's pair now (None when the ticker fails), fetched concurrently."""
    pairs = list(dict.fromkeys(t.pair for t in trades if t.is_open))

    async def bid(pair: str) -> float | None:
        try:
            return float((await bot.market.fetch_ticker(pair)).bid)
        except Exception as exc:  # a ticker failure must not fail the whole listing
            log.debug("no ticker for %s: %s", pair, exc)
            return None

    values = await asyncio.gather(*(bid(p) for p in pairs))
    by_pair = dict(zip(pairs, values, strict=True))
    return {t.id: by_pair.get(t.pair) for t in trades if t.is_open and t.id is not None}


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ForceEnterPayload(_Body):
    """``POST /forceenter`` (and ``/forcebuy``)."""

    pair: str = Field(min_length=1)
    side: Literal["long", "short"] = "long"
    price: float | None = Field(None, gt=0)
    ordertype: Literal["limit", "market"] | None = None
    stakeamount: float | None = Field(None, gt=0)
    entry_tag: str | None = None
    leverage: float | None = Field(None, gt=0)


class ForceExitPayload(_Body):
    """``POST /forceexit`` (and ``/forcesell``); ``tradeid`` is an id or ``"all"``."""

    tradeid: int | str
    ordertype: Literal["limit", "market"] | None = None
    amount: float | None = Field(None, gt=0)
    price: float | None = Field(None, gt=0)


class LockPayload(_Body):
    """One lock of ``POST /locks`` (freqtrade-client sends a list of these)."""

    pair: str = Field(min_length=1)
    until: datetime
    side: Literal["*", "long", "short"] = "*"
    reason: str | None = None

    @field_validator("until")
    @classmethod
    def _in_utc_range(cls, value: datetime) -> datetime:
        try:
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValueError("until is out of range once converted to UTC") from None


class DeleteLockPayload(_Body):
    """``POST /locks/delete``: by id or by pair."""

    lockid: int | None = None
    pair: str | None = None


class BlacklistPayload(_Body):
    """``POST /blacklist``."""

    blacklist: list[str]


class PairCandlesPayload(_Body):
    """``POST /pair_candles``: like the GET query plus the indicator ``columns`` to keep."""

    pair: str = Field(min_length=1)
    timeframe: str = Field(min_length=1)
    limit: int | None = Field(None, ge=1)
    columns: list[str] | None = None


class PairHistoryPayload(_Body):
    """``POST /pair_history``: like the GET query plus ``columns``."""

    pair: str = Field(min_length=1)
    timeframe: str = Field(min_length=1)
    timerange: str | None = None
    strategy: str = Field(min_length=1)
    freqaimodel: str | None = None
    columns: list[str] | None = None
