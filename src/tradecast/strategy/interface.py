"""``IStrategy``: the strategy base class, with freqtrade's attributes, hooks and callbacks.

A strategy subclasses :class:`IStrategy`, sets class attributes (``timeframe``, ``minimal_roi``, ``stoploss``
...), and implements ``populate_indicators`` and ``populate_entry_trend`` (``populate_exit_trend`` is
optional). The bot calls :meth:`IStrategy.analyze` per pair and reads the last row with
:meth:`IStrategy.get_latest_signal`. Config values override the strategy's attributes when they are set; the
effective values then live on the strategy instance, which is where the rest of the bot reads them.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
from abc import ABC, abstractmethod
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tradecast.core.errors import ConfigError, StrategyError
from tradecast.core.frames import column_values, consolidated_copy, with_columns
from tradecast.core.timeframes import timeframe_to_seconds
from tradecast.strategy.parameters import BaseParameter, bind_parameters, flatten_parameter_values
from tradecast.strategy.signals import SIGNAL_COLUMNS, finalise_signal_columns, latest_signal

if TYPE_CHECKING:
    from tradecast.data.provider import DataProvider

logger = logging.getLogger(__name__)

#: strategy attributes a set (not None) config value overrides
OVERRIDABLE_ATTRIBUTES = (
    "minimal_roi",
    "stoploss",
    "timeframe",
    "trailing_stop",
    "trailing_stop_positive",
    "trailing_stop_positive_offset",
    "trailing_only_offset_is_reached",
    "use_exit_signal",
    "exit_profit_only",
    "ignore_roi_if_entry_signal",
    "process_only_new_candles",
    "order_types",
)

DEFAULT_ORDER_TYPES = {"entry": "limit", "exit": "limit", "stoploss": "market", "stoploss_on_exchange": False}


def _config_value(config: Any, key: str) -> Any:
    """``config[key]`` for dicts, else the attribute, else ``config[key]`` (custom keys); None if absent."""
    if config is None:
        return None
    if isinstance(config, dict):
        return config.get(key)
    value = getattr(config, key, None)
    if value is None and hasattr(config, "__getitem__"):
        try:
            value = config[key]
        except (KeyError, IndexError, TypeError):
            value = None
    return value


class IStrategy(ABC):
    """Base class of every strategy (freqtrade interface version 3, long only)."""

    INTERFACE_VERSION: int = 3

    timeframe: str = "5m"
    #: ``{"minutes": profit}``; empty means ROI exits are disabled
    minimal_roi: dict[str, float] = {}
    stoploss: float = -0.10
    trailing_stop: bool = False
    trailing_stop_positive: float | None = None
    trailing_stop_positive_offset: float = 0.0
    trailing_only_offset_is_reached: bool = False
    use_custom_stoploss: bool = False
    startup_candle_count: int = 0
    process_only_new_candles: bool = True
    use_exit_signal: bool = True
    exit_profit_only: bool = False
    exit_profit_offset: float = 0.0
    ignore_roi_if_entry_signal: bool = False
    can_short: bool = False
    disable_dataframe_checks: bool = False
    order_types: dict[str, Any] = DEFAULT_ORDER_TYPES
    order_time_in_force: dict[str, str] = {"entry": "GTC", "exit": "GTC"}
    plot_config: dict[str, Any] = {}

    def __init__(self, config: Any) -> None:
        """Apply config overrides, validate the attributes and bind parameters.

        :raises ConfigError: an attribute or parameter value is invalid (the message names it).
        """
        self.config = config
        self.wallets: Any = None
        self._dp: DataProvider | None = None
        self._last_candle_seen: dict[str, Any] = {}
        self._short_warned = False
        for name in ("minimal_roi", "order_types", "order_time_in_force", "plot_config"):
            setattr(self, name, copy.deepcopy(getattr(self, name)))
        for name in OVERRIDABLE_ATTRIBUTES:
            value = _config_value(config, name)
            if value is not None:
                setattr(self, name, copy.deepcopy(value))
        self._normalise_attributes()
        try:
            self.ft_parameters: dict[str, BaseParameter] = bind_parameters(self, self._parameter_values())
        except ValueError as exc:
            raise ConfigError(f"strategy {self.name}: {exc}") from exc

    # -- identity and attributes -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The strategy's class name."""
        return type(self).__name__

    def version(self) -> str | None:
        """Override to report a strategy version (shown by the API)."""
        return None

    def _normalise_attributes(self) -> None:
        name = self.name
        try:
            timeframe_to_seconds(self.timeframe)
        except ValueError as exc:
            raise ConfigError(f"strategy {name}: timeframe: {exc}") from exc
        stoploss = self.stoploss
        if isinstance(stoploss, bool) or not isinstance(stoploss, int | float) or not -1 <= stoploss < 0:
            raise ConfigError(f"strategy {name}: stoploss must be a number in [-1, 0), got {stoploss!r}")
        self.stoploss = float(stoploss)
        try:
            roi = {str(int(float(k))): float(v) for k, v in dict(self.minimal_roi or {}).items()}
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"strategy {name}: minimal_roi must map minutes to profit ratios, got {self.minimal_roi!r}"
            ) from exc
        self.minimal_roi = dict(sorted(roi.items(), key=lambda item: int(item[0])))
        self.order_types = {**DEFAULT_ORDER_TYPES, **dict(self.order_types or {})}
        if self.trailing_stop_positive_offset is None:
            self.trailing_stop_positive_offset = 0.0

    def _parameter_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        try:
            source = Path(inspect.getfile(type(self)))
        except (TypeError, OSError):
            source = None
        if source is not None and source.with_suffix(".json").is_file():
            path = source.with_suffix(".json")
            try:
                values.update(flatten_parameter_values(json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"strategy {self.name}: cannot read parameter file {path}: {exc}") from exc
            logger.info("strategy %s: parameters loaded from %s", self.name, path)
        values.update(flatten_parameter_values(_config_value(self.config, "strategy_parameters")))
        return values

    @property
    def dp(self) -> DataProvider | None:
        """The ``DataProvider``; set by the bot, None until then."""
        return self._dp

    @dp.setter
    def dp(self, provider: DataProvider | None) -> None:
        self._dp = provider
        if provider is not None and getattr(provider, "default_timeframe", "") is None:
            provider.default_timeframe = self.timeframe

    # -- user hooks ----------------------------------------------------------------------------------------

    def informative_pairs(self) -> list[tuple[str, str]]:
        """Extra ``(pair, timeframe)`` candles the strategy wants downloaded; none by default."""
        return []

    @abstractmethod
    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        """Add indicator columns to ``dataframe`` and return it."""

    @abstractmethod
    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        """Set ``enter_long`` (1 to enter) and optionally ``enter_tag``; return the frame."""

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        """Set ``exit_long`` (1 to exit) and optionally ``exit_tag``; no exit signals by default."""
        return dataframe

    # -- callbacks (all take **kwargs; the defaults change nothing) ----------------------------------------

    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:  # noqa: B027
        """Called once at the start of every bot loop iteration."""

    def custom_stake_amount(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_stake: float,
        min_stake: float | None,
        max_stake: float,
        leverage: float = 1.0,
        entry_tag: str | None = None,
        side: str = "long",
        **kwargs: Any,
    ) -> float:
        """Stake for a new trade; the proposed stake by default."""
        return proposed_stake

    def custom_stoploss(
        self,
        pair: str,
        trade: Any,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        after_fill: bool = False,
        **kwargs: Any,
    ) -> float | None:
        """New stoploss relative to ``current_rate`` (negative ratio), or None for no change.

        Only called when ``use_custom_stoploss`` is True.
        """
        return None

    def custom_exit(
        self, pair: str, trade: Any, current_time: datetime, current_rate: float, current_profit: float,
        **kwargs: Any,
    ) -> str | bool | None:
        """Return a non-empty string (the exit reason) or True to exit now; None to keep the trade."""
        return None

    def confirm_trade_entry(
        self,
        pair: str,
        order_type: str,
        amount: float,
        rate: float,
        time_in_force: str,
        current_time: datetime,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> bool:
        """Last chance to refuse an entry; True (go ahead) by default."""
        return True

    def confirm_trade_exit(
        self,
        pair: str,
        trade: Any,
        order_type: str,
        amount: float,
        rate: float,
        time_in_force: str,
        exit_reason: str,
        current_time: datetime,
        **kwargs: Any,
    ) -> bool:
        """Last chance to refuse an exit; True (go ahead) by default."""
        return True

    def call_callback(self, callback: str, default: Any, **kwargs: Any) -> Any:
        """Call ``callback`` with keyword arguments; if it raises, log the error and return ``default``.

        The engine uses this so a failing user callback never stops the bot.
        """
        try:
            return getattr(self, callback)(**kwargs)
        except Exception as exc:
            # the traceback once per callback and kind of error; a callback failing every loop must not
            # bury the log, but each later failure is still visible at debug level
            key = (callback, type(exc).__name__)
            reported: set[tuple[str, str]] = self.__dict__.setdefault("_callback_errors", set())
            if key not in reported:
                reported.add(key)
                logger.exception("strategy %s.%s failed for %s; using %r (reported once, the bot keeps running)",
                                 self.name, callback, kwargs.get("pair"), default)
            else:
                logger.debug("strategy %s.%s failed again for %s: %s", self.name, callback, kwargs.get("pair"), exc)
            return default

    # -- analysis ------------------------------------------------------------------------------------------

    def is_new_candle(self, pair: str, dataframe: pd.DataFrame) -> bool:
        """True when the last candle of ``dataframe`` is not the last one :meth:`analyze` finished."""
        if dataframe.empty or "date" not in dataframe.columns:
            return True
        return self._last_candle_seen.get(pair) != dataframe["date"].iloc[-1]

    def should_analyze(self, pair: str, dataframe: pd.DataFrame) -> bool:
        """Analyse now? Always, unless ``process_only_new_candles`` is set and no new candle arrived."""
        return not self.process_only_new_candles or self.is_new_candle(pair, dataframe)

    def analyze(self, dataframe: pd.DataFrame, metadata: dict | None = None) -> pd.DataFrame:
        """Run the three populate hooks on a copy of ``dataframe`` and return the analysed frame.

        The result keeps one row per candle and has ``enter_long``/``exit_long`` (int 0/1) and
        ``enter_tag``/``exit_tag`` (str or None). ``metadata`` should hold ``{"pair": pair}``.

        :raises StrategyError: a hook raised, returned something other than a DataFrame, or changed the row
            count, the ``date`` column or the last candle's date or close.
        """
        metadata = dict(metadata or {})
        pair = metadata.get("pair", "?")
        frame = dataframe.copy()
        created: set[str] = set()
        if not frame.empty:
            for hook in ("populate_indicators", "populate_entry_trend", "populate_exit_trend"):
                if hook in _SIGNAL_HOOK_COLUMNS:
                    frame, added = _with_signal_columns(frame, _SIGNAL_HOOK_COLUMNS[hook])
                    created |= added
                frame = self._run_hook(hook, frame, metadata, pair)
            if not self.disable_dataframe_checks:
                self._check_result(dataframe, frame, pair)
        frame = self._finalise_signals(frame, created)
        if not frame.empty and "date" in frame.columns:
            self._last_candle_seen[pair] = column_values(frame, "date")[-1]
        # the copy has one block per dtype instead of one per added column, and no cached column Series: a
        # stored result then holds a fifth of the garbage-collected objects, which keeps the interpreter's
        # full collections (they stop every thread, the event loop's too) short, and later copies cheap
        return consolidated_copy(frame)

    def _run_hook(self, hook: str, frame: pd.DataFrame, metadata: dict, pair: str) -> pd.DataFrame:
        try:
            result = getattr(self, hook)(frame, metadata)
        except StrategyError:
            raise
        except Exception as exc:
            raise StrategyError(f"{self.name}.{hook} failed for {pair}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(result, pd.DataFrame):
            raise StrategyError(
                f"{self.name}.{hook} returned {type(result).__name__} for {pair}, expected a DataFrame "
                "(missing `return dataframe`?)"
            )
        return result

    def _check_result(self, original: pd.DataFrame, result: pd.DataFrame, pair: str) -> None:
        def fail(check: str) -> StrategyError:
            return StrategyError(
                f"{self.name}: analysis of {pair} {check}; populate_* must keep every candle"
            )

        if len(result) != len(original):
            raise fail(f"changed the number of rows ({len(original)} -> {len(result)})")
        if not len(result):
            return
        # the last cells read from the columns' arrays: ``frame[name]`` builds a Series per read
        if "date" in original.columns:
            if "date" not in result.columns:
                raise fail("removed the 'date' column")
            if column_values(result, "date")[-1] != column_values(original, "date")[-1]:
                raise fail("changed the date of the last candle")
        if "close" in original.columns:
            before = column_values(original, "close")[-1]
            after = column_values(result, "close")[-1] if "close" in result.columns else None
            if after is None or not (after == before or (pd.isna(after) and pd.isna(before))):
                raise fail("changed the close of the last candle")

    def _finalise_signals(self, frame: pd.DataFrame, created: set[str] | None = None) -> pd.DataFrame:
        if _signals_already_final(frame):
            return frame  # the usual outcome of the hooks: nothing to normalise, no short columns
        frame, has_short = finalise_signal_columns(frame, created or set())
        if has_short and not self._short_warned:
            self._short_warned = True
            logger.warning(
                "strategy %s: shorting is not supported; enter_short/exit_short ignored", self.name
            )
        return frame

    def get_latest_signal(
        self, analyzed_df: pd.DataFrame
    ) -> tuple[bool, bool, str | None, str | None, datetime | None]:
        """``(enter, exit, enter_tag, exit_tag, candle_date)`` read from the last row of an analysed frame.

        The flags are the raw ``enter_long``/``exit_long`` values; a tag is returned only with its flag.
        An empty frame gives ``(False, False, None, None, None)``.
        """
        return latest_signal(analyzed_df)


#: the signal columns each hook writes; created (0 / None) before the hook runs
_SIGNAL_HOOK_COLUMNS = {"populate_entry_trend": ("enter_long", "enter_tag"),
                        "populate_exit_trend": ("exit_long", "exit_tag")}


def _with_signal_columns(frame: pd.DataFrame, columns: tuple[str, str]) -> tuple[pd.DataFrame, set[str]]:
    """The frame with a hook's signal columns created up front (0 / None) when absent, and which were created.

    The usual ``dataframe.loc[condition, "enter_long"] = 1`` is several times slower in pandas when it has
    to add the column (enlargement) than when it sets values in an existing one, and the result is the
    same: 1 where the condition holds, 0 elsewhere. The columns are appended in one step on a new frame
    object that shares the hook's data (two ``insert`` calls cost ~0.2 ms per pair).
    """
    created = [column for column in columns if column not in frame.columns]
    if not created:
        return frame, set()
    rows = len(frame)
    flag = columns[0]
    arrays = [np.zeros(rows, dtype=np.int64) if column == flag else np.full(rows, None, dtype=object)
              for column in created]
    return with_columns(frame, created, arrays), set(created)


def _signals_already_final(frame: pd.DataFrame) -> bool:
    """True when :func:`finalise_signal_columns` would change nothing and find no short signal.

    That is: unique column names, no legacy or short column, int64 0/1 flags and object tags that are all
    None. Checked with a few numpy calls, where the full normalisation rebuilds both tag columns (a quarter
    of the framework's cost per pair).
    """
    columns = frame.columns
    if not columns.is_unique or any(name in columns for name in _SPECIAL_COLUMNS):
        return False
    if not all(name in columns for name in SIGNAL_COLUMNS):
        return False
    for name in ("enter_long", "exit_long"):
        values = np.asarray(column_values(frame, name))
        if values.dtype != np.int64 or not ((values == 0) | (values == 1)).all():
            return False
    for name in ("enter_tag", "exit_tag"):
        values = np.asarray(column_values(frame, name))
        if values.dtype != object:
            return False
        try:
            # list.count tries identity first: a fast exact test for "every value is None"
            if values.tolist().count(None) != len(values):
                return False
        except Exception:  # a tag whose == None does not give a bool: the full normalisation decides
            return False
    return True


#: legacy (interface 2) and short signal columns: when present the full normalisation runs
_SPECIAL_COLUMNS = ("buy", "sell", "buy_tag", "enter_short", "exit_short")
