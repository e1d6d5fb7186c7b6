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

Two implementations of these rules: :func:`_merge_general` (pandas' join, any input) and :func:`_merge_fast`
for the normal case (sorted unique informative dates, no name collisions; ~0.8 ms instead of ~3.5 ms for
1000 x 6 base rows and 1500 x 15 informative rows, the consumer idiom). The fast path computes the matched
informative row of every base row in numpy and takes those rows once; the property tests in
``tests/unit/data/test_informative_fast_path.py`` compare both on random frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradecast.core.frames import column_arrays, frame_from_arrays_or_none, side_by_side
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
    if minutes > minutes_inf:
        raise ValueError(
            f"merge_informative_pair: cannot merge a faster timeframe ({timeframe_inf}) into a slower one "
            f"({timeframe}); it would create new rows. Resample the informative data instead."
        )
    if suffix and append_timeframe:
        raise ValueError("merge_informative_pair: use either append_timeframe=True or a suffix, not both")
    fast = _merge_fast(dataframe, informative, timeframe_inf, minutes, minutes_inf, ffill, append_timeframe,
                       date_column, suffix)
    if fast is not None:
        return fast

    return _merge_general(dataframe, informative, timeframe_inf, minutes, minutes_inf, ffill, append_timeframe,
                          date_column, suffix)


def _tag(timeframe_inf: str, append_timeframe: bool, suffix: str | None) -> str | None:
    """What informative column names get appended (``_<tag>``); None: no renaming."""
    if append_timeframe:
        return timeframe_inf
    return suffix or None


def _merge_general(
    dataframe: pd.DataFrame,
    informative: pd.DataFrame,
    timeframe_inf: str,
    minutes: int,
    minutes_inf: int,
    ffill: bool,
    append_timeframe: bool,
    date_column: str,
    suffix: str | None,
) -> pd.DataFrame:
    """The reference implementation: any frames (unsorted or repeated keys, name collisions, empty frames)."""
    informative = informative.copy()
    if informative.empty or minutes == minutes_inf:
        informative["date_merge"] = informative[date_column]
    else:
        informative["date_merge"] = _close_aligned_dates(informative[date_column], timeframe_inf, minutes)

    tag = _tag(timeframe_inf, append_timeframe, suffix)
    if tag is not None:
        informative.columns = [f"{col}_{tag}" for col in informative.columns]
    key = "date_merge" if tag is None else f"date_merge_{tag}"

    _check_tz(dataframe["date"], informative[key])
    left_rows, right_rows = _match_rows(dataframe["date"], informative[key], ffill)

    left = dataframe.iloc[left_rows].reset_index(drop=True)
    right = informative.reset_index(drop=True).reindex(right_rows).reset_index(drop=True)
    merged = pd.merge(left, right, left_index=True, right_index=True, how="left", suffixes=("_x", "_y"))
    return merged.drop(columns=key).reset_index(drop=True)


def _merge_fast(
    dataframe: pd.DataFrame,
    informative: pd.DataFrame,
    timeframe_inf: str,
    minutes: int,
    minutes_inf: int,
    ffill: bool,
    append_timeframe: bool,
    date_column: str,
    suffix: str | None,
) -> pd.DataFrame | None:
    """:func:`_merge_general`'s result in numpy for the normal case; None when the case is not normal.

    Normal: both frames have rows and unique column names, both date columns are datetimes of the same
    time-zone awareness, the renamed informative columns (and the key) collide with no base column, and the
    informative merge keys are strictly increasing. Then each base row matches at most one informative row,
    found by ``searchsorted``; the rows are taken in one ``reindex`` (pandas' own missing-row dtypes: ints
    become float, bools object, dates NaT) and put beside the base frame with one ``concat``. No copy of the
    informative frame, no merge key column, no hash join.
    """
    if dataframe.empty or informative.empty:
        return None
    if not (dataframe.columns.is_unique and informative.columns.is_unique):
        return None
    base_dates, inf_dates = dataframe["date"], informative[date_column]
    is_datetime = pd.api.types.is_datetime64_any_dtype
    if not (is_datetime(base_dates) and is_datetime(inf_dates)):
        return None
    if isinstance(base_dates.dtype, pd.DatetimeTZDtype) != isinstance(inf_dates.dtype, pd.DatetimeTZDtype):
        return None  # the general path raises the error
    if "date_merge" in informative.columns:  # the general path overwrites that column with the key
        return None
    tag = _tag(timeframe_inf, append_timeframe, suffix)
    names = list(informative.columns) if tag is None else [f"{col}_{tag}" for col in informative.columns]
    key = "date_merge" if tag is None else f"date_merge_{tag}"
    added = {*names, key}
    if len(added) != len(names) + 1 or not added.isdisjoint(dataframe.columns):
        return None  # repeated or colliding names: pandas' _x/_y suffixes
    keys = inf_dates if minutes == minutes_inf else _close_aligned_dates(inf_dates, timeframe_inf, minutes)
    left_keys, right_keys = _int_views(base_dates, keys)
    if not (right_keys[1:] > right_keys[:-1]).all():
        return None
    found = np.minimum(np.searchsorted(right_keys, left_keys), len(right_keys) - 1)
    rows = np.where(right_keys[found] == left_keys, found, -1)
    if ffill:
        rows = _ffill_rows(rows, right_keys)

    first = int(rows[0])
    consecutive = first >= 0 and (np.diff(rows) == 1).all()
    if consecutive:  # the usual case: the base columns beside a slice of the informative ones, built at once
        built = side_by_side(dataframe, informative, names, first)  # block by block
        if built is not None:
            return built
        stop = first + len(rows)
        arrays = [*column_arrays(dataframe), *(values[first:stop] for values in column_arrays(informative))]
        built = frame_from_arrays_or_none([*dataframe.columns, *names], arrays)
        if built is not None:
            return built
    left = dataframe.copy(deep=False)  # a new header only: ``concat`` copies the data
    left.index = pd.RangeIndex(len(left))
    source = informative.copy(deep=False)
    source.index = pd.RangeIndex(len(source))
    if consecutive:
        right = source.iloc[first : first + len(rows)]  # a slice, no take
    else:
        right = source.take(rows) if rows.min() >= 0 else source.reindex(rows)
    right.index = left.index
    right.columns = names
    return pd.concat([left, right], axis=1)


def _int_views(base: pd.Series, keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Both date columns as int64 in one unit (UTC), comparing as :func:`_as_int_keys` does.

    Same unit (the normal case): the stored integers themselves, no conversion. Otherwise both go through
    :func:`_as_int_keys` (nanoseconds).
    """
    if _unit(base.dtype) == _unit(keys.dtype):
        return _raw_ints(base), _raw_ints(keys)
    return _as_int_keys(base).to_numpy(), _as_int_keys(keys).to_numpy()


def _unit(dtype: object) -> str:
    if isinstance(dtype, pd.DatetimeTZDtype):
        return dtype.unit
    return np.datetime_data(dtype)[0]  # type: ignore[arg-type]


def _raw_ints(dates: pd.Series) -> np.ndarray:
    """The int64 behind a datetime column (tz-aware ones are stored as UTC)."""
    values = dates.array
    unit = _unit(dates.dtype)
    return np.asarray(values, dtype=f"datetime64[{unit}]").view("int64")


def _ffill_rows(rows: np.ndarray, right_keys: np.ndarray) -> np.ndarray:
    """Forward-fill matched informative rows (-1: none) by base row, then fill leading rows (section 6.5).

    ``right_keys`` must be strictly increasing.
    """
    hit = np.where(rows >= 0, np.arange(len(rows)), -1)
    np.maximum.accumulate(hit, out=hit)  # position of the last matched base row at or before each row
    filled = np.where(hit >= 0, rows[hit], -1)
    matched = np.flatnonzero(filled >= 0)
    if len(matched) and matched[0] > 0:
        first = matched[0]
        earlier = int(np.searchsorted(right_keys, right_keys[filled[first]], side="left"))
        if earlier:  # informative rows with keys before the first match: the latest of them
            filled[:first] = earlier - 1
    return filled


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
