"""In-memory store of analysed frames: ``(pair, timeframe) -> (DataFrame, last_analyzed)``.

``last_analyzed`` is the UTC time the analysis finished (freqtrade's ``la``). As with the candle store, frames
are replaced and never mutated after being stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd


class AnalyzedStore:
    """Analysed frames and when they were analysed, by ``(pair, timeframe)``."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[pd.DataFrame, datetime]] = {}

    def get(self, pair: str, timeframe: str) -> tuple[pd.DataFrame, datetime] | None:
        """``(frame, last_analyzed)`` as stored (not copied: do not modify the frame), or None."""
        return self._entries.get((pair, timeframe))

    def set(
        self, pair: str, timeframe: str, dataframe: pd.DataFrame, last_analyzed: datetime | None = None
    ) -> None:
        """Store the analysed frame; ``last_analyzed`` defaults to the current wall-clock time (UTC)."""
        when = last_analyzed if last_analyzed is not None else datetime.now(UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        self._entries[(pair, timeframe)] = (dataframe, when)

    def remove(self, pair: str, timeframe: str) -> None:
        """Forget the entry of ``pair`` at ``timeframe`` (no error when absent)."""
        self._entries.pop((pair, timeframe), None)

    def pairs(self, timeframe: str | None = None) -> list[str]:
        """Pairs with an analysed frame (at ``timeframe`` when given), without repeats."""
        return list(dict.fromkeys(p for p, tf in list(self._entries) if timeframe is None or tf == timeframe))

    def keys(self) -> list[tuple[str, str]]:
        """All stored ``(pair, timeframe)`` keys."""
        return list(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)
