"""The dataframe codec against hand-written wire samples (fact sheet 3.3/3.4), both directions."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pandas as pd
import pytest

from tradecast.core.errors import WireError
from tradecast.wire.dataframe_codec import (
    _rows_by_columns,
    _rows_by_matrix,
    decode_frame,
    decode_frame_json,
    encode_frame,
    encode_frame_json,
    json_default,
)

T0 = pd.Timestamp("2024-01-01 11:00", tz="UTC")  # 1704106800000 ms
T1 = pd.Timestamp("2024-01-01 11:05", tz="UTC")  # 1704107100000 ms

# A producer's tail (index 148, 149) with a NaN, a tag string and a bool, written by hand from the rules.
TAIL_JSON = (
    '{"columns":["date","open","close","rsi","enter_long","enter_tag","is_green"],'
    '"index":[148,149],'
    '"data":[[1704106800000,0.4153840374123,0.42,null,0,null,true],'
    '[1704107100000,0.000012345678901234,2.0,55.5,1,"dip",false]]}'
)


def tail_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": [T0, T1],
            "open": [0.4153840374123, 0.000012345678901234],
            "close": [0.42, 2.0],
            "rsi": [np.nan, 55.5],
            "enter_long": [0, 1],
            "enter_tag": [None, "dip"],
            "is_green": [True, False],
        },
        index=[148, 149],
    )


def test_encode_matches_hand_written_sample_and_keeps_producer_index():
    assert encode_frame_json(tail_frame()).decode() == TAIL_JSON


def test_encode_wraps_in_freqtrade_type_tag():
    assert encode_frame(tail_frame()) == {"__type__": "dataframe", "__value__": TAIL_JSON}


def test_empty_frame_both_ways():
    assert encode_frame_json(pd.DataFrame()) == b'{"columns":[],"index":[],"data":[]}'
    decoded = decode_frame_json('{"columns":[],"index":[],"data":[]}')
    assert decoded.empty and list(decoded.columns) == []


def test_decode_hand_written_sample_with_stable_dtypes():
    frame = decode_frame_json(TAIL_JSON)
    assert list(frame.index) == [148, 149]
    assert str(frame["date"].dtype) == "datetime64[ns, UTC]"
    assert list(frame["date"]) == [T0, T1]
    for column in ("open", "close", "rsi", "enter_long"):
        assert frame[column].dtype == np.float64, column
    assert np.isnan(frame["rsi"].iloc[0])
    assert frame["open"].iloc[1] == 0.000012345678901234
    assert frame["enter_tag"].dtype == object and list(frame["enter_tag"]) == [None, "dip"]
    assert frame["is_green"].dtype == bool and list(frame["is_green"]) == [True, False]


def test_encode_handles_nan_inf_none_nat_and_naive_dates():
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-01 11:00", "2024-01-01 11:05"]),  # naive = UTC
            "x": [np.inf, -np.inf],
            "other_time": pd.to_datetime(["2024-01-01 11:00", None], utc=True),
            "obj": [np.float64(1.5), pd.NA],
        }
    )
    assert encode_frame_json(frame) == (
        b'{"columns":["date","x","other_time","obj"],"index":[0,1],'
        b'"data":[[1704106800000,null,1704106800000,1.5],[1704107100000,null,null,null]]}'
    )


def test_encode_second_and_microsecond_resolution_dates_as_ms():
    dates = pd.Series([T0, T1]).dt.as_unit("s")
    assert encode_frame_json(pd.DataFrame({"date": dates})).startswith(
        b'{"columns":["date"],"index":[0,1],"data":[[1704106800000],[1704107100000]]'
    )
    micro = pd.Series([T0 + pd.Timedelta(microseconds=1500)]).dt.as_unit("us")
    assert b"[[1704106800001]]" in encode_frame_json(pd.DataFrame({"date": micro}))


def test_encode_does_not_modify_the_frame():
    frame = tail_frame()
    before = frame.copy()
    encode_frame_json(frame)
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("value", [0.000012345678901234, 1.5e-11, 1e20, 0.1 + 0.2, 123456789.12345679, -0.0])
def test_full_float_precision_round_trip(value):
    frame = pd.DataFrame({"date": [T0], "v": [value]})
    decoded = decode_frame_json(encode_frame_json(frame))
    assert decoded["v"].iloc[0] == value and str(decoded["v"].iloc[0]) == str(value)


def test_round_trip_of_a_mixed_frame_is_identical():
    frame = tail_frame()
    decoded = decode_frame_json(encode_frame_json(frame))
    expected = frame.astype({"enter_long": np.float64})
    expected["date"] = expected["date"].dt.as_unit("ns")
    pd.testing.assert_frame_equal(decoded, expected, check_index_type=False)


def test_real_freqtrade_sample_with_10_decimals_ints_and_nan_literals():
    # what pandas.to_json(double_precision=10) produces on a freqtrade producer, plus a NaN literal
    text = (
        '{"columns":["date","open","high","low","close","volume","rsi","enter_long","exit_long","enter_tag"],'
        '"index":[1498,1499],'
        '"data":[[1704106800000,0.4153840374,0.42,0.41,0.4153840374,12345.0,NaN,0,0,NaN],'
        '[1704107100000,2,3,1,2,100,48.1234567891,1,0,"x"]]}'
    )
    frame = decode_frame_json(text)
    assert list(frame.index) == [1498, 1499]
    numeric = ["open", "high", "low", "close", "volume", "rsi", "enter_long", "exit_long"]
    assert all(frame[c].dtype == np.float64 for c in numeric)
    assert frame["open"].tolist() == [0.4153840374, 2.0]
    assert np.isnan(frame["rsi"].iloc[0])
    assert frame["enter_tag"].tolist() == [None, "x"]


def test_decode_iso_date_strings():
    text = (
        '{"columns":["date","close"],"index":[0,1],'
        '"data":[["2024-01-01T11:00:00.000Z",1],["2024-01-01 12:05:00+01:00",2]]}'
    )
    frame = decode_frame_json(text)
    assert frame["date"].tolist() == [T0, T1]
    assert str(frame["date"].dtype) == "datetime64[ns, UTC]"


def test_decode_accepts_missing_index_and_float_ms_dates():
    frame = decode_frame_json('{"columns":["date","x"],"data":[[1704106800000.0,1]]}')
    assert frame["date"].iloc[0] == T0 and list(frame.index) == [0]


def test_dtypes_are_the_same_for_1_row_and_1500_rows():
    rng = np.random.default_rng(7)
    big = pd.DataFrame(
        {
            "date": pd.date_range(T0, periods=1500, freq="5min"),
            "open": rng.random(1500),
            "enter_long": rng.integers(0, 2, 1500),
            "enter_tag": [None] * 1499 + ["t"],
            "empty": [np.nan] * 1500,
        }
    )
    one_row = (
        '{"columns":["date","open","enter_long","enter_tag","empty"],"index":[0],'
        '"data":[[1704106800000,2,1,null,null]]}'
    )
    big_decoded = decode_frame_json(encode_frame_json(big))
    small_decoded = decode_frame_json(one_row)
    assert big_decoded.dtypes.to_dict() == small_decoded.dtypes.to_dict()
    combined = pd.concat([big_decoded, small_decoded])
    assert combined.dtypes.to_dict() == big_decoded.dtypes.to_dict()


def test_int_columns_and_object_columns_options():
    text = (
        '{"columns":["date","n","note"],"index":[0,1],"data":[[1704106800000,1,5],[1704107100000,2.0,null]]}'
    )
    frame = decode_frame_json(text, int_columns={"n"}, object_columns={"note"})
    assert frame["n"].dtype == np.int64 and frame["n"].tolist() == [1, 2]
    assert frame["note"].dtype == object and frame["note"].tolist() == [5, None]


def test_unknown_object_columns_keep_mixed_values_and_nested_cells():
    text = (
        '{"columns":["date","mix","nested"],"index":[0,1],'
        '"data":[[1704106800000,"a",[1,2]],[1704107100000,3,{"k":1}]]}'
    )
    frame = decode_frame_json(text)
    assert frame["mix"].tolist() == ["a", 3]
    assert frame["nested"].tolist() == [[1, 2], {"k": 1}]


def test_zero_row_frame_with_columns_gets_policy_dtypes():
    frame = decode_frame_json('{"columns":["date","close","enter_tag"],"index":[],"data":[]}')
    assert len(frame) == 0
    assert str(frame["date"].dtype) == "datetime64[ns, UTC]"
    assert frame["close"].dtype == np.float64 and frame["enter_tag"].dtype == object


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("not json", "bad_dataframe"),
        ("[1, 2]", "bad_dataframe"),
        ('{"columns":["date"]}', "bad_dataframe"),
        ('{"columns":["date","a"],"index":[0],"data":[[1704106800000]]}', "bad_dataframe"),
        ('{"columns":["date"],"index":[0,1],"data":[[1704106800000]]}', "bad_dataframe"),
        ('{"columns":["date","date"],"index":[0],"data":[[1,2]]}', "bad_dataframe"),
        ('{"columns":["date"],"index":[0],"data":[["yesterday"]]}', "bad_dataframe"),
        ('{"columns":["date"],"index":[0],"data":[[1e300]]}', "bad_dataframe"),
        ('{"columns":["date"],"index":[0],"data":["abc"]}', "bad_dataframe"),
        ('{"columns":["close"],"index":[0],"data":[[1.0]]}', "missing_date"),
        ('{"columns":["date","close"],"index":[0],"data":[[null,1.0]]}', "missing_date"),
    ],
)
def test_malformed_frames_raise_wire_errors(text, kind):
    with pytest.raises(WireError) as info:
        decode_frame_json(text)
    assert info.value.kind == kind
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(
    "wrapper",
    [None, {"__type__": "series", "__value__": "{}"}, {"__type__": "dataframe", "__value__": 5}, "text"],
)
def test_bad_wrappers(wrapper):
    with pytest.raises(WireError) as info:
        decode_frame(wrapper)
    assert info.value.kind == "bad_dataframe"


def test_inner_json_is_what_json_module_reads_back():
    # the inner text must be plain JSON (no NaN literals) so strict parsers on the other side accept it
    frame = tail_frame()
    frame.loc[148, "open"] = np.nan
    parsed = json.loads(encode_frame_json(frame), parse_constant=lambda c: pytest.fail(f"literal {c}"))
    assert parsed["data"][0][1] is None


def test_datetime_index_is_encoded_as_epoch_ms():
    frame = pd.DataFrame({"date": [T0], "x": [1.5]}, index=pd.DatetimeIndex([T1]))
    assert encode_frame_json(frame) == (
        b'{"columns":["date","x"],"index":[1704107100000],"data":[[1704106800000,1.5]]}'
    )


def test_freqtrade_style_consumer_reads_our_encoding():
    """freqtrade decodes with ``pandas.read_json(orient="split")`` and then converts ``date`` from ms."""
    from io import StringIO

    frame = tail_frame()
    theirs = pd.read_json(StringIO(encode_frame_json(frame).decode()), orient="split")
    theirs["date"] = pd.to_datetime(theirs["date"], unit="ms", utc=True)
    assert list(theirs.index) == [148, 149]
    assert list(theirs["date"]) == [T0, T1]
    # pandas' default (non-precise) float parser keeps ~11 significant digits: still 5 orders of magnitude
    # better than freqtrade's own 10-decimal encoding of 0.000012345678901234 (0.0000123457)
    assert np.allclose(theirs["open"], frame["open"], rtol=1e-10, atol=0)
    assert np.isnan(theirs["rsi"].iloc[0]) and theirs["rsi"].iloc[1] == 55.5
    assert list(theirs["enter_tag"]) == [None, "dip"]
    assert list(theirs["is_green"]) == [True, False]


def test_short_and_long_frame_paths_produce_the_same_cells():
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-01 11:00", None, "2024-01-01 11:10"], utc=True),
            "naive": pd.to_datetime(["2024-01-01 11:00", "2024-01-01 11:05", None]),
            "f": [1.5, np.nan, np.inf],
            "f32": np.array([0.1, 2, 3], dtype=np.float32),
            "i": [1, 2, 3],
            "b": [True, False, True],
            "tag": ["a", None, np.nan],
            "cat": pd.Categorical(["x", "y", None]),
            "nullable": pd.array([1, None, 3], dtype="Int64"),
            "text": pd.array(["s", None, "u"], dtype="string"),
            "span": pd.to_timedelta(["1min", None, "2s"]),
        }
    )
    matrix_rows = _rows_by_matrix(frame)  # (compared as JSON: NaN != NaN in Python lists)
    assert orjson.dumps(matrix_rows, default=json_default) == orjson.dumps(
        _rows_by_columns(frame), default=json_default
    )
    long = pd.concat([frame] * 30, ignore_index=True)  # above the matrix threshold
    short_json = json.loads(encode_frame_json(frame))
    long_json = json.loads(encode_frame_json(long))
    assert long_json["data"][:3] == short_json["data"]
    assert short_json["data"][1] == [None, 1704107100000, None, 2.0, 2, False, None, "y", None, None, None]


@pytest.mark.parametrize("row", range(6))
def test_a_broadcast_row_decodes_as_the_same_row_of_a_long_frame(row):
    """Few-row frames decode their numeric columns in one step; every cell and dtype must equal the
    column-by-column decode that long frames take."""
    cells = [
        [1704106800000, 1.5, 2, None, 0, None, True, "x", 1],
        [1704107100000, 2, 2.5, 3.25, 1, "dip", False, 4, 2],
        [1704107400000, None, None, None, 0, None, True, None, 3],
        [1704107700000, 1e-12, -0.0, 1e300, 1, "tag", False, "y", 4],
        [1704108000000, 7, 8, 9, 0, None, True, [1, 2], 5],
        [1704108300000, float("nan"), 0.1, 0.2, 1, None, None, "z", 6],
    ]
    columns = ["date", "open", "close", "rsi", "enter_long", "enter_tag", "flag", "mixed", "count"]
    long_rows = cells * 4  # 24 rows: above the few-rows threshold
    dates = [1704106800000 + i * 300000 for i in range(len(long_rows))]
    long_rows = [[dates[i], *r[1:]] for i, r in enumerate(long_rows)]

    def decode(rows):
        return decode_frame_json(json.dumps({"columns": columns, "data": rows}), int_columns=("count",))

    long = decode(long_rows)
    for r in (row, row + 6):
        one = decode([long_rows[r]])
        expected = long.iloc[[r]].reset_index(drop=True)
        same = ["date", "open", "close", "rsi", "enter_long", "count"]  # one type of cell in every row
        pd.testing.assert_frame_equal(one[same], expected[same], check_exact=True)
        assert one["enter_tag"].tolist() == expected["enter_tag"].tolist()
        assert one["date"].tolist() == expected["date"].tolist()


def test_few_rows_of_numbers_with_nulls_and_whole_numbers_are_float64():
    text = '{"columns":["date","a","b","c"],"data":[[1704106800000,1,null,2.5],[1704107100000,null,null,3]]}'
    frame = decode_frame_json(text)
    assert list(frame.dtypes.astype(str)) == ["datetime64[ns, UTC]", "float64", "float64", "float64"]
    assert frame["a"].tolist()[0] == 1.0 and np.isnan(frame["a"].iloc[1])
    assert frame["b"].isna().all() and frame["c"].tolist() == [2.5, 3.0]
    assert frame["date"].tolist() == [T0, T1]
    a = frame["a"].to_numpy()
    a[0] = 99.0  # each column owns its values: writing one changes no other
    assert frame["c"].tolist() == [2.5, 3.0]
