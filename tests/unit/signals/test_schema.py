"""The signal schema, the entry decoding, the acceptance rules and the rate limiter (all pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from tradecast.core.clock import FakeClock
from tradecast.core.errors import WireError
from tradecast.signals.schema import (
    RateLimiter,
    Signal,
    SignalInvalid,
    check_signal,
    claimed_id,
    decode_entry,
    parse_signal,
    screen_entry,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
GOOD = {
    "action": "buy",
    "pair": "BTC/USDT",
    "signal_type": "anomaly",
    "confidence": 0.95,
    "timestamp": "2026-01-01T11:59:58Z",
    "metadata": {"detector": "statistical_detector"},
}


def parse(**changes: object) -> Signal:
    data = {**GOOD, **changes}
    return parse_signal({k: v for k, v in data.items() if v is not ...}, now=NOW)


def invalid(**changes: object) -> SignalInvalid:
    with pytest.raises(SignalInvalid) as info:
        parse(**changes)
    return info.value


def test_good_signal_from_json_bytes_round_trips() -> None:
    signal = parse_signal(json.dumps(GOOD).encode(), now=NOW)
    assert signal.action == "buy" and signal.pair == "BTC/USDT" and signal.confidence == 0.95
    assert signal.timestamp == datetime(2026, 1, 1, 11, 59, 58, tzinfo=UTC)
    assert signal.id is None and signal.metadata == {"detector": "statistical_detector"}
    again = parse_signal(signal.to_json(), now=NOW)
    assert again == signal
    assert json.loads(signal.to_json())["timestamp"] == "2026-01-01T11:59:58Z"


def test_optional_fields_and_other_zones() -> None:
    signal = parse(id="abc-1", ttl_s=30, stake_amount=100, timestamp="2026-01-01T13:59:00+02:00")
    assert (signal.id, signal.ttl_s, signal.stake_amount) == ("abc-1", 30.0, 100.0)
    assert signal.timestamp == datetime(2026, 1, 1, 11, 59, tzinfo=UTC)
    assert parse(metadata=...).metadata == {}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"confidence": 1.5}, "confidence: must be between 0 and 1, got 1.5"),
        ({"confidence": -0.1}, "confidence: must be between 0 and 1, got -0.1"),
        ({"confidence": "0.9"}, "confidence: must be a number, got string"),
        ({"confidence": True}, "confidence: must be a number, got boolean"),
        ({"confidence": float("nan")}, "confidence: must be a finite number, got nan"),
        ({"action": "short"}, "action: must be one of buy, sell, hold, got 'short'"),
        ({"action": 1}, "action: must be a string, got number"),
        ({"signal_type": "magic"}, "signal_type: must be one of random, test, anomaly, got 'magic'"),
        ({"pair": "BTCUSDT"}, "pair: has an invalid format, got 'BTCUSDT' (expected BASE/QUOTE)"),
        ({"pair": ["BTC/USDT"]}, "pair: must be a string, got array"),
        ({"pair": ...}, "pair: is required"),
        ({"timestamp": ...}, "timestamp: is required"),
        ({"timestamp": 1767268800}, "timestamp: must be an ISO 8601 string, got number"),
        ({"timestamp": "yesterday"}, "timestamp: must be an ISO 8601 date and time, got 'yesterday'"),
        ({"metadata": "x"}, "metadata: must be an object, got string"),
        ({"ttl_s": 0}, "ttl_s: must be greater than 0, got 0"),
        ({"stake_amount": "10"}, "stake_amount: must be a number, got string"),
        ({"id": "has space"}, "id: has an invalid format, got 'has space'"),
    ],
)
def test_field_errors_name_the_field_and_the_reason(changes: dict, message: str) -> None:
    error = invalid(**changes)
    assert str(error) == message
    assert error.field == message.split(":")[0]
    assert isinstance(error, WireError) and error.kind == "invalid"


def test_unknown_field_is_rejected() -> None:
    error = invalid(price=100)
    assert error.field == "price" and error.reason.startswith("unknown field (allowed: action, pair")


def test_several_problems_are_counted() -> None:
    assert invalid(action="x", confidence=9).reason.endswith("(and 1 more problem)")


def test_timestamp_without_zone_is_rejected() -> None:
    error = invalid(timestamp="2026-01-01T11:59:58")
    assert error.field == "timestamp" and "must carry a time zone" in error.reason
    assert invalid(timestamp="2026-01-01").field == "timestamp"


def test_future_timestamp_beyond_the_skew_allowance_is_rejected() -> None:
    assert parse(timestamp="2026-01-01T12:00:04Z").timestamp > NOW  # within 5 s: clocks differ a bit
    error = invalid(timestamp="2026-01-01T12:00:30Z")
    assert str(error) == "timestamp: is 30.0 s in the future (allowed clock skew 5 s)"


def test_non_json_and_non_object_payloads() -> None:
    with pytest.raises(SignalInvalid, match=r"^signal: is not valid JSON"):
        parse_signal(b"{not json", now=NOW)
    with pytest.raises(SignalInvalid, match=r"^signal: is not valid JSON"):
        parse_signal(b"\xff\xfe", now=NOW)
    with pytest.raises(SignalInvalid, match=r"^signal: must be a JSON object, got array"):
        parse_signal("[1, 2]", now=NOW)


def test_size_limit_applies_before_parsing() -> None:
    big = json.dumps({**GOOD, "metadata": {"blob": "x" * 2000}})
    with pytest.raises(SignalInvalid, match=r"^signal: is \d+ bytes, the limit is 1000$"):
        parse_signal(big, max_bytes=1000, now=NOW)
    assert parse_signal(big, max_bytes=10_000, now=NOW).metadata["blob"] == "x" * 2000


def test_decode_entry_tradecast_layout_returns_the_json_bytes() -> None:
    assert decode_entry({b"signal": b'{"a": 1}'}) == b'{"a": 1}'
    assert decode_entry({"signal": '{"a": 1}'}) == b'{"a": 1}'


def test_decode_entry_seed_layout_decodes_numbers_and_metadata() -> None:
    fields = {k.encode(): (v if isinstance(v, str) else json.dumps(v)).encode() for k, v in GOOD.items()}
    data = decode_entry(fields)
    assert data == GOOD
    assert parse_signal(data, now=NOW).confidence == 0.95


def test_decode_entry_errors() -> None:
    with pytest.raises(SignalInvalid, match=r"^confidence: is not valid JSON, got 'high'"):
        decode_entry({b"pair": b"BTC/USDT", b"confidence": b"high"})
    with pytest.raises(SignalInvalid, match=r"^signal: the stream entry is empty"):
        decode_entry({})
    with pytest.raises(SignalInvalid, match=r"^signal: is 2000 bytes, the limit is 100$"):
        decode_entry({b"signal": b"x" * 2000}, max_bytes=100)


def test_claimed_id_of_invalid_payloads() -> None:
    assert claimed_id(b'{"id": "abc", "confidence": 7}', 1000) == "abc"
    assert claimed_id({"id": "abc"}, 1000) == "abc"
    assert claimed_id(b"{broken", 1000) is None
    assert claimed_id(b'{"id": "abc"}', 5) is None  # too big to look into
    assert claimed_id({"id": 5}, 1000) is None


# ---------------------------------------------------------------------------------------------- rules

RULES = {
    "ttl_s": 60,
    "min_confidence": 0.5,
    "allowed_types": ["test", "anomaly"],
    "tradable_pairs": {"BTC/USDT"},
}


def check(signal: Signal, now: datetime = NOW, **changes: object):
    return check_signal(signal, now, **{**RULES, **changes})


def test_accepted_signal_has_no_reason() -> None:
    assert check(parse()) is None
    assert check(parse(pair="ETH/USDT"), tradable_pairs=None) is None


@pytest.mark.parametrize(
    ("changes", "code", "detail"),
    [
        ({"signal_type": "random"}, "type_not_allowed", "signal_type random is not in test, anomaly"),
        ({"pair": "ETH/USDT"}, "pair_not_tradable", "ETH/USDT is not tradable on this bot"),
        ({"confidence": 0.4}, "low_confidence", "confidence 0.4 is below min_confidence 0.5"),
        ({"timestamp": "2026-01-01T11:58:00Z"}, "expired", "signal is 120.0 s old, its time to live is 60 s"),
        (
            {"timestamp": "2026-01-01T11:59:30Z", "ttl_s": 10},
            "expired",
            "signal is 30.0 s old, its time to live is 10 s",
        ),
    ],
)
def test_reject_reasons(changes: dict, code: str, detail: str) -> None:
    reason = check(parse(**changes))
    assert reason is not None
    assert (reason.code, reason.detail) == (code, detail)
    assert str(reason) == f"{code}: {detail}"


def test_signal_ttl_overrides_the_default_both_ways() -> None:
    signal = parse(timestamp="2026-01-01T11:58:00Z", ttl_s=300)
    assert check(signal) is None
    assert check(signal, now=NOW + timedelta(seconds=200)).code == "expired"


def test_rate_limiter_sliding_window() -> None:
    clock = FakeClock(NOW)
    limiter = RateLimiter(3, clock)
    assert [limiter.allow() for _ in range(5)] == [True, True, True, False, False]
    clock.advance(30)
    assert limiter.allow() is False
    clock.advance(30.001)  # the first three fall out of the window
    assert [limiter.allow() for _ in range(4)] == [True, True, True, False]
    assert limiter.used == 3


def test_rate_limiter_window_slides_one_by_one_and_zero_disables() -> None:
    now = [0.0]
    limiter = RateLimiter(2, lambda: now[0])
    assert limiter.allow()
    now[0] = 40
    assert limiter.allow() and not limiter.allow()
    now[0] = 61  # only the call at 0 has left the window
    assert limiter.allow() and not limiter.allow()
    unlimited = RateLimiter(0, lambda: 0.0)
    assert all(unlimited.allow() for _ in range(1000))


# ---------------------------------------------------------------------------------------------- screening

CONFIG = SimpleNamespace(
    max_entry_bytes=1000,
    signal_ttl_s=60,
    min_confidence=0.5,
    allowed_signal_types=["test", "anomaly"],
    max_signals_per_minute=1,
)


def entry(**changes: object) -> dict[bytes, bytes]:
    return {b"signal": json.dumps({**GOOD, **changes}).encode()}


def test_screen_entry_passes_a_good_signal_and_gives_id_less_ones_a_stable_id() -> None:
    screened = screen_entry("5-0", entry(), CONFIG, NOW, {"BTC/USDT"})
    assert screened.reason is None and screened.signal is not None
    assert screened.signal_id == screened.signal.id == "stream-5-0"
    assert screen_entry("5-0", entry(id="mine"), CONFIG, NOW, {"BTC/USDT"}).signal_id == "mine"


def test_screen_entry_reasons_and_payloads() -> None:
    bad = screen_entry("1-0", {b"signal": b"{nope"}, CONFIG, NOW, None)
    assert (bad.signal_id, bad.signal, bad.reason.code, bad.payload) == (
        "stream-1-0",
        None,
        "invalid",
        b"{nope",
    )
    assert bad.reason.detail.startswith("signal: is not valid JSON")
    claimed = screen_entry("2-0", entry(id="x1", confidence="high"), CONFIG, NOW, None)
    assert claimed.signal_id == "x1" and claimed.reason.detail == "confidence: must be a number, got string"
    huge = screen_entry("3-0", {b"signal": b"x" * 10_000_000}, CONFIG, NOW, None)
    assert huge.reason.detail == "signal: is 10000000 bytes, the limit is 1000"
    assert len(huge.payload) < 3000  # only a bounded excerpt travels on
    low = screen_entry("4-0", entry(id="low", confidence=0.1), CONFIG, NOW, None)
    assert low.reason.code == "low_confidence" and json.loads(low.payload)["id"] == "low"


def test_screen_entry_asks_the_rate_limiter_last() -> None:
    limiter = RateLimiter(CONFIG.max_signals_per_minute, FakeClock(NOW))
    expired = screen_entry("1-0", entry(timestamp="2026-01-01T11:00:00Z"), CONFIG, NOW, None, limiter)
    assert expired.reason.code == "expired" and limiter.used == 0
    assert screen_entry("2-0", entry(), CONFIG, NOW, None, limiter).reason is None
    flood = screen_entry("3-0", entry(), CONFIG, NOW, None, limiter)
    assert (flood.reason.code, flood.reason.detail) == (
        "rate_limited",
        "more than 1 signals in the last minute",
    )
