"""``merge_informative_pair``: attach another pair's or timeframe's candles to a strategy's frame.

Semantics follow freqtrade exactly (see the fact sheet, section 6):

* The informative frame gets a merge key. Same timeframe: its own date. Slower informative timeframe: its
  date + the informative candle length - the base candle length (for months: the next month start - the base
  candle length). So an informative candle becomes visible on the last base candle that closes when it
  closes, never earlier (no look-ahead). A faster informative timeframe is refused.
* Columns are renamed ``<col>_<timeframe_inf>`` (``append_timeframe``) or ``<col>_<suffix>``; both at once is
  refused. With neither, overlapping names get pandas' ``_x``/``_y`` suffixes (which breaks ``date``).
* ``ffill=True``: a left merge on exact ``date == key`` where a base row without a match takes the informative
  row matched by the previous base row (row matching: NaNs inside a matched row stay NaN; informative rows
  whose key equals no base date are skipped). Then, if the first base rows are unmatched but some later row
  matched, those leading rows take the last informative row whose key is earlier than the first matched key
  (freqtrade 2026.9). ``ffill=False``: a plain left merge, unmatched rows are NaN.
* The result has a fresh ``0..n-1`` index and no key column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradecast.core.timeframes import timeframe_to_minutes

__all__ = ["merge_informative_pair"]


def merge_informative_pair(
    dataframe: pd.DataFrame,
    informative: pd.DataFrame,
    timeframe: str,
    timeframe_inf: str,
    ffill: bool = True,
    append_timeframe: bool = True,
    date_column: str = "date",
    suffix: str | None = None,
) -> pd.DataFrame:
    """Merge ``informative`` (candles of ``timeframe_inf``) into ``dataframe`` (candles of ``timeframe``).

    :param dataframe: the strategy's frame; must have a ``date`` column.
    :param informative: the frame to attach; its dates are in ``date_column``.
    :param timeframe: the base frame's timeframe, e.g. ``"5m"``.
    :param timeframe_inf: the informative frame's timeframe; as slow as ``timeframe`` or slower.
    :param ffill: repeat the last matched informative row on base rows without an exact match.
    :param append_timeframe: rename informative columns to ``<col>_<timeframe_inf>``.
    :param date_column: name of the informative frame's date column.
    :param suffix: rename informative columns to ``<col>_<suffix>`` (needs ``append_timeframe=False``).
    :returns: a new frame with one row per base row (more only if informative keys repeat).
    :raises ValueError: faster informative timeframe, ``suffix`` with ``append_timeframe``, a missing date
        column, or date columns that differ in time-zone awareness.
    """
    if "date" not in dataframe.columns:
        raise ValueError("merge_informative_pair: the base dataframe has no 'date' column")
    if date_column not in informative.columns:
        raise ValueError(f"merge_informative_pair: the informative dataframe has no {date_column!r} column")
    minutes = timeframe_to_minutes(timeframe)
    minutes_inf = timeframe_to_minutes(timeframe_inf)
    informative = informative.copy()

    if minutes > minutes_inf:
        raise ValueError(
            f"merge_informative_pair: cannot merge a faster timeframe ({timeframe_inf}) into a slower one "
            f"({timeframe}); it would create new rows. Resample the informative data instead."
        )
    if informative.empty or minutes == minutes_inf:
        informative["date_merge"] = informative[date_column]
    else:
        informative["date_merge"] = _close_aligned_dates(informative[date_column], timeframe_inf, minutes)

    if suffix and append_timeframe:
        raise ValueError("merge_informative_pair: use either append_timeframe=True or a suffix, not both")
    if append_timeframe:
        informative.columns = [f"{col}_{timeframe_inf}" for col in informative.columns]
        key = f"date_merge_{timeframe_inf}"
    elif suffix:
        informative.columns = [f"{col}_{suffix}" for col in informative.columns]
        key = f"date_merge_{suffix}"
    else:
        key = "date_merge"

    _check_tz(dataframe["date"], informative[key])
    left_rows, right_rows = _match_rows(dataframe["date"], informative[key], ffill)

    left = dataframe.iloc[left_rows].reset_index(drop=True)
    right = informative.reset_index(drop=True).reindex(right_rows).reset_index(drop=True)
    merged = pd.merge(left, right, left_index=True, right_index=True, how="left", suffixes=("_x", "_y"))
    return merged.drop(columns=key).reset_index(drop=True)


def _close_aligned_dates(dates: pd.Series, timeframe_inf: str, minutes: int) -> pd.Series:
    """Date of the last base candle inside each informative candle (the one closing with it)."""
    if not pd.api.types.is_datetime64_any_dtype(dates):
        raise ValueError(f"merge_informative_pair: informative dates must be datetimes, got {dates.dtype}")
    base_length = pd.Timedelta(minutes=minutes)
    if timeframe_inf.endswith("M"):
        months = int(timeframe_inf[:-1])
        return dates + pd.offsets.MonthBegin(months) - base_length
    return dates + pd.Timedelta(minutes=timeframe_to_minutes(timeframe_inf)) - base_length


def _check_tz(base: pd.Series, keys: pd.Series) -> None:
    if not (pd.api.types.is_datetime64_any_dtype(base) and pd.api.types.is_datetime64_any_dtype(keys)):
        return
    base_aware = isinstance(base.dtype, pd.DatetimeTZDtype)
    keys_aware = isinstance(keys.dtype, pd.DatetimeTZDtype)
    if base_aware != keys_aware:
        raise ValueError(
            "merge_informative_pair: cannot merge a time-zone aware date column with a naive one "
            f"(base {base.dtype}, informative {keys.dtype}); convert both to UTC"
        )


def _as_int_keys(values: pd.Series) -> pd.Series:
    """Dates as int64 nanoseconds since the epoch (UTC), so resolutions and zones compare equal."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.Series(values.astype("datetime64[ns]").to_numpy().view("int64"))
    return values.reset_index(drop=True)


def _match_rows(base_dates: pd.Series, keys: pd.Series, ffill: bool) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (base, informative) of a left merge on ``date == key``; -1 means no informative row."""
    left_keys = _as_int_keys(base_dates)
    right_keys = _as_int_keys(keys)
    left = pd.DataFrame({"k": left_keys, "l": np.arange(len(left_keys))})
    right = pd.DataFrame({"k": right_keys, "r": np.arange(len(right_keys))})
    if len(right) and len(left) and left["k"].dtype != right["k"].dtype:
        right["k"] = right["k"].astype(left["k"].dtype)
    pairs = left.merge(right, on="k", how="left", sort=False)
    matched = pairs["r"]
    if ffill:
        filled = matched.ffill()
        first_valid = filled.first_valid_index()
        if first_valid is not None and first_valid > 0:
            first_key = right_keys.iloc[int(filled.iloc[first_valid])]
            earlier = right_keys[right_keys < first_key]
            if len(earlier):
                latest = earlier[earlier == earlier.max()].index[-1]
                filled.iloc[:first_valid] = latest
        matched = filled
    right_rows = matched.fillna(-1).astype("int64").to_numpy()
    return pairs["l"].to_numpy(), right_rows
