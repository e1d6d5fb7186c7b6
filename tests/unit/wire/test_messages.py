"""Enum values are freqtrade's wire strings; models normalise their inputs."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from tradecast.wire.messages import (
    FLAT_EVENT_TYPES,
    AnalyzedDfMessage,
    CandleType,
    MessageType,
    RequestType,
    SubscribeRequest,
)


def test_message_type_values_are_freqtrades():
    assert [t.value for t in MessageType] == [
        "status", "warning", "exception", "startup", "entry", "entry_fill", "entry_cancel", "exit",
        "exit_fill", "exit_cancel", "protection_trigger", "protection_trigger_global", "liquidation_warning",
        "strategy_msg", "whitelist", "analyzed_df", "new_candle",
    ]  # fmt: skip
    assert [t.value for t in RequestType] == ["subscribe", "whitelist", "analyzed_df"]
    assert [t.value for t in CandleType] == [
        "spot", "futures", "mark", "index", "premiumIndex", "funding_rate", "open_interest",
    ]  # fmt: skip


def test_flat_event_types_exclude_the_data_messages():
    assert MessageType.ENTRY in FLAT_EVENT_TYPES and MessageType.STATUS in FLAT_EVENT_TYPES
    for kind in ("whitelist", "analyzed_df", "new_candle", "exception"):
        assert MessageType(kind) not in FLAT_EVENT_TYPES


def test_analyzed_df_message_normalises_candle_type_and_naive_la():
    msg = AnalyzedDfMessage("A/B", "5m", "premiumIndex", pd.DataFrame(), datetime(2026, 1, 1))
    assert msg.candle_type is CandleType.PREMIUMINDEX
    assert msg.last_analyzed == datetime(2026, 1, 1, tzinfo=UTC)
    assert msg.key == ("A/B", "5m", "premiumIndex")


def test_subscribe_request_defaults():
    assert SubscribeRequest((MessageType.WHITELIST,)).unknown == ()


def test_analyzed_df_message_accepts_a_pandas_timestamp_la():
    msg = AnalyzedDfMessage(
        "A/B", "5m", "spot", pd.DataFrame(), pd.Timestamp("2026-01-01 01:00", tz="Europe/Berlin")
    )
    assert type(msg.last_analyzed) is datetime
    assert msg.last_analyzed == datetime(2026, 1, 1, tzinfo=UTC)
