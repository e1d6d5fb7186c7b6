"""Wire consumer mode into a bot (``tradecast.assembly`` calls :func:`attach_consumer` when enabled).

What it connects: a :class:`~tradecast.fleet.consumer.ConsumerService` as a bot component (its producer
clients start after the bot's core and stop before it), the strategy's ``self.dp`` producer source, and
``bot.health_reporters["external_message_consumer"]`` (connection state, counters, store size).
An invalid producer address raises ``ConfigError`` here, before the bot starts.
"""

from __future__ import annotations

from typing import Any

from tradecast.fleet.consumer import ConsumerService

__all__ = ["HEALTH_KEY", "attach_consumer"]

HEALTH_KEY = "external_message_consumer"


def attach_consumer(bot: Any, **options: Any) -> ConsumerService:
    """Attach the consumer service to ``bot`` and return it (tests pass ``connect``/``clock``/``rng``)."""
    service = ConsumerService(bot, bot.config.external_message_consumer, **options)
    bot.add_component(service)
    bot.health_reporters[HEALTH_KEY] = service.status
    return service
