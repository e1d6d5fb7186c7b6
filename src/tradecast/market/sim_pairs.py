"""The pairs of the simulated market and their deterministic parameters (price, volatility, volume...)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from tradecast.core.errors import ConfigError
from tradecast.market.base import MarketInfo
from tradecast.market.sim_prices import derive_key

#: well-known coins: (rough price in USDT, daily volatility, daily quote volume in million USDT)
REAL_COINS: dict[str, tuple[float, float, float]] = {
    "BTC": (65000.0, 0.025, 1500.0),
    "ETH": (3200.0, 0.032, 800.0),
    "BNB": (580.0, 0.03, 150.0),
    "SOL": (150.0, 0.045, 400.0),
    "XRP": (0.55, 0.04, 200.0),
    "ADA": (0.45, 0.045, 80.0),
    "DOGE": (0.12, 0.055, 250.0),
    "DOT": (6.5, 0.045, 40.0),
    "AVAX": (30.0, 0.05, 60.0),
    "LINK": (14.0, 0.045, 60.0),
    "LTC": (80.0, 0.035, 50.0),
    "TRX": (0.12, 0.025, 40.0),
    "MATIC": (0.7, 0.05, 40.0),
    "ATOM": (8.0, 0.045, 25.0),
    "UNI": (7.5, 0.05, 25.0),
    "XLM": (0.11, 0.04, 15.0),
    "ETC": (25.0, 0.045, 20.0),
    "FIL": (5.0, 0.05, 20.0),
    "APT": (8.0, 0.055, 30.0),
    "NEAR": (5.5, 0.055, 40.0),
    "ARB": (0.9, 0.055, 40.0),
    "OP": (1.8, 0.055, 30.0),
    "SHIB": (0.00002, 0.05, 40.0),
    "PEPE": (0.00001, 0.07, 100.0),
    "INJ": (25.0, 0.06, 25.0),
    "SUI": (1.5, 0.06, 60.0),
    "AAVE": (95.0, 0.05, 20.0),
    "ALGO": (0.18, 0.045, 10.0),
    "VET": (0.03, 0.045, 8.0),
    "ICP": (10.0, 0.055, 12.0),
    "HBAR": (0.08, 0.05, 12.0),
    "SAND": (0.4, 0.055, 10.0),
}
QUOTE = "USDT"
MIN_COST = 5.0  # minimal order value in quote, as on large spot exchanges


@dataclass(frozen=True, slots=True)
class SimPair:
    """Everything the simulation needs to know about one pair."""

    info: MarketInfo
    base_price: float
    daily_vol: float
    volume_per_minute: float  # in base currency
    spread: float  # full bid/ask spread as a ratio of the price


def parse_pair(pair: str) -> tuple[str, str]:
    """``"BTC/USDT"`` -> ``("BTC", "USDT")``; anything else is a ConfigError."""
    parts = pair.split("/") if isinstance(pair, str) else []
    if len(parts) != 2 or not all(p and p == p.strip() for p in parts):
        raise ConfigError(f"invalid pair {pair!r} for the sim market: expected BASE/QUOTE, like ABC/USDT")
    return parts[0], parts[1]


def _unit(seed: int, pair: str, what: str) -> float:
    return derive_key(seed, pair, what) / 2.0**64


def _price_in_usdt(seed: int, coin: str) -> float:
    if coin in REAL_COINS:
        return REAL_COINS[coin][0]
    if coin in ("USDT", "USDC", "USD", "BUSD", "DAI"):
        return 1.0
    # unknown coins spread over eight orders of magnitude: 0.0001 .. 10000
    return 10.0 ** (-4.0 + 8.0 * _unit(seed, coin, "price"))


def make_pair(seed: int, pair: str, fee: float) -> SimPair:
    """Deterministic parameters of ``pair`` (any BASE/QUOTE; known coins get realistic levels)."""
    base, quote = parse_pair(pair)
    price = _price_in_usdt(seed, base) / _price_in_usdt(seed, quote)
    if base in REAL_COINS and quote == QUOTE:
        _, daily_vol, volume_musd = REAL_COINS[base]
        spread = 0.0001 + 0.0001 * _unit(seed, pair, "spread")  # 1..2 bps for liquid coins
    else:
        daily_vol = 0.03 + 0.05 * _unit(seed, pair, "vol")
        volume_musd = 10.0 ** (-0.5 + 2.0 * _unit(seed, pair, "volume"))  # 0.3 .. 30 M per day
        spread = 0.0002 + 0.0008 * _unit(seed, pair, "spread")  # 2..10 bps
    quote_in_usdt = _price_in_usdt(seed, quote)
    volume_per_minute = volume_musd * 1e6 / 1440.0 / (price * quote_in_usdt)
    price_step = 10.0 ** (math.floor(math.log10(price)) - 4)  # five significant digits
    amount_step = min(1.0, 10.0 ** math.ceil(math.log10(0.1 / (price * quote_in_usdt))))
    min_cost = MIN_COST / quote_in_usdt
    info = MarketInfo(
        pair=pair,
        base=base,
        quote=quote,
        amount_precision=amount_step,
        price_precision=price_step,
        min_amount=amount_step,
        min_cost=min_cost,
        fee=fee,
    )
    return SimPair(info, price, daily_vol, volume_per_minute, spread)


def default_pair_names(generated: int, extra: Iterable[str] = ()) -> list[str]:
    """The real coins against USDT, ``generated`` synthetic ``SIM001/USDT``... and the extra pairs."""
    if generated < 0:
        raise ConfigError(f"exchange.sim.generated_pairs must be >= 0, got {generated}")
    width = max(3, len(str(generated)))
    names = [f"{coin}/{QUOTE}" for coin in REAL_COINS]
    names += [f"SIM{i:0{width}d}/{QUOTE}" for i in range(1, generated + 1)]
    for pair in extra:
        parse_pair(pair)
        if pair not in names:
            names.append(pair)
    return names
