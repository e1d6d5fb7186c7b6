"""Attach the optional parts a config asks for (API server, producer/consumer, external signals) to a bot.

Each package owns its own ``attach(bot)``; this module only decides which ones run, so ``bot.py`` stays
the same whichever features a config enables.
"""

from __future__ import annotations

import importlib
from typing import Any

#: (config test, "module:function") pairs, in start order
_PARTS = (
    (lambda c: c.api_server.enabled, "tradecast.api.attach:attach_api"),
    (lambda c: c.external_message_consumer.enabled, "tradecast.fleet.attach:attach_consumer"),
    (lambda c: bool(getattr(c, "external_signals", None) and c.external_signals.enabled),
     "tradecast.signals.attach:attach_signals"),
)


def attach_optional_parts(bot: Any) -> None:
    """Attach every part the bot's config enables (a missing package is a clear config error)."""
    from tradecast.core.errors import ConfigError

    for enabled, target in _PARTS:
        if not enabled(bot.config):
            continue
        module_name, func_name = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"{module_name} is not available in this build: {exc}") from exc
        getattr(module, func_name)(bot)
