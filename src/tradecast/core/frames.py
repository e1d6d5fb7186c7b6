"""Build and read pandas frames without pandas' per-column overhead (pure functions, no I/O).

A consumer handles every pair of every candle through a handful of frame operations (decode a one-row
message, append it to the stored frame, cut the candles out, merge the producer's columns), and at a few
thousand rows pandas' public constructors cost more than the data: ``pd.DataFrame(dict)`` checks and
consolidates each column (~3.5 us each, ~100 us fixed), ``frame[name]`` builds a Series. The helpers here give
the same frames through pandas' block constructor (a few microseconds), which pyarrow and dask use for the
same reason. It lives in ``pandas.core.internals`` (not public API, stable across the 2.x releases we
support); every helper checks what it is given and falls back to the public route when the input or the
installed pandas is not what it knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

try:  # pandas' block constructor, as pyarrow's to_pandas uses it
    from pandas.core.internals import BlockManager
    from pandas.core.internals.api import make_block

    _from_mgr: Any = pd.DataFrame._from_mgr  # type: ignore[attr-defined]
except (ImportError, AttributeError):  # pragma: no cover - a pandas without them: the public route
    BlockManager = make_block = _from_mgr = None
try:  # the block constructor without make_block's argument checks (a quarter of its cost; ours are checked)
    from pandas._libs.internals import BlockPlacement
    from pandas.core.internals.blocks import new_block_2d
except ImportError:  # pragma: no cover - make_block does the same, slower
    BlockPlacement = new_block_2d = None

__all__ = [
    "append_rows",
    "column_arrays",
    "column_values",
    "consolidated_copy",
    "frame_from_arrays",
    "frame_from_arrays_or_none",
    "side_by_side",
    "with_columns",
]

#: numpy dtype kinds a block holds as a plain 2-D ndarray (bool, ints, floats, complex, objects)
_PLAIN_KINDS = frozenset("biufcO")
#: datetime64 units pandas keeps as they are (others, such as days, it converts)
_DATE_UNITS = frozenset({"s", "ms", "us", "ns"})
#: column indexes already built, by their names (a consumer builds frames of the same few column lists)
_INDEX_CACHE: dict[tuple[str, ...], pd.Index] = {}
_INDEX_CACHE_SIZE = 256


def column_arrays(frame: pd.DataFrame) -> list[Any]:
    """Each column's values (ndarray or extension array) in order, without building a Series per column.

    pandas' ``_iter_column_arrays`` is ten times cheaper than ``items()`` on a frame whose columns were never
    read; the public route stays as the fallback.
    """
    iterate = getattr(frame, "_iter_column_arrays", None)
    if iterate is not None:
        return list(iterate())
    return [column.array for _, column in frame.items()]


def column_values(frame: pd.DataFrame, name: Any) -> Any:
    """One column's values (ndarray or extension array), shared with the frame: read it, never write it.

    ``KeyError`` for a missing column, as ``frame[name]``. With repeated names, the first column of that name.
    """
    location = frame.columns.get_loc(name)
    if not isinstance(location, int):  # repeated names: a slice or a mask
        return frame[name].iloc[:, 0].array
    getter = getattr(frame, "_get_column_array", None)
    if getter is not None:
        return getter(location)
    return frame.iloc[:, location].array


def frame_from_arrays(columns: Sequence[Any], arrays: Sequence[Any], index: pd.Index | None = None
                      ) -> pd.DataFrame:
    """``pd.DataFrame(dict(zip(columns, arrays)), index=index)``, without its per-column cost.

    The frame owns its data (the arrays are copied, as the dict constructor does) and holds one block per
    dtype, as after a consolidating copy. Arrays are taken as they are: an object array stays object (the
    dict constructor would turn an object array of ``datetime`` objects into dates; this one is for arrays
    that came out of frames or a decoder). Names must be unique and every array 1-D and as long as
    ``index`` (default: a ``RangeIndex`` as long as the first array); anything else, and any dtype other than
    numpy's own or a datetime array, goes the public way.
    """
    fast = frame_from_arrays_or_none(columns, arrays, index)
    if fast is not None:
        return fast
    return pd.DataFrame(dict(zip(columns, arrays, strict=True)), index=index)


def consolidated_copy(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame.copy()``: a deep copy with one block per dtype and no cached columns, for a frame of many blocks.

    pandas copies each block, then merges those of one dtype (two copies of most data); this copies each
    column once into its dtype's block. Frames it does not know (extension dtypes, repeated names) take
    ``frame.copy()``. Attributes and flags follow as with ``copy``; the axes are new Index objects.
    """
    built = frame_from_arrays_or_none(frame.columns.view(), column_arrays(frame), frame.index.view())
    if built is None:
        return frame.copy()
    return built.__finalize__(frame, method="copy")


