"""Minimal ROI: the profit a trade must exceed to exit, as a step function of its age (freqtrade semantics).

``minimal_roi`` maps a trade age in minutes (a string key, as in freqtrade configs: ``{"0": 0.04, "30": 0.02,
"120": 0}``) to a profit ratio. The entry that applies is the one with the largest age ``<=`` the trade's age;
the trade exits on ROI when its profit ratio is strictly greater than that entry's value. A value of ``-1``
therefore means "exit at that age whatever the profit".
"""

from __future__ import annotations

from collections.abc import Mapping


def roi_threshold(minimal_roi: Mapping[str, float], trade_duration_min: float) -> float | None:
    """The ROI ratio that applies after ``trade_duration_min`` minutes, or None (empty table, or every key is
    older than the trade, e.g. a table starting at ``"10"`` for a 5-minute-old trade)."""
    best_key: float | None = None
    best_value: float | None = None
    for key, value in minimal_roi.items():
        minutes = float(key)
        if minutes <= trade_duration_min and (best_key is None or minutes > best_key):
            best_key, best_value = minutes, float(value)
    return best_value


def roi_reached(
    minimal_roi: Mapping[str, float], trade_duration_min: float, current_profit_ratio: float
) -> bool:
    """True when ``current_profit_ratio`` is strictly above the ROI threshold for this age."""
    threshold = roi_threshold(minimal_roi, trade_duration_min)
    return threshold is not None and current_profit_ratio > threshold
