"""core.frames: the block-built frames equal pandas' own constructor's, own their data, and fall back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradecast.core.frames import (
    append_rows,
    column_arrays,
    column_values,
    consolidated_copy,
    frame_from_arrays,
    side_by_side,
    with_columns,
)

ROWS = 7


def _mixed() -> tuple[list, list]:
    rng = np.random.default_rng(3)
    dates = pd.date_range("2026-01-01", periods=ROWS, freq="5min", tz="UTC")
    columns = ["date", "open", "close", "volume", "enter_long", "enter_tag", "flag", "naive", "ratio32", "other"]
    arrays = [
        dates.array,
        rng.random(ROWS),
        rng.random(ROWS),
        np.arange(ROWS, dtype=np.int64),
        np.zeros(ROWS, dtype=np.int64),
        np.array([None, "a", None, "b", None, None, "c"], dtype=object),
        rng.random(ROWS) > 0.5,
        dates.tz_localize(None).to_numpy(),
        rng.random(ROWS).astype(np.float32),
        pd.date_range("2025-06-01", periods=ROWS, freq="1h", tz="Europe/Berlin"),
    ]
    return columns, arrays


def _assert_same(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    assert list(frame.dtypes) == list(expected.dtypes)
    assert frame.columns.dtype == expected.columns.dtype
    assert type(frame.index) is type(expected.index)


def test_equals_the_dict_constructor_for_mixed_dtypes() -> None:
    columns, arrays = _mixed()
    frame = frame_from_arrays(columns, arrays)
    _assert_same(frame, pd.DataFrame(dict(zip(columns, arrays, strict=True))))
    assert frame._mgr.nblocks < len(columns)  # one block per dtype, not per column


def test_nan_and_missing_values_are_kept_exactly() -> None:
    columns = ["date", "x", "tag"]
    arrays = [pd.date_range("2026-01-01", periods=3, freq="1min", tz="UTC").array,
              np.array([np.nan, -0.0, np.inf]), np.array([None, np.nan, "t"], dtype=object)]
    frame = frame_from_arrays(columns, arrays)
    _assert_same(frame, pd.DataFrame(dict(zip(columns, arrays, strict=True))))
    assert frame["tag"].iloc[0] is None and np.isnan(frame["tag"].iloc[1])
    assert np.signbit(frame["x"].iloc[1])


def test_the_frame_owns_its_data() -> None:
    columns, arrays = _mixed()
    frame = frame_from_arrays(columns, arrays)
    arrays[1][0] = 12345.0
    arrays[5][1] = "changed"
    assert frame["open"].iloc[0] != 12345.0
    assert frame["enter_tag"].iloc[1] == "a"
    frame.loc[0, "volume"] = 99
    assert arrays[3][0] == 0


def test_index_is_kept_and_numeric_names_are_inferred_as_pandas_does() -> None:
    index = pd.Index([10, 20, 30])
    arrays = [np.array([1.0, 2.0, 3.0]), np.array([4, 5, 6])]
    frame = frame_from_arrays([0, 1], arrays, index)
    _assert_same(frame, pd.DataFrame({0: arrays[0], 1: arrays[1]}, index=index))
    assert frame.columns.dtype == np.int64


@pytest.mark.parametrize("array", [
    pd.array([1, None, 3], dtype="Int64"),
    pd.Categorical(["a", "b", "a"]),
    pd.array(["x", "y", None], dtype="string"),
    np.array([1, 2, 3], dtype="timedelta64[s]"),
    np.array(["2026-01-01", "2026-01-02", "2026-01-03"], dtype="datetime64[D]"),
])
def test_other_dtypes_take_the_public_route(array) -> None:
    arrays = [np.array([1.0, 2.0, 3.0]), array]
    frame = frame_from_arrays(["a", "b"], arrays)
    _assert_same(frame, pd.DataFrame({"a": arrays[0], "b": array}))


def test_bad_input_raises_as_pandas_does() -> None:
    with pytest.raises(ValueError, match="length"):
        frame_from_arrays(["a", "b"], [np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError):
        frame_from_arrays(["a"], [np.zeros((2, 2))])


def test_repeated_names_take_the_public_route() -> None:
    frame = frame_from_arrays(["a", "a"], [np.zeros(2), np.ones(2)])
    assert list(frame.columns) == ["a"]  # what the dict constructor makes of it: the last one wins
    assert frame["a"].tolist() == [1.0, 1.0]


def test_no_columns() -> None:
    assert frame_from_arrays([], [], pd.RangeIndex(3)).shape == (3, 0)


def test_column_arrays_and_values_read_without_copying() -> None:
    columns, arrays = _mixed()
    frame = frame_from_arrays(columns, arrays)
    read = column_arrays(frame)
    assert len(read) == len(columns)
    for name, values in zip(columns, read, strict=True):
        np.testing.assert_array_equal(np.asarray(values), frame[name].to_numpy())
        shared = column_values(frame, name)
        if isinstance(values, np.ndarray):  # a view of the frame's block, not a copy
            assert np.shares_memory(shared, values)
        else:
            assert shared.equals(values)
    with pytest.raises(KeyError):
        column_values(frame, "missing")


def test_column_values_with_repeated_names_reads_the_first() -> None:
    frame = pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])
    assert list(column_values(frame, "a")) == [1.0]


def _inserted(frame: pd.DataFrame, names: list, arrays: list) -> pd.DataFrame:
    expected = frame.copy(deep=False)
    for name, array in zip(names, arrays, strict=True):
        expected.insert(len(expected.columns), name, array)
    return expected


def test_with_columns_equals_inserting_them_at_the_end() -> None:
    columns, arrays = _mixed()
    frame = frame_from_arrays(columns, arrays)
    frame.attrs["note"] = "kept"
    names = ["x_flag", "x_tag"]
    new = [np.zeros(ROWS, dtype=np.int64), np.full(ROWS, None, dtype=object)]
    grown = with_columns(frame, names, new)
    _assert_same(grown, _inserted(frame, names, new))
    assert grown is not frame and list(frame.columns) == columns  # the frame given is unchanged
    assert grown.attrs == {"note": "kept"}
    new[0][0] = 7
    assert grown["x_flag"].iloc[0] == 0  # the new columns are copies


def test_with_columns_on_integer_names_and_a_custom_index() -> None:
    frame = pd.DataFrame({0: [1.0, 2.0], 1: [3, 4]}, index=pd.Index([5, 9]))
    grown = with_columns(frame, ["flag"], [np.array([1, 0])])
    _assert_same(grown, _inserted(frame, ["flag"], [np.array([1, 0])]))


@pytest.mark.parametrize(("names", "arrays"), [
    (["close"], [np.zeros(ROWS)]),  # an existing name: pandas refuses
    (["x"], [np.zeros(ROWS + 1)]),  # the wrong length: pandas refuses
])
def test_with_columns_raises_where_insert_does(names, arrays) -> None:
    columns, values = _mixed()
    frame = frame_from_arrays(columns, values)
    with pytest.raises(ValueError):
        with_columns(frame, names, arrays)


def test_with_columns_takes_the_public_route_for_other_arrays_and_copy_on_write() -> None:
    columns, values = _mixed()
    frame = frame_from_arrays(columns, values)
    categorical = [pd.Categorical(["a"] * ROWS)]
    _assert_same(with_columns(frame, ["cat"], categorical), _inserted(frame, ["cat"], categorical))
    with pd.option_context("mode.copy_on_write", True):
        grown = with_columns(frame, ["fresh"], [np.ones(ROWS, dtype=np.int64)])
        grown.loc[0, "close"] = -1.0
        assert frame["close"].iloc[0] != -1.0  # copy-on-write still protects the original


# ------------------------------------------------------------------------------------------- append_rows


def _stored(rows: int, seed: int) -> pd.DataFrame:
    """A consolidated frame like a stored producer frame: dates, floats, ints, object tags."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "date": pd.date_range("2026-01-01", periods=rows, freq="1min", tz="UTC"),
        "close": rng.random(rows),
        "rsi": rng.random(rows),
        "enter_long": rng.integers(0, 2, rows),
        "enter_tag": [None if i % 3 else "dip" for i in range(rows)],
        "flag": rng.random(rows) > 0.5,
    })
    return frame.copy()  # one block per dtype


