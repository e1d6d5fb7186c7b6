"""tradecast.v1 payloads: freqtrade's JSON compressed once, inflated with a bound (no decompression bomb)."""

from __future__ import annotations

import tracemalloc
import zlib
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from tradecast.wire import (
    AnalyzedDfMessage,
    CompactFrame,
    NewCandleMessage,
    WireError,
    compress_message,
    decode_compact,
    decode_message,
    decompress_message,
    encode_message,
    pack,
)
from tradecast.wire.compact import COMPACT_MIN_BYTES

LA = datetime(2026, 11, 20, 12, 0, 30, 123456, tzinfo=UTC)


def analysed(rows: int) -> AnalyzedDfMessage:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "date": pd.date_range("2026-11-20", periods=rows, freq="5min", tz="UTC"),
        "close": 100 + np.cumsum(rng.normal(0, 0.3, rows)), "rsi": rng.uniform(0, 100, rows),
        "enter_long": (np.arange(rows) % 7 == 0).astype(int), "enter_tag": [None] * rows,
    })
    return AnalyzedDfMessage("BTC/USDT", "5m", "spot", frame, LA)


def test_round_trip_is_freqtrades_json_inside() -> None:
    message = analysed(300)
    raw = encode_message(message)
    packed = compress_message(raw)
    assert isinstance(packed, CompactFrame) and len(packed) < len(raw) / 2
    assert decompress_message(packed, len(raw)) == raw  # byte for byte the JSON a freqtrade consumer reads
    decoded = decode_compact(packed, len(raw))
    assert isinstance(decoded, AnalyzedDfMessage) and decoded.pair == "BTC/USDT" and decoded.last_analyzed == LA
    pd.testing.assert_frame_equal(decoded.frame, decode_message(raw).frame)
    assert compress_message(raw.decode()) == packed  # text and bytes give the same payload


def test_pack_compresses_once_and_leaves_short_messages_as_text() -> None:
    short = encode_message(NewCandleMessage("BTC/USDT", "5m", "spot")).decode()
    assert len(short) < COMPACT_MIN_BYTES and pack(short) is short
    text = encode_message(analysed(1)).decode()
    packed = pack(text)
    assert isinstance(packed, CompactFrame) and zlib.decompress(packed) == text.encode()
    assert pack(packed) is packed  # already compressed: never twice


def test_limit_is_on_the_inflated_size_exactly() -> None:
    raw = encode_message(analysed(50))
    packed = compress_message(raw)
    assert decompress_message(packed, len(raw)) == raw
    assert decompress_message(packed, None) == raw
    with pytest.raises(WireError) as err:
        decode_compact(packed, len(raw) - 1)
    assert err.value.kind == "oversize" and f"limit of {len(raw) - 1} bytes" in str(err.value)


def test_decompression_bomb_is_refused_without_inflating_it() -> None:
    deflater = zlib.compressobj(9)
    zeros = bytes(1 << 20)
    bomb = b"".join(deflater.compress(zeros) for _ in range(256)) + deflater.flush()  # 256 MiB of zeros
    assert len(bomb) < 300_000
    tracemalloc.start()
    try:
        with pytest.raises(WireError) as err:
            decompress_message(bomb, 1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.kind == "oversize"
    assert peak < 8 << 20  # about the 1 MiB limit, nowhere near 256 MiB


@pytest.mark.parametrize(("mangle", "kind"), [
    (lambda p: p[: len(p) // 2], "truncated"),
    (lambda p: b"not zlib at all", "bad_compression"),
    (lambda p: p[:-1] + bytes([p[-1] ^ 0xFF]), "bad_compression"),  # Adler-32 check fails
    (lambda p: p + b"tail", "bad_compression"),
    (lambda p: b"", "truncated"),
])
def test_broken_streams_are_wire_errors(mangle, kind) -> None:
    packed = compress_message(encode_message(analysed(20)))
    with pytest.raises(WireError) as err:
        decode_compact(mangle(packed), 1 << 20)
    assert err.value.kind == kind


def test_valid_zlib_of_bad_json_is_reported_like_a_text_message() -> None:
    with pytest.raises(WireError) as err:
        decode_compact(compress_message(b'{"type":"nope","data":1}'), 1 << 20)
    assert err.value.kind == "unknown_type"
