"""Signal columns of an analysed frame: normalising them and reading the last row.

After analysis a frame has ``enter_long``/``exit_long`` as int 0/1 and ``enter_tag``/``exit_tag`` as str or
None. Interface-2 names (``buy``, ``sell``, ``buy_tag``) are renamed when the new ones are absent. Short
columns are kept untouched (shorting is not supported; the bot never acts on them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from tradecast.core.frames import column_values

__all__ = ["SIGNAL_COLUMNS", "finalise_signal_columns", "latest_signal"]

#: the columns the bot reads after analysis
SIGNAL_COLUMNS = ("enter_long", "exit_long", "enter_tag", "exit_tag")
_LEGACY_COLUMNS = {"buy": "enter_long", "sell": "exit_long", "buy_tag": "enter_tag"}
_SHORT_COLUMNS = ("enter_short", "exit_short")


def finalise_signal_columns(frame: pd.DataFrame, created: frozenset[str] | set[str] = frozenset()
                            ) -> tuple[pd.DataFrame, bool]:
    """Normalise the signal columns of ``frame`` in place; returns ``(frame, any short signal present)``.

    ``created`` names the signal columns the framework added (as 0 / None) before the hooks ran: a legacy
    column (``buy``, ``sell``, ``buy_tag``) the strategy wrote wins over those placeholders.
    """
    for legacy, column in _LEGACY_COLUMNS.items():
        if legacy in frame.columns and (column not in frame.columns or column in created):
            frame = frame.drop(columns=[column], errors="ignore").rename(columns={legacy: column})
    for column in ("enter_long", "exit_long"):
        if column not in frame.columns:
            frame[column] = 0
            continue
        series = frame[column]
        if series.dtype == "int64" and ((series.to_numpy() == 0) | (series.to_numpy() == 1)).all():
            continue  # already clean: the common case, kept cheap
        numeric = pd.to_numeric(series, errors="coerce")
        frame[column] = (numeric == 1).astype("int64")
    for column in ("enter_tag", "exit_tag"):
        if column not in frame.columns:
            frame[column] = pd.Series(None, index=frame.index, dtype=object)
            continue
        values = frame[column].to_numpy(dtype=object, copy=True)
        missing = pd.isna(values) | (values == "")
        values[missing] = None  # one spelling of "no tag": None (not NaN, not "")
        frame[column] = values
    has_short = any(
        column in frame.columns and bool((pd.to_numeric(frame[column], errors="coerce") == 1).any())
        for column in _SHORT_COLUMNS
    )
    return frame, has_short


def latest_signal(
    analyzed_df: pd.DataFrame | None,
) -> tuple[bool, bool, str | None, str | None, datetime | None]:
    """``(enter, exit, enter_tag, exit_tag, candle_date)`` of the last row (see get_latest_signal)."""
    if analyzed_df is None or analyzed_df.empty:
        return False, False, None, None, None
    # cell by cell: ``iloc[-1]`` would build a row of every column, upcast to object (~50 us per pair)
    enter = _flag(_last(analyzed_df, "enter_long"))
    exit_ = _flag(_last(analyzed_df, "exit_long"))
    enter_tag = _tag(_last(analyzed_df, "enter_tag")) if enter else None
    exit_tag = _tag(_last(analyzed_df, "exit_tag")) if exit_ else None
    date = _last(analyzed_df, "date")
    candle_date = date.to_pydatetime() if isinstance(date, pd.Timestamp) else date
    return enter, exit_, enter_tag, exit_tag, candle_date


def _last(frame: pd.DataFrame, column: str) -> Any:
    """The last row's value of ``column``; None when the column is missing or its name is not unique."""
    columns = frame.columns
    if column not in columns or not isinstance(columns.get_loc(column), int):
        return None
    return column_values(frame, column)[-1]  # no Series built for one cell


def _flag(value: Any) -> bool:
    try:
        return value is not None and not pd.isna(value) and float(value) == 1
    except (TypeError, ValueError):
        return False


def _tag(value: Any) -> str | None:
    if value is None or value == "" or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)
