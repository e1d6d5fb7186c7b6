"""The simulated market: hundreds of pairs with deterministic candles, tickers and a simulated account.

Candles are a pure function of (seed, pair, time) (see :mod:`tradecast.market.sim_prices`), so every process
with the same seed shows the same market, and any time range costs the same to compute. Time comes from the
market's clock: by default a :class:`~tradecast.core.clock.ScaledClock` whose epoch is the start of the
current UTC day, so processes started on the same day with the same speed agree on the simulated time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType

import numpy as np
import pandas as pd

from tradecast.core.clock import Clock, ScaledClock
from tradecast.core.errors import ConfigError
from tradecast.core.timeframes import SUPPORTED_TIMEFRAMES, ensure_utc, from_epoch_ms
from tradecast.market.base import (
    OHLCV_COLUMNS,
    Balance,
    MarketInfo,
    OrderResult,
    OrderSide,
    OrderType,
    Ticker,
)
from tradecast.market.sim_account import SimAccount
from tradecast.market.sim_candles import CandleArrays, TimeframeGrid, build_candles, timeframe_grid
from tradecast.market.sim_pairs import SimPair, default_pair_names, make_pair
from tradecast.market.sim_prices import PricePath

#: closed candles kept per (pair, timeframe); the newest are kept when a series grows past this
MAX_CACHED_CANDLES = 2000
#: (pair, timeframe) series kept; the oldest entry is dropped first
MAX_CACHED_SERIES = 4096
#: limit orders are checked against the path in chunks of this many minutes
_CROSS_CHUNK_MINUTES = 10080
_NS_PER_MINUTE = 60_000_000_000


def start_of_utc_day(now: datetime | None = None) -> datetime:
    """Midnight UTC of ``now`` (default: today): the default epoch of the sim clock."""
    now = ensure_utc(now) if now is not None else datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def empty_ohlcv() -> pd.DataFrame:
    """A frame with the OHLCV columns and dtypes but no rows."""
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in OHLCV_COLUMNS})
    frame["date"] = pd.Series(dtype="datetime64[ns, UTC]")
    return frame


def candles_to_frame(candles: CandleArrays) -> pd.DataFrame:
    """CandleArrays to the OHLCV frame of ``market.base`` (the frame owns copies of the arrays)."""
    stamps = (candles.open_minute * _NS_PER_MINUTE).view("M8[ns]")
    return pd.DataFrame(
        {
            "date": pd.DatetimeIndex(stamps).tz_localize("UTC"),
            "open": candles.open,
            "high": candles.high,
            "low": candles.low,
            "close": candles.close,
            "volume": candles.volume,
        }
    )


class SimMarket:
    """A deterministic synthetic exchange implementing :class:`~tradecast.market.base.Market`.

    ``generated_pairs`` synthetic pairs (``SIM001/USDT``...) are added to about thirty real coins against
    USDT and to ``extra_pairs``. ``clock`` replaces the default ``ScaledClock(speed, epoch)`` (tests pass a
    ``FakeClock``). ``starting_balance`` funds the simulated account used when orders are really sent.

    Call it from one thread (the event loop): its caches are plain dicts. Computing is synchronous and
    short (about a millisecond for 1000 five-minute candles, much less for a refresh from the cache).
    """

    name = "sim"

    def __init__(
        self,
        seed: int = 42,
        speed: float = 1.0,
        epoch: datetime | None = None,
        extra_pairs: Iterable[str] = (),
        generated_pairs: int = 500,
        fee: float = 0.001,
        clock: Clock | None = None,
        starting_balance: Mapping[str, float] | None = None,
    ) -> None:
        if not 0 <= fee < 1:
            raise ConfigError(f"exchange.sim.fee must be within 0..1, got {fee}")
        if speed <= 0:
            raise ConfigError(f"exchange.sim.speed must be positive, got {speed}")
        self.seed = int(seed)
        self.clock: Clock = clock or ScaledClock(speed, ensure_utc(epoch) if epoch else start_of_utc_day())
        names = default_pair_names(generated_pairs, extra_pairs)
        self._pairs: dict[str, SimPair] = {n: make_pair(self.seed, n, fee) for n in names}
        # the pair list never changes after construction: build the read-only view once (it is asked for on
        # every entry, fee lookup and API call, and rebuilding 500 entries each time showed in profiles)
        self._markets = MappingProxyType({pair: p.info for pair, p in self._pairs.items()})
        self._paths: dict[str, PricePath] = {}
        self._cache: dict[tuple[str, str], tuple[int, CandleArrays]] = {}
        self._account = SimAccount(starting_balance)
        self._checked_until: dict[str, int] = {}  # open limit order id -> first minute still to check

    # -- lifecycle and metadata ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Nothing to connect to: the pairs exist from construction on."""

    async def stop(self) -> None:
        """Nothing to close; safe to call any number of times."""

    def markets(self) -> dict[str, MarketInfo]:
        """All simulated pairs (a read-only mapping, the same object every call)."""
        return self._markets  # type: ignore[return-value]

    def pair_params(self, pair: str) -> SimPair:
        """The simulation parameters of ``pair`` (base price, volatility, volume, spread)."""
        params = self._pairs.get(pair)
        if params is None:
            raise ConfigError(f"unknown pair {pair!r} on the sim market")
        return params

    # -- prices --------------------------------------------------------------------------------------------

    def price_at(self, pair: str, when: datetime) -> float:
        """The mid price of ``pair`` at any time (past or future), as the candles show it."""
        params = self.pair_params(pair)
        return params.base_price * math.exp(self._path(pair).at_one(ensure_utc(when).timestamp() / 60.0))

    async def fetch_ticker(self, pair: str) -> Ticker:
        """Bid and ask around the path's price now, ``spread`` apart."""
        params = self.pair_params(pair)
        now = self.clock.now()
        last = params.base_price * math.exp(self._path(pair).at_one(now.timestamp() / 60.0))
        half = params.spread / 2
        return Ticker(pair=pair, bid=last * (1 - half), ask=last * (1 + half), last=last, time=now)

    async def fetch_ohlcv(
        self,
        pair: str,
        timeframe: str,
        since: datetime | None = None,
        limit: int = 1000,
        include_forming: bool = False,
    ) -> pd.DataFrame:
        """Candles of ``pair``: the newest ``limit`` closed ones, or up to ``limit`` from ``since`` on.

        With ``include_forming`` the candle forming now is the last row (when in range); it holds the path
        only up to ``clock.now()``.
        """
        candles = self.candles(pair, timeframe, since, limit, include_forming)
        return candles_to_frame(candles) if candles is not None else empty_ohlcv()

    def candles(
        self,
        pair: str,
        timeframe: str,
        since: datetime | int | None = None,
        limit: int = 1000,
        include_forming: bool = False,
    ) -> CandleArrays | None:
        """Like :meth:`fetch_ohlcv` but as arrays (None when no candle is in range); synchronous.

        The arrays may be views of the cache: read them, do not change them.
        """
        params = self.pair_params(pair)
        if timeframe not in SUPPORTED_TIMEFRAMES:
            raise ConfigError(
                f"timeframe {timeframe!r} is not supported by the sim market; use one of "
                + ", ".join(SUPPORTED_TIMEFRAMES)
            )
        if limit is None or limit <= 0:
            return None
        grid = timeframe_grid(timeframe)
        now_min = self.clock.timestamp() / 60.0
        current = grid.index_at(now_min)
        newest = current if include_forming else current - 1
        if since is None:
            first, last = newest - limit + 1, newest
        else:
            if isinstance(since, int | float):  # ccxt-style epoch milliseconds
                since = from_epoch_ms(since)
            since_min = ensure_utc(since).timestamp() / 60.0
            first = grid.index_at(since_min)
            if grid.bounds(first, 0)[0] < since_min:
                first += 1  # candles opening at or after `since`, as exchanges answer
            last = min(first + limit - 1, newest)
        if last < first:
            return None
        parts = []
        if first <= min(last, current - 1):
            parts.append(self._closed(pair, params, grid, first, min(last, current - 1)))
        if last == current:
            path, bounds = self._path(pair), grid.bounds(current, 1)
            volume = params.volume_per_minute
            parts.append(build_candles(path, params.base_price, volume, grid, bounds, now_min))
        return parts[0] if len(parts) == 1 else CandleArrays.concat(parts)

    def _path(self, pair: str) -> PricePath:
        path = self._paths.get(pair)
        if path is None:
            path = self._paths[pair] = PricePath(self.seed, pair, self._pairs[pair].daily_vol)
        return path

    def _closed(self, pair: str, params: SimPair, grid: TimeframeGrid, first: int, last: int) -> CandleArrays:
        """Closed candles ``first..last`` (indexes), from the cache when it holds them."""
        key = (pair, grid.timeframe)
        entry = self._cache.get(key)

        def compute(lo: int, hi: int) -> CandleArrays:
            bounds = grid.bounds(lo, hi - lo + 1)
            return build_candles(self._path(pair), params.base_price, params.volume_per_minute, grid, bounds)

        if entry is not None:
            cached_first, cached = entry
            cached_last = cached_first + len(cached) - 1
            if cached_first <= first and last <= cached_last:
                return cached.slice(first - cached_first, last - cached_first + 1)
            if cached_first <= first <= cached_last + 1 < last + 1:
                # the usual refresh: a few new candles closed since the last call
                grown = CandleArrays.concat([cached, compute(cached_last + 1, last)])
                drop = max(0, len(grown) - MAX_CACHED_CANDLES)
                if drop:
                    grown, cached_first = grown.slice(drop, len(grown)), cached_first + drop
                self._store(key, cached_first, grown)
                return grown.slice(first - cached_first, last - cached_first + 1)
        fresh = compute(first, last)
        if entry is None or last >= entry[0] + len(entry[1]) - 1:
            keep = fresh.slice(max(0, len(fresh) - MAX_CACHED_CANDLES), len(fresh))
            self._store(key, last - len(keep) + 1, keep)
        return fresh

    def _store(self, key: tuple[str, str], first: int, candles: CandleArrays) -> None:
        self._cache.pop(key, None)
        while len(self._cache) >= MAX_CACHED_SERIES:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (first, candles)

    # -- orders and balances ----------------------------------------------------------------------------

    async def create_order(
        self, pair: str, side: OrderSide, order_type: OrderType, amount: float, price: float | None = None
    ) -> OrderResult:
        """Market orders fill now at the ask (buy) or bid (sell); limit orders wait for the price to cross."""
        params = self.pair_params(pair)
        ticker = await self.fetch_ticker(pair)
        order = self._account.place(params.info, side, order_type, amount, price, ticker, ticker.time)
        if order.status == "open":
            # the minute of placement was judged by the ticker; later checks start with the next minute
            self._checked_until[order.order_id] = math.floor(ticker.time.timestamp() / 60.0) + 1
        return order

    async def fetch_order(self, order_id: str, pair: str) -> OrderResult:
        """The order now; an open limit order fills (at its price) if the path crossed it since last time."""
        self.pair_params(pair)
        order = self._account.get(order_id, pair)
        if order.status == "open" and order.price is not None:
            now_min = self.clock.timestamp() / 60.0
            crossed = self._first_cross(order, self._checked_until[order_id], now_min)
            if crossed is None:
                # the forming minute is checked again in full next time
                self._checked_until[order_id] = max(self._checked_until[order_id], math.floor(now_min))
            else:
                self._checked_until.pop(order_id, None)
                when = datetime.fromtimestamp(crossed * 60.0, UTC)
                order = self._account.fill(order_id, pair, order.price, when)
        return order

    async def cancel_order(self, order_id: str, pair: str) -> OrderResult:
        """Cancel an open order (after a last fill check); a closed order comes back unchanged."""
        order = await self.fetch_order(order_id, pair)
        if order.status == "open":
            self._checked_until.pop(order_id, None)
            order = self._account.cancel(order_id, pair)
        return order

    async def fetch_balance(self) -> Balance:
        """Balances of the simulated account (fills of open limit orders show after ``fetch_order``)."""
        return self._account.balance()

    def _first_cross(self, order: OrderResult, first_minute: int, end: float) -> float | None:
        """The first minute from ``first_minute`` up to ``end`` in which the limit price was reached."""
        params = self._pairs[order.pair]
        assert order.price is not None
        half = params.spread / 2
        # a buy fills when the ask reaches the price, a sell when the bid does
        mid_limit = order.price / (1 + half) if order.side == "buy" else order.price / (1 - half)
        grid = timeframe_grid("1m")
        path = self._path(order.pair)
        minute = first_minute
        while minute <= end:
            stop = min(end, minute + _CROSS_CHUNK_MINUTES)
            bounds = np.arange(minute, math.floor(stop) + 2, dtype=np.int64)
            chunk = build_candles(path, params.base_price, params.volume_per_minute, grid, bounds, stop)
            hits = chunk.low <= mid_limit if order.side == "buy" else chunk.high >= mid_limit
            if hits.any():
                return float(chunk.open_minute[int(np.argmax(hits))])
            if stop >= end:
                break
            minute = math.floor(stop)
        return None
