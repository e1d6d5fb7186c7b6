"""Outcome values, key names, stoploss encoding and dead-letter records."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tradecast.signals.outcome import (
    EXCERPT_BYTES,
    SignalOutcome,
    dead_letter_record,
    decode_stoploss,
    encode_stoploss,
    excerpt,
    outcome_record,
    outcomes_stream,
    stoploss_key,
    validate_stoploss_ratio,
)
from tradecast.signals.schema import parse_signal

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_outcome_constructors() -> None:
    assert SignalOutcome.executed(7) == SignalOutcome("executed", None, 7)
    assert SignalOutcome.duplicate().status == "duplicate"
    assert SignalOutcome.rejected("no open trade") == SignalOutcome("rejected", "no open trade")
    assert SignalOutcome.ignored() == SignalOutcome("ignored", "hold")


def test_key_names_derive_from_the_stream() -> None:
    assert stoploss_key("tradecast:signals") == "tradecast:signals:stoploss"
    assert outcomes_stream("tradecast:signals") == "tradecast:signals:outcomes"


@pytest.mark.parametrize("ratio", [0, -1, 0.05, -1.5, "x", True, None])
def test_stoploss_ratio_must_be_between_minus_one_and_zero(ratio: object) -> None:
    with pytest.raises(ValueError, match="between -1 and 0"):
        validate_stoploss_ratio(ratio)


def test_stoploss_encoding_round_trip_and_lenient_decoding() -> None:
    value = encode_stoploss(-0.03, AT)
    assert json.loads(value) == {"ratio": -0.03, "set_at": "2026-01-01T00:00:00+00:00"}
    assert decode_stoploss(value) == -0.03
    assert decode_stoploss(b"-0.05") == -0.05  # as redis-cli HSET would write it
    assert decode_stoploss(b"nonsense") is None
    assert decode_stoploss('{"ratio": 3}') is None


def test_excerpt_is_bounded() -> None:
    assert excerpt(b"short") == "short"
    assert excerpt(None) == ""
    big = excerpt(b"x" * 10_000_000)
    assert big == "x" * EXCERPT_BYTES + "...[10000000 bytes]"


def test_records() -> None:
    signal = parse_signal(
        {
            "action": "buy",
            "pair": "BTC/USDT",
            "signal_type": "test",
            "confidence": 1,
            "timestamp": "2026-01-01T00:00:00Z",
        },
        now=AT,
    )
    dead = dead_letter_record("s1", "1-0", "expired", "too old", b"{}", AT, "bot-1")
    assert dead == {
        "signal_id": "s1",
        "reason": "expired",
        "detail": "too old",
        "entry": "{}",
        "entry_id": "1-0",
        "rejected_at": AT.isoformat(),
        "consumer": "bot-1",
    }
    record = outcome_record("s1", "1-0", "executed", "executed", "", 5, signal, AT)
    assert record["trade_id"] == "5" and record["pair"] == "BTC/USDT" and record["action"] == "buy"
    assert outcome_record("s2", "2-0", "rejected", "invalid", "bad", None, None, AT)["pair"] == ""


def test_redact_url_hides_the_password_only() -> None:
    from tradecast.signals.outcome import redact_url

    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert redact_url("redis://:s3cret@redis.example:6380/2") == "redis://:***@redis.example:6380/2"
    assert redact_url("rediss://bot:s3cret@host/0") == "rediss://bot:***@host/0"
