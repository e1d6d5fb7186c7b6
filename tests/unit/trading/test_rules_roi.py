"""ROI table: the entry with the largest age <= the trade's age applies; exit on profit strictly above."""

from __future__ import annotations

import pytest

from tradecast.trading.rules import roi_reached, roi_threshold

TABLE = {"120": 0.0, "0": 0.04, "30": 0.02}  # deliberately not sorted


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(0, 0.04), (29.99, 0.04), (30, 0.02), (119.5, 0.02), (120, 0.0), (10_000, 0.0), (-1, None)],
)
def test_threshold_steps(minutes: float, expected: float | None) -> None:
    assert roi_threshold(TABLE, minutes) == expected


def test_empty_table_and_no_applicable_entry() -> None:
    assert roi_threshold({}, 50) is None
    assert roi_threshold({"10": 0.01}, 5) is None  # the first entry starts after 10 minutes
    assert roi_reached({}, 50, 10.0) is False
    assert roi_reached({"10": 0.01}, 5, 10.0) is False


def test_reached_is_strictly_above() -> None:
    assert roi_reached(TABLE, 0, 0.04) is False
    assert roi_reached(TABLE, 0, 0.0401) is True
    assert roi_reached(TABLE, 45, 0.0201) is True
    assert roi_reached(TABLE, 120, 0.0) is False  # "0" ROI needs any profit at all
    assert roi_reached(TABLE, 120, 1e-9) is True


def test_minus_one_forces_exit_at_that_age() -> None:
    table = {"0": 0.1, "60": -1}
    assert roi_reached(table, 59, -0.5) is False
    assert roi_reached(table, 60, -0.5) is True
