"""The store's append paths (``append_rows``, ``stack_rows``) give exactly ``pd.concat``'s frame, on random frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradecast.core.frames import append_rows, column_arrays
from tradecast.data import frame_rows as mod
from tradecast.data.producer_frames import ApplyOutcome, ProducerFrameStore
from tradecast.wire import AnalyzedDfMessage

# the reference (pandas' concat) warns about its own future dtype rules for all-missing columns
pytestmark = pytest.mark.filterwarnings("ignore:The behavior of DataFrame concatenation:FutureWarning")

KINDS = ["float", "int", "bool", "tags_none", "tags_mixed", "tags_nan", "tags_pdna", "date_utc", "date_naive",
         "string", "category", "Int64"]


def _column(kind: str, rng: np.random.Generator, rows: int, start: int) -> pd.Series:
    if kind == "float":
        values = rng.normal(size=rows)
        values[rng.random(rows) < 0.2] = np.nan
        return pd.Series(values)
    if kind == "int":
        return pd.Series(rng.integers(0, 3, rows))
    if kind == "bool":
        return pd.Series(rng.random(rows) < 0.5)
    if kind == "tags_none":  # the normal tag column: all None or some strings
        choice = [None] if rng.random() < 0.5 else [None, "a"]
        return pd.Series([choice[int(i)] for i in rng.integers(0, len(choice), rows)], dtype=object)
    if kind == "tags_mixed":  # None and NaN: pandas' concat may rewrite an all-missing block
        return pd.Series([[None, np.nan, "x"][int(i)] for i in rng.integers(0, 2 if rng.random() < 0.5 else 3,
                                                                             rows)], dtype=object)
    if kind == "tags_pdna":
        return pd.Series([[None, pd.NA][int(i)] for i in rng.integers(0, 2, rows)], dtype=object)
    if kind == "tags_nan":
        return pd.Series([np.nan] * rows, dtype=object)
    if kind == "date_utc":
        return pd.Series(pd.date_range("2026-01-01", periods=rows, freq="5min", tz="UTC") + pd.Timedelta(start, "h"))
    if kind == "date_naive":
        return pd.Series(pd.date_range("2026-01-01", periods=rows, freq="5min") + pd.Timedelta(start, "h"))
    if kind == "string":
        return pd.Series(["s"] * rows, dtype="string")
    if kind == "category":
        return pd.Series(["u", "v"] * (rows // 2) + ["u"] * (rows % 2), dtype="category")
    return pd.Series(rng.integers(0, 3, rows), dtype="Int64")


def _frame(kinds: list[str], rng: np.random.Generator, rows: int, start: int) -> pd.DataFrame:
    dates = pd.date_range("2026-01-01", periods=rows, freq="5min", tz="UTC") + pd.Timedelta(minutes=5 * start)
    columns = {"date": dates}
    for i, kind in enumerate(kinds):
        columns[f"c{i}"] = _column(kind, rng, rows, start).to_numpy() if kind in ("int", "float") else \
            _column(kind, rng, rows, start).array
    return pd.DataFrame(columns)


@pytest.mark.parametrize("seed", range(150))
def test_stack_equals_pandas_concat(seed):
    rng = np.random.default_rng(seed)
    kinds = list(rng.choice(KINDS, size=int(rng.integers(1, 6))))
    head_rows, tail_rows = int(rng.integers(1, 40)), int(rng.integers(1, 4))
    head = _frame(kinds, rng, head_rows, 0).iloc[int(rng.integers(0, 2)):]
    tail_kinds = [k if rng.random() < 0.8 else str(rng.choice(KINDS)) for k in kinds]  # dtypes may differ
    tail = _frame(tail_kinds, rng, tail_rows, head_rows)
    if rng.random() < 0.1:
        tail = tail[tail.columns[::-1]]  # another column order
    expected = pd.concat([head, tail], ignore_index=True)
    ours = mod.stack_rows(head, tail)
    pd.testing.assert_frame_equal(ours, expected, check_exact=True)
    for name in expected.columns:  # None stays None, NaN stays NaN
        if expected[name].dtype == object:
            assert [type(v) for v in ours[name]] == [type(v) for v in expected[name]]
    # the block path, where the store takes it (object columns whose only missing value is None)
    arrays = column_arrays(tail)
    if mod.objects_clean(column_arrays(head)) and mod.objects_clean(arrays):
        blocks = append_rows(head.copy(), tail.columns, arrays)  # the store's frames are consolidated copies
        if blocks is not None:
            pd.testing.assert_frame_equal(blocks, expected, check_exact=True)
            for name in expected.columns:
                if expected[name].dtype == object:
                    assert [type(v) for v in blocks[name]] == [type(v) for v in expected[name]]


def test_stack_takes_the_column_path_for_the_normal_broadcast(monkeypatch):
    rng = np.random.default_rng(0)
    head = _frame(["float", "int", "tags_none", "tags_none"], rng, 30, 0)
    tail = _frame(["float", "int", "tags_none", "tags_none"], rng, 1, 30)
    calls = []
    real_concat = pd.concat
    monkeypatch.setattr(mod.pd, "concat", lambda *a, **k: calls.append(1) or real_concat(*a, **k))
    ours = mod.stack_rows(head, tail)
    assert calls == []
    monkeypatch.undo()
    pd.testing.assert_frame_equal(ours, pd.concat([head, tail], ignore_index=True))
    assert not np.shares_memory(ours["c0"].to_numpy(), head["c0"].to_numpy())


def test_store_appends_1500_rows_like_before():
    store = ProducerFrameStore()
    rng = np.random.default_rng(4)
    kinds = ["float", "float", "int", "tags_none", "tags_none"]
    full = _frame(kinds, rng, 1500, 0)
    la = pd.Timestamp("2026-02-01", tz="UTC").to_pydatetime()
    store.apply("p", AnalyzedDfMessage("X/USDT", "5m", "spot", full, la), is_reply=True)
    expected = full
    for step in range(3):
        row = _frame(kinds, rng, 1, 1500 + step)
        result = store.apply("p", AnalyzedDfMessage("X/USDT", "5m", "spot", row, la), is_reply=False)
        assert result.outcome is ApplyOutcome.APPENDED and result.rows == 1500
        expected = pd.concat([expected, row], ignore_index=True).iloc[-1500:].reset_index(drop=True)
        got, _ = store.get("p", "X/USDT", "5m")
        pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("seed", range(60))
def test_block_append_equals_pandas_concat_for_numpy_columns(seed):
    """The store's usual columns (floats, ints, bools, None tags, UTC dates): the block path is taken."""
    rng = np.random.default_rng(1000 + seed)
    usual = ["float", "int", "bool", "tags_none", "tags_mixed", "date_utc"]
    kinds = list(rng.choice(usual, size=int(rng.integers(1, 7))))
    head = _frame(kinds, rng, int(rng.integers(1, 40)), 0).copy()
    tail_kinds = [k if rng.random() < 0.9 else ("int" if k == "float" else k) for k in kinds]  # ints into floats
    tail = _frame(tail_kinds, rng, int(rng.integers(1, 4)), len(head))
    start = int(rng.integers(0, len(head) + 1))
    arrays = column_arrays(tail)
    expected = pd.concat([head.iloc[start:], tail], ignore_index=True)
    ours = append_rows(head, tail.columns, arrays, start)
    assert ours is not None
    pd.testing.assert_frame_equal(ours, expected, check_exact=True)
