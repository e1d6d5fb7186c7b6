"""Stoploss and trailing stop prices for long trades (freqtrade semantics, as pure functions).

Ratios are distances below a price: a stop "ratio" ``r`` placed from price ``p`` is ``p * (1 - abs(r))``, so
``stoploss=-0.10`` and ``trailing_stop_positive=0.02`` both read as distances (freqtrade takes ``abs`` too).

Rules applied by :func:`new_stop_price`, in this order; the result is the highest candidate and never lower
than ``current_stop`` (a stop only moves up):

1. the current stop, or the initial stop ``open_rate * (1 - abs(stoploss))`` when none is set (``<= 0``);
2. a custom stoploss ratio (the strategy's ``custom_stoploss``) is relative to the *current* rate:
   ``current_rate * (1 - abs(ratio))``;
3. with ``trailing_stop``: the stop trails the highest rate seen, ``max_rate * (1 - abs(distance))`` where the
   distance is ``stoploss`` (or the custom ratio when one is given, as freqtrade does), except that
   when ``trailing_stop_positive`` is set and the profit at ``max_rate`` is above
   ``trailing_stop_positive_offset`` (above 0 when the offset is 0) the distance is
   ``trailing_stop_positive``. With ``trailing_only_offset_is_reached`` nothing trails while that profit is
   below the offset.

"Profit at max_rate" is ``max_rate * (1 - fee_close) / (open_rate * (1 + fee_open)) - 1``, the model's
``Trade.profit_ratio``; pass the trade's fees for freqtrade parity (they default to 0).
"""

from __future__ import annotations


def initial_stop(open_rate: float, stoploss_ratio: float) -> float:
    """The stop price at entry: ``open_rate * (1 - abs(stoploss_ratio))``; e.g. 100 and -0.1 give 90."""
    return open_rate * (1 - abs(stoploss_ratio))


def profit_ratio_at(open_rate: float, rate: float, fee_open: float = 0.0, fee_close: float = 0.0) -> float:
    """Profit ratio of a long position opened at ``open_rate`` if sold at ``rate`` (fees included)."""
    if open_rate <= 0:
        return 0.0
    return rate * (1 - fee_close) / (open_rate * (1 + fee_open)) - 1


def new_stop_price(
    open_rate: float,
    current_stop: float,
    max_rate: float,
    current_rate: float,
    stoploss: float,
    trailing_stop: bool = False,
    trailing_stop_positive: float | None = None,
    trailing_stop_positive_offset: float = 0.0,
    trailing_only_offset_is_reached: bool = False,
    custom_stop_ratio: float | None = None,
    *,
    fee_open: float = 0.0,
    fee_close: float = 0.0,
) -> float:
    """The stop price after seeing ``current_rate`` (``max_rate`` = highest rate since entry, including it).

    Never returns less than ``current_stop``; see the module docstring for the exact rules.
    """
    stop = current_stop if current_stop > 0 else initial_stop(open_rate, stoploss)
    if custom_stop_ratio is not None:
        stop = max(stop, current_rate * (1 - abs(custom_stop_ratio)))
    if trailing_stop:
        high = max(max_rate, current_rate)
        offset = trailing_stop_positive_offset or 0.0
        profit = profit_ratio_at(open_rate, high, fee_open, fee_close)
        # freqtrade: "below the offset" blocks trailing, "above the offset" switches to the positive distance;
        # at exactly the offset the normal stoploss distance trails.
        if not (trailing_only_offset_is_reached and profit < offset):
            distance = stoploss if custom_stop_ratio is None else custom_stop_ratio
            if trailing_stop_positive is not None and profit > offset:
                distance = trailing_stop_positive
            stop = max(stop, high * (1 - abs(distance)))
    return stop


def trailing_stop_update(
    open_rate: float,
    current_stop: float,
    max_rate: float,
    current_rate: float,
    stoploss: float,
    trailing_stop_positive: float | None = None,
    trailing_stop_positive_offset: float = 0.0,
    trailing_only_offset_is_reached: bool = False,
    *,
    fee_open: float = 0.0,
    fee_close: float = 0.0,
) -> float:
    """The trailing part alone: :func:`new_stop_price` with ``trailing_stop=True`` and no custom ratio."""
    return new_stop_price(
        open_rate,
        current_stop,
        max_rate,
        current_rate,
        stoploss,
        True,
        trailing_stop_positive,
        trailing_stop_positive_offset,
        trailing_only_offset_is_reached,
        None,
        fee_open=fee_open,
        fee_close=fee_close,
    )


def stoploss_hit(current_low_or_rate: float, stop_price: float) -> bool:
    """True when the rate (or the candle low) is at or below a set stop (a stop ``<= 0`` is unset)."""
    return stop_price > 0 and current_low_or_rate <= stop_price
