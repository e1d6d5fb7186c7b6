"""Row arithmetic of stored producer frames: pure functions on frames and dates, no state (the store uses them).

* :func:`union_rows` unites two date-sorted frames by date (the general path of an update);
* :func:`stack_rows` appends rows column by column, equal to ``pd.concat`` where it is taken;
* :func:`objects_clean` / :func:`missing_is_none`: would ``concat`` keep an object column's values as they are?
* :func:`is_next_candle` / :func:`candles_between`: candle arithmetic on dates (calendar months included).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from tradecast.core.frames import column_arrays, frame_from_arrays
from tradecast.core.timeframes import timeframe_to_seconds

__all__ = [
    "NAT",
    "UTC_NS",
    "candles_between",
    "is_default_index",
    "is_next_candle",
    "last_ns_of",
    "missing_is_none",
    "objects_clean",
    "stack_rows",
    "union_rows",
]

#: the dtype of a stored frame's dates
UTC_NS = pd.DatetimeTZDtype("ns", "UTC")
#: NaT as int64
NAT = np.iinfo(np.int64).min
#: object arrays this short are checked value by value
FEW_VALUES = 16


def union_rows(old: pd.DataFrame, new: pd.DataFrame, *, incoming_wins: bool, max_rows: int) -> pd.DataFrame:
    """Rows of both frames united by date; on a shared date the winner's row is kept.

    Both frames are sorted with unique dates. The common cases (append a candle, overwrite the last ones)
    slice the stored frame and copy it once in ``concat``; anything else goes through ``isin`` and a sort.
    """
    first_new, last_new = new["date"].iloc[0], new["date"].iloc[-1]
    before = int(old["date"].searchsorted(first_new, side="left"))  # old rows older than ``new``
    overlap = old["date"].iloc[before:]
    if overlap.empty or (incoming_wins and overlap.iloc[-1] <= last_new and overlap.isin(new["date"]).all()):
        keep = max(max_rows - len(new), 0)
        head = old.iloc[max(before - keep, 0) : before] if keep else old.iloc[0:0]
        return new if head.empty else stack_rows(head, new)
    winner, loser = (new, old) if incoming_wins else (old, new)
    loser = loser[~loser["date"].isin(winner["date"])]
    if loser.empty:
        return winner
    merged = pd.concat([loser, winner], ignore_index=True)
    if not merged["date"].is_monotonic_increasing:
        merged = merged.sort_values("date", kind="stable")
    return merged


def stack_rows(head: pd.DataFrame, tail: pd.DataFrame, start: int = 0) -> pd.DataFrame:
    """``pd.concat([head.iloc[start:], tail], ignore_index=True)``, column by column when that gives the same.

    The append of one candle to 1500 stored rows is the consumer's hot path, and pandas' concat costs
    ~1.3 ms there: an object block whose values are all missing (tag columns full of None) sends it down a
    per-value check. Same columns in the same order, each pair of dtypes equal or both int/float (numpy
    promotes those as pandas does), and no missing value other than None in object columns: then the
    columns are concatenated with numpy / the array's own ``_concat_same_type`` (~0.2 ms). Otherwise, or
    when in doubt, pandas' concat. ``start`` slices the columns' arrays rather than the frame, so the
    stored frame's cached columns are reused instead of building a Series per column of a sliced frame.
    """
    columns = head.columns
    if not (columns.is_unique and columns.equals(tail.columns)):
        return pd.concat([head.iloc[start:], tail], ignore_index=True)
    arrays: dict = {}
    for name, a_array, b_array in zip(columns, column_arrays(head), column_arrays(tail), strict=True):
        a_type, b_type = a_array.dtype, b_array.dtype
        if isinstance(a_type, np.dtype) and isinstance(b_type, np.dtype):
            if a_type != b_type and not (a_type.kind in "if" and b_type.kind in "if"):
                return pd.concat([head.iloc[start:], tail], ignore_index=True)
            a_values, b_values = np.asarray(a_array)[start:], np.asarray(b_array)
            if a_type.kind == "O" and not (missing_is_none(a_values) and missing_is_none(b_values)):
                return pd.concat([head.iloc[start:], tail], ignore_index=True)
            arrays[name] = np.concatenate([a_values, b_values])
        elif a_type == b_type and not isinstance(a_type, pd.SparseDtype):
            arrays[name] = type(a_array)._concat_same_type([a_array[start:], b_array])
        else:
            return pd.concat([head.iloc[start:], tail], ignore_index=True)
    return frame_from_arrays(columns, list(arrays.values()))  # consolidated blocks, like concat


def is_default_index(index: pd.Index, rows: int) -> bool:
    """``index.equals(pd.RangeIndex(rows))``, without building that RangeIndex for the usual RangeIndex."""
    if isinstance(index, pd.RangeIndex):
        return index.start == 0 and index.step == 1 and len(index) == rows
    return index.equals(pd.RangeIndex(rows))


def objects_clean(arrays: Iterable[Any]) -> bool:
    """True when every missing value in the object arrays among ``arrays`` is None (:func:`missing_is_none`)."""
    for values in arrays:
        if values.dtype != object:
            continue
        if len(values) <= FEW_VALUES and all(value is None or type(value) is str for value in values):
            continue  # a broadcast's tags: nothing missing but None, without pd.isna's fixed cost
        if not missing_is_none(np.asarray(values)):
            return False
    return True


def last_ns_of(dates: Any) -> int | None:
    """The last of stored (UTC, sorted) dates in ns since the epoch; None when it is not a datetime column."""
    stamps = getattr(dates, "asi8", None)
    if stamps is None or not len(stamps) or stamps[-1] == NAT:
        return None
    return int(stamps[-1])


def is_next_candle(last_ns: int, first_ns: int, timeframe: str) -> bool:
    """Is ``first_ns`` after ``last_ns`` with no candle open between them (the next candle)?"""
    if first_ns <= last_ns:
        return False
    if timeframe.endswith("M"):  # calendar months: the general rule
        return candles_between(pd.Timestamp(last_ns, tz="UTC"), pd.Timestamp(first_ns, tz="UTC"), timeframe) == 0
    return first_ns - last_ns < 2 * timeframe_to_seconds(timeframe) * 1_000_000_000


def missing_is_none(values: np.ndarray) -> bool:
    """True when every missing value of an object array is None (pandas' concat may rewrite other ones).

    None is always missing, so that holds exactly when there are as many missing values as Nones.
    """
    return int(pd.isna(values).sum()) == values.tolist().count(None)


def candles_between(last: pd.Timestamp, first: pd.Timestamp, timeframe: str) -> int:
    """How many candle opens lie strictly between ``last`` and ``first`` (0 when adjacent or overlapping)."""
    if first <= last:
        return 0
    if timeframe.endswith("M"):  # calendar months: count month indexes, not 30-day blocks
        months = timeframe_to_seconds(timeframe) // (30 * 86400)
        steps = ((first.year * 12 + first.month) - (last.year * 12 + last.month)) // months
    else:
        steps = int((first - last).total_seconds() // timeframe_to_seconds(timeframe))
    return max(steps - 1, 0)
