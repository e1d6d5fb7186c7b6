"""Stoploss and trailing stop prices; every expected number is worked out in the comment beside it."""

from __future__ import annotations

import pytest

from tradecast.trading.rules import initial_stop, new_stop_price, stoploss_hit, trailing_stop_update


def test_initial_stop() -> None:
    assert initial_stop(100, -0.1) == pytest.approx(90)  # 100 * (1 - 0.1)
    assert initial_stop(100, 0.1) == pytest.approx(90)  # sign ignored, as freqtrade does


def test_without_trailing_the_stop_stays_initial() -> None:
    # no stop yet -> initial 100 * 0.9 = 90, whatever the price did
    assert new_stop_price(100, 0.0, 120, 120, -0.1) == pytest.approx(90)
    assert new_stop_price(100, 90, 120, 120, -0.1) == pytest.approx(90)


def test_trailing_follows_the_high_and_never_goes_down() -> None:
    # high 120 -> 120 * 0.9 = 108
    assert new_stop_price(100, 90, 120, 115, -0.1, trailing_stop=True) == pytest.approx(108)
    # price fell back to 105: 105 * 0.9 = 94.5 < 108, so the stop stays 108
    assert new_stop_price(100, 108, 105, 105, -0.1, trailing_stop=True) == pytest.approx(108)
    # current rate above the recorded max counts as the new high: 125 * 0.9 = 112.5
    assert trailing_stop_update(100, 108, 120, 125, -0.1) == pytest.approx(112.5)


def test_trailing_stop_positive_above_offset() -> None:
    kwargs = {"trailing_stop": True, "trailing_stop_positive": 0.02, "trailing_stop_positive_offset": 0.05}
    # high 104 -> profit 4% < 5%: normal distance, 104 * 0.9 = 93.6
    assert new_stop_price(100, 90, 104, 104, -0.1, **kwargs) == pytest.approx(93.6)
    # high 110 -> profit 10% > 5%: positive distance, 110 * 0.98 = 107.8
    assert new_stop_price(100, 93.6, 110, 109, -0.1, **kwargs) == pytest.approx(107.8)


def test_trailing_only_offset_is_reached() -> None:
    kwargs = {"trailing_stop": True, "trailing_stop_positive": 0.02, "trailing_stop_positive_offset": 0.05,
              "trailing_only_offset_is_reached": True}
    # high 104 -> 4% < 5%: no trailing at all, the initial 90 stays
    assert new_stop_price(100, 90, 104, 104, -0.1, **kwargs) == pytest.approx(90)
    # high 106 -> 6% > 5%: 106 * 0.98 = 103.88
    assert new_stop_price(100, 90, 106, 106, -0.1, **kwargs) == pytest.approx(103.88)


def test_offset_zero_means_any_profit() -> None:
    kwargs = {"trailing_stop": True, "trailing_stop_positive": 0.02, "trailing_stop_positive_offset": 0.0}
    # high 101 -> 1% > 0: 101 * 0.98 = 98.98
    assert new_stop_price(100, 90, 101, 101, -0.1, **kwargs) == pytest.approx(98.98)
    # high 100 -> profit 0, not > 0: normal distance, 100 * 0.9 = 90
    assert new_stop_price(100, 90, 100, 100, -0.1, **kwargs) == pytest.approx(90)


def test_fees_decide_whether_the_offset_is_reached() -> None:
    kwargs = {"trailing_stop": True, "trailing_stop_positive": 0.02, "trailing_stop_positive_offset": 0.25,
              "trailing_only_offset_is_reached": True}
    # open 4 (initial stop 3.6), high 5, no fees: 5 / 4 - 1 = 0.25 exactly (binary floats), the offset: not
    # below it, so it trails; not above it, so the distance is the stoploss: 5 * 0.9 = 4.5
    assert new_stop_price(4, 3.6, 5, 5, -0.1, **kwargs) == pytest.approx(4.5)
    # with 0.1% fees: 5 * 0.999 / (4 * 1.001) - 1 = 0.2475 < 0.25: no trailing, the stop stays 3.6
    assert new_stop_price(4, 3.6, 5, 5, -0.1, fee_open=0.001, fee_close=0.001, **kwargs) == pytest.approx(3.6)
    # high 6: 6 * 0.999 / 4.004 - 1 = 0.497 > 0.25: positive distance, 6 * 0.98 = 5.88
    assert new_stop_price(4, 3.6, 6, 6, -0.1, fee_open=0.001, fee_close=0.001, **kwargs) == (
        pytest.approx(5.88)
    )


def test_custom_stoploss_is_relative_to_current_rate_and_only_raises() -> None:
    # 110 * (1 - 0.05) = 104.5
    assert new_stop_price(100, 90, 110, 110, -0.1, custom_stop_ratio=-0.05) == pytest.approx(104.5)
    # rate back to 105: 105 * 0.95 = 99.75 < 104.5, the stop stays
    assert new_stop_price(100, 104.5, 110, 105, -0.1, custom_stop_ratio=-0.05) == pytest.approx(104.5)
    # a looser custom ratio never lowers it either: 105 * 0.5 = 52.5
    assert new_stop_price(100, 104.5, 110, 105, -0.1, custom_stop_ratio=-0.5) == pytest.approx(104.5)


def test_custom_ratio_is_the_trailing_distance_when_trailing() -> None:
    # trailing from the high 120 with the custom distance 5%: 120 * 0.95 = 114 (> 110 * 0.95 = 104.5)
    assert new_stop_price(100, 90, 120, 110, -0.1, trailing_stop=True, custom_stop_ratio=-0.05) == (
        pytest.approx(114)
    )


def test_stoploss_hit() -> None:
    assert stoploss_hit(90, 90) is True
    assert stoploss_hit(89.99, 90) is True
    assert stoploss_hit(90.01, 90) is False
    assert stoploss_hit(1, 0.0) is False  # no stop set
