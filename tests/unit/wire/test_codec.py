"""Message envelopes both ways, request rules (fact sheet 3.1) and every WireError kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from tradecast.core.errors import WireError
from tradecast.wire import (
    AnalyzedDfMessage,
    AnalyzedDfRequest,
    CandleType,
    EventMessage,
    ExceptionMessage,
    MessageType,
    NewCandleMessage,
    SubscribeRequest,
    WhitelistMessage,
    WhitelistRequest,
    decode_message,
    decode_request,
    encode_message,
    parse_last_analyzed,
)

LA = datetime(2026, 11, 20, 23, 2, 9, 847130, tzinfo=UTC)
EMPTY_DF_MESSAGE = (
    b'{"type":"analyzed_df","data":{"key":["ETH/USDT:USDT","1h","futures"],'
    b'"df":{"__type__":"dataframe","__value__":"{\\"columns\\":[],\\"index\\":[],\\"data\\":[]}"},'
    b'"la":"2026-11-20T23:00:00+00:00"}}'
)
ONE_ROW_MESSAGE = (
    b'{"type":"analyzed_df","data":{"key":["BTC/USDT","5m","spot"],'
    b'"df":{"__type__":"dataframe","__value__":"{\\"columns\\":[\\"date\\",\\"close\\",\\"enter_tag\\"],'
    b'\\"index\\":[149],\\"data\\":[[1704106800000,0.000012345678901234,\\"dip\\"]]}"},'
    b'"la":"2026-11-20T23:02:09.847130+00:00"}}'
)


def one_row_message() -> AnalyzedDfMessage:
    frame = pd.DataFrame(
        {
            "date": [pd.Timestamp("2024-01-01 11:00", tz="UTC")],
            "close": [0.000012345678901234],
            "enter_tag": ["dip"],
        },
        index=[149],
    )
    return AnalyzedDfMessage("BTC/USDT", "5m", CandleType.SPOT, frame, LA)


# ------------------------------------------------------------------------------------------------ encode


def test_analyzed_df_envelope_exact_bytes():
    assert encode_message(one_row_message()) == ONE_ROW_MESSAGE


def test_empty_frame_envelope_and_la_without_fraction():
    msg = AnalyzedDfMessage(
        "ETH/USDT:USDT", "1h", "futures", pd.DataFrame(), datetime(2026, 11, 20, 23, tzinfo=UTC)
    )
    assert encode_message(msg) == EMPTY_DF_MESSAGE


def test_la_is_rendered_in_utc_with_offset():
    tz = timezone(timedelta(hours=2))
    msg = AnalyzedDfMessage("A/B", "5m", "spot", pd.DataFrame(), datetime(2026, 1, 1, 2, 0, tzinfo=tz))
    assert encode_message(msg).endswith(b'"la":"2026-01-01T00:00:00+00:00"}}')


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        (WhitelistMessage(("BTC/USDT", "ETH/USDT")), b'{"type":"whitelist","data":["BTC/USDT","ETH/USDT"]}'),
        (
            NewCandleMessage("BTC/USDT", "5m", "spot"),
            b'{"type":"new_candle","data":["BTC/USDT","5m","spot"]}',
        ),
        (
            ExceptionMessage("Invalid request type: foo"),
            b'{"type":"exception","data":"Invalid request type: foo"}',
        ),
        (EventMessage(MessageType.STATUS, {"status": "running"}), b'{"type":"status","status":"running"}'),
        (
            EventMessage("entry", {"trade_id": 1, "pair": "BTC/USDT", "open_date": LA, "enter_tag": None}),
            b'{"type":"entry","trade_id":1,"pair":"BTC/USDT","open_date":"2026-11-20T23:02:09.847130+00:00",'
            b'"enter_tag":null}',
        ),
        (
            SubscribeRequest((MessageType.WHITELIST, MessageType.ANALYZED_DF)),
            b'{"type":"subscribe","data":["whitelist","analyzed_df"]}',
        ),
        (WhitelistRequest(), b'{"type":"whitelist"}'),
        (AnalyzedDfRequest(), b'{"type":"analyzed_df","data":{"limit":1500,"pair":null}}'),
        (AnalyzedDfRequest(4, "BTC/USDT"), b'{"type":"analyzed_df","data":{"limit":4,"pair":"BTC/USDT"}}'),
        (AnalyzedDfRequest(None, None), b'{"type":"analyzed_df","data":{"limit":0,"pair":null}}'),
    ],
)
def test_encode_envelopes(msg, expected):
    assert encode_message(msg) == expected


def test_event_fields_with_numpy_values_encode():
    msg = EventMessage("exit_fill", {"profit_ratio": np.float64(0.5), "amount": np.int64(3)})
    assert encode_message(msg) == b'{"type":"exit_fill","profit_ratio":0.5,"amount":3}'


def test_encoding_is_deterministic():
    assert encode_message(one_row_message()) == encode_message(one_row_message())


def test_models_are_immutable_and_validate():
    msg = EventMessage("status", {"status": "x"})
    with pytest.raises(TypeError):
        msg.fields["status"] = "y"  # type: ignore[index]
    with pytest.raises(AttributeError):
        msg.type = MessageType.WARNING  # type: ignore[misc]
    with pytest.raises(ValueError):
        EventMessage("analyzed_df", {})
    with pytest.raises(ValueError):
        EventMessage("status", {"type": "status"})
    with pytest.raises(ValueError):
        NewCandleMessage("A/B", "5m", "perpetual")


def test_request_select_keeps_a_tail():
    frame = pd.DataFrame({"x": range(10)})
    assert list(AnalyzedDfRequest(3).select(frame).index) == [7, 8, 9]
    assert len(AnalyzedDfRequest(None).select(frame)) == 10
    assert len(AnalyzedDfRequest(1500).select(frame)) == 10


# ------------------------------------------------------------------------------------------------ decode


def test_decode_analyzed_df_round_trip():
    msg = decode_message(ONE_ROW_MESSAGE)
    assert isinstance(msg, AnalyzedDfMessage)
    assert msg.key == ("BTC/USDT", "5m", CandleType.SPOT)
    assert msg.last_analyzed == LA
    assert msg.frame["close"].iloc[0] == 0.000012345678901234
    assert list(msg.frame.index) == [149]
    assert encode_message(msg) == ONE_ROW_MESSAGE


def test_decode_empty_frame_message_and_str_input():
    msg = decode_message(EMPTY_DF_MESSAGE.decode())
    assert isinstance(msg, AnalyzedDfMessage) and msg.frame.empty and msg.candle_type is CandleType.FUTURES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"type":"whitelist","data":["A/B"]}', WhitelistMessage(("A/B",))),
        ('{"type":"new_candle","data":["A/B","1M","mark"]}', NewCandleMessage("A/B", "1M", "mark")),
        (
            '{"type":"exception","data":"Error processing request"}',
            ExceptionMessage("Error processing request"),
        ),
        ('{"type":"warning","status":"careful"}', EventMessage("warning", {"status": "careful"})),
        ('{"type":"liquidation_warning"}', EventMessage("liquidation_warning", {})),
        (
            '{"type":"entry_fill","trade_id":3,"data":null}',
            EventMessage("entry_fill", {"trade_id": 3, "data": None}),
        ),
    ],
)
def test_decode_other_messages(raw, expected):
    assert decode_message(raw) == expected


def test_decode_accepts_nan_literal_in_outer_json():
    msg = decode_message('{"type":"exit","profit_ratio":NaN}')
    assert isinstance(msg, EventMessage) and np.isnan(msg.fields["profit_ratio"])


def _df_message(
    df_value: str, la: object = '"2026-11-20T23:00:00+00:00"', key: str = '["A/B","5m","spot"]'
) -> str:
    return (
        f'{{"type":"analyzed_df","data":{{"key":{key},'
        f'"df":{{"__type__":"dataframe","__value__":{df_value}}},"la":{la}}}}}'
    )


@pytest.mark.parametrize(
    ("raw", "kind", "max_bytes"),
    [
        (b'{"type":"whitelist","data":[]}', "oversize", 10),
        ("{type: whitelist}", "not_json", None),
        (b"\xff\xfe{}", "not_json", None),
        ("", "not_json", None),
        ('{"type":"whitelist","data":["A/B"', "truncated", None),
        ('{"type":"whitel', "truncated", None),
        ("[1,2]", "not_object", None),
        ('"text"', "not_object", None),
        ('{"type":"new_type","data":1}', "unknown_type", None),
        ('{"data":[]}', "bad_envelope", None),
        ('{"type":5}', "bad_envelope", None),
        ('{"type":"whitelist"}', "bad_envelope", None),
        ('{"type":"whitelist","data":"A/B"}', "bad_envelope", None),
        ('{"type":"whitelist","data":[1]}', "bad_envelope", None),
        ('{"type":"exception","data":{"x":1}}', "bad_envelope", None),
        ('{"type":"new_candle","data":["A/B","5m"]}', "bad_envelope", None),
        ('{"type":"new_candle","data":["A/B","5m","perp"]}', "bad_envelope", None),
        ('{"type":"new_candle","data":["A/B","5x","spot"]}', "bad_envelope", None),
        ('{"type":"analyzed_df","data":[1]}', "bad_envelope", None),
        ('{"type":"analyzed_df","data":{"key":["A/B","5m","spot"],"la":0}}', "bad_envelope", None),
        (
            _df_message('"{\\"columns\\":[],\\"index\\":[],\\"data\\":[]}"', la='"yesterday"'),
            "bad_envelope",
            None,
        ),
        (_df_message('"{\\"columns\\":[],\\"index\\":[],\\"data\\":[]}"', la="true"), "bad_envelope", None),
        (
            _df_message('"{\\"columns\\":[],\\"index\\":[],\\"data\\":[]}"', key='["A/B","5m"]'),
            "bad_envelope",
            None,
        ),
        (_df_message('"{\\"columns\\":[\\"a\\"]}"'), "bad_dataframe", None),
        (_df_message('"{\\"columns\\":[\\"a\\"],\\"index\\":[], \\"da"'), "bad_dataframe", None),
        (_df_message('{"columns":[],"index":[],"data":[]}'), "bad_dataframe", None),
        (_df_message('"{\\"columns\\":[\\"a\\"],\\"index\\":[0],\\"data\\":[[1]]}"'), "missing_date", None),
    ],
)
def test_every_wire_error_kind(raw, kind, max_bytes):
    with pytest.raises(WireError) as info:
        decode_message(raw, max_bytes)
    assert info.value.kind == kind
    assert len(str(info.value)) < 200


def test_error_message_never_contains_the_whole_payload():
    secret = "x" * 500
    with pytest.raises(WireError) as info:
        decode_message('{"type":"' + secret + '"}')
    assert secret not in str(info.value)


def test_size_limit_passes_at_exactly_the_limit():
    raw = b'{"type":"whitelist","data":[]}'
    assert decode_message(raw, len(raw)) == WhitelistMessage(())
    with pytest.raises(WireError):
        decode_message(raw, len(raw) - 1)


# ----------------------------------------------------------------------------------------------- la parse


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-20T23:02:09.847130+00:00",
        "2026-11-20 23:02:09.847130+00:00",
        "2026-11-20T23:02:09.847130Z",
        "2026-11-21T01:02:09.847130+02:00",
        "2026-11-20T23:02:09.847130",
        1795215729.84713,
        1795215729847.13,
        "1795215729.84713",
    ],
)
def test_parse_last_analyzed_forms(value):
    parsed = parse_last_analyzed(value)
    assert parsed.tzinfo is not None
    assert abs(parsed - LA) < timedelta(milliseconds=1)


@pytest.mark.parametrize("value", [None, True, "soon", float("nan"), [1], 1e30])
def test_parse_last_analyzed_rejects(value):
    with pytest.raises(ValueError):
        parse_last_analyzed(value)


# ---------------------------------------------------------------------------------------------- requests


def test_decode_the_three_initial_requests():
    assert decode_request('{"type":"subscribe","data":["whitelist","analyzed_df"]}') == SubscribeRequest(
        (MessageType.WHITELIST, MessageType.ANALYZED_DF)
    )
    assert decode_request('{"type":"whitelist"}') == WhitelistRequest()
    assert decode_request('{"type":"analyzed_df","data":{"limit":1500,"pair":null}}') == AnalyzedDfRequest(
        1500
    )


def test_subscribe_keeps_known_topics_and_reports_unknown_ones():
    req = decode_request('{"type":"subscribe","data":["analyzed_df","future_topic",7,"analyzed_df","entry"]}')
    assert req == SubscribeRequest((MessageType.ANALYZED_DF, MessageType.ENTRY), ("future_topic", "7"))


def test_subscribe_empty_list_is_an_empty_subscription():
    assert decode_request('{"type":"subscribe","data":[]}') == SubscribeRequest(())


@pytest.mark.parametrize(
    ("data", "limit", "pair"),
    [
        ("null", None, None),
        ("{}", None, None),
        ('""', None, None),
        ('{"pair":"A/B"}', 1500, "A/B"),
        ('{"limit":4,"pair":"A/B"}', 4, "A/B"),
        ('{"limit":99999}', 1500, None),
        ('{"limit":0}', None, None),
        ('{"limit":4.9}', 4, None),
        ('{"limit":0.5}', None, None),
        ('{"limit":10,"pair":""}', 10, None),
        ('{"limit":10,"extra":1}', 10, None),
    ],
)
def test_analyzed_df_request_limit_rules(data, limit, pair):
    assert decode_request(f'{{"type":"analyzed_df","data":{data}}}') == AnalyzedDfRequest(limit, pair)


def test_analyzed_df_request_without_data_key_means_everything():
    assert decode_request('{"type":"analyzed_df"}') == AnalyzedDfRequest(None, None)


@pytest.mark.parametrize(
    "data",
    [
        '{"limit":null}',
        '{"limit":"100"}',
        '{"limit":true}',
        '{"limit":-5}',
        '{"limit":NaN}',
        '{"limit":[1]}',
        '{"limit":5,"pair":["A/B"]}',
        '["A/B"]',
        '"A/B"',
    ],
)
def test_bad_analyzed_df_requests(data):
    with pytest.raises(WireError) as info:
        decode_request(f'{{"type":"analyzed_df","data":{data}}}')
    assert info.value.kind == "bad_request"


@pytest.mark.parametrize("data", ['"whitelist"', "null", '{"a":1}'])
def test_bad_subscribe_requests(data):
    with pytest.raises(WireError) as info:
        decode_request(f'{{"type":"subscribe","data":{data}}}')
    assert info.value.kind == "bad_request"


def test_unknown_request_type_names_it_like_freqtrade():
    with pytest.raises(WireError) as info:
        decode_request('{"type":"new_candle","data":null}')
    assert info.value.kind == "unknown_type"
    assert str(info.value) == "Invalid request type: new_candle"  # bare, like freqtrade 2026.9


def test_request_size_limit():
    with pytest.raises(WireError) as info:
        decode_request('{"type":"whitelist"}', max_bytes=5)
    assert info.value.kind == "oversize"
