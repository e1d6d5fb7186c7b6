"""CcxtMarket against a real ccxt binance object whose HTTP transport (``exchange.fetch``) is a fake.

The fake answers with JSON shaped like Binance's REST API and, like ccxt's own transport, passes error
answers through the exchange's ``handle_errors`` so that ccxt raises the exceptions it would in production.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import ccxt.async_support as ccxt_async
import pandas as pd
import pytest

from tradecast.core.clock import FakeClock
from tradecast.core.errors import ConfigError, TradeRejected, TransientError
from tradecast.market.ccxt_adapter import CcxtMarket

NOW = datetime(2026, 11, 20, 13, 37, 21, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def _symbol(symbol: str, base: str, tick: str, step: str, min_qty: str, min_notional: str) -> dict[str, Any]:
    return {
        "symbol": symbol, "status": "TRADING", "baseAsset": base, "baseAssetPrecision": 8,
        "quoteAsset": "USDT", "quotePrecision": 8, "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True, "ocoAllowed": True, "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": True, "permissions": [], "permissionSets": [["SPOT", "MARGIN"]],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.0", "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": "9000.00000000", "stepSize": step},
            {"filterType": "NOTIONAL", "minNotional": min_notional, "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
    }  # fmt: skip


EXCHANGE_INFO = {
    "timezone": "UTC",
    "serverTime": NOW_MS,
    "rateLimits": [],
    "exchangeFilters": [],
    "symbols": [
        _symbol("BTCUSDT", "BTC", "0.01000000", "0.00001000", "0.00001000", "5.00000000"),
        _symbol("ETHUSDT", "ETH", "0.01000000", "0.00010000", "0.00010000", "5.00000000"),
    ],
}


def _kline(open_ms: int, price: float) -> list[Any]:
    return [open_ms, f"{price:.2f}", f"{price + 5:.2f}", f"{price - 5:.2f}", f"{price + 1:.2f}", "12.5",
            open_ms + 299_999, "1000.0", 100, "6.0", "500.0", "0"]  # fmt: skip


def _order(order_id: int, status: str, order_type: str, side: str, price: str, qty: str, executed: str,
           quote: str, fills: list[dict[str, str]] | None = None) -> dict[str, Any]:  # fmt: skip
    answer = {
        "symbol": "BTCUSDT", "orderId": order_id, "orderListId": -1, "clientOrderId": f"x-{order_id}",
        "transactTime": NOW_MS, "time": NOW_MS, "updateTime": NOW_MS + 1000, "price": price, "origQty": qty,
        "executedQty": executed, "cummulativeQuoteQty": quote, "status": status, "timeInForce": "GTC",
        "type": order_type, "side": side, "workingTime": NOW_MS, "selfTradePreventionMode": "NONE",
    }  # fmt: skip
    if fills is not None:
        answer["fills"] = fills
    return answer


class FakeBinance:
    """Routes (method, path) to canned answers; records every request; unknown routes fail the test."""

    def __init__(self, exchange: Any) -> None:
        self.exchange = exchange
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.routes: dict[tuple[str, str], Callable[[dict[str, list[str]]], tuple[int, Any]]] = {
            ("GET", "/api/v3/exchangeInfo"): lambda q: (200, EXCHANGE_INFO),
            ("GET", "/fapi/v1/exchangeInfo"): lambda q: (200, {"symbols": []}),
            ("GET", "/dapi/v1/exchangeInfo"): lambda q: (200, {"symbols": []}),
            ("GET", "/sapi/v1/capital/config/getall"): lambda q: (200, []),
            ("GET", "/sapi/v1/margin/allPairs"): lambda q: (200, []),
            ("GET", "/sapi/v1/margin/isolated/allPairs"): lambda q: (200, []),
        }
        exchange.fetch = self.fetch

    def route(self, method: str, path: str, answer: Any, status: int = 200) -> None:
        self.routes[(method, path)] = lambda q: (status, answer() if callable(answer) else answer)

    async def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        parts = urlsplit(url)
        query = parse_qs(parts.query) | (parse_qs(body) if isinstance(body, str) else {})
        self.requests.append((method, parts.path, query))
        handler = self.routes.get((method, parts.path))
        assert handler is not None, f"unexpected request {method} {url}"
        status, payload = handler(query)
        if isinstance(payload, Exception):
            raise payload
        text = json.dumps(payload)
        # what ccxt's real transport does with an answer
        self.exchange.handle_errors(status, "reason", url, method, {}, text, payload, headers, body)
        self.exchange.handle_http_status_code(status, "reason", url, method, text)
        return payload


@pytest.fixture
async def market() -> Any:
    # timeout_on_exit: ccxt sleeps that long in close(); the config reaches the ccxt object unchanged
    config = {"enableRateLimit": False, "timeout_on_exit": 0}
    adapter = CcxtMarket("binance", key="k", secret="s", ccxt_config=config, clock=FakeClock(NOW))
    fake = FakeBinance(adapter.exchange)
    await adapter.start()
    yield adapter, fake
    await adapter.stop()
    await adapter.stop()  # twice is fine


async def test_markets_are_loaded_with_precision_limits_and_fee(market: Any) -> None:
    adapter, _ = market
    markets = adapter.markets()
    assert set(markets) == {"BTC/USDT", "ETH/USDT"}
    btc = markets["BTC/USDT"]
    assert (btc.base, btc.quote, btc.active) == ("BTC", "USDT", True)
    assert btc.price_precision == 0.01 and btc.amount_precision == 0.00001
    assert btc.min_amount == 0.00001 and btc.min_cost == 5.0 and btc.fee == 0.001


async def test_ohlcv_conversion_drops_the_forming_candle(market: Any) -> None:
    adapter, fake = market
    last_open = NOW_MS - NOW_MS % 300_000  # 13:35, still forming at 13:37:21
    rows = [_kline(last_open - 300_000 * i, 100.0 + i) for i in range(3, -1, -1)]
    fake.route("GET", "/api/v3/klines", rows)
    frame = await adapter.fetch_ohlcv("BTC/USDT", "5m", limit=3)
    assert list(frame.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert str(frame["date"].dtype) == "datetime64[ns, UTC]" and frame["open"].dtype == "float64"
    assert list(frame["date"]) == [pd.Timestamp("2026-11-20 13:20", tz="UTC") + pd.Timedelta(minutes=5 * i)
                                   for i in range(3)]  # fmt: skip
    assert frame.iloc[0].tolist()[1:] == [103.0, 108.0, 98.0, 104.0, 12.5]
    _, _, query = fake.requests[-1]
    assert query["symbol"] == ["BTCUSDT"] and query["interval"] == ["5m"]
    assert query["limit"] == ["4"]  # one more than asked: the forming candle is dropped
    forming = await adapter.fetch_ohlcv("BTC/USDT", "5m", limit=4, include_forming=True)
    assert forming["date"].iloc[-1] == pd.Timestamp("2026-11-20 13:35", tz="UTC")
    since = datetime(2026, 11, 20, 13, 20, tzinfo=UTC)
    await adapter.fetch_ohlcv("BTC/USDT", "5m", since=since, limit=2)
    assert fake.requests[-1][2]["startTime"] == [str(int(since.timestamp() * 1000))]


async def test_ticker(market: Any) -> None:
    adapter, fake = market
    fake.route("GET", "/api/v3/ticker/24hr", {
        "symbol": "BTCUSDT", "priceChange": "-94.99", "priceChangePercent": "-0.1",
        "weightedAvgPrice": "65000",
        "prevClosePrice": "65100.00", "lastPrice": "65010.50", "lastQty": "0.01", "bidPrice": "65010.00",
        "bidQty": "1.0", "askPrice": "65011.00", "askQty": "2.0", "openPrice": "65100.00",
        "highPrice": "66000.00", "lowPrice": "64000.00", "volume": "8913.3", "quoteVolume": "579364500.0",
        "openTime": NOW_MS - 86_400_000, "closeTime": NOW_MS, "firstId": 1, "lastId": 2, "count": 2,
    })  # fmt: skip
    ticker = await adapter.fetch_ticker("BTC/USDT")
    assert (ticker.bid, ticker.ask, ticker.last) == (65010.0, 65011.0, 65010.5)
    assert ticker.time == NOW and ticker.pair == "BTC/USDT"


async def test_orders_create_fetch_cancel(market: Any) -> None:
    adapter, fake = market
    fills = [
        {"price": "65000.00", "qty": "0.001", "commission": "0.065", "commissionAsset": "USDT", "tradeId": 1},
        {"price": "65010", "qty": "0.001", "commission": "0.000001", "commissionAsset": "BTC", "tradeId": 2},
    ]
    fake.route("POST", "/api/v3/order", _order(28, "FILLED", "MARKET", "BUY", "0.00", "0.002", "0.002",
                                               "130.01", fills))  # fmt: skip
    bought = await adapter.create_order("BTC/USDT", "buy", "market", 0.002)
    assert bought.order_id == "28" and bought.status == "closed" and bought.order_type == "market"
    assert bought.filled == 0.002 and bought.average == pytest.approx(65005.0) and bought.price is None
    assert bought.fee_cost == pytest.approx(0.065 + 0.000001 * 65005.0)
    assert bought.created == NOW
    _, _, query = fake.requests[-1]
    assert query["side"] == ["BUY"] and query["type"] == ["MARKET"] and query["quantity"] == ["0.002"]

    fake.route("POST", "/api/v3/order", _order(29, "NEW", "LIMIT", "SELL", "70000.00", "0.002", "0.000", "0"))
    placed = await adapter.create_order("BTC/USDT", "sell", "limit", 0.002, 70000.0)
    assert placed.status == "open" and placed.price == 70000.0
    assert placed.filled == 0 and placed.side == "sell"
    assert fake.requests[-1][2]["price"] == ["70000"]

    fake.route("GET", "/api/v3/order", _order(29, "PARTIALLY_FILLED", "LIMIT", "SELL", "70000.00", "0.002",
                                              "0.001", "70.0"))  # fmt: skip
    partial = await adapter.fetch_order("29", "BTC/USDT")
    assert partial.status == "open" and partial.filled == 0.001 and partial.remaining == pytest.approx(0.001)

    fake.route("DELETE", "/api/v3/order", _order(29, "CANCELED", "LIMIT", "SELL", "70000.00", "0.002",
                                                 "0.001", "70.0"))  # fmt: skip
    canceled = await adapter.cancel_order("29", "BTC/USDT")
    assert canceled.status == "canceled" and canceled.filled == 0.001
    assert fake.requests[-1][2]["orderId"] == ["29"]


async def test_balance(market: Any) -> None:
    adapter, fake = market
    fake.route("GET", "/api/v3/account", {
        "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
        "canTrade": True, "canWithdraw": True, "canDeposit": True, "updateTime": NOW_MS,
        "accountType": "SPOT",
        "balances": [{"asset": "BTC", "free": "0.5", "locked": "0.1"},
                     {"asset": "USDT", "free": "1000.0", "locked": "0.0"},
                     {"asset": "LTC", "free": "0.0", "locked": "0.0"}],
        "permissions": ["SPOT"],
    })  # fmt: skip
    balance = await adapter.fetch_balance()
    assert balance.free == {"BTC": 0.5, "USDT": 1000.0}
    assert balance.used == {"BTC": 0.1, "USDT": 0.0}
    assert balance.total == {"BTC": pytest.approx(0.6), "USDT": 1000.0}


@pytest.mark.parametrize(
    ("status", "answer", "expected", "words"),
    [
        (400, {"code": -2010, "msg": "Account has insufficient balance for requested action."}, TradeRejected,
         "insufficient funds"),
        (400, {"code": -1013, "msg": "Filter failure: LOT_SIZE"}, TradeRejected, "refused"),
        (400, {"code": -1121, "msg": "Invalid symbol."}, ConfigError, "unknown pair 'BTC/USDT'"),
        (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}, ConfigError,
         "check exchange.key"),
        (429, {"code": -1003, "msg": "Too many requests."}, TransientError, "will retry"),
        (503, {"msg": "Service unavailable"}, TransientError, "will retry"),
        (200, ccxt_async.RequestTimeout("binance GET timed out"), TransientError, "RequestTimeout"),
        (200, ccxt_async.NetworkError("connection reset"), TransientError, "NetworkError"),
    ],
)  # fmt: skip
async def test_errors_are_translated(
    market: Any, status: int, answer: Any, expected: type, words: str
) -> None:
    adapter, fake = market
    fake.route("POST", "/api/v3/order", answer, status=status)
    with pytest.raises(expected, match=words) as info:
        await adapter.create_order("BTC/USDT", "buy", "limit", 0.001, 60000.0)
    assert "binance" in str(info.value) and "BTC/USDT" in str(info.value)


async def test_unknown_pair_is_refused_before_any_request(market: Any) -> None:
    adapter, fake = market
    count = len(fake.requests)
    with pytest.raises(ConfigError, match="unknown pair 'NOPE/USDT' on binance"):
        await adapter.fetch_ohlcv("NOPE/USDT", "5m")
    assert len(fake.requests) == count


async def test_order_not_found_and_month_candles(market: Any) -> None:
    adapter, fake = market
    fake.route("GET", "/api/v3/order", {"code": -2013, "msg": "Order does not exist."}, status=400)
    with pytest.raises(TradeRejected, match="fetch order 5 on BTC/USDT"):
        await adapter.fetch_order("5", "BTC/USDT")
    months = [datetime(2026, m, 1, tzinfo=UTC) for m in (9, 10, 11)]
    fake.route("GET", "/api/v3/klines", [_kline(int(m.timestamp() * 1000), 100.0) for m in months])
    frame = await adapter.fetch_ohlcv("BTC/USDT", "1M", since=months[0] - timedelta(days=1), limit=3)
    assert list(frame["date"]) == [pd.Timestamp(m) for m in months[:2]]  # November is still forming


def test_unknown_exchange_lists_close_names() -> None:
    with pytest.raises(ConfigError, match="binance"):
        CcxtMarket("binanse")
