"""Pure price maths of the simulated market: a deterministic log-price path defined at any minute.

The log price of one pair is a sum of *octaves*. Octave ``j`` has a knot every ``2**j`` minutes whose value is
hash-based noise (a function of seed, pair, octave and knot index only) and is linear between its knots. The
amplitude of octave ``j`` grows like ``sqrt(2**j)``, which gives random-walk scaling (variance of a return
proportional to its horizon) from one minute up to about half a year, while the sum stays bounded over
years. The octaves finer than about 17 hours are multiplied by a slowly changing volatility regime, and
the octaves of 8.5 hours to 6 days have heavy-tailed knots, which gives occasional trends.

Because every octave is linear between its knots, the sum of the octaves coarser than ``j`` is known on the
grid of octave ``j`` by halving: the value at a midpoint is the mean of its neighbours. :meth:`PricePath.grid`
walks this pyramid from the coarsest octave down, touching only the knots around the requested range, so
any time range costs about twice its number of grid points, wherever it lies in time; the sums of the
coarse octaves are cached per pair, so a small request near a recent one costs little. The results do not
depend on the range asked for or on the cache (the same floating-point operations produce every value),
only on (seed, pair, time).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

#: coarsest octave: knots every 2**18 minutes (about 182 days)
TOP_LEVEL = 18
#: the volatility regime is constant over blocks of 2**10 minutes (~17 h) and scales octaves finer than that
VOL_LEVEL = 10
#: octaves (2**9 .. 2**13 minutes, ~8.5 h .. ~5.7 days) whose knots are sometimes much larger: trends
TREND_LEVELS = frozenset(range(9, 14))
_TREND_THRESHOLD = np.uint64(int(0.08 * 65536))  # 8% of the trend octaves' knots are boosted
_TREND_BOOST = 3.0
#: spread of the log volatility regime
_VOL_SIGMA = 0.45
#: scales octave amplitudes so that the std of daily log returns comes out near the pair's daily_vol
#: (measured over many simulated days, see tests/unit/market/test_sim_prices.py)
_CALIBRATION = 0.41

#: octave sums cached per pair: from 2**10 minutes up (chunks of ~45 days) and from 2**5 up (~34 hours)
_TIERS = (VOL_LEVEL, 5)
_CHUNK = 64  # knots per cached chunk
_MAX_CACHED_CHUNKS = 48  # per pair, all tiers together
_MAX_CHUNKS_PER_CALL = 8  # longer requests bypass the cache instead of flushing it

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_LOW16 = np.uint64(0xFFFF)
_S43, _S22, _LOW21 = np.uint64(43), np.uint64(22), np.uint64(0x1FFFFF)


def derive_key(*parts: object) -> int:
    """A stable 64-bit key from any printable parts (the same in every process, unlike ``hash``)."""
    digest = hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def hash64(key: int, index: np.ndarray) -> np.ndarray:
    """splitmix64 of ``key + index * golden``: independent-looking uint64 words per integer index."""
    x = index.astype(np.int64).view(np.uint64)  # a copy; negative indexes wrap like two's complement
    x *= _GOLDEN
    x += np.uint64(key)
    x ^= x >> _S30
    x *= _MIX1
    x ^= x >> _S27
    x *= _MIX2
    x ^= x >> _S31
    return x


def signed_unit_from(h: np.ndarray) -> np.ndarray:
    """Uniform noise in [-1, 1) from hash words (one conversion: the word read as a signed integer)."""
    values = h.view(np.int64).astype(np.float64)
    values *= 2.0**-63
    return values


def uniforms3_from(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three independent 21-bit uniforms in [0, 1) from one hash word."""
    scale = 2.0**-21
    # int64 -> float64 converts faster than uint64 -> float64; the values fit either way
    return (
        (h >> _S43).view(np.int64).astype(np.float64) * scale,
        ((h >> _S22) & _LOW21).view(np.int64).astype(np.float64) * scale,
        (h & _LOW21).view(np.int64).astype(np.float64) * scale,
    )


def _hash_range(key: int, lo: int, count: int, step: int = 1) -> np.ndarray:
    """:func:`hash64` of ``lo, lo + step, ...`` (``count`` indexes), without building the index first."""
    x = np.arange(lo, lo + count * step, step, dtype=np.int64).view(np.uint64)
    x *= _GOLDEN
    x += np.uint64(key)
    x ^= x >> _S30
    x *= _MIX1
    x ^= x >> _S27
    x *= _MIX2
    x ^= x >> _S31
    return x


class _Vol:
    """Volatility multipliers of the regime blocks ``first ..`` (a slice of the regime for one request)."""

    __slots__ = ("first", "values")

    def __init__(self, first: int, values: np.ndarray) -> None:
        self.first, self.values = first, values

    def per_knot(self, level: int, lo: int, count: int) -> np.ndarray:
        """Multipliers of the consecutive knots ``lo .. lo + count - 1`` of an octave finer than a block."""
        shift = VOL_LEVEL - level
        first_block, last_block = lo >> shift, (lo + count - 1) >> shift
        blocks = self.values[first_block - self.first : last_block - self.first + 1]
        offset = lo - (first_block << shift)
        return np.repeat(blocks, 1 << shift)[offset : offset + count]

    def at_minutes(self, minutes: np.ndarray) -> np.ndarray:
        """Multipliers at arbitrary integer minutes within the slice."""
        return self.values[(minutes >> VOL_LEVEL) - self.first]


