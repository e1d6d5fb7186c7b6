"""The ``DataProvider`` a strategy sees as ``self.dp``.

It is a thin, synchronous, read-only view over the bot's stores: every frame it returns is a copy, so a
strategy may change what it gets without touching the bot's data. The sources are plug points:

* ``candle_source``: ``get(pair, timeframe) -> DataFrame | None``
  (e.g. :class:`~tradecast.data.candles.CandleStore`)
* ``analyzed_source``: ``get(pair, timeframe) -> (DataFrame, datetime) | None``
  (e.g. :class:`~tradecast.data.analyzed.AnalyzedStore`)
* ``whitelist_source``: a callable returning the current pair list, or a list (read at each call)
* ``producer_source`` (optional, filled in by the consumer side): ``get_producer_df(pair, timeframe,
  candle_type, producer_name) -> (DataFrame, datetime)`` and
  ``get_producer_pairs(producer_name) -> list[str]``
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import pandas as pd

from tradecast.data.candles import empty_ohlcv

logger = logging.getLogger(__name__)

#: ``last_analyzed`` reported when nothing was analysed (freqtrade's convention)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RunMode(StrEnum):
    """How the bot runs; compares equal to its string value (``dp.runmode == "dry_run"``)."""

    DRY_RUN = "dry_run"
    LIVE = "live"


class CandleSource(Protocol):
    """Where the provider reads candles."""

    def get(self, pair: str, timeframe: str) -> pd.DataFrame | None: ...


class AnalyzedSource(Protocol):
    """Where the provider reads analysed frames."""

    def get(self, pair: str, timeframe: str) -> tuple[pd.DataFrame, datetime] | None: ...


class ProducerSource(Protocol):
    """Frames and whitelists received from producers (the consumer side implements it)."""

    def get_producer_df(
        self, pair: str, timeframe: str, candle_type: str, producer_name: str
    ) -> tuple[pd.DataFrame, datetime]: ...

    def get_producer_pairs(self, producer_name: str) -> list[str]: ...


class DataProvider:
    """Read access to candles, analysed frames, the whitelist and producer data for strategies."""

    def __init__(
        self,
        config: Any,
        candle_source: CandleSource | None,
        analyzed_source: AnalyzedSource | None,
        whitelist_source: Callable[[], Sequence[str]] | Sequence[str] | None,
        runmode: str = "dry_run",
        *,
        producer_source: ProducerSource | None = None,
        timeframe: str | None = None,
    ) -> None:
        """Build a provider.

        :param config: the bot config (attribute or dict access); ``timeframe`` is read from it.
        :param runmode: ``"dry_run"`` or ``"live"``.
        :param producer_source: producer frames; None on bots without an ``external_message_consumer``.
        :param timeframe: default timeframe for calls without one (else the config's, else the strategy's
            once the strategy is given this provider, else ``"5m"``).
        """
        self._config = config
        self._candles = candle_source
        self._analyzed = analyzed_source
        self._whitelist = whitelist_source
        self._runmode = RunMode(runmode)
        self.producer_source = producer_source
        self.default_timeframe: str | None = timeframe or _config_value(config, "timeframe")
        self._warned_no_producer = False

    @property
    def runmode(self) -> RunMode:
        """``RunMode.DRY_RUN`` or ``RunMode.LIVE`` (a str enum: ``.value`` is ``"dry_run"``/``"live"``)."""
        return self._runmode

    def _timeframe(self, timeframe: str | None) -> str:
        return timeframe or self.default_timeframe or "5m"

    def ohlcv(self, pair: str, timeframe: str | None = None, copy: bool = True) -> pd.DataFrame:
        """Candles of ``pair`` (default timeframe when None); an empty candle frame when there are none.

        With ``copy=False`` the stored frame itself is returned: read it, never modify it.
        """
        frame = self._candles.get(pair, self._timeframe(timeframe)) if self._candles is not None else None
        if frame is None:
            return empty_ohlcv()
        return frame.copy() if copy else frame

    def get_pair_dataframe(self, pair: str, timeframe: str | None = None) -> pd.DataFrame:
        """Candles of ``pair`` (a copy); the same as :meth:`ohlcv` in dry-run and live modes."""
        return self.ohlcv(pair, timeframe, copy=True)

    def get_analyzed_dataframe(
        self, pair: str, timeframe: str | None = None
    ) -> tuple[pd.DataFrame, datetime]:
        """``(copy of the analysed frame, last_analyzed)``; ``(empty frame, 1970-01-01 UTC)`` when missing."""
        entry = self._analyzed.get(pair, self._timeframe(timeframe)) if self._analyzed is not None else None
        if entry is None:
            return pd.DataFrame(), EPOCH
        frame, last_analyzed = entry
        return frame.copy(), last_analyzed

    def current_whitelist(self) -> list[str]:
        """The bot's current pair whitelist (a new list)."""
        source = self._whitelist
        if source is None:
            return []
        pairs = source() if callable(source) else source
        return list(pairs)

    @property
    def available_pairs(self) -> list[tuple[str, str]]:
        """``(pair, timeframe)`` keys that have candles."""
        keys = getattr(self._candles, "keys", None)
        return list(keys()) if callable(keys) else []

    def get_producer_df(
        self,
        pair: str,
        timeframe: str | None = None,
        candle_type: str = "spot",
        producer_name: str = "default",
    ) -> tuple[pd.DataFrame, datetime]:
        """``(copy of the frame producer ``producer_name`` sent for pair, last_analyzed)``.

        ``(empty frame, 1970-01-01 UTC)`` when nothing was received or no consumer is configured.
        """
        if self.producer_source is None:
            self._warn_no_producer()
            return pd.DataFrame(), EPOCH
        frame, last_analyzed = self.producer_source.get_producer_df(
            pair, self._timeframe(timeframe), str(candle_type or "spot"), producer_name
        )
        return frame.copy(), last_analyzed

    def get_external_df(
        self,
        pair: str,
        timeframe: str | None = None,
        candle_type: str = "spot",
        producer_name: str = "default",
    ) -> tuple[pd.DataFrame, datetime]:
        """Alias of :meth:`get_producer_df` (freqtrade's older name)."""
        return self.get_producer_df(pair, timeframe, candle_type, producer_name)

    def get_producer_pairs(self, producer_name: str = "default") -> list[str]:
        """The last whitelist producer ``producer_name`` sent (a new list); [] when none."""
        if self.producer_source is None:
            self._warn_no_producer()
            return []
        return list(self.producer_source.get_producer_pairs(producer_name))

    def _warn_no_producer(self) -> None:
        if not self._warned_no_producer:
            self._warned_no_producer = True
            logger.warning(
                "strategy asked for producer data but no external_message_consumer is configured; "
                "returning empty results"
            )


def _config_value(config: Any, key: str, default: Any = None) -> Any:
    if config is None:
        return default
    if isinstance(config, dict):
        return config.get(key, default)
    return getattr(config, key, default)
