"""In-memory candle store: the OHLCV frames the bot fetched, keyed by ``(pair, timeframe)``.

Frames are replaced, never mutated in place, so a reader holding a reference always sees a consistent frame;
a plain dict assignment is atomic under the GIL, so no lock is needed for one writer and many readers.
Readers that may change what they get must copy it (the :class:`~tradecast.data.provider.DataProvider` does).
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

#: columns every candle frame has, in this order
OHLCV_COLUMNS = ("date", "open", "high", "low", "close", "volume")


def empty_ohlcv() -> pd.DataFrame:
    """An empty candle frame with the usual columns and a UTC ``date`` column."""
    frame = pd.DataFrame({name: pd.Series(dtype="float64") for name in OHLCV_COLUMNS})
    frame["date"] = pd.Series(dtype="datetime64[ns, UTC]")
    return frame


class CandleStore:
    """Candle frames by ``(pair, timeframe)``."""

    def __init__(self) -> None:
        self._frames: dict[tuple[str, str], pd.DataFrame] = {}

    def get(self, pair: str, timeframe: str) -> pd.DataFrame | None:
        """The stored frame (not a copy: do not modify it), or None when nothing is stored."""
        return self._frames.get((pair, timeframe))

    def set(self, pair: str, timeframe: str, dataframe: pd.DataFrame) -> None:
        """Store (replace) the frame of ``pair`` at ``timeframe``."""
        self._frames[(pair, timeframe)] = dataframe

    def remove(self, pair: str, timeframe: str) -> None:
        """Forget the frame of ``pair`` at ``timeframe`` (no error when absent)."""
        self._frames.pop((pair, timeframe), None)

    def pairs(self, timeframe: str | None = None) -> list[str]:
        """Pairs with a stored frame (at ``timeframe`` when given), in insertion order, without repeats."""
        seen = dict.fromkeys(p for p, tf in list(self._frames) if timeframe is None or tf == timeframe)
        return list(seen)

    def keys(self) -> list[tuple[str, str]]:
        """All stored ``(pair, timeframe)`` keys."""
        return list(self._frames)

    def __contains__(self, key: object) -> bool:
        return key in self._frames

    def __len__(self) -> int:
        return len(self._frames)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._frames))
