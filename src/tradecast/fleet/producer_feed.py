"""``ProducerFeed``: the consumer's producer frames as the ``DataProvider`` sees them (``self.dp``).

It implements ``tradecast.data.provider.ProducerSource`` over a
:class:`~tradecast.data.producer_frames.ProducerFrameStore`. The DataProvider copies what it returns, so the
feed hands over the stored frame itself (one copy per call, not two). When a frame is missing the strategy
gets ``(empty DataFrame, 1970-01-01 UTC)`` as in freqtrade, and the log says why, once per key and reason:
a producer name that is not configured, a pair that is not in that producer's whitelist, a timeframe or
candle type the producer does not send, or simply no data yet (still connecting or syncing).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import pandas as pd

from tradecast.data.producer_frames import EPOCH, ProducerFrameStore

__all__ = ["ProducerFeed"]

log = logging.getLogger("tradecast.fleet.consumer")


class ProducerFeed:
    """Read access to producer frames and whitelists, with a log line once per missing key and reason."""

    def __init__(self, store: ProducerFrameStore, producer_names: Iterable[str]) -> None:
        self.store = store
        self.producer_names = tuple(producer_names)
        self._explained: set[tuple[str, ...]] = set()

    def get_producer_df(
        self, pair: str, timeframe: str, candle_type: str, producer_name: str
    ) -> tuple[pd.DataFrame, datetime]:
        """``(stored frame, last_analyzed)``; the caller (DataProvider) copies it before a strategy sees it."""
        entry = self.store.entry(producer_name, pair, timeframe, candle_type)
        if entry is None:
            self._explain(pair, timeframe, candle_type, producer_name)
            return pd.DataFrame(), EPOCH
        return entry.frame, entry.last_analyzed

    def get_producer_pairs(self, producer_name: str) -> list[str]:
        """The last whitelist ``producer_name`` sent ([] when none, logged once for an unknown name)."""
        if producer_name not in self.producer_names:
            self._once(("pairs", producer_name), logging.WARNING, self._unknown(producer_name))
        return self.store.pairs(producer_name)

    def _unknown(self, producer_name: str) -> str:
        names = ", ".join(repr(n) for n in self.producer_names) or "none"
        return (
            f"strategy asked for producer {producer_name!r}, which is not configured in "
            f"external_message_consumer.producers (configured: {names}); returning empty data"
        )

    def _explain(self, pair: str, timeframe: str, candle_type: str, producer_name: str) -> None:
        if producer_name not in self.producer_names:
            self._once(("unknown", producer_name), logging.WARNING, self._unknown(producer_name))
            return
        why = self.store.why_missing(producer_name, pair, timeframe, candle_type)
        if why is None:
            return
        if why.startswith("unknown producer") or why.startswith("no data yet"):
            level, why = logging.INFO, f"no data yet for {pair} {timeframe}/{candle_type} from producer " \
                f"{producer_name!r} (connecting or syncing)"
            kind = "nodata"
        elif why.startswith("timeframe mismatch"):
            level, kind = logging.WARNING, "timeframe"
        else:
            level, kind = logging.WARNING, "whitelist"
        self._once((kind, producer_name, pair, timeframe, str(candle_type)), level,
                   f"get_producer_df({pair!r}) returns an empty frame: {why}")

    def _once(self, key: tuple[str, ...], level: int, message: str) -> None:
        if key not in self._explained:
            self._explained.add(key)
            log.log(level, "%s (logged once)", message)
