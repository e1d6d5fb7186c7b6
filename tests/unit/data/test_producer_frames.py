"""ProducerFrameStore: append, overwrite, gaps, at-most-once requests, replies, out-of-order, eviction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from tradecast.core.clock import FakeClock
from tradecast.data.producer_frames import EPOCH, ApplyOutcome, GapRequest, ProducerFrameStore
from tradecast.wire import AnalyzedDfMessage, decode_message, encode_message

T0 = pd.Timestamp("2026-01-01 00:00", tz="UTC")
FIVE = pd.Timedelta(minutes=5)
LA = datetime(2026, 1, 1, 12, tzinfo=UTC)


def frame(start: pd.Timestamp, rows: int, *, freq: str = "5min", close: float = 1.0, index_from: int = 0):
    dates = pd.date_range(start, periods=rows, freq=freq)
    return pd.DataFrame(
        {
            "date": dates,
            "close": [close + i for i in range(rows)],
            "enter_long": [1.0] * rows,
            "exit_long": [0.0] * rows,
            "enter_tag": ["t"] * rows,
        },
        index=range(index_from, index_from + rows),
    )


def msg(df: pd.DataFrame, *, la: datetime = LA, tf: str = "5m", pair: str = "BTC/USDT", ctype: str = "spot"):
    return AnalyzedDfMessage(pair, tf, ctype, df, la)


def later(minutes: int) -> datetime:
    return LA + timedelta(minutes=minutes)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 1, 12, tzinfo=UTC))


@pytest.fixture
def store(clock: FakeClock) -> ProducerFrameStore:
    return ProducerFrameStore(clock=clock)


def seeded(store: ProducerFrameStore, rows: int = 200) -> pd.Timestamp:
    """Store a full frame of ``rows`` candles; return its last date."""
    result = store.apply("p", msg(frame(T0, rows, index_from=1300)), is_reply=False)
    assert result.outcome is ApplyOutcome.REPLACED and result.rows == rows
    return T0 + (rows - 1) * FIVE


def stored(store: ProducerFrameStore, pair: str = "BTC/USDT", tf: str = "5m") -> pd.DataFrame:
    df, _ = store.get("p", pair, tf)
    return df


# ------------------------------------------------------------------------------------------ incremental


def test_full_broadcast_replaces_and_resets_index(store):
    seeded(store)
    df = stored(store)
    assert list(df.index) == list(range(200))
    assert df["date"].is_monotonic_increasing


def test_next_candle_appends(store):
    last = seeded(store)
    result = store.apply("p", msg(frame(last + FIVE, 1, close=999.0), la=later(5)), is_reply=False)
    assert result.outcome is ApplyOutcome.APPENDED and result.needs is None and result.rows == 201
    df, la = store.get("p", "BTC/USDT", "5m")
    assert df["date"].iloc[-1] == last + FIVE and df["close"].iloc[-1] == 999.0
    assert la == later(5)
    assert df["close"].dtype == np.float64


def test_same_candle_overwrites_last_row(store):
    last = seeded(store)
    result = store.apply("p", msg(frame(last, 1, close=-1.0), la=later(1)), is_reply=False)
    assert result.outcome is ApplyOutcome.UPDATED and result.rows == 200
    df = stored(store)
    assert df["close"].iloc[-1] == -1.0 and df["date"].iloc[-1] == last
    assert df["close"].iloc[-2] == 1.0 + 198


def test_gap_requests_missing_plus_one_and_keeps_row_out(store):
    last = seeded(store)
    result = store.apply("p", msg(frame(last + 4 * FIVE, 1), la=later(20)), is_reply=False)
    assert result.outcome is ApplyOutcome.GAP and result.missing == 3
    assert result.needs == GapRequest("BTC/USDT", 4, "5m", "spot")
    assert stored(store)["date"].iloc[-1] == last and result.rows == 200


def test_gap_request_at_most_once_per_candle(store):
    last = seeded(store)
    gap = msg(frame(last + 4 * FIVE, 1), la=later(20))
    assert store.apply("p", gap, is_reply=False).needs is not None
    again = store.apply("p", gap, is_reply=False)
    assert again.outcome is ApplyOutcome.GAP and again.needs is None
    # the next candle is a new reason to ask
    next_candle = store.apply("p", msg(frame(last + 5 * FIVE, 1), la=later(25)), is_reply=False)
    assert next_candle.needs == GapRequest("BTC/USDT", 5, "5m", "spot")


def test_forget_requests_allows_asking_again_after_reconnect(store):
    last = seeded(store)
    gap = msg(frame(last + 4 * FIVE, 1), la=later(20))
    store.apply("p", gap, is_reply=False)
    store.forget_requests("p")
    assert store.apply("p", gap, is_reply=False).needs is not None


def test_huge_gap_requests_full_frame(store):
    last = seeded(store)
    result = store.apply("p", msg(frame(last + 2000 * FIVE, 1)), is_reply=False)
    assert result.needs == GapRequest("BTC/USDT", None, "5m", "spot") and result.missing == 1999


def test_gap_reply_fills_without_shrinking_history(store):
    last = seeded(store)
    store.apply("p", msg(frame(last + 4 * FIVE, 1), la=later(20)), is_reply=False)
    reply = store.apply("p", msg(frame(last + FIVE, 4, close=500.0), la=later(21)), is_reply=True)
    assert reply.outcome is ApplyOutcome.MERGED and reply.rows == 204
    df = stored(store)
    assert (df["date"].diff().dropna() == FIVE).all()
    assert df["close"].iloc[-1] == 503.0


# ------------------------------------------------------------------------------------- no history / loop


def test_nothing_stored_requests_full_frame_once_per_candle(store):
    first = store.apply("p", msg(frame(T0, 1)), is_reply=False)
    assert first.outcome is ApplyOutcome.NO_HISTORY
    assert first.needs == GapRequest("BTC/USDT", None, "5m", "spot")
    assert store.apply("p", msg(frame(T0, 1)), is_reply=False).needs is None
    assert stored(store).empty


def test_short_history_does_not_loop(store):
    """freqtrade bug 8.1: a producer holding < 100 rows made its consumer request forever."""
    last = T0 + 49 * FIVE
    assert store.apply("p", msg(frame(last, 1)), is_reply=False).needs is not None
    reply = store.apply("p", msg(frame(T0, 50), la=later(1)), is_reply=True)
    assert reply.outcome is ApplyOutcome.REPLACED and reply.rows == 50
    resent = store.apply("p", msg(frame(last, 1), la=later(2)), is_reply=False)
    assert resent.outcome is ApplyOutcome.UPDATED and resent.needs is None
    nxt = store.apply("p", msg(frame(last + FIVE, 1), la=later(5)), is_reply=False)
    assert nxt.outcome is ApplyOutcome.APPENDED and nxt.needs is None and nxt.rows == 51


def test_empty_reply_is_ignored_and_does_not_trigger_requests(store):
    assert store.apply("p", msg(pd.DataFrame()), is_reply=True).outcome is ApplyOutcome.EMPTY
    assert store.why_missing("p", "BTC/USDT", "5m") is not None


# ----------------------------------------------------------------------------------- replies / ordering


def test_full_reply_replaces_stored_values_and_drops_older_rows(store):
    seeded(store)
    reply = store.apply("p", msg(frame(T0 + 100 * FIVE, 150, close=7000.0), la=later(1)), is_reply=True)
    assert reply.outcome is ApplyOutcome.REPLACED and reply.rows == 150
    df = stored(store)
    assert df["date"].iloc[0] == T0 + 100 * FIVE and df["close"].iloc[0] == 7000.0


def test_out_of_order_reply_does_not_erase_newer_rows(store):
    last = seeded(store)
    store.apply("p", msg(frame(last + FIVE, 1, close=999.0), la=later(10)), is_reply=False)
    # a reply encoded before that broadcast (older la) ends at ``last`` and carries other values
    old_reply = store.apply("p", msg(frame(T0, 200, close=-50.0), la=later(5)), is_reply=True)
    assert old_reply.outcome is ApplyOutcome.MERGED
    df, la = store.get("p", "BTC/USDT", "5m")
    assert df["date"].iloc[-1] == last + FIVE and df["close"].iloc[-1] == 999.0
    assert df["close"].iloc[0] == 1.0  # stored values were newer: they win per date
    assert la == later(10) and len(df) == 201


def test_out_of_order_short_broadcast_is_merged_by_date(store):
    last = seeded(store)
    store.apply("p", msg(frame(last + FIVE, 1, close=999.0), la=later(10)), is_reply=False)
    result = store.apply("p", msg(frame(last, 1, close=-1.0), la=later(3)), is_reply=False)
    assert result.outcome is ApplyOutcome.UPDATED
    df = stored(store)
    assert df["close"].iloc[-1] == 999.0 and df["close"].iloc[-2] == 1.0 + 199


def test_trimmed_to_max_rows(clock):
    store = ProducerFrameStore(max_rows=50, clock=clock)
    store.apply("p", msg(frame(T0, 120)), is_reply=False)
    df = stored(store)
    assert len(df) == 50 and list(df.index) == list(range(50))
    assert df["date"].iloc[-1] == T0 + 119 * FIVE
    store.apply("p", msg(frame(T0 + 120 * FIVE, 1)), is_reply=False)
    df = stored(store)
    assert len(df) == 50 and df["date"].iloc[-1] == T0 + 120 * FIVE


def test_unsorted_incoming_rows_are_sorted_and_deduplicated(store):
    df = frame(T0, 120)
    shuffled = pd.concat([df.iloc[60:], df.iloc[:60], df.iloc[[5]]])
    store.apply("p", msg(shuffled), is_reply=False)
    result = stored(store)
    assert result["date"].is_monotonic_increasing and result["date"].is_unique and len(result) == 120


def test_remove_entry_exit_signals(clock):
    store = ProducerFrameStore(remove_entry_exit_signals=True, clock=clock)
    store.apply("p", msg(frame(T0, 120)), is_reply=False)
    df = stored(store)
    for column in ("enter_long", "exit_long", "enter_short", "exit_short"):
        assert (df[column] == 0).all(), column
    assert df["enter_tag"].isna().all() and df["exit_tag"].isna().all()


def test_received_frame_is_copied(store):
    source = frame(T0, 120)
    store.apply("p", msg(source), is_reply=False)
    source.loc[source.index[-1], "close"] = -5.0
    df = stored(store)
    df.loc[df.index[-1], "close"] = -6.0
    assert stored(store)["close"].iloc[-1] == 120.0


def test_monthly_timeframe_gap_uses_calendar_months(store):
    months = pd.DatetimeIndex(["2025-01-01", "2025-02-01", "2025-03-01"], tz="UTC")
    base = pd.DataFrame({"date": months, "close": [1.0, 2.0, 3.0]})
    assert store.apply("p", msg(base, tf="1M"), is_reply=True).rows == 3
    april = pd.DataFrame({"date": pd.DatetimeIndex(["2025-04-01"], tz="UTC"), "close": [4.0]})
    assert store.apply("p", msg(april, tf="1M"), is_reply=False).outcome is ApplyOutcome.APPENDED
    july = pd.DataFrame({"date": pd.DatetimeIndex(["2025-07-01"], tz="UTC"), "close": [7.0]})
    result = store.apply("p", msg(july, tf="1M"), is_reply=False)
    assert result.outcome is ApplyOutcome.GAP and result.missing == 2
    assert result.needs == GapRequest("BTC/USDT", 3, "1M", "spot")


def test_wire_decoded_updates_keep_float_dtypes(store):
    """A 1-row update decoded from the wire (whole-valued close) concatenates without dtype drift."""
    seeded(store)
    update = frame(T0 + 200 * FIVE, 1, close=2.0)
    decoded = decode_message(encode_message(msg(update)))
    assert isinstance(decoded, AnalyzedDfMessage)
    store.apply("p", decoded, is_reply=False)
    df = stored(store)
    assert df["close"].dtype == np.float64 and str(df["date"].dtype) == "datetime64[ns, UTC]"
    assert len(df) == 201


# ------------------------------------------------------------------------------------- reads / whitelist


def test_get_missing_returns_empty_frame_and_epoch(store):
    df, la = store.get("nobody", "BTC/USDT", "5m")
    assert df.empty and la == EPOCH


def test_why_missing_explains(store):
    assert "unknown producer" in store.why_missing("p", "BTC/USDT", "5m")
    store.set_whitelist("p", ["BTC/USDT", "ETH/USDT"])
    assert "not in the whitelist" in store.why_missing("p", "XRP/USDT", "5m")
    assert "no data yet" in store.why_missing("p", "ETH/USDT", "5m")
    seeded(store)
    assert store.why_missing("p", "BTC/USDT", "5m") is None
    assert "timeframe mismatch" in store.why_missing("p", "BTC/USDT", "1h")
    assert "5m/spot" in store.why_missing("p", "BTC/USDT", "5m", "futures")


def test_whitelist_per_producer(store):
    store.set_whitelist("p", ["A/B", "C/D", "A/B"])
    store.set_whitelist("q", ["E/F"])
    assert store.pairs("p") == ["A/B", "C/D"] and store.pairs("q") == ["E/F"] and store.pairs("z") == []


def test_pairs_leaving_the_whitelist_are_dropped_after_grace(store, clock):
    store.set_whitelist("p", ["BTC/USDT", "ETH/USDT"])
    seeded(store)
    store.set_whitelist("p", ["ETH/USDT"])
    clock.advance(3599)
    assert store.prune() == [] and not stored(store).empty
    clock.advance(1)
    assert store.prune() == [("p", "BTC/USDT")]
    assert stored(store).empty


def test_pair_returning_within_grace_keeps_its_frame(store, clock):
    store.set_whitelist("p", ["BTC/USDT"])
    seeded(store)
    store.set_whitelist("p", [])
    clock.advance(1800)
    store.set_whitelist("p", ["BTC/USDT"])
    clock.advance(7200)
    store.set_whitelist("p", ["BTC/USDT"])
    assert len(stored(store)) == 200


def test_explicit_evict(store):
    seeded(store)
    store.apply("p", msg(frame(T0, 120), pair="ETH/USDT"), is_reply=False)
    store.set_whitelist("p", ["BTC/USDT", "ETH/USDT"])
    assert store.evict("p", "ETH/USDT") == 1
    assert store.keys("p") == [("p", "BTC/USDT", "5m", "spot")]
    assert store.evict("p") == 1 and store.pairs("p") == [] and store.keys() == []


def test_entry_exposes_received_at(store, clock):
    seeded(store)
    clock.advance(30)
    store.apply("p", msg(frame(T0 + 200 * FIVE, 1)), is_reply=False)
    entry = store.entry("p", "BTC/USDT", "5m")
    assert entry is not None and entry.received_at == clock.now()


def test_store_is_a_producer_source_for_the_data_provider(store):
    from tradecast.data.provider import ProducerSource

    source: ProducerSource = store
    seeded(store)
    store.set_whitelist("p", ["BTC/USDT"])
    df, la = source.get_producer_df("BTC/USDT", "5m", "spot", "p")
    assert len(df) == 200 and la == LA
    assert source.get_producer_pairs("p") == ["BTC/USDT"]


def test_frame_of_a_pair_outside_the_whitelist_expires(store, clock):
    store.set_whitelist("p", ["ETH/USDT"])
    seeded(store)  # BTC/USDT is not whitelisted (sent after it left the list)
    clock.advance(3600)
    store.prune()
    assert stored(store).empty
