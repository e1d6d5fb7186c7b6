"""Frames through freqtrade's own codec (``ft_scripts/ft_codec.py``) in both directions, edge cases included.

* ours -> theirs: ``encode_message`` text decoded the way freqtrade's consumer does it (hybrid-JSON
  serializer, pydantic message validation): nothing refused, same columns, index, dates; floats equal to ~1
  ulp (we send full precision); NaN and ±inf arrive as null/NaN.
* theirs -> ours: freqtrade's producer serialisation decoded by ``decode_message``: same columns and dates,
  floats within freqtrade's 10 decimals, signal and tag columns usable.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.interop.conftest import FtProcess, FtStarter
from tradecast.wire import AnalyzedDfMessage, decode_message, encode_message

pytestmark = pytest.mark.integration

LA = datetime(2026, 11, 20, 23, 2, 9, 847130, tzinfo=UTC)
DATES = pd.date_range("2026-11-20 10:00", periods=4, freq="5min", tz="UTC")


def cases() -> dict[str, pd.DataFrame]:
    typical = pd.DataFrame({
        "date": DATES,
        "open": [0.4153840374123, 101.12345678901234, 99.99999999999, 100.5],
        "close": [0.41538403741, 101.2, 100.000000000001, 100.25],
        "volume": [10.0, 20.0, 0.0, 1234.0],
        "rsi": [np.nan, np.nan, 31.234567890123, 45.5],
        "enter_long": [0, 1, 0, 1],
        "exit_long": [np.nan, 0.0, 1.0, 0.0],
        "enter_tag": [None, "rsi_cross", 'quoted "tag" ü🚀', None],
        "flag": [True, False, True, True],
    })
    extremes = pd.DataFrame({
        "date": DATES,
        "tiny": [1e-11, 0.000012345678, 1.5e-7, -2.5e-9],
        "big": [1e20, 123456789.123456789, -9.87654321e15, 42.0],
        "special": [np.inf, -np.inf, np.nan, -0.0],
    })
    one_row = pd.DataFrame({"date": DATES[:1], "open": [2.0], "close": [3.0], "enter_long": [1.0],
                            "enter_tag": [None]})
    all_null = pd.DataFrame({"date": DATES[:2], "close": [1.5, 2.5], "ind": [np.nan, np.nan],
                             "exit_tag": [None, None]})
    tail = typical.iloc[2:].copy()  # a tail keeps the producer's row labels (2, 3)
    return {"typical": typical, "extremes": extremes, "one_row": one_row, "all_null": all_null, "tail": tail,
            "empty": pd.DataFrame()}


def spec_of(frame: pd.DataFrame) -> dict[str, Any]:
    columns = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            kind, values = "date", [int(v.value // 1_000_000) for v in series]
        elif pd.api.types.is_bool_dtype(series.dtype):
            kind, values = "bool", [bool(v) for v in series]
        elif pd.api.types.is_integer_dtype(series.dtype):
            kind, values = "int", [int(v) for v in series]
        elif pd.api.types.is_float_dtype(series.dtype):
            kind, values = "float", [None if math.isnan(v) else repr(float(v)) for v in series]
        else:
            kind, values = "str", list(series)
        columns.append({"name": name, "kind": kind, "values": values})
    return {"columns": columns, "index": [int(i) for i in frame.index]}


def float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def expect_floats(original: pd.Series) -> list[float | None]:
    """What a JSON peer can receive: finite floats; NaN and ±inf become null."""
    return [None if not math.isfinite(v) else float(v) for v in original.astype(float)]


async def test_frames_through_freqtrades_codec_both_ways(ft_process: FtStarter) -> None:
    codec = await ft_process("ft_codec.py")  # one process for every case (its start costs ~2 s)
    for case in cases():
        await check_ours_in_freqtrade(codec, case)
        await check_freqtrades_in_ours(codec, case)


async def check_ours_in_freqtrade(ft_codec: FtProcess, case: str) -> None:
    frame = cases()[case]
    text = encode_message(AnalyzedDfMessage("BTC/USDT", "5m", "spot", frame, LA)).decode()
    got = await ft_codec.command({"cmd": "decode", "text": text})
    assert got["ok"], f"{case}: freqtrade refused our frame: {got['error']}"
    assert got["key"] == ["BTC/USDT", "5m", "spot"]
    assert datetime.fromisoformat(got["la"]) == LA
    theirs = {c["name"]: c for c in got["frame"]["columns"]}
    assert list(theirs) == [str(c) for c in frame.columns], case
    if frame.empty:
        return
    assert got["frame"]["index"] == [int(i) for i in frame.index], case
    for name in frame.columns:
        column, series = theirs[name], frame[name]
        if name == "date":
            assert column["dtype"].endswith("tz=UTC"), column["dtype"]
            assert column["values"] == [int(v.value // 1_000_000) for v in series], case
        elif series.dtype == object:
            assert [None if v is None else v for v in column["values"]] == list(series), name
        elif series.dtype == bool:
            assert column["values"] == list(series), name
        else:
            want = expect_floats(series)
            have = [float_or_none(v) for v in column["values"]]
            for w, h in zip(want, have, strict=True):
                assert (w is None and h is None) or (h is not None and w is not None and math.isclose(
                    h, w, rel_tol=1e-15, abs_tol=0)), f"{case}.{name}: {h!r} != {w!r}"


async def check_freqtrades_in_ours(ft_codec: FtProcess, case: str) -> None:
    frame = cases()[case]
    got = await ft_codec.command({"cmd": "encode", "frame": spec_of(frame), "key": ["ETH/USDT", "1h", "spot"],
                                  "la": LA.isoformat()})
    assert got["ok"], f"{case}: {got}"
    message = decode_message(got["text"].encode())
    assert isinstance(message, AnalyzedDfMessage)
    assert (message.pair, message.timeframe, str(message.candle_type)) == ("ETH/USDT", "1h", "spot")
    assert message.last_analyzed == LA
    ours = message.frame
    assert [str(c) for c in ours.columns] == [str(c) for c in frame.columns], case
    if frame.empty:
        assert ours.empty
        return
    assert list(ours.index) == list(frame.index), case
    for name in frame.columns:
        series = frame[name]
        if name == "date":
            assert str(ours[name].dt.tz) == "UTC"
            assert list(ours[name]) == list(series), case
        elif series.dtype == object:
            assert [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in ours[name]] == \
                list(series), name
        elif series.dtype == bool:
            assert [bool(v) for v in ours[name]] == list(series), name
        else:
            want = expect_floats(series)
            have = [float_or_none(v) for v in ours[name]]
            for w, h in zip(want, have, strict=True):
                # freqtrade writes 10 decimals (pandas' double_precision=10); large values keep 10 significant
                assert (w is None and h is None) or (h is not None and w is not None and math.isclose(
                    h, w, rel_tol=1e-9, abs_tol=5.1e-11)), f"{case}.{name}: {h!r} != {w!r}"