def frame_from_arrays_or_none(columns: Sequence[Any], arrays: Sequence[Any], index: pd.Index | None = None
                              ) -> pd.DataFrame | None:
    """:func:`frame_from_arrays` where it needs no public fallback, else None (the caller takes its own route).

    For callers whose slow path is not the dict constructor (a ``concat`` keeps an object column of dates as
    objects; the dict constructor would not).
    """
    if _from_mgr is None:
        return None
    if index is None:
        index = pd.RangeIndex(len(arrays[0]) if len(arrays) else 0)
    return _from_blocks(columns, arrays, index)


def with_columns(frame: pd.DataFrame, names: Sequence[str], arrays: Sequence[np.ndarray]) -> pd.DataFrame:
    """A new frame: ``frame``'s columns (their data shared, not copied) then ``names`` (the arrays, copied).

    Equal to ``frame.insert`` of each array at the end, on a new frame object, at a tenth of the cost
    (~15 us where each ``insert`` costs ~50 us). Names must be new and unique and the arrays plain 1-D
    ndarrays as long as the frame. The public route (a shallow copy plus ``insert``) is taken for anything
    else, and with copy-on-write on: sharing blocks outside pandas' reference tracking would defeat it.
    """
    fast = None
    if _from_mgr is not None and not pd.options.mode.copy_on_write:
        fast = _append_blocks(frame, names, arrays)
    if fast is not None:
        return fast
    grown = frame.copy(deep=False)
    for name, array in zip(names, arrays, strict=True):
        grown.insert(len(grown.columns), name, array)
    return grown


def _append_blocks(frame: pd.DataFrame, names: Sequence[str], arrays: Sequence[np.ndarray]) -> pd.DataFrame | None:
    manager = frame._mgr
    rows = len(frame)
    if not isinstance(manager, BlockManager) or len(names) != len(arrays) or not names:
        return None
    if len(set(names)) != len(names) or not frame.columns.is_unique or any(n in frame.columns for n in names):
        return None
    if not all(isinstance(a, np.ndarray) and a.ndim == 1 and len(a) == rows and a.dtype.kind in _PLAIN_KINDS
               for a in arrays):
        return None
    try:
        width = len(frame.columns)
        blocks = list(manager.blocks)
        for offset, array in enumerate(arrays):
            blocks.append(_block(array.reshape(1, -1).copy(), [width + offset]))
        columns = frame.columns
        if columns.dtype == object:  # the usual string names: one Index, no inference (cached for strings)
            names_index = _names([*columns, *names]) if all(type(n) is str for n in columns) else (
                pd.Index([*columns, *names], dtype=object))
        else:
            names_index = columns.append(pd.Index(list(names), dtype=object))
        axes = [names_index, frame.index]
        grown = _from_mgr(BlockManager(blocks, axes), axes=axes)
    except Exception:  # an internal pandas refused: the public route decides
        return None
    return grown.__finalize__(frame)


