"""Clocks and the backoff generator."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from itertools import islice

import pytest

from tradecast.core import clock as clock_module
from tradecast.core.backoff import backoff_delays
from tradecast.core.clock import FakeClock, ScaledClock


def test_scaled_clock_runs_speed_times_faster_from_the_shared_epoch(monkeypatch) -> None:
    epoch = datetime(2026, 11, 20, tzinfo=UTC)
    wall = epoch.timestamp() + 100.0
    monkeypatch.setattr(clock_module.time, "time", lambda: wall)
    fast = ScaledClock(speed=60, epoch=epoch)
    assert fast.timestamp() == pytest.approx(epoch.timestamp() + 6000.0)
    assert fast.to_wall_seconds(60) == pytest.approx(1.0)
    # two processes with the same speed and epoch agree; speed 1 is the wall clock whatever the epoch
    assert ScaledClock(speed=60, epoch=epoch).now() == fast.now()
    assert ScaledClock(speed=1, epoch=datetime(2020, 1, 1, tzinfo=UTC)).timestamp() == pytest.approx(wall)
    with pytest.raises(ValueError, match="speed must be positive"):
        ScaledClock(speed=0)


async def test_fake_clock_moves_only_when_told() -> None:
    fake = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    before = fake.now()
    await fake.sleep(30)
    assert (fake.now() - before).total_seconds() == 30
    fake.advance(0.5)
    assert fake.timestamp() == pytest.approx(before.timestamp() + 30.5)


def test_backoff_grows_caps_and_jitters() -> None:
    plain = list(islice(backoff_delays(0.5, 10, factor=2, jitter=0), 7))
    assert plain == [0.5, 1, 2, 4, 8, 10, 10]
    jittered = list(islice(backoff_delays(0.5, 10, jitter=0.5, rng=random.Random(1)), 50))
    assert all(0.25 <= d <= 10 for d in jittered)
    assert len({round(d, 6) for d in jittered[10:]}) > 10  # clients that lost one server spread out
    with pytest.raises(ValueError):
        next(backoff_delays(0, 10))
