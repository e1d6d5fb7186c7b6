"""create_market: sim or ccxt from the exchange config."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from tradecast.core.clock import ScaledClock
from tradecast.core.errors import ConfigError
from tradecast.market import CcxtMarket, SimMarket, create_market


def exchange(name: str = "sim", **overrides: object) -> SimpleNamespace:
    sim = SimpleNamespace(
        seed=3, speed=60.0, epoch=datetime(2026, 11, 20, tzinfo=UTC), extra_pairs=["FOO/USDT"],
        generated_pairs=10, fee=0.002,
    )  # fmt: skip
    fields = {"name": name, "key": "K", "secret": "S", "password": "", "ccxt_config": {}, "sim": sim}
    return SimpleNamespace(**(fields | overrides))


def test_sim_from_config() -> None:
    market = create_market(exchange(), dry_run=True)
    assert isinstance(market, SimMarket) and market.name == "sim"
    assert market.seed == 3
    assert isinstance(market.clock, ScaledClock) and market.clock.speed == 60.0
    assert market.clock.epoch == datetime(2026, 11, 20, tzinfo=UTC)
    pairs = market.markets()
    assert len(pairs) == 32 + 10 + 1 and "FOO/USDT" in pairs and "SIM010/USDT" in pairs
    assert pairs["BTC/USDT"].fee == 0.002


async def test_ccxt_from_config_keys_only_when_trading_for_real() -> None:
    live = create_market(exchange("Kraken", ccxt_config={"timeout": 1234}), dry_run=False)
    assert isinstance(live, CcxtMarket) and live.name == "kraken"
    assert live.exchange.apiKey == "K" and live.exchange.secret == "S" and live.exchange.timeout == 1234
    paper = create_market(exchange("kraken"), dry_run=True)
    assert isinstance(paper, CcxtMarket) and not paper.exchange.apiKey
    for market in (live, paper):
        await market.stop()


def test_unknown_exchange_is_a_config_error_with_close_names() -> None:
    with pytest.raises(ConfigError, match=r"'krakn' is not an exchange ccxt knows \(close names: kraken"):
        create_market(exchange("krakn"), dry_run=True)
    with pytest.raises(ConfigError, match=r"e\.g\. binance"):
        create_market(exchange("zzzzzz"), dry_run=True)
