"""The store's append fast path gives exactly the frame the general rules give (concat, trim, fresh index)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from tradecast.core.clock import FakeClock
from tradecast.data.producer_frames import ApplyOutcome, ProducerFrameStore
from tradecast.wire import AnalyzedDfMessage, decode_message, encode_message

T0 = pd.Timestamp("2026-01-01 00:00", tz="UTC")
MINUTE = pd.Timedelta(minutes=1)
LA = datetime(2026, 1, 1, 12, tzinfo=UTC)


def candles(start: pd.Timestamp, rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "date": pd.date_range(start, periods=rows, freq="1min"),
        "close": rng.random(rows),
        "rsi": rng.random(rows),
        "enter_long": rng.integers(0, 2, rows),
        "exit_long": np.zeros(rows, dtype="int64"),
        "enter_tag": [None if i % 3 else "dip" for i in range(rows)],
    })


def message(frame: pd.DataFrame, la: datetime) -> AnalyzedDfMessage:
    return AnalyzedDfMessage("BTC/USDT", "1m", "spot", frame, la)


def wire(frame: pd.DataFrame, la: datetime) -> AnalyzedDfMessage:
    """The message as a consumer receives it (decoded from the wire, dtypes as the codec gives them)."""
    decoded = decode_message(encode_message(message(frame, la)))
    assert isinstance(decoded, AnalyzedDfMessage)
    return decoded


@pytest.fixture
def store() -> ProducerFrameStore:
    return ProducerFrameStore(max_rows=50, clock=FakeClock(LA))


@pytest.mark.parametrize("rows", [1, 3])
def test_appends_equal_concat_then_trim(store: ProducerFrameStore, rows: int) -> None:
    history = candles(T0, 50, seed=1)
    store.apply("p", message(history, LA), is_reply=True)
    expected = history
    for step in range(30):
        start = T0 + (50 + step * rows) * MINUTE
        new = candles(start, rows, seed=100 + step)
        la = LA + timedelta(seconds=step + 1)
        result = store.apply("p", wire(new, la), is_reply=False)
        assert result.outcome is ApplyOutcome.APPENDED
        received = wire(new, la).frame
        expected = pd.concat([expected, received], ignore_index=True).tail(50).reset_index(drop=True)
        got, got_la = store.get("p", "BTC/USDT", "1m")
        pd.testing.assert_frame_equal(got, expected)
        assert got_la == la
        assert got.index.equals(pd.RangeIndex(50))
    assert store.entry("p", "BTC/USDT", "1m").last_ns == expected["date"].iloc[-1].value


def test_the_stored_frame_is_private(store: ProducerFrameStore) -> None:
    store.apply("p", message(candles(T0, 50, seed=1), LA), is_reply=True)
    new = candles(T0 + 50 * MINUTE, 1, seed=2)
    store.apply("p", message(new, LA), is_reply=False)
    new.loc[0, "close"] = -1.0  # the sender's frame changes afterwards: the stored copy does not
    assert store.get("p", "BTC/USDT", "1m")[0]["close"].iloc[-1] != -1.0


def test_same_candle_again_takes_the_overwrite_rule(store: ProducerFrameStore) -> None:
    store.apply("p", message(candles(T0, 50, seed=1), LA), is_reply=True)
    again = candles(T0 + 49 * MINUTE, 1, seed=5)
    result = store.apply("p", message(again, LA + timedelta(seconds=1)), is_reply=False)
    assert result.outcome is ApplyOutcome.UPDATED
    assert store.get("p", "BTC/USDT", "1m")[0]["close"].iloc[-1] == again["close"].iloc[0]


def test_a_gap_is_still_requested(store: ProducerFrameStore) -> None:
    store.apply("p", message(candles(T0, 50, seed=1), LA), is_reply=True)
    result = store.apply("p", message(candles(T0 + 53 * MINUTE, 1, seed=2), LA), is_reply=False)
    assert result.outcome is ApplyOutcome.GAP and result.needs is not None and result.missing == 3


def test_an_older_analysis_does_not_take_the_fast_path(store: ProducerFrameStore) -> None:
    store.apply("p", message(candles(T0, 50, seed=1), LA), is_reply=True)
    result = store.apply("p", message(candles(T0 + 50 * MINUTE, 1, seed=2), LA - timedelta(hours=1)),
                         is_reply=False)
    assert result.outcome is ApplyOutcome.APPENDED  # the general path appends it by date
    assert store.get("p", "BTC/USDT", "1m")[1] == LA  # and keeps the newer last_analyzed


def test_removed_signals_are_removed_on_appends_too() -> None:
    store = ProducerFrameStore(max_rows=50, remove_entry_exit_signals=True, clock=FakeClock(LA))
    store.apply("p", message(candles(T0, 50, seed=1), LA), is_reply=True)
    new = candles(T0 + 50 * MINUTE, 1, seed=2)
    new["enter_long"] = 1
    store.apply("p", message(new, LA), is_reply=False)
    got = store.get("p", "BTC/USDT", "1m")[0]
    assert (got["enter_long"] == 0).all() and got["enter_tag"].isna().all()


def _append_and_compare(store: ProducerFrameStore, history: pd.DataFrame, new: pd.DataFrame) -> None:
    store.apply("p", message(history, LA), is_reply=True)
    stored = store.get("p", "BTC/USDT", "1m")[0]
    result = store.apply("p", message(new, LA), is_reply=False)
    assert result.outcome is ApplyOutcome.APPENDED
    expected = pd.concat([stored, new], ignore_index=True).tail(50).reset_index(drop=True)
    pd.testing.assert_frame_equal(store.get("p", "BTC/USDT", "1m")[0], expected, check_exact=True)


def test_a_stored_tag_column_with_nan_appends_as_concat_does(store: ProducerFrameStore) -> None:
    history = candles(T0, 50, seed=1)
    history["enter_tag"] = [np.nan if i % 2 else "dip" for i in range(50)]  # a missing value other than None
    _append_and_compare(store, history, candles(T0 + 50 * MINUTE, 1, seed=2))
    assert store.entry("p", "BTC/USDT", "1m").clean_objects is None  # not known clean: checked again next time


def test_an_incoming_tag_with_nan_appends_as_concat_does(store: ProducerFrameStore) -> None:
    new = candles(T0 + 50 * MINUTE, 1, seed=2)
    new["enter_tag"] = pd.Series([np.nan], dtype=object)
    _append_and_compare(store, candles(T0, 50, seed=1), new)


def test_whole_number_prices_append_as_floats(store: ProducerFrameStore) -> None:
    new = candles(T0 + 50 * MINUTE, 1, seed=2)
    new["close"] = np.array([7], dtype=np.int64)
    _append_and_compare(store, candles(T0, 50, seed=1), new)
    assert store.get("p", "BTC/USDT", "1m")[0]["close"].dtype == np.float64
    assert store.entry("p", "BTC/USDT", "1m").clean_objects is True


def test_float_flags_into_int_flags_widen_as_concat_does(store: ProducerFrameStore) -> None:
    new = candles(T0 + 50 * MINUTE, 1, seed=2)
    new["enter_long"] = new["enter_long"].astype(float)
    _append_and_compare(store, candles(T0, 50, seed=1), new)
    assert store.get("p", "BTC/USDT", "1m")[0]["enter_long"].dtype == np.float64