def _tail_of(frame: pd.DataFrame) -> tuple[pd.Index, list]:
    return frame.columns, column_arrays(frame)


@pytest.mark.parametrize("start", [0, 1, 4, 10])
def test_append_rows_equals_concat_of_the_slice(start: int) -> None:
    head, tail = _stored(10, 1), _stored(3, 2)
    tail["date"] = pd.date_range("2026-01-01 00:10", periods=3, freq="1min", tz="UTC")
    got = append_rows(head, *_tail_of(tail), start)
    assert got is not None
    _assert_same(got, pd.concat([head.iloc[start:], tail], ignore_index=True))


def test_append_rows_owns_its_data() -> None:
    head, tail = _stored(5, 1), _stored(1, 2)
    got = append_rows(head, *_tail_of(tail))
    assert got is not None
    for name in head.columns:
        assert not np.shares_memory(np.asarray(column_values(got, name)), np.asarray(column_values(head, name)))
        assert not np.shares_memory(np.asarray(column_values(got, name)), np.asarray(column_values(tail, name)))


def test_append_rows_promotes_integers_into_a_float_block_as_concat_does() -> None:
    head, tail = _stored(4, 1), _stored(1, 2)
    tail["close"] = np.array([7], dtype=np.int64)
    got = append_rows(head, *_tail_of(tail))
    assert got is not None
    _assert_same(got, pd.concat([head, tail], ignore_index=True))