def append_rows(head: pd.DataFrame, columns: pd.Index, arrays: Sequence[Any], start: int = 0
                ) -> pd.DataFrame | None:
    """``pd.concat([head.iloc[start:], tail], ignore_index=True)`` block by block, or None when not that simple.

    ``tail`` is given as its ``columns`` and their ``arrays`` (:func:`column_arrays`), all of one length.

    A consumer appends one candle to each stored frame of 1500 rows for every pair and candle; column by column
    that costs ~25 columns of array handling, here it is one copy per block of the stored frame (~5). The
    result keeps ``head``'s block layout and owns its data. Taken only when both frames have the same unique
    columns, ``head`` holds plain 2-D blocks (numpy dtypes, or tz-aware dates of one unit) and each of
    ``tail``'s columns has its block's dtype exactly, or is an integer column going into a float block
    (numpy's cast then equals concat's promotion). Anything else returns None; so does copy-on-write
    (blocks shared outside pandas' reference tracking would defeat it). The caller checks what concat would
    do to missing values of object columns: the copy keeps the values as they are.
    """
    manager = getattr(head, "_mgr", None)
    if new_block_2d is None or not isinstance(manager, BlockManager) or pd.options.mode.copy_on_write:
        return None
    if not (head.columns.is_unique and head.columns.equals(columns)) or not 0 <= start <= len(head):
        return None
    if len(arrays) != len(columns) or not len(arrays):
        return None
    kept, added = len(head) - start, len(arrays[0])
    blocks = []
    try:
        for block in manager.blocks:
            values = block.values
            positions = block.mgr_locs.as_array
            if isinstance(values, np.ndarray):
                grown = np.empty((len(positions), kept + added), dtype=values.dtype)
                grown[:, :kept] = values[:, start:]
                for row, position in enumerate(positions):
                    extra = arrays[position]
                    if not _fits(values.dtype, extra, added):
                        return None
                    grown[row, kept:] = extra
                blocks.append(new_block_2d(grown, BlockPlacement(positions)))
            elif _is_tz_dates(values):
                stored = values._ndarray  # the datetime64 values behind the tz-aware array
                grown = np.empty((len(positions), kept + added), dtype=stored.dtype)
                grown[:, :kept] = stored[:, start:]
                for row, position in enumerate(positions):
                    extra = arrays[position]
                    if not (isinstance(extra, pd.arrays.DatetimeArray) and extra.dtype == values.dtype
                            and extra.shape == (added,)):
                        return None
                    grown[row, kept:] = extra._ndarray
                dates = pd.arrays.DatetimeArray._simple_new(grown, dtype=values.dtype)
                blocks.append(new_block_2d(dates, BlockPlacement(positions)))
            else:
                return None
        axes = [head.columns, pd.RangeIndex(kept + added)]
        return _from_mgr(BlockManager(blocks, axes), axes=axes)
    except Exception:  # an internal pandas refused: the caller's route decides
        return None


def side_by_side(left: pd.DataFrame, right: pd.DataFrame, names: Sequence[str], start: int = 0
                 ) -> pd.DataFrame | None:
    """``left``'s columns, then ``right``'s rows ``start:start + len(left)`` named ``names``; or None.

    The frame ``merge_informative_pair`` gives when each base row matches the next informative row: built
    block by block (one copy per block of either frame, ~6) instead of column by column (~25). Blocks
    keep their frames' layout (not consolidated across the two); the index is a fresh ``RangeIndex``.
    Only for plain 2-D blocks (numpy dtypes, datetimes) on both sides, ``names`` unique and disjoint from
    ``left``'s columns, and no copy-on-write; anything else returns None.
    """
    rows = len(left)
    if new_block_2d is None or pd.options.mode.copy_on_write or not 0 <= start <= len(right) - rows:
        return None
    managers = (getattr(left, "_mgr", None), getattr(right, "_mgr", None))
    if not all(isinstance(manager, BlockManager) for manager in managers):
        return None
    if len(names) != len(right.columns) or not left.columns.is_unique or left.columns.dtype != object:
        return None
    unique = set(names)
    if len(unique) != len(names) or not unique.isdisjoint(left.columns):
        return None
    width = len(left.columns)
    blocks = []
    try:
        for manager, offset, cut in ((managers[0], 0, slice(None)), (managers[1], width, slice(start, start + rows))):
            for block in manager.blocks:
                values = block.values
                if not isinstance(values, np.ndarray | pd.arrays.DatetimeArray) or values.ndim != 2:
                    return None
                placement = BlockPlacement(block.mgr_locs.as_array + offset)
                blocks.append(new_block_2d(values[:, cut].copy(), placement))
        axes = [_names([*left.columns, *names]), pd.RangeIndex(rows)]
        return _from_mgr(BlockManager(blocks, axes), axes=axes)
    except Exception:  # an internal pandas refused: the caller's route decides
        return None


