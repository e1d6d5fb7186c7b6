"""The ccxt adapter: a real exchange behind the :class:`~tradecast.market.base.Market` interface.

ccxt is imported here and nowhere else; its structures become our dataclasses and its errors our exception
tree (network trouble -> ``TransientError``, refused orders -> ``TradeRejected``, bad keys, symbols or
settings -> ``ConfigError``), with messages that name the exchange, the action and the pair.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import ccxt.async_support as ccxt_async
import pandas as pd
from ccxt.base import errors as ccxt_errors

from tradecast.core.clock import Clock, LiveClock
from tradecast.core.errors import ConfigError, TradeRejected, TransientError
from tradecast.core.timeframes import (
    from_epoch_ms,
    next_candle_open,
    timeframe_to_msecs,
    to_epoch_ms,
)
from tradecast.market.base import (
    OHLCV_COLUMNS,
    Balance,
    MarketInfo,
    OrderResult,
    OrderSide,
    OrderStatus,
    OrderType,
    Ticker,
)

T = TypeVar("T")

_STATUS: dict[str | None, OrderStatus] = {
    "open": "open",
    "closed": "closed",
    "canceled": "canceled",
    "cancelled": "canceled",
    "expired": "canceled",
    "rejected": "canceled",
}
# ccxt precision modes (ccxt.base.decimal_to_precision)
_DECIMAL_PLACES, _SIGNIFICANT_DIGITS, _TICK_SIZE = 2, 3, 4


def known_exchanges() -> list[str]:
    """Exchange ids ccxt supports."""
    return list(ccxt_async.exchanges)


def _exchange_class(name: str) -> type:
    if name not in ccxt_async.exchanges:
        close = difflib.get_close_matches(name, ccxt_async.exchanges, n=5, cutoff=0.6)
        hint = f"close names: {', '.join(close)}" if close else "e.g. binance, kraken, okx, bybit, or sim"
        raise ConfigError(f"exchange.name {name!r} is not an exchange ccxt knows ({hint})")
    return getattr(ccxt_async, name)


class CcxtMarket:
    """A ccxt exchange (``ccxt.async_support``) as a :class:`~tradecast.market.base.Market`.

    ``ccxt_config`` is passed to the ccxt constructor (options, timeouts, proxies...); keys given here win
    over keys in it. ``clock`` decides which candle is still forming (default: the wall clock).
    """

    def __init__(
        self,
        exchange_name: str,
        key: str = "",
        secret: str = "",
        password: str = "",
        ccxt_config: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = exchange_name
        self.clock: Clock = clock or LiveClock()
        config: dict[str, Any] = {"enableRateLimit": True, **dict(ccxt_config or {})}
        for field, value in (("apiKey", key), ("secret", secret), ("password", password)):
            if value:
                config[field] = value
        self.exchange: Any = _exchange_class(exchange_name)(config)
        self._markets: dict[str, MarketInfo] = {}
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the exchange's markets."""
        raw = await self._call("load markets", None, self.exchange.load_markets)
        self._markets = {symbol: self._to_info(m) for symbol, m in raw.items()}

    async def stop(self) -> None:
        """Close the HTTP session; safe to call twice."""
        if not self._closed:
            self._closed = True
            await self.exchange.close()

    def markets(self) -> dict[str, MarketInfo]:
        """Markets loaded by :meth:`start`."""
        return dict(self._markets)

    # -- market data ----------------------------------------------------------------------------------------

    async def fetch_ohlcv(
        self,
        pair: str,
        timeframe: str,
        since: datetime | None = None,
        limit: int = 1000,
        include_forming: bool = False,
    ) -> pd.DataFrame:
        """Candles from the exchange; the forming candle (open + timeframe > now) is dropped unless asked for.

        Without ``since`` one candle more is requested so that ``limit`` closed ones remain (exchanges cap
        the request size, so at their cap one fewer may come back).
        """
        self._check_pair(pair)
        since_ms = to_epoch_ms(since) if since is not None else None
        ask = limit + 1 if since is None and not include_forming else limit
        rows = await self._call(
            f"fetch {timeframe} candles", pair, self.exchange.fetch_ohlcv, pair, timeframe, since_ms, ask
        )
        frame = ohlcv_rows_to_frame(rows)
        if not include_forming and len(frame):
            frame = frame[_closed_mask(frame, timeframe, self.clock.now())].reset_index(drop=True)
        if since is None:
            frame = frame.iloc[-limit:].reset_index(drop=True) if limit > 0 else frame.iloc[0:0]
        return frame

    async def fetch_ticker(self, pair: str) -> Ticker:
        """Best bid/ask and last price; a missing side falls back to the last price."""
        self._check_pair(pair)
        raw = await self._call("fetch ticker", pair, self.exchange.fetch_ticker, pair)
        last = _num(raw.get("last")) or _num(raw.get("close"))
        bid, ask = _num(raw.get("bid")), _num(raw.get("ask"))
        if not last and bid and ask:
            last = (bid + ask) / 2
        if not last:
            raise TransientError(f"{self.name}: the ticker of {pair} has no price")
        stamp = raw.get("timestamp")
        when = from_epoch_ms(stamp) if stamp else self.clock.now()
        return Ticker(pair=pair, bid=bid or last, ask=ask or last, last=last, time=when)

    # -- orders and balances ---------------------------------------------------------------------------------

    async def create_order(
        self, pair: str, side: OrderSide, order_type: OrderType, amount: float, price: float | None = None
    ) -> OrderResult:
        """Send an order; exchanges that answer with little more than an id are asked for the order."""
        self._check_pair(pair)
        limit_price = price if order_type == "limit" else None
        raw = await self._call(
            f"create {order_type} {side} order", pair, self.exchange.create_order,
            pair, order_type, side, amount, limit_price,
        )  # fmt: skip
        if raw.get("status") is None and raw.get("id"):
            return await self.fetch_order(str(raw["id"]), pair)
        return self._to_order(raw, pair)

    async def cancel_order(self, order_id: str, pair: str) -> OrderResult:
        """Cancel an order; when the answer has no status the order is fetched."""
        raw = await self._call(f"cancel order {order_id}", pair, self.exchange.cancel_order, order_id, pair)
        if raw.get("status") is None:
            return await self.fetch_order(order_id, pair)
        return self._to_order(raw, pair)

    async def fetch_order(self, order_id: str, pair: str) -> OrderResult:
        """The order as the exchange reports it now."""
        raw = await self._call(f"fetch order {order_id}", pair, self.exchange.fetch_order, order_id, pair)
        return self._to_order(raw, pair)

    async def fetch_balance(self) -> Balance:
        """Free, used and total per currency (currencies with nothing at all are left out)."""
        raw = await self._call("fetch balance", None, self.exchange.fetch_balance)
        balance = Balance()
        for currency, total in (raw.get("total") or {}).items():
            free = _num((raw.get("free") or {}).get(currency))
            used = _num((raw.get("used") or {}).get(currency))
            total = _num(total) or free + used
            if total or free or used:
                balance.free[currency], balance.used[currency], balance.total[currency] = free, used, total
        return balance

    # -- translation ---------------------------------------------------------------------------------------

    def _check_pair(self, pair: str) -> None:
        if self._markets and pair not in self._markets:
            raise ConfigError(f"unknown pair {pair!r} on {self.name}")

    async def _call(self, action: str, pair: str | None, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        where = f"{self.name}: {action}" + (f" on {pair}" if pair else "")
        try:
            return await fn(*args)
        except ccxt_errors.InsufficientFunds as exc:
            raise TradeRejected(f"{where} refused: insufficient funds ({exc})") from exc
        except (ccxt_errors.InvalidOrder, ccxt_errors.OperationRejected) as exc:
            raise TradeRejected(f"{where} refused: {exc}") from exc
        except ccxt_errors.AuthenticationError as exc:
            raise ConfigError(f"{where} failed: check exchange.key/secret/password ({exc})") from exc
        except ccxt_errors.BadSymbol as exc:
            raise ConfigError(f"{where} failed: unknown pair {pair!r} ({exc})") from exc
        except ccxt_errors.OperationFailed as exc:  # NetworkError, DDoSProtection, timeouts, bad responses
            raise TransientError(f"{where} failed, will retry: {type(exc).__name__}: {exc}") from exc
        except ccxt_errors.ExchangeError as exc:
            raise ConfigError(f"{where} failed: {type(exc).__name__}: {exc}") from exc
        except ccxt_errors.BaseError as exc:
            raise TransientError(f"{where} failed: {type(exc).__name__}: {exc}") from exc

    def _to_info(self, market: Mapping[str, Any]) -> MarketInfo:
        precision = market.get("precision") or {}
        limits = market.get("limits") or {}
        taker = market.get("taker")
        if taker is None:
            taker = (self.exchange.fees.get("trading") or {}).get("taker", 0.001)
        return MarketInfo(
            pair=market["symbol"],
            base=market.get("base") or market["symbol"].split("/")[0],
            quote=market.get("quote") or market["symbol"].split("/")[-1].split(":")[0],
            active=market.get("active") is not False,
            amount_precision=self._step(precision.get("amount")),
            price_precision=self._step(precision.get("price")),
            min_amount=_opt((limits.get("amount") or {}).get("min")),
            min_cost=_opt((limits.get("cost") or {}).get("min")),
            fee=float(taker),
        )

    def _step(self, value: Any) -> float | None:
        """A ccxt precision as a step size, whatever the exchange's precision mode."""
        if value is None:
            return None
        mode = self.exchange.precisionMode
        if mode == _TICK_SIZE:
            return float(value)
        if mode == _DECIMAL_PLACES:
            return 10.0 ** -float(value)
        return None  # significant digits have no fixed step

    def _to_order(self, raw: Mapping[str, Any], pair: str) -> OrderResult:
        amount = _num(raw.get("amount"))
        filled = _num(raw.get("filled"))
        average = _opt(raw.get("average")) or (_opt(raw.get("price")) if filled else None)
        status = _STATUS.get(raw.get("status"), "open")
        order_type = "limit" if raw.get("type") == "limit" else "market"
        stamp, last_trade = raw.get("timestamp"), raw.get("lastTradeTimestamp")
        return OrderResult(
            order_id=str(raw.get("id")),
            pair=raw.get("symbol") or pair,
            side="sell" if raw.get("side") == "sell" else "buy",
            order_type=order_type,
            amount=amount,
            price=_opt(raw.get("price")) if order_type == "limit" else None,
            status=status,
            filled=filled,
            average=average,
            fee_cost=self._fee_in_quote(raw, pair, filled, average),
            created=from_epoch_ms(stamp) if stamp else None,
            filled_at=from_epoch_ms(last_trade) if last_trade and status == "closed" else None,
        )

    def _fee_in_quote(self, raw: Mapping[str, Any], pair: str, filled: float, average: float | None) -> float:
        """The order's fee in quote; fees in the base are converted, fees in a third coin are estimated."""
        info = self._markets.get(pair)
        quote = info.quote if info else pair.split("/")[-1].split(":")[0]
        base = info.base if info else pair.split("/")[0]
        fees = list(raw.get("fees") or ([raw["fee"]] if raw.get("fee") else []))
        total = 0.0
        for fee in fees:
            cost, currency = _num(fee.get("cost")), fee.get("currency")
            if not cost:
                continue
            if currency in (None, quote):
                total += cost
            elif currency == base and average:
                total += cost * average
            else:
                # paid in another coin (BNB on binance...): count it at the market's taker rate
                return filled * (average or 0.0) * (info.fee if info else 0.001)
        return total


def ohlcv_rows_to_frame(rows: list[list[Any]]) -> pd.DataFrame:
    """ccxt OHLCV rows ``[ms, open, high, low, close, volume]`` to the frame of ``market.base``."""
    frame = pd.DataFrame(rows or [], columns=OHLCV_COLUMNS)
    frame = frame.astype({c: "float64" for c in OHLCV_COLUMNS[1:]})
    frame["date"] = pd.to_datetime(frame["date"].astype("int64"), unit="ms", utc=True)
    frame = frame.drop_duplicates(subset="date", keep="last").sort_values("date")
    return frame.reset_index(drop=True)


def _closed_mask(frame: pd.DataFrame, timeframe: str, now: datetime) -> pd.Series:
    opens = frame["date"]
    if timeframe.endswith("M"):
        closes = opens.map(lambda when: next_candle_open(when.to_pydatetime(), timeframe))
        return closes <= now
    return opens + pd.Timedelta(milliseconds=timeframe_to_msecs(timeframe)) <= pd.Timestamp(now)


def _num(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _opt(value: Any) -> float | None:
    return float(value) if value is not None else None
