"""Failed-login limiter: a sliding window of failure times per client address, with an injected clock.

freqtrade has no limit at all, so a password can be guessed at full speed over Basic auth on any route.
Here each client address may fail at most ``max_failures`` times within ``window_s`` seconds; after that
every attempt (even a correct one, so that a guesser learns nothing) is refused until the oldest failure
leaves the window. Successes do not reset the count: a success among many failures is no reason to trust
the address more.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

__all__ = ["FailedLoginLimiter"]


class FailedLoginLimiter:
    """At most ``max_failures`` failed authentications per ``window_s`` seconds per client key.

    ``clock`` returns seconds (monotonic by default). Memory is bounded by ``max_clients``: when more
    addresses are being tracked, the least recently failing one is forgotten.
    """

    def __init__(
        self,
        max_failures: int = 10,
        window_s: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        if max_failures < 1 or window_s <= 0:
            raise ValueError("the limiter needs max_failures >= 1 and a positive window")
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        # routes may call from worker threads (sync endpoints), so guard the shared dict
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, key: str) -> int | None:
        """Seconds until ``key`` may try again, or ``None`` when it is not blocked now."""
        with self._lock:
            now = self._clock()
            times = self._prune(key, now)
            if times is None or len(times) < self.max_failures:
                return None
            # blocked until enough failures age out for one more attempt to fit in the window
            release_at = times[len(times) - self.max_failures] + self.window_s
            return max(1, math.ceil(release_at - now))

    def record_failure(self, key: str) -> None:
        """Count one failed authentication for ``key``."""
        with self._lock:
            now = self._clock()
            times = self._prune(key, now)
            if times is None:
                times = self._failures[key] = deque(maxlen=self.max_failures)
            times.append(now)
            self._failures.move_to_end(key)
            while len(self._failures) > self._max_clients:
                self._failures.popitem(last=False)

    def reset(self) -> None:
        """Forget every failure (used when the configuration is reloaded)."""
        with self._lock:
            self._failures.clear()