def _fits(dtype: np.dtype, extra: Any, rows: int) -> bool:
    """Can ``extra`` (``rows`` long) be copied into a block of ``dtype``, giving what concat gives?"""
    if not isinstance(extra, np.ndarray) or extra.shape != (rows,):  # numpy would broadcast a shorter one
        return False
    return extra.dtype == dtype or (dtype.kind == "f" and dtype.itemsize == 8 and extra.dtype.kind in "iu")


def _is_tz_dates(values: Any) -> bool:
    """A 2-D tz-aware ``DatetimeArray`` block (its datetime64 ndarray is what gets copied)."""
    return (isinstance(values, pd.arrays.DatetimeArray) and isinstance(values.dtype, pd.DatetimeTZDtype)
            and getattr(values, "_ndarray", None) is not None and values.ndim == 2)


def _from_blocks(columns: Sequence[Any], arrays: Sequence[Any], index: pd.Index) -> pd.DataFrame | None:
    rows = len(index)
    if len(columns) != len(arrays) or not len(columns) or len(set(columns)) != len(columns):
        return None
    groups: dict[Any, list[int]] = {}
    dates: list[int] = []
    for position, array in enumerate(arrays):
        if getattr(array, "ndim", None) != 1 or len(array) != rows:
            return None
        dtype = array.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in _PLAIN_KINDS and isinstance(array, np.ndarray):
            groups.setdefault(dtype, []).append(position)
        elif _is_datetime_array(array):
            dates.append(position)
        else:
            return None
    try:
        blocks = []
        for dtype, positions in groups.items():
            values = np.empty((len(positions), rows), dtype=dtype)
            for row, position in enumerate(positions):
                values[row] = arrays[position]
            blocks.append(_block(values, positions))
        for position in dates:
            values = _datetime_copy(arrays[position]).reshape(1, -1)
            blocks.append(_block(values, [position]))
        names = _names(columns)
        axes = [names, index]
        manager = BlockManager(blocks, axes)
        return _from_mgr(manager, axes=manager.axes)
    except Exception:  # an internal pandas refused: the public route decides (and raises if it must)
        return None


def _block(values: Any, positions: list[int]) -> Any:
    """A 2-D block of ``values`` (one row per column) placed at ``positions`` of the frame's columns."""
    if new_block_2d is not None:
        return new_block_2d(values, BlockPlacement(positions))
    return make_block(values, placement=positions, ndim=2)  # pragma: no cover - older internals


def _names(columns: Sequence[Any]) -> pd.Index:
    """The column index: an Index as it is (indexes are immutable), else inferred as the dict constructor does.

    An index of string names is built once per list of names and shared (pandas shares a frame's columns
    between its shallow copies the same way); one whose ``name`` was set since is replaced, not reused.
    """
    if isinstance(columns, pd.Index):
        return columns
    if all(type(name) is str for name in columns) and not pd.options.future.infer_string:
        key = tuple(columns)
        cached = _INDEX_CACHE.get(key)
        if cached is None or cached.name is not None:
            if len(_INDEX_CACHE) >= _INDEX_CACHE_SIZE:
                _INDEX_CACHE.clear()  # many different column lists: not the case the cache is for
            cached = _INDEX_CACHE[key] = pd.Index(list(key), dtype=object)  # what inference gives, without it
        return cached
    return pd.Index(list(columns))


def _datetime_copy(array: Any) -> Any:
    """A ``DatetimeArray`` of its own (tz kept)."""
    if isinstance(array, pd.DatetimeIndex):
        array = array.array
    if isinstance(array, pd.arrays.DatetimeArray):
        return array.copy()
    return pd.array(array, copy=True)  # a numpy datetime64 array


def _is_datetime_array(array: Any) -> bool:
    """A numpy ``datetime64`` array, or pandas' ``DatetimeArray`` / ``DatetimeIndex`` (tz-aware or naive)."""
    if isinstance(array, np.ndarray):
        return array.dtype.kind == "M" and np.datetime_data(array.dtype)[0] in _DATE_UNITS
    return isinstance(array, pd.arrays.DatetimeArray | pd.DatetimeIndex)