@pytest.mark.parametrize("change", [
    lambda t: t.assign(enter_long=t["enter_long"].astype(float)),  # float into an int block: concat widens it
    lambda t: t.assign(flag=t["flag"].astype(float)),  # float into a bool block: concat makes it object
    lambda t: t.assign(rsi=t["rsi"].astype(np.float32)),  # another float width
    lambda t: t.assign(date=t["date"].dt.tz_convert("Europe/Berlin")),  # another time zone
    lambda t: t.assign(date=t["date"].dt.tz_localize(None)),  # naive dates
    lambda t: t[["close", "date", "rsi", "enter_long", "enter_tag", "flag"]],  # another column order
    lambda t: t.assign(extra=1.0),  # another column set
    lambda t: t.assign(rsi=pd.array([0.5], dtype="Float64")),  # an extension array
])
def test_append_rows_declines_what_concat_would_change(change) -> None:
    head = _stored(4, 1)
    tail = change(_stored(1, 2))
    assert append_rows(head, *_tail_of(tail)) is None


def test_append_rows_declines_a_bad_start_or_lengths_and_copy_on_write() -> None:
    head, tail = _stored(4, 1), _stored(2, 2)
    columns, arrays = _tail_of(tail)
    assert append_rows(head, columns, arrays, start=5) is None
    assert append_rows(head, columns, [*arrays[:-1], arrays[-1][:1]]) is None
    assert append_rows(head, columns, []) is None
    with pd.option_context("mode.copy_on_write", True):
        assert append_rows(head, columns, arrays) is None


def test_string_column_indexes_are_shared_until_renamed() -> None:
    first = frame_from_arrays(["a", "b"], [np.zeros(2), np.ones(2)])
    second = frame_from_arrays(["a", "b"], [np.ones(2), np.zeros(2)])
    assert first.columns is second.columns  # built once for the same names
    second.columns.name = "renamed"  # the shared index changed: the next frame gets a clean one
    third = frame_from_arrays(["a", "b"], [np.ones(2), np.zeros(2)])
    assert third.columns.name is None and third.columns is not second.columns
    _assert_same(third, pd.DataFrame({"a": np.ones(2), "b": np.zeros(2)}))


# ------------------------------------------------------------------------------------------- side_by_side


@pytest.mark.parametrize("start", [0, 2, 5])
def test_side_by_side_equals_the_columns_of_a_slice_beside_the_frame(start: int) -> None:
    left = _stored(5, 1)[["date", "close", "enter_long"]]
    right = _stored(10, 2)
    names = [f"{name}_inf" for name in right.columns]
    got = side_by_side(left, right, names, start)
    assert got is not None
    sliced = right.iloc[start:start + 5].reset_index(drop=True)
    sliced.columns = names
    expected = pd.concat([left.reset_index(drop=True), sliced], axis=1)
    _assert_same(got, expected)
    for name in names:  # owns its data
        assert not np.shares_memory(np.asarray(column_values(got, name)),
                                    np.asarray(column_values(right, name[:-4])))


def test_side_by_side_declines_what_it_cannot_build() -> None:
    left, right = _stored(5, 1), _stored(6, 2)
    names = [f"{name}_inf" for name in right.columns]
    assert side_by_side(left, right, names, 2) is None  # rows past the end of right
    assert side_by_side(left, right, names[:-1], 0) is None  # a name per column
    assert side_by_side(left, right, ["close", *names[1:]], 0) is None  # a name that collides
    assert side_by_side(left, right, [names[0]] * len(names), 0) is None  # repeated names
    assert side_by_side(left, right.assign(x=pd.Categorical(["a"] * 6)), [*names, "x"], 0) is None
    numbered = left.set_axis(range(len(left.columns)), axis=1)  # non-string names: the caller's own route
    assert side_by_side(numbered, right, names, 0) is None
    with pd.option_context("mode.copy_on_write", True):
        assert side_by_side(left, right, names, 0) is None


# ------------------------------------------------------------------------------------- consolidated_copy


def test_consolidated_copy_equals_copy_with_one_block_per_dtype() -> None:
    frame = _stored(6, 1)
    grown = with_columns(frame, ["a", "b", "c"], [np.ones(6), np.zeros(6, dtype=np.int64), np.ones(6)])
    grown.attrs["source"] = "test"
    assert grown._mgr.nblocks > 5
    got = consolidated_copy(grown)
    _assert_same(got, grown.copy())
    assert got._mgr.nblocks == len({str(dtype) for dtype in grown.dtypes})
    assert got.attrs == {"source": "test"}
    assert got.columns is not grown.columns and got.index is not grown.index
    for name in grown.columns:
        assert not np.shares_memory(np.asarray(column_values(got, name)), np.asarray(column_values(grown, name)))


def test_consolidated_copy_of_other_frames_is_their_copy() -> None:
    frame = _stored(3, 1).assign(cat=pd.Categorical(["a", "b", "a"]), n=pd.array([1, None, 3], dtype="Int64"))
    frame.index = pd.Index([10, 20, 30])
    _assert_same(consolidated_copy(frame), frame.copy())
    repeated = pd.DataFrame([[1.0, 2.0]], columns=["x", "x"])
    _assert_same(consolidated_copy(repeated), repeated.copy())
