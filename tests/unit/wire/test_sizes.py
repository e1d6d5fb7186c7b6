"""Size helpers: freqtrade's MiB shift and the oversize check for bytes and text."""

from __future__ import annotations

import pytest

from tradecast.core.errors import WireError
from tradecast.wire.sizes import check_size, mib_to_bytes, payload_size


def test_mib_to_bytes_matches_freqtrade_shift():
    assert mib_to_bytes(8) == 8 << 20 == 8_388_608
    assert mib_to_bytes(0) == 0
    assert mib_to_bytes(0.5) == 524_288


@pytest.mark.parametrize("bad", [-1, True])
def test_mib_to_bytes_rejects(bad):
    with pytest.raises(ValueError):
        mib_to_bytes(bad)


def test_check_size_bytes_boundary():
    check_size(b"x" * 10, 10)
    check_size(b"x" * 10, None)
    with pytest.raises(WireError) as info:
        check_size(b"x" * 11, 10)
    assert info.value.kind == "oversize" and "11 bytes" in str(info.value)


def test_check_size_text_counts_utf8_bytes():
    text = "é" * 6  # 6 characters, 12 bytes
    assert payload_size(text) == 12
    check_size(text, 12)
    with pytest.raises(WireError):
        check_size(text, 11)
    with pytest.raises(WireError):
        check_size("x" * 100, 50)
    check_size("x" * 100, 400)
