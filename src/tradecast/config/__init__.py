"""The freqtrade-compatible configuration: typed models, the loader and the starter template.

Typical use::

    config = load_config(["config.json"], overrides={"strategy": "MyStrategy"})
    config.stake_amount, config.exchange.pair_whitelist, config.unknown_keys
"""

from __future__ import annotations

from tradecast.config.api_models import ApiServerConfig
from tradecast.config.consumer_models import ExternalMessageConsumerConfig, ProducerConfig
from tradecast.config.jsonc import parse_jsonc
from tradecast.config.loader import ConfigValidationError, load_config, read_config_file
from tradecast.config.masking import mask_secrets
from tradecast.config.models import (
    Config,
    ExchangeConfig,
    Internals,
    PairlistConfig,
    Pricing,
    SimConfig,
    UnfilledTimeout,
)
from tradecast.config.signals_models import ExternalSignalsConfig
from tradecast.config.template import starter_config, write_starter_config

__all__ = [
    "ApiServerConfig",
    "Config",
    "ConfigValidationError",
    "ExchangeConfig",
    "ExternalMessageConsumerConfig",
    "ExternalSignalsConfig",
    "Internals",
    "PairlistConfig",
    "Pricing",
    "ProducerConfig",
    "SimConfig",
    "UnfilledTimeout",
    "load_config",
    "mask_secrets",
    "parse_jsonc",
    "public_config",
    "read_config_file",
    "starter_config",
    "write_starter_config",
]


def public_config(config: Config) -> dict[str, object]:
    """The effective config as a JSON-able dict with secrets masked (same as ``config.to_public_dict()``)."""
    return config.to_public_dict()
