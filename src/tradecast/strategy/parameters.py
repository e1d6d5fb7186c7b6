"""Hyperoptable strategy parameters: ``IntParameter``, ``DecimalParameter``, ``BooleanParameter``,
``CategoricalParameter``.

Declare them as class attributes; ``.value`` is what the strategy uses::

    class MyStrategy(IStrategy):
        buy_rsi = IntParameter(10, 60, default=30, space="buy")

        def populate_entry_trend(self, dataframe, metadata):
            ... dataframe["rsi"] > self.buy_rsi.value ...

``.value`` is the default unless a value was loaded (see :func:`load_parameter_values`). Parameters are found
on the class by attribute name; the space is ``space`` or, when None, the name's prefix (``buy_``, ``sell_``,
``protection_``). Range problems raise ``ValueError`` naming the parameter once its name is known (at strategy
creation); a standalone parameter says ``<unnamed>``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

__all__ = [
    "BaseParameter",
    "BooleanParameter",
    "CategoricalParameter",
    "DecimalParameter",
    "IntParameter",
    "detect_parameters",
]

_SPACE_PREFIXES = ("buy", "sell", "protection", "enter", "exit")


class BaseParameter:
    """Common behaviour of the four parameter kinds."""

    kind = "Parameter"

    def __init__(self, *, default: Any, space: str | None = None, optimize: bool = True, load: bool = True):
        self.default = default
        self.space = space
        self.optimize = optimize
        self.load = load
        self.name: str | None = None
        self._value: Any = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        if self.space is None:
            prefix = name.split("_", 1)[0]
            self.space = prefix if prefix in _SPACE_PREFIXES else None

    @property
    def label(self) -> str:
        """The name used in messages."""
        return self.name or "<unnamed>"

    @property
    def value(self) -> Any:
        """The value the strategy should use."""
        return self._value

    @value.setter
    def value(self, new_value: Any) -> None:
        self._value = self.check(new_value, "value")

    def validate(self) -> None:
        """Raise ``ValueError`` (naming the parameter) if the declaration or the current value is invalid."""
        self.check(self.default, "default")
        self.check(self._value, "value")

    def check(self, candidate: Any, what: str) -> Any:
        """Return ``candidate`` converted to this parameter's type; ``ValueError`` if it does not fit."""
        return candidate

    def _fail(self, message: str) -> ValueError:
        return ValueError(f"{self.kind} {self.label}: {message}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label}={self._value!r})"


class _NumericParameter(BaseParameter):
    def __init__(self, low: Any, high: Any, *, default: Any, space: str | None, optimize: bool, load: bool):
        if high is None and isinstance(low, Sequence) and len(low) == 2:
            low, high = low
        if high is None:
            raise ValueError(f"{self.kind}: needs low and high (or a [low, high] pair)")
        self.low = low
        self.high = high
        super().__init__(default=default, space=space, optimize=optimize, load=load)

    def validate(self) -> None:
        if self.low > self.high:
            raise self._fail(f"low {self.low} is greater than high {self.high}")
        super().validate()

    def _check_range(self, candidate: Any, what: str) -> None:
        if not self.low <= candidate <= self.high:
            raise self._fail(f"{what} {candidate!r} is outside the range [{self.low}, {self.high}]")


class IntParameter(_NumericParameter):
    """An integer in ``[low, high]``."""

    kind = "IntParameter"

    def __init__(
        self,
        low: int | Sequence[int],
        high: int | None = None,
        *,
        default: int,
        space: str | None = None,
        optimize: bool = True,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(low, high, default=default, space=space, optimize=optimize, load=load)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (self.low, self.high)):
            raise ValueError(f"{self.kind}: low and high must be integers, got {self.low!r}, {self.high!r}")

    def check(self, candidate: Any, what: str) -> int:
        if isinstance(candidate, bool) or not isinstance(candidate, int | float):
            raise self._fail(f"{what} {candidate!r} is not an integer")
        if isinstance(candidate, float):
            if not candidate.is_integer():
                raise self._fail(f"{what} {candidate!r} is not an integer")
            candidate = int(candidate)
        self._check_range(candidate, what)
        return candidate

    @property
    def range(self) -> range:
        """All values, ``low`` to ``high`` inclusive."""
        return range(self.low, self.high + 1)


class DecimalParameter(_NumericParameter):
    """A float in ``[low, high]``, rounded to ``decimals`` places."""

    kind = "DecimalParameter"

    def __init__(
        self,
        low: float | Sequence[float],
        high: float | None = None,
        *,
        default: float,
        decimals: int = 3,
        space: str | None = None,
        optimize: bool = True,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        self.decimals = decimals
        super().__init__(low, high, default=default, space=space, optimize=optimize, load=load)
        self._value = round(default, decimals) if isinstance(default, int | float) else default

    def check(self, candidate: Any, what: str) -> float:
        if isinstance(candidate, bool) or not isinstance(candidate, int | float):
            raise self._fail(f"{what} {candidate!r} is not a number")
        candidate = round(float(candidate), self.decimals)
        self._check_range(candidate, what)
        return candidate


class BooleanParameter(BaseParameter):
    """True or False."""

    kind = "BooleanParameter"

    def __init__(
        self,
        *,
        default: bool = True,
        space: str | None = None,
        optimize: bool = True,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(default=default, space=space, optimize=optimize, load=load)

    def check(self, candidate: Any, what: str) -> bool:
        if not isinstance(candidate, bool):
            raise self._fail(f"{what} {candidate!r} is not true or false")
        return candidate


class CategoricalParameter(BaseParameter):
    """One of ``categories``; the default is the first category unless given."""

    kind = "CategoricalParameter"

    def __init__(
        self,
        categories: Sequence[Any],
        *,
        default: Any = None,
        space: str | None = None,
        optimize: bool = True,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        self.categories = list(categories)
        if len(self.categories) < 2:
            raise ValueError(f"{self.kind}: needs at least two categories, got {self.categories!r}")
        if default is None:
            default = self.categories[0]
        super().__init__(default=default, space=space, optimize=optimize, load=load)

    def check(self, candidate: Any, what: str) -> Any:
        if candidate not in self.categories:
            raise self._fail(f"{what} {candidate!r} is not one of {self.categories!r}")
        return candidate


def detect_parameters(cls: type) -> dict[str, BaseParameter]:
    """Parameters declared on ``cls`` and its bases, by attribute name (subclasses win)."""
    found: dict[str, BaseParameter] = {}
    for klass in reversed(cls.__mro__):
        for name, attr in vars(klass).items():
            if isinstance(attr, BaseParameter):
                found[name] = attr
            elif name in found:
                del found[name]
    return found


def bind_parameters(instance: Any, values: dict[str, Any]) -> dict[str, BaseParameter]:
    """Give ``instance`` its own copies of its class's parameters, apply ``values``, validate all.

    Copies keep two instances of one strategy from sharing values. ``values`` maps parameter names to loaded
    values; names that are not parameters, or parameters declared with ``load=False``, are left alone.
    Returns the bound parameters by name. Raises ``ValueError`` naming the first invalid parameter.
    """
    bound: dict[str, BaseParameter] = {}
    for name, template in detect_parameters(type(instance)).items():
        param = copy.copy(template)
        param.name = name
        param.validate()
        if param.load and name in values:
            param.value = values[name]
        setattr(instance, name, param)
        bound[name] = param
    return bound


def flatten_parameter_values(raw: Any) -> dict[str, Any]:
    """Flatten ``{"name": v}`` or freqtrade's ``{"buy": {...}, "sell": {...}}`` (maybe under ``params``)."""
    if not isinstance(raw, dict):
        return {}
    if isinstance(raw.get("params"), dict):
        raw = raw["params"]
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _SPACE_PREFIXES and isinstance(value, dict):
            flat.update(value)
        elif not isinstance(value, dict):
            flat[key] = value
    return flat
