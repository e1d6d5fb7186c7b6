"""Bot loop scheduling: when the next pass runs after a candle close."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradecast.bot import CLOSE_DELAY_S, DEFAULT_CLOSE_DELAY_S, Bot
from tradecast.config import Config
from tradecast.core.clock import FakeClock
from tradecast.market.sim import SimMarket


class TwiceAsFast(FakeClock):
    """A clock standing still for the test that runs at speed 2 when it does run."""

    def to_wall_seconds(self, seconds: float) -> float:
        return seconds / 2


def _bot(tmp_path: Path, clock: FakeClock, throttle: float = 5.0) -> Bot:
    config = Config.model_validate({
        "strategy": "ProducerStrategy", "timeframe": "1m", "stake_currency": "USDT", "stake_amount": 10,
        "max_open_trades": 1, "dry_run": True, "user_data_dir": str(tmp_path),
        "db_url": f"sqlite:///{tmp_path / 'bot.sqlite'}",
        "exchange": {"name": "sim", "pair_whitelist": ["BTC/USDT"]},
        "internals": {"process_throttle_secs": throttle},
    })
    return Bot(config, market=SimMarket(seed=1, clock=clock))


def test_the_sim_market_is_read_right_after_the_close(tmp_path: Path) -> None:
    clock = TwiceAsFast(datetime(2026, 11, 20, 12, 0, 59, 500000, tzinfo=UTC))
    bot = _bot(tmp_path, clock)
    assert bot.seconds_until_next_pass() == pytest.approx(0.25 + CLOSE_DELAY_S["sim"])
    assert CLOSE_DELAY_S["sim"] < DEFAULT_CLOSE_DELAY_S


def test_the_throttle_caps_the_wait(tmp_path: Path) -> None:
    clock = TwiceAsFast(datetime(2026, 11, 20, 12, 0, 10, tzinfo=UTC))
    assert _bot(tmp_path, clock, throttle=5).seconds_until_next_pass() == pytest.approx(5.0)
