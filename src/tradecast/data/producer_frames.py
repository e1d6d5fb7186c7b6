"""Analysed frames received from producers: pure bookkeeping, no I/O (the consumer client feeds it).

Frames are keyed by ``(producer, pair, timeframe, candle_type)`` and stored with the producer's
``last_analyzed`` and our own ``received_at``. :meth:`ProducerFrameStore.apply` improves on freqtrade's
consumer algorithm (fact sheet 5.3 and weaknesses 8.1, 8.6, 8.13, 8.22):

* **Replies are authoritative, by intent rather than by size.** A reply to our request (``is_reply=True``)
  or any frame of at least ``full_frame_rows`` (100) rows is stored even when short, so a pair whose producer
  holds fewer than 100 rows (new listing, 1d/1w/1M) no longer loops on "no history -> request -> short
  reply -> no history". A full frame (>= 100 rows) drops stored rows older than its first date (replace); a
  short reply keeps them (it fills a gap, it must not shrink the history to a handful of rows).
* **Merging is by date, never by position.** Rows of both frames are united by ``date``; on a date present in
  both, the side with the newer ``last_analyzed`` wins (ties: the incoming one). So a reply that was encoded
  before a broadcast we already applied cannot erase the newer rows (out-of-order protection), and a
  re-sent forming candle overwrites the stored one.
* **Short broadcasts** (usually the last row) append the next candle, overwrite the same candle, or, when the
  first incoming date is more than one candle after the stored last date, are kept out and answered with a
  :class:`GapRequest` for ``missing + 1`` rows (``limit=None``: everything, when that is at least
  ``max_rows``). Candle arithmetic uses :mod:`tradecast.core.timeframes`, so ``1M`` works (calendar months).
* **At most one request per (producer, pair, timeframe, candle type) and candle**: the date of the candle that
  triggered a request is remembered, and the same candle never triggers a second one. Call
  :meth:`forget_requests` after a reconnect (requests in flight are lost with the connection).
* Stored frames are trimmed to ``max_rows`` (newest kept) with a fresh 0..n-1 index. Appending a candle
  copies the kept rows and the new ones block by block into the stored frame's layout
  (:func:`~tradecast.core.frames.append_rows`); where that would not equal ``pd.concat`` exactly, column by
  column (:func:`~tradecast.data.frame_rows.stack_rows`), and pandas' concat stays the last fallback.
* Known limit: a short gap reply that no longer reaches back to the stored rows (the producer moved on
  between request and reply) leaves a hole in the dates; the dates stay right and the next broadcast
  appends normally, because gaps are only measured after the newest stored candle.

Whitelists: :meth:`set_whitelist` stores each producer's list. Frames of a pair that left the list are
dropped ``whitelist_grace_s`` seconds later (default one hour: volume-based pairlists flap, and re-syncing
1500 rows is the expensive part), checked whenever a whitelist or a frame arrives or :meth:`prune` is
called; :meth:`evict` drops at once. A pair that comes back before the grace ends keeps its frame.

Threading: one owner (the consumer task) calls the mutating methods. Stored frames are never changed in
place, each update swaps in a new entry, so another thread calling :meth:`get` sees the old or the new frame,
never a half-written one; :meth:`get` returns a copy the caller may modify.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

import numpy as np
import pandas as pd

from tradecast.core.clock import Clock, LiveClock
from tradecast.core.frames import append_rows, column_arrays, column_values
from tradecast.core.timeframes import ensure_utc
from tradecast.data.frame_rows import (
    NAT,
    UTC_NS,
    candles_between,
    is_default_index,
    is_next_candle,
    last_ns_of,
    objects_clean,
    stack_rows,
    union_rows,
)

__all__ = [
    "EPOCH",
    "AnalyzedFrame",
    "ApplyOutcome",
    "ApplyResult",
    "FrameKey",
    "GapRequest",
    "ProducerFrameStore",
    "StoredFrame",
]

#: ``last_analyzed`` reported for a frame we do not have (freqtrade's convention)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SIGNAL_COLUMNS = ("enter_long", "exit_long", "enter_short", "exit_short")
TAG_COLUMNS = ("enter_tag", "exit_tag")

FrameKey = tuple[str, str, str, str]  # (producer, pair, timeframe, candle_type)



class AnalyzedFrame(Protocol):
    """What the store needs from a received message (``tradecast.wire.AnalyzedDfMessage`` fits).

    A protocol rather than an import keeps ``data`` independent of its sibling ``wire``.
    """

    @property
    def pair(self) -> str: ...
    @property
    def timeframe(self) -> str: ...
    @property
    def candle_type(self) -> str: ...
    @property
    def frame(self) -> pd.DataFrame: ...
    @property
    def last_analyzed(self) -> datetime: ...


class ApplyOutcome(StrEnum):
    """What :meth:`ProducerFrameStore.apply` did with a message."""

    REPLACED = "replaced"  # full frame (or first reply) stored; older stored rows dropped
    MERGED = "merged"  # reply or full frame united with the stored rows by date
    APPENDED = "appended"  # the stored frame now ends with a newer candle
    UPDATED = "updated"  # same last candle (re-sent or older rows) overwritten or ignored by date
    GAP = "gap"  # candles are missing between the stored and the incoming rows; message kept out
    NO_HISTORY = "no_history"  # nothing stored yet for a short broadcast; message kept out
    EMPTY = "empty"  # the message carried no rows


@dataclass(frozen=True, slots=True)
class GapRequest:
    """Rows to ask the producer for: ``{"type":"analyzed_df","data":{"limit":limit,"pair":pair}}``.

    ``limit=None`` means the whole frame.
    """

    pair: str
    limit: int | None
    timeframe: str
    candle_type: str


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """The outcome, a request to send (or None), the stored row count and, for gaps, the missing count."""

    outcome: ApplyOutcome
    needs: GapRequest | None = None
    rows: int = 0
    missing: int = 0


@dataclass(frozen=True, slots=True)
class StoredFrame:
    """One stored frame: the rows, the producer's ``last_analyzed`` and when we received the last update."""

    frame: pd.DataFrame
    last_analyzed: datetime
    received_at: datetime
    #: the newest candle's date in ns since the epoch (kept to check an append without reading the frame)
    last_ns: int | None = None
    #: True once the object columns are known to hold no missing value but None (None: not checked yet)
    clean_objects: bool | None = None


