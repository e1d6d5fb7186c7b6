"""Exponential backoff with full jitter, as a plain generator of delays (no sleeping here)."""

from __future__ import annotations

import random
from collections.abc import Iterator


def backoff_delays(
    initial_s: float = 0.5,
    maximum_s: float = 10.0,
    factor: float = 2.0,
    jitter: float = 0.5,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Yield delays that grow by ``factor`` from ``initial_s`` up to ``maximum_s``, forever.

    Each delay is reduced by a random fraction of up to ``jitter`` so that many clients that lost the
    same server do not come back in lock-step. Restart the generator after a success to reset it.
    """
    if initial_s <= 0 or maximum_s <= 0 or factor < 1 or not 0 <= jitter <= 1:
        raise ValueError("backoff needs positive delays, factor >= 1 and jitter within 0..1")
    rng = rng or random.Random()
    delay = min(initial_s, maximum_s)
    while True:
        yield delay * (1 - jitter * rng.random())
        delay = min(delay * factor, maximum_s)
