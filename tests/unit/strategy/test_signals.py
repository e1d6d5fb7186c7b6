"""latest_signal: the last row's flags, tags and date, read cell by cell."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from tradecast.strategy.signals import latest_signal


def frame(**columns: list) -> pd.DataFrame:
    dates = pd.date_range("2026-01-01", periods=2, freq="5min", tz="UTC")
    return pd.DataFrame({"date": dates, "close": [1.0, 2.0], **columns})


def test_flags_and_tags_of_the_last_row() -> None:
    df = frame(enter_long=[0, 1], exit_long=[1, 0], enter_tag=[None, "dip"], exit_tag=["x", None])
    assert latest_signal(df) == (True, False, "dip", None, datetime(2026, 1, 1, 0, 5, tzinfo=UTC))


def test_float_flags_nan_and_empty_tags() -> None:
    df = frame(enter_long=[1.0, np.nan], exit_long=[0.0, 1.0], exit_tag=["a", ""])
    assert latest_signal(df) == (False, True, None, None, datetime(2026, 1, 1, 0, 5, tzinfo=UTC))


def test_missing_or_repeated_columns_read_as_no_signal() -> None:
    df = frame(enter_long=[1, 1])
    df.columns = ["date", "close", "exit_long"]  # no enter_long column at all
    df.insert(3, "exit_long", [1, 1], allow_duplicates=True)  # and a repeated name is ambiguous
    assert latest_signal(df)[:2] == (False, False)
    assert latest_signal(pd.DataFrame()) == (False, False, None, None, None)