class PricePath:
    """The deterministic log-price offset of one pair (add ``log(base_price)`` to get a log price).

    ``daily_vol`` is the target standard deviation of daily log returns. Times are integer (or, for
    :meth:`at`, real) minutes since the Unix epoch. The sum of the octaves coarser than a regime block is
    cached in chunks of about 45 days, so repeated small requests (a refresh, a ticker) stay cheap.
    """

    def __init__(self, seed: int, pair: str, daily_vol: float) -> None:
        self.sigma_minute = daily_vol / math.sqrt(1440.0)
        self._one_minute: int | None = None
        self._one_values = (0.0, 0.0)
        self._octave_keys = [derive_key(seed, pair, "octave", j) for j in range(TOP_LEVEL + 1)]
        self._vol_key = derive_key(seed, pair, "vol")
        self.noise_key = derive_key(seed, pair, "noise")
        # uniform knots in [-1, 1) have variance 1/3: sqrt(3) makes each octave's variance its amplitude**2
        self._scale = [
            self.sigma_minute * _CALIBRATION * math.sqrt(3.0 * 2.0**j) for j in range(TOP_LEVEL + 1)
        ]
        self._chunks: dict[tuple[int, int], np.ndarray] = {}

    # -- building blocks -------------------------------------------------------------------------------

    def vol_blocks(self, first: int, last: int) -> np.ndarray:
        """Volatility multipliers of regime blocks ``first..last`` (mean square about 1)."""
        z = signed_unit_from(_hash_range(self._vol_key, first - 2, last - first + 3))
        # a moving sum over three blocks makes the regime drift instead of jumping every block
        smooth = z[2:] + z[1:-1] + z[:-2]  # unit variance: three uniforms of variance 1/3
        return np.exp(_VOL_SIGMA * smooth - _VOL_SIGMA * _VOL_SIGMA)

    def vol_at(self, minutes: np.ndarray) -> np.ndarray:
        """Volatility regime at integer minutes."""
        blocks = minutes >> VOL_LEVEL
        first = int(blocks.min())
        return self.vol_blocks(first, int(blocks.max()))[blocks - first]

    def _vol_for(self, first_minute: int, last_minute: int) -> _Vol:
        first = first_minute >> VOL_LEVEL
        # one block more: a rounded-up knot of an octave may open the next block
        return _Vol(first, self.vol_blocks(first, (last_minute >> VOL_LEVEL) + 1))

    def _values(self, level: int, h: np.ndarray) -> np.ndarray:
        values = signed_unit_from(h)
        if level in TREND_LEVELS:
            values *= np.where((h & _LOW16) < _TREND_THRESHOLD, _TREND_BOOST, 1.0)
        values *= self._scale[level]
        return values

    def _knot_range(self, level: int, lo: int, count: int, vol: _Vol | None, step: int = 1) -> np.ndarray:
        """Values of octave ``level`` at its knots ``lo, lo + step, ...`` (``count`` of them)."""
        values = self._values(level, _hash_range(self._octave_keys[level], lo, count, step))
        if level < VOL_LEVEL:
            assert vol is not None
            if step == 1:
                values *= vol.per_knot(level, lo, count)
            else:
                values *= vol.at_minutes(np.arange(lo, lo + count * step, step, dtype=np.int64) << level)
        return values

    def _knots_at(self, level: int, k: np.ndarray, vol: _Vol | None) -> np.ndarray:
        """Values of octave ``level`` at arbitrary knots ``k`` (int64)."""
        values = self._values(level, hash64(self._octave_keys[level], k))
        if level < VOL_LEVEL:
            assert vol is not None
            values *= vol.at_minutes(k << level)
        return values

    def _descend(
        self,
        values: np.ndarray,
        k_lo: int,
        level_from: int,
        lo: int,
        hi: int,
        level_to: int,
        vol: _Vol | None,
    ) -> np.ndarray:
        """From the octave sum on ``level_from`` knots ``k_lo..`` to the sum on ``level_to`` knots lo..hi."""
        for j in range(level_from - 1, level_to - 1, -1):
            # the coarser octaves are linear between their knots: midpoints are means of neighbours
            finer = np.empty(2 * len(values) - 1)
            finer[0::2] = values
            finer[1::2] = values[:-1]
            finer[1::2] += values[1:]
            finer[1::2] *= 0.5
            shift = j - level_to
            new_lo, new_hi = lo >> shift, -((-hi) >> shift)
            values = finer[new_lo - 2 * k_lo : new_hi - 2 * k_lo + 1]
            values += self._knot_range(j, new_lo, new_hi - new_lo + 1, vol)
            k_lo = new_lo
        return values

    def _from_top(self, lo: int, hi: int, level: int, vol: _Vol | None) -> np.ndarray:
        shift = TOP_LEVEL - level
        k_lo, k_hi = lo >> shift, -((-hi) >> shift)
        values = self._knot_range(TOP_LEVEL, k_lo, k_hi - k_lo + 1, None)
        return self._descend(values, k_lo, TOP_LEVEL, lo, hi, level, vol)

    def _sum_from_above(self, level: int, lo: int, hi: int) -> np.ndarray:
        """Sum of the octaves from ``level`` up, on its knots ``lo..hi``, from the next cached tier up."""
        above = [t for t in _TIERS if t > level]
        vol = self._vol_for(lo << level, hi << level) if level < VOL_LEVEL else None
        if not above:
            return self._from_top(lo, hi, level, vol)
        tier = min(above)
        shift = tier - level
        k_lo, k_hi = lo >> shift, -((-hi) >> shift)
        return self._descend(self._tier_sum(tier, k_lo, k_hi), k_lo, tier, lo, hi, level, vol)

    def _tier_sum(self, tier: int, k_lo: int, k_hi: int) -> np.ndarray:
        """Sum of the octaves from ``tier`` up on its knots ``k_lo..k_hi``: a read-only view of the cache."""
        first, last = k_lo // _CHUNK, k_hi // _CHUNK
        if last - first >= _MAX_CHUNKS_PER_CALL:
            return self._sum_from_above(tier, k_lo, k_hi)
        parts = []
        for chunk in range(first, last + 1):
            values = self._chunks.get((tier, chunk))
            if values is None:
                if len(self._chunks) >= _MAX_CACHED_CHUNKS:
                    self._chunks.pop(next(iter(self._chunks)))
                values = self._sum_from_above(tier, chunk * _CHUNK, chunk * _CHUNK + _CHUNK - 1)
                self._chunks[(tier, chunk)] = values
            parts.append(values)
        joined = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return joined[k_lo - first * _CHUNK : k_hi - first * _CHUNK + 1]

    # -- the path ----------------------------------------------------------------------------------------

    def grid(self, lo: int, hi: int, level: int = 0) -> np.ndarray:
        """Exact log offsets at minutes ``k * 2**level`` for ``k = lo .. hi`` (inclusive)."""
        if hi < lo:
            return np.empty(0)
        vol = self._vol_for(lo << level, hi << level)
        tiers = [t for t in _TIERS if t >= level]
        if not tiers:
            values = self._from_top(lo, hi, level, vol)
        elif min(tiers) == level:
            values = self._tier_sum(level, lo, hi).copy()  # copied: the fine octaves are added in place
        else:
            tier = min(tiers)
            shift = tier - level
            k_lo, k_hi = lo >> shift, -((-hi) >> shift)
            # _descend builds new arrays from its first step on, so the cache is never changed
            values = self._descend(self._tier_sum(tier, k_lo, k_hi), k_lo, tier, lo, hi, level, vol)
        for j in range(level):
            # the finer octaves have knots on this grid too, so they add their knot values exactly
            values += self._knot_range(j, lo << (level - j), hi - lo + 1, vol, step=1 << (level - j))
        return values

    def at(self, minutes: np.ndarray | float) -> np.ndarray:
        """Log offsets at arbitrary real minutes, evaluated octave by octave below the finest tier."""
        t = np.atleast_1d(np.asarray(minutes, dtype=np.float64))
        floor_minutes = np.floor(t).astype(np.int64)
        vol = self._vol_for(int(floor_minutes.min()), int(floor_minutes.max()) + 1)
        span = int(floor_minutes.max()) - int(floor_minutes.min())
        # the finest tier whose cache covers the span (points far apart would make it descend a long way)
        fitting = [t for t in _TIERS if span >> t < _CHUNK * (_MAX_CHUNKS_PER_CALL - 1)]
        tier = min(fitting) if fitting else max(_TIERS)
        # all octaves from the tier up are linear between the tier's knots
        x = t * 2.0**-tier
        k = np.floor(x).astype(np.int64)
        k_lo = int(k.min())
        coarse = self._tier_sum(tier, k_lo, int(k.max()) + 1)
        left, right = coarse[k - k_lo], coarse[k - k_lo + 1]
        total = left + (right - left) * (x - k)
        for j in range(tier):
            x = t * 2.0**-j
            k = np.floor(x).astype(np.int64)
            both = self._knots_at(j, np.concatenate([k, k + 1]), vol)
            left, right = both[: len(t)], both[len(t) :]
            total += left + (right - left) * (x - k)
        return total

    def at_one(self, minute: float) -> float:
        """Log offset at one real minute (via a two-point grid: cheaper than :meth:`at`)."""
        m = math.floor(minute)
        if m != self._one_minute:  # tickers ask many times per minute: keep the minute's two grid points
            values = self.grid(m, m + 1, 0)
            self._one_minute, self._one_values = m, (float(values[0]), float(values[1]))
        first, second = self._one_values
        return first + (second - first) * (minute - m)

    def vol_minutes(self, lo: int, count: int) -> np.ndarray:
        """Volatility regime at the consecutive minutes ``lo .. lo + count - 1``."""
        vol = self._vol_for(lo, lo + count)
        return vol.per_knot(0, lo, count)
