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
    decode_compact_batch,
    decode_message,
    decompress_message,
    decompress_messages,
    encode_message,
    join_frames,
    pack,
)
from tradecast.wire.compact import COMPACT_MIN_BYTES, MAX_STREAMS

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


# ------------------------------------------------------------------------------ batches: several streams


def batch_of(*raws: bytes) -> CompactFrame:
    return join_frames([compress_message(raw) for raw in raws])


def test_a_batch_holds_each_message_as_its_own_stream_decoded_in_order() -> None:
    raws = [encode_message(analysed(rows)) for rows in (1, 3, 2)] + [encode_message(NewCandleMessage("X/Y", "5m",
                                                                                                      "spot"))]
    packed = batch_of(*raws)
    assert isinstance(packed, CompactFrame) and packed.raw_size == sum(len(r) for r in raws)
    assert packed == b"".join(compress_message(r) for r in raws)  # a plain concatenation, nothing recompressed
    assert decompress_messages(packed, packed.raw_size) == raws
    assert decompress_messages(memoryview(packed)) == raws
    decoded = decode_compact_batch(packed, 1 << 20)
    assert [len(m.frame) for m in decoded[:3]] == [1, 3, 2] and isinstance(decoded[3], NewCandleMessage)
    single = compress_message(raws[0])
    assert join_frames([single]) is single and decompress_messages(single) == [raws[0]]
    assert decode_compact(single, 1 << 20).pair == "BTC/USDT"  # one stream: both readers agree


def test_a_stream_longer_than_one_inflater_chunk_and_any_window_size_decode() -> None:
    big = encode_message(analysed(1500))  # > 16 KiB compressed: fed to the inflater in several chunks
    small = encode_message(NewCandleMessage("BTC/USDT", "5m", "spot"))
    packed = batch_of(small, big, small)
    assert len(compress_message(big)) > 16 << 10
    assert decompress_messages(packed) == [small, big, small]
    assert zlib.decompress(compress_message(small)) == small  # a small window is still plain zlib


def test_the_limit_bounds_the_inflated_total_of_all_streams() -> None:
    raws = [encode_message(analysed(20)) for _ in range(3)]
    packed = batch_of(*raws)
    total = sum(len(r) for r in raws)
    assert decompress_messages(packed, total) == raws
    with pytest.raises(WireError) as err:
        decompress_messages(packed, total - 1)  # each stream alone fits; together they do not
    assert err.value.kind == "oversize" and f"limit of {total - 1} bytes" in str(err.value)


def test_a_bomb_among_small_streams_is_refused_without_inflating_it() -> None:
    deflater = zlib.compressobj(9)
    bomb = b"".join(deflater.compress(bytes(1 << 20)) for _ in range(256)) + deflater.flush()
    packed = compress_message(b'{"type":"whitelist","data":[]}') + bomb
    tracemalloc.start()
    try:
        with pytest.raises(WireError) as err:
            decompress_messages(packed, 1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.kind == "oversize" and peak < 8 << 20


def streams(count: int) -> bytes:
    return b"".join(compress_message(b'{"type":"whitelist","data":[]}') for _ in range(count))


@pytest.mark.parametrize(("data", "kind", "text"), [
    (streams(2)[:-3], "truncated", "zlib stream 2 (from byte"),  # the last stream cut short
    (streams(2) + b"\x78", "truncated", "zlib stream 3"),  # one byte of a next header: ends early
    (streams(1) + b"garbage" + streams(1), "bad_compression", f"zlib stream 2 (from byte {len(streams(1))}) is not"),
    (streams(2) + b"\x00\x00", "bad_compression", "zlib stream 3"),  # trailing bytes that start no stream
    (streams(1)[:-1] + bytes([streams(1)[-1] ^ 1]) + streams(1), "bad_compression", "zlib stream 1"),  # checksum
    (streams(MAX_STREAMS + 1), "bad_compression", f"more than {MAX_STREAMS} zlib streams"),
    (b"", "truncated", "empty binary message"),
])
def test_broken_batches_are_wire_errors_naming_the_stream(data: bytes, kind: str, text: str) -> None:
    with pytest.raises(WireError) as err:
        decode_compact_batch(data, 1 << 20)
    assert err.value.kind == kind and text in str(err.value)


def test_a_bad_message_in_a_batch_drops_only_that_message() -> None:
    good = encode_message(analysed(2))
    decoded = decode_compact_batch(batch_of(good, b'{"type":"nope","data":1}', b"{not json", good), 1 << 20)
    assert [type(m).__name__ for m in decoded] == ["AnalyzedDfMessage", "WireError", "WireError",
                                                   "AnalyzedDfMessage"]
    assert [m.kind for m in decoded[1:3]] == ["unknown_type", "not_json"]


def test_pack_compresses_short_broadcasts_when_asked() -> None:
    short = encode_message(NewCandleMessage("BTC/USDT", "5m", "spot")).decode()
    assert pack(short) is short  # a short reply stays text
    packed = pack(short, 0)  # a broadcast: compressed however short, so that it can join a batch
    assert isinstance(packed, CompactFrame) and packed.raw_size == len(short)
    assert decompress_messages(packed) == [short.encode()]
