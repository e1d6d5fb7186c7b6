"""The typed configuration of one bot, in freqtrade's format: attribute names are freqtrade's config keys.

Keys we do not implement are never an error: every section keeps them, and :class:`Config` moves them into
``config.extras`` (listed by dotted path in ``config.unknown_keys``) so the loader can warn about them once.
Sections live in their own modules when long: :mod:`.api_models`, :mod:`.consumer_models`,
:mod:`.signals_models`.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Literal, Self

from pydantic import Field, PrivateAttr, field_validator, model_validator

from tradecast.config.api_models import ApiServerConfig
from tradecast.config.consumer_models import ExternalMessageConsumerConfig
from tradecast.config.fields import NonEmptyStr, Pair, Section, Timeframe, positive_number, problem
from tradecast.config.masking import mask_secrets
from tradecast.config.signals_models import ExternalSignalsConfig
from tradecast.core.timeframes import ensure_utc

__all__ = [
    "Config",
    "ExchangeConfig",
    "Internals",
    "PairlistConfig",
    "Pricing",
    "SimConfig",
    "UnfilledTimeout",
]

#: freqtrade keys whose value, when it is this one, is exactly what tradecast does anyway: kept in
#: ``extras`` but not reported, so every stock freqtrade spot config does not start with a warning
_HARMLESS = {"trading_mode": "spot", "margin_mode": ""}

_ORDER_TYPE_KEYS = ("entry", "exit", "emergency_exit", "force_entry", "force_exit", "stoploss")


class UnfilledTimeout(Section):
    """How long an unfilled limit order may stay open before it is cancelled."""

    entry: float = Field(10, gt=0, description="Time an entry order may stay unfilled, in `unit`.")
    exit: float = Field(10, gt=0, description="Time an exit order may stay unfilled, in `unit`.")
    unit: Literal["minutes", "seconds"] = Field("minutes", description="Unit of `entry` and `exit`.")
    exit_timeout_count: int = Field(
        0, ge=0, description="Exit-order timeouts after which the trade is force-exited (0 = never)."
    )


class Pricing(Section):
    """Which side of the order book entry or exit orders are priced from."""

    price_side: Literal["same", "bid", "ask", "other"] = Field(
        "same", description='"same": bid to sell, ask to buy; "other": the opposite; or always bid/ask.'
    )


class SimConfig(Section):
    """The deterministic simulated market (tradecast's own, used when exchange.name is "sim")."""

    seed: int = Field(42, description="Seed of the price generator; same seed, same candles.")
    speed: float = Field(1.0, gt=0, description="Simulated seconds per wall-clock second.")
    epoch: datetime | None = Field(
        None, description="Start of simulated time (UTC); processes sharing speed and epoch agree on time."
    )
    extra_pairs: list[Pair] = Field(
        default_factory=list, description="Pairs to offer besides the generated ones."
    )
    generated_pairs: int = Field(500, ge=0, description="How many synthetic pairs the market offers.")
    fee: float = Field(0.001, ge=0, lt=1, description="Fee ratio charged on every fill (0.001 = 0.1 %).")

    @field_validator("epoch")
    @classmethod
    def _utc_epoch(cls, value: datetime | None) -> datetime | None:
        return None if value is None else ensure_utc(value)


class ExchangeConfig(Section):
    """The market to trade on and the pairs to trade (freqtrade's ``exchange``)."""

    name: NonEmptyStr = Field("sim", description='"sim" for the simulated market, else a ccxt exchange id.')
    key: str = Field("", description="API key for a real exchange (ccxt apiKey).")
    secret: str = Field("", description="API secret for a real exchange.")
    password: str = Field("", description="API passphrase, for exchanges that need one.")
    pair_whitelist: list[Pair] = Field(default_factory=list, description="Pairs to trade, e.g. BTC/USDT.")
    pair_blacklist: list[Pair] = Field(
        default_factory=list, description="Pairs never to trade; regular expressions like BNB/.* allowed."
    )
    ccxt_config: dict[str, Any] = Field(
        default_factory=dict, description="Extra options passed to the ccxt exchange constructor."
    )
    sim: SimConfig = Field(default_factory=SimConfig, description="Settings of the simulated market.")


class PairlistConfig(Section):
    """One pairlist handler; only the static whitelist exists so far."""

    method: str = Field(description='Pairlist handler; only "StaticPairList" is supported so far.')

    @field_validator("method")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value != "StaticPairList":
            raise problem('only "StaticPairList" is supported so far; remove other pairlist handlers')
        return value


class Internals(Section):
    """Timing of the bot's main loop."""

    process_throttle_secs: float = Field(5, gt=0, description="Minimum seconds between two bot loop runs.")
    heartbeat_interval: float = Field(60, ge=0, description="Seconds between heartbeat log lines (0 = off).")


class Config(Section):
    """The effective configuration of one bot.

    Extra read-only attributes: ``unknown_keys`` (sorted dotted paths of keys tradecast ignores),
    ``extras`` (path -> value of those keys) and ``source_files`` (the files it was loaded from).
    """

    max_open_trades: int = Field(description="Most trades open at once; -1 for no limit.")
    stake_currency: NonEmptyStr = Field(description="Quote currency used to buy, e.g. USDT.")
    stake_amount: float | Literal["unlimited"] = Field(
        description='Amount of stake_currency per trade, or "unlimited" to split the wallet evenly.'
    )
    tradable_balance_ratio: float = Field(
        0.99, gt=0, le=1, description="Share of the wallet the bot may use for trades (0..1]."
    )
    available_capital: float | None = Field(
        None, gt=0, description="Capital for this bot when several share one account; replaces the balance."
    )
    dry_run: bool = Field(True, description="Paper trading: orders are simulated, no real money moves.")
    dry_run_wallet: float = Field(1000, gt=0, description="Starting paper balance in stake_currency.")
    timeframe: Timeframe = Field(None, description="Candle length, e.g. 5m; overrides the strategy's.")
    minimal_roi: dict[str, float] | None = Field(
        None, description='Minutes open -> minimal profit ratio to exit, e.g. {"0": 0.04, "30": 0.02}.'
    )
    stoploss: float | None = Field(None, description="Stoploss as a ratio between -1 and 0, e.g. -0.10.")
    trailing_stop: bool | None = Field(None, description="Move the stoploss up as the price rises.")
    trailing_stop_positive: float | None = Field(
        None, ge=0, le=1, description="Trailing distance once the trade is in profit (ratio)."
    )
    trailing_stop_positive_offset: float | None = Field(
        None, ge=0, le=1, description="Profit ratio at which trailing_stop_positive takes over."
    )
    trailing_only_offset_is_reached: bool | None = Field(
        None, description="Trail only after the profit reached trailing_stop_positive_offset."
    )
    use_exit_signal: bool | None = Field(None, description="Exit on the strategy's exit signals.")
    exit_profit_only: bool | None = Field(None, description="Act on exit signals only when in profit.")
    ignore_roi_if_entry_signal: bool | None = Field(
        None, description="Do not exit by ROI while the entry signal is still active."
    )
    process_only_new_candles: bool | None = Field(
        None, description="Analyse a pair only when a new candle closed."
    )
    unfilledtimeout: UnfilledTimeout = Field(
        default_factory=UnfilledTimeout, description="Cancel limit orders that stay unfilled too long."
    )
    entry_pricing: Pricing = Field(default_factory=Pricing, description="How entry orders are priced.")
    exit_pricing: Pricing = Field(default_factory=Pricing, description="How exit orders are priced.")
    order_types: dict[str, Any] | None = Field(
        None, description='Order type per purpose, e.g. {"entry": "limit", "exit": "limit"}.'
    )
    exchange: ExchangeConfig = Field(
        default_factory=ExchangeConfig, description="Market to trade on and pairs to trade."
    )
    pairlists: list[PairlistConfig] = Field(
        default_factory=lambda: [PairlistConfig(method="StaticPairList")],
        description="Pairlist handlers building the active whitelist.",
    )
    db_url: str | None = Field(
        None, description="SQLAlchemy URL of the trade database; default is SQLite in user_data_dir."
    )
    strategy: str | None = Field(None, description="Name of the strategy class to run.")
    strategy_path: str | None = Field(None, description="Extra folder searched for strategy files.")
    user_data_dir: str = Field("user_data", description="Folder for the database, logs and data.")
    bot_name: str = Field("tradecast", description="Name shown in the API, UI and logs.")
    initial_state: Literal["running", "stopped"] = Field(
        "running", description="Whether the bot starts trading right away or waits for /start."
    )
    force_entry_enable: bool = Field(False, description="Allow /forceenter through the API.")
    internals: Internals = Field(default_factory=Internals, description="Main loop timing.")
    api_server: ApiServerConfig = Field(
        default_factory=ApiServerConfig, description="REST API and message websocket."
    )
    external_message_consumer: ExternalMessageConsumerConfig = Field(
        default_factory=ExternalMessageConsumerConfig, description="Subscribe to producer bots."
    )
    external_signals: ExternalSignalsConfig | None = Field(
        None, description="tradecast: execute signals read from a Redis stream."
    )

    _unknown_keys: list[str] = PrivateAttr(default_factory=list)
    _extras: dict[str, Any] = PrivateAttr(default_factory=dict)
    _source_files: list[str] = PrivateAttr(default_factory=list)

    @field_validator("max_open_trades", mode="before")
    @classmethod
    def _max_open_trades(cls, value: Any) -> Any:
        # freqtrade turns -1 into float("inf") internally; accept both spellings of "no limit"
        if isinstance(value, float) and not isinstance(value, bool):
            if value == math.inf:
                return -1
            if value.is_integer():
                value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value >= -1:
            return value
        raise problem("must be a whole number >= 0, or -1 for no limit")

    @field_validator("stake_amount", mode="before")
    @classmethod
    def _stake_amount(cls, value: Any) -> Any:
        if value == "unlimited":
            return value
        return positive_number(value, 'a positive number or "unlimited"')

    @field_validator("stoploss")
    @classmethod
    def _stoploss(cls, value: float | None) -> float | None:
        if value is not None and not -1 <= value <= 0:
            raise problem("must be a ratio between -1 and 0, e.g. -0.10 to exit at a 10 % loss")
        return value

    @field_validator("minimal_roi")
    @classmethod
    def _roi_keys(cls, roi: dict[str, float] | None) -> dict[str, float] | None:
        for minutes in roi or {}:
            try:
                parsed = float(minutes)
            except ValueError:
                parsed = math.nan
            if not math.isfinite(parsed) or parsed < 0:
                raise problem(
                    'keys must be minutes since the trade opened, as strings like "0" or "30"',
                    at=(minutes,),
                    got=minutes,
                )
        return roi

    @field_validator("order_types")
    @classmethod
    def _order_types(cls, order_types: dict[str, Any] | None) -> dict[str, Any] | None:
        for purpose in _ORDER_TYPE_KEYS:
            value = (order_types or {}).get(purpose)
            if value is not None and value not in ("limit", "market"):
                raise problem('must be "limit" or "market"', at=(purpose,), got=value)
        return order_types

    @model_validator(mode="after")
    def _trailing_offsets(self) -> Self:
        positive, offset = self.trailing_stop_positive, self.trailing_stop_positive_offset
        if self.trailing_only_offset_is_reached and offset is not None and offset <= 0:
            raise problem(
                "must be > 0 when trailing_only_offset_is_reached is true",
                at=("trailing_stop_positive_offset",),
                got=offset,
            )
        if positive is not None and offset and positive > offset:
            raise problem(
                f"must be at least trailing_stop_positive ({positive}), or the stop would trail above "
                "the entry price",
                at=("trailing_stop_positive_offset",),
                got=offset,
            )
        return self

    def model_post_init(self, context: Any) -> None:
        """Move unknown keys of every section into ``extras``; take ``source_files`` from the context."""
        found: dict[str, Any] = {}
        _take_extras(self, "", found)
        self._extras = found
        self._unknown_keys = sorted(
            path for path, value in found.items() if _HARMLESS.get(path, _NOT_HARMLESS) != value
        )
        if isinstance(context, dict):
            self._source_files = [str(path) for path in context.get("source_files", ())]

    def __getitem__(self, key: str) -> Any:
        # custom top-level keys are readable too: strategies often keep their own settings in the config
        if key in type(self).model_fields:
            return getattr(self, key)
        if key in self._extras:
            return self._extras[key]
        raise KeyError(key)

    @property
    def unknown_keys(self) -> list[str]:
        """Dotted paths (sorted) of keys tradecast does not implement; their values are in ``extras``."""
        return list(self._unknown_keys)

    @property
    def extras(self) -> dict[str, Any]:
        """Values of the keys tradecast ignores, by dotted path (``exchange.ccxt_async_config``)."""
        return dict(self._extras)

    @property
    def source_files(self) -> list[str]:
        """The config files this config was merged from, in order."""
        return list(self._source_files)

    def effective_db_url(self) -> str:
        """``db_url``, or the SQLite file freqtrade would use in ``user_data_dir`` (separate for dry runs)."""
        if self.db_url:
            return self.db_url
        name = "tradesv3.dryrun.sqlite" if self.dry_run else "tradesv3.sqlite"
        return f"sqlite:///{PurePosixPath(self.user_data_dir, name)}"

    def to_public_dict(self) -> dict[str, Any]:
        """The effective config as a JSON-able dict with every secret replaced by ``***``."""
        return mask_secrets(self.model_dump(mode="json"))


_NOT_HARMLESS = object()


def _take_extras(section: Section, prefix: str, found: dict[str, Any]) -> None:
    extra = section.__pydantic_extra__
    if extra:
        for key, value in extra.items():
            found[f"{prefix}{key}"] = value
        # removed so model_dump() and show-config only show what tradecast really uses
        extra.clear()
    for name in type(section).model_fields:
        value = getattr(section, name)
        if isinstance(value, Section):
            _take_extras(value, f"{prefix}{name}.", found)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, Section):
                    _take_extras(item, f"{prefix}{name}[{index}].", found)
