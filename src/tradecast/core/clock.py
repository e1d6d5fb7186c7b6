"""Clocks: every component asks a :class:`Clock` for the time instead of calling ``datetime.now``.

* :class:`LiveClock`: the wall clock.
* :class:`ScaledClock`: simulated time that runs ``speed`` times faster than the wall clock from a shared
  ``epoch``, so every process started with the same speed and epoch agrees on the simulated time.
* :class:`FakeClock`: moved by hand in tests; ``sleep`` advances it instantly.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What a component needs to know about time."""

    def now(self) -> datetime:
        """Current (possibly simulated) time, UTC-aware."""
        ...

    def timestamp(self) -> float:
        """Current (possibly simulated) time as epoch seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of this clock's time."""
        ...

    def to_wall_seconds(self, seconds: float) -> float:
        """How many wall-clock seconds pass while this clock advances by ``seconds``."""
        ...


class LiveClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def to_wall_seconds(self, seconds: float) -> float:
        return seconds


class ScaledClock:
    """Simulated time: ``epoch + (wall - epoch) * speed``.

    With ``speed == 1`` it equals the wall clock whatever the epoch, so candle dates are real dates.
    """

    def __init__(self, speed: float = 1.0, epoch: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = float(speed)
        self.epoch = epoch or datetime(2026, 1, 1, tzinfo=UTC)
        self._epoch_s = self.epoch.timestamp()

    def timestamp(self) -> float:
        return self._epoch_s + (time.time() - self._epoch_s) * self.speed

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def to_wall_seconds(self, seconds: float) -> float:
        return seconds / self.speed


class FakeClock:
    """A clock for tests: it only moves when told to (or when someone sleeps on it)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def timestamp(self) -> float:
        return self._now.timestamp()

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self._now += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        """Jump to ``when``."""
        self._now = when

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def to_wall_seconds(self, seconds: float) -> float:
        return 0.0
