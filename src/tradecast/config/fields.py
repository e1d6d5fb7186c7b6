"""Shared pieces of the config models: the section base class, reusable checked types, error helpers.

Validators raise :func:`problem` errors: a message written for the operator, optionally a location below
the field (``at``, e.g. the index of a bad list entry) and the offending value (``got``). The loader turns
them into ``<dotted.path>: <message>, got <value>`` lines.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

from tradecast.core.timeframes import SUPPORTED_TIMEFRAMES

__all__ = [
    "NO_VALUE",
    "NonEmptyStr",
    "Pair",
    "Section",
    "Timeframe",
    "check_timeframe",
    "positive_number",
    "problem",
]

#: marker for "no offending value to show" in :func:`problem`
NO_VALUE: Any = object()


class Section(BaseModel):
    """Base of every config section: unknown keys are kept (``model_extra``) so the loader can list them."""

    # JSON parsers accept NaN/Infinity; no config number means either (max_open_trades handles inf itself)
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    # Read access by key, because freqtrade strategies treat their config as a dict:
    # self.config["stake_currency"], self.config.get("exchange")["name"].
    def __getitem__(self, key: str) -> Any:
        if key in type(self).model_fields:
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        """The value of field ``key`` (freqtrade-style dict access), or ``default``."""
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except (KeyError, TypeError):
            return False
        return True


def problem(message: str, *, at: tuple[str | int, ...] = (), got: Any = NO_VALUE) -> PydanticCustomError:
    """A validation error with an operator-facing ``message``; raise it from a validator.

    ``at`` extends the field's location (``(2,)`` for the third list entry, ``(1, "name")`` for a key inside
    it); ``got`` replaces pydantic's input as the value shown after ``got``.
    """
    ctx: dict[str, Any] = {"message": message, "at": tuple(at)}
    if got is not NO_VALUE:
        ctx["got"] = got
    return PydanticCustomError("tradecast", "{message}", ctx)


def _is_number(value: Any) -> bool:
    # bool is an int subclass, but `true` in a config is never meant as a number
    return isinstance(value, int | float) and not isinstance(value, bool)


def positive_number(value: Any, what: str = "a positive number") -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise a :func:`problem`."""
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise problem(f"must be {what}")
    return float(value)


_PAIR = re.compile(r"^[^\s/]+/[^\s/]+$")


def _check_pair(value: Any) -> str:
    if not isinstance(value, str) or not _PAIR.match(value):
        raise problem('must look like BASE/QUOTE, e.g. "BTC/USDT"')
    return value


#: a trading pair ("BTC/USDT"); freqtrade-style regex entries such as ".*/USDT" pass too
Pair = Annotated[str, BeforeValidator(_check_pair)]


def check_timeframe(value: str | None) -> str | None:
    """Accept ``None`` or one of :data:`SUPPORTED_TIMEFRAMES`."""
    if value is not None and value not in SUPPORTED_TIMEFRAMES:
        raise problem(f"must be one of {', '.join(SUPPORTED_TIMEFRAMES)}")
    return value


Timeframe = Annotated[str | None, AfterValidator(check_timeframe)]


def non_empty(value: str) -> str:
    """Reject empty or blank strings."""
    if not value.strip():
        raise problem("must not be empty")
    return value


NonEmptyStr = Annotated[str, AfterValidator(non_empty)]