class ProducerFrameStore:
    """Frames per (producer, pair, timeframe, candle type); see the module docstring for the rules."""

    def __init__(
        self,
        max_rows: int = 1500,
        *,
        full_frame_rows: int = 100,
        remove_entry_exit_signals: bool = False,
        whitelist_grace_s: float = 3600.0,
        clock: Clock | None = None,
    ) -> None:
        if max_rows < 1 or full_frame_rows < 1:
            raise ValueError("max_rows and full_frame_rows must be positive")
        self.max_rows = max_rows
        self.full_frame_rows = full_frame_rows
        self.remove_entry_exit_signals = remove_entry_exit_signals
        self.whitelist_grace_s = whitelist_grace_s
        self._clock: Clock = clock or LiveClock()
        self._frames: dict[FrameKey, StoredFrame] = {}
        self._requested: dict[FrameKey, pd.Timestamp] = {}
        self._whitelists: dict[str, tuple[str, ...]] = {}
        self._departed: dict[tuple[str, str], datetime] = {}

    # ------------------------------------------------------------------------------------------ updates

    def apply(self, producer: str, msg: AnalyzedFrame, *, is_reply: bool) -> ApplyResult:
        """Store the rows of ``msg`` from ``producer``; ``is_reply``: it answers a request of ours."""
        now = self._clock.now()
        key: FrameKey = (producer, msg.pair, msg.timeframe, str(msg.candle_type))
        stored = self._frames.get(key)
        if stored is not None and not is_reply:
            appended = self._append_next(key, stored, msg, now)
            if appended is not None:
                return appended
        incoming = self._normalise(msg.frame)
        self.prune(now)
        if incoming.empty:
            return ApplyResult(ApplyOutcome.EMPTY, rows=0 if stored is None else len(stored.frame))
        la = ensure_utc(msg.last_analyzed)
        full = len(incoming) >= self.full_frame_rows
        if stored is None:
            if not (is_reply or full):
                return self._request(key, incoming, None, ApplyOutcome.NO_HISTORY, missing=0)
            return self._store(key, incoming, la, now, ApplyOutcome.REPLACED)
        incoming_wins = la >= stored.last_analyzed
        old = stored.frame
        first_in = incoming["date"].iloc[0]
        if is_reply or full:
            if full:  # replace: stored rows older than the full frame are history the producer dropped
                old = old[old["date"] >= first_in]
            merged = union_rows(old, incoming, incoming_wins=incoming_wins, max_rows=self.max_rows)
            # "replaced" when nothing of the stored frame survives (every row now comes from this message)
            replaced = incoming_wins and len(merged) == len(incoming)
            outcome = ApplyOutcome.REPLACED if replaced else ApplyOutcome.MERGED
            return self._store(key, merged, max(la, stored.last_analyzed), now, outcome)
        missing = candles_between(old["date"].iloc[-1], first_in, msg.timeframe)
        if missing > 0:
            limit = missing + 1 if missing + 1 < self.max_rows else None
            return self._request(key, incoming, limit, ApplyOutcome.GAP, missing=missing)
        merged = union_rows(old, incoming, incoming_wins=incoming_wins, max_rows=self.max_rows)
        grew = merged["date"].iloc[-1] > old["date"].iloc[-1]
        outcome = ApplyOutcome.APPENDED if grew else ApplyOutcome.UPDATED
        return self._store(key, merged, max(la, stored.last_analyzed), now, outcome)

    def _append_next(self, key: FrameKey, stored: StoredFrame, msg: AnalyzedFrame, now: datetime
                     ) -> ApplyResult | None:
        """The consumer's hot path, a broadcast of the candle right after the stored ones; None: not that case.

        Gives the same frame as the general path of :meth:`apply` (rows appended, oldest trimmed) with a
        fraction of its checks: the incoming rows are few, sorted, unique, UTC, newer than every stored row
        and adjacent to them, and ``last_analyzed`` does not go back. Anything else (an overwrite, a gap, a
        reply, signals to remove, unusual dtypes) returns None and takes the general path. Dates are compared
        as int64 nanoseconds: a Timestamp per check costs more than the rest of the checks together.
        """
        frame = msg.frame
        rows = len(frame)
        if not 0 < rows < self.full_frame_rows or self.remove_entry_exit_signals or stored.last_ns is None:
            return None
        columns = frame.columns
        if "date" not in columns or not columns.is_unique:
            return None
        arrays = column_arrays(frame)
        dates = arrays[columns.get_loc("date")]
        if not isinstance(dates, pd.arrays.DatetimeArray) or dates.dtype != UTC_NS:
            return None
        stamps = dates.asi8
        if (stamps == NAT).any() or (rows > 1 and not (np.diff(stamps) > 0).all()):
            return None
        first = int(stamps[0])
        if not is_next_candle(stored.last_ns, first, msg.timeframe):
            return None  # older, the same candle, or a gap: the general path decides
        la = ensure_utc(msg.last_analyzed)
        if la < stored.last_analyzed:
            return None
        if self._departed:
            self.prune(now)
            if self._frames.get(key) is not stored:
                return None
        old = stored.frame
        keep = self.max_rows - rows
        if keep <= 0:
            return None  # max_rows smaller than one broadcast: rare, the general path trims it
        start = max(len(old) - keep, 0)
        last = int(stamps[-1])
        # block by block when concat would keep every value as it is (object columns' missing values are
        # all None: checked once per stored frame, then only on the incoming rows), else column by column
        clean = stored.clean_objects if stored.clean_objects is not None else objects_clean(column_arrays(old))
        merged = append_rows(old, columns, arrays, start) if clean and objects_clean(arrays) else None
        if merged is None:
            merged, clean = stack_rows(old, frame, start=start), None
        return self._store(key, merged, la, now, ApplyOutcome.APPENDED, last_ns=last, clean=clean)

    def _normalise(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A private copy sorted by a UTC ``date`` with unique dates (last wins), signals removed if asked."""
        if len(frame) == 0:
            return frame.iloc[0:0]
        if "date" not in frame.columns:
            raise ValueError("an analysed frame needs a 'date' column")
        frame = frame.copy()
        if not isinstance(frame["date"].dtype, pd.DatetimeTZDtype):
            frame["date"] = pd.to_datetime(frame["date"], utc=True)
        elif str(frame["date"].dt.tz) != "UTC":
            frame["date"] = frame["date"].dt.tz_convert("UTC")
        if frame["date"].isna().any():
            frame = frame[frame["date"].notna()]
        if not frame["date"].is_monotonic_increasing or frame["date"].duplicated().any():
            frame = frame.sort_values("date", kind="stable").drop_duplicates("date", keep="last")
        if self.remove_entry_exit_signals:
            for column in SIGNAL_COLUMNS:
                frame[column] = 0.0
            for column in TAG_COLUMNS:
                frame[column] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        frame.index = pd.RangeIndex(len(frame))  # our own copy: relabel in place instead of copying again
        return frame

    def _store(
        self, key: FrameKey, frame: pd.DataFrame, la: datetime, now: datetime, outcome: ApplyOutcome,
        *, last_ns: int | None = None, clean: bool | None = None,
    ) -> ApplyResult:
        whitelist = self._whitelists.get(key[0])
        if whitelist is not None and key[1] not in whitelist:  # e.g. sent after it left the list
            self._departed.setdefault((key[0], key[1]), now)
        if len(frame) > self.max_rows:
            frame = frame.iloc[-self.max_rows :]
            frame.index = pd.RangeIndex(len(frame))  # iloc made a new object: relabelling it is private
        elif not is_default_index(frame.index, len(frame)):
            frame = frame.reset_index(drop=True)  # never relabel in place: ``frame`` may be the stored one
        if last_ns is None and len(frame):
            last_ns = last_ns_of(column_values(frame, "date"))
        self._frames[key] = StoredFrame(frame, la, now, last_ns, clean)
        return ApplyResult(outcome, rows=len(frame))

    def _request(
        self, key: FrameKey, incoming: pd.DataFrame, limit: int | None, outcome: ApplyOutcome, *, missing: int
    ) -> ApplyResult:
        candle = incoming["date"].iloc[-1]
        stored = self._frames.get(key)
        rows = 0 if stored is None else len(stored.frame)
        if self._requested.get(key) == candle:
            return ApplyResult(outcome, None, rows, missing)  # already asked for this candle: never loop
        self._requested[key] = candle
        return ApplyResult(outcome, GapRequest(key[1], limit, key[2], key[3]), rows, missing)

    def forget_requests(self, producer: str) -> None:
        """Allow new requests for ``producer`` (call after a reconnect: requests in flight were lost)."""
        for key in [k for k in self._requested if k[0] == producer]:
            del self._requested[key]

    # ------------------------------------------------------------------------------------------ whitelist

    def set_whitelist(self, producer: str, pairs: Iterable[str]) -> None:
        """Replace ``producer``'s whitelist; pairs that left it start their grace period."""
        now = self._clock.now()
        current = tuple(dict.fromkeys(pairs))
        self._whitelists[producer] = current
        members = set(current)
        for producer_name, pair in list(self._departed):
            if producer_name == producer and pair in members:
                del self._departed[(producer_name, pair)]
        for key in self._frames:
            if key[0] == producer and key[1] not in members:
                self._departed.setdefault((producer, key[1]), now)
        self.prune(now)

    def pairs(self, producer: str) -> list[str]:
        """The last whitelist received from ``producer`` (a copy; empty when none arrived)."""
        return list(self._whitelists.get(producer, ()))

    def prune(self, now: datetime | None = None) -> list[tuple[str, str]]:
        """Drop frames of pairs that left their producer's whitelist more than the grace period ago."""
        if not self._departed:
            return []
        now = now or self._clock.now()
        grace = self.whitelist_grace_s
        expired = [k for k, t in self._departed.items() if (now - t).total_seconds() >= grace]
        for producer, pair in expired:
            self.evict(producer, pair)
        return expired

    def evict(self, producer: str, pair: str | None = None) -> int:
        """Drop ``pair``'s frames of ``producer`` now; ``pair=None``: all its frames and its whitelist."""
        keys = [k for k in self._frames if k[0] == producer and (pair is None or k[1] == pair)]
        for key in keys:
            del self._frames[key]
        for key in [k for k in self._requested if k[0] == producer and (pair is None or k[1] == pair)]:
            del self._requested[key]
        for entry in [e for e in self._departed if e[0] == producer and (pair is None or e[1] == pair)]:
            del self._departed[entry]
        if pair is None:
            self._whitelists.pop(producer, None)
        return len(keys)

    # ------------------------------------------------------------------------------------------ reads

    def get(
        self, producer: str, pair: str, timeframe: str, candle_type: str = "spot"
    ) -> tuple[pd.DataFrame, datetime]:
        """``(copy of the frame, last_analyzed)``, or ``(empty DataFrame, 1970-01-01 UTC)`` when missing."""
        stored = self._frames.get((producer, pair, timeframe, str(candle_type)))
        if stored is None:
            return pd.DataFrame(), EPOCH
        return stored.frame.copy(), stored.last_analyzed

    def get_producer_df(
        self, pair: str, timeframe: str, candle_type: str, producer_name: str
    ) -> tuple[pd.DataFrame, datetime]:
        """:meth:`get` in the argument order of ``data.provider.ProducerSource`` (the DataProvider's view)."""
        return self.get(producer_name, pair, timeframe, candle_type)

    def get_producer_pairs(self, producer_name: str) -> list[str]:
        """:meth:`pairs` under the name ``data.provider.ProducerSource`` expects."""
        return self.pairs(producer_name)

    def entry(
        self, producer: str, pair: str, timeframe: str, candle_type: str = "spot"
    ) -> StoredFrame | None:
        """The stored entry itself (shared, do not modify the frame), e.g. to check ``received_at``."""
        return self._frames.get((producer, pair, timeframe, str(candle_type)))

    def keys(self, producer: str | None = None) -> list[FrameKey]:
        """Stored keys, optionally of one producer."""
        return [k for k in self._frames if producer is None or k[0] == producer]

    def why_missing(self, producer: str, pair: str, timeframe: str, candle_type: str = "spot") -> str | None:
        """Why :meth:`get` returns nothing for this key (None when it returns data)."""
        candle_type = str(candle_type)
        if (producer, pair, timeframe, candle_type) in self._frames:
            return None
        known = producer in self._whitelists or any(k[0] == producer for k in self._frames)
        if not known:
            return f"unknown producer {producer!r}: no whitelist or frame received from it"
        whitelist = self._whitelists.get(producer)
        if whitelist is not None and pair not in whitelist:
            return f"pair {pair} is not in the whitelist of producer {producer!r}"
        others = [f"{k[2]}/{k[3]}" for k in self._frames if k[0] == producer and k[1] == pair]
        if others:
            return (
                f"timeframe mismatch: producer {producer!r} sends {pair} as {', '.join(others)}, "
                f"asked for {timeframe}/{candle_type}"
            )
        return f"no data yet for {pair} {timeframe}/{candle_type} from producer {producer!r}"
