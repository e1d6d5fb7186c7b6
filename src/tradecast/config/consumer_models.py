"""The ``external_message_consumer`` section: the producers a consumer bot subscribes to (freqtrade keys).

Defaults follow freqtrade's code rather than its docs (``wait_timeout`` is 30 s in code, 300 in the docs).
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, field_validator, model_validator

from tradecast.config.fields import NonEmptyStr, Section, problem

__all__ = ["ExternalMessageConsumerConfig", "ProducerConfig"]


class ProducerConfig(Section):
    """One producer bot to subscribe to."""

    name: NonEmptyStr = Field(
        description="Unique name of the producer; strategies pass it to dp.get_producer_df(pair, name)."
    )
    host: NonEmptyStr = Field(description="Host name or IP address of the producer's api_server.")
    port: int = Field(8080, ge=0, le=65535, description="Port of the producer's api_server.")
    secure: bool = Field(False, description="Connect with wss:// (TLS) instead of ws://.")
    ws_token: str = Field(description="The ws_token configured in the producer's api_server.")


class ExternalMessageConsumerConfig(Section):
    """Consumer mode: receive analyzed dataframes from producer bots over their message websocket."""

    enabled: bool = Field(False, description="Subscribe to the producers below.")
    producers: list[ProducerConfig] = Field(
        default_factory=list, description="Producers to subscribe to (at least one when enabled)."
    )
    wait_timeout: float = Field(
        30, ge=0, description="Seconds without a message before the consumer pings the producer."
    )
    ping_timeout: float = Field(10, ge=0, description="Seconds to wait for the pong before reconnecting.")
    sleep_time: float = Field(10, ge=0, description="Seconds to wait before reconnecting after a failure.")
    remove_entry_exit_signals: bool = Field(
        False, description="Zero the producer's entry/exit signal columns when a dataframe arrives."
    )
    message_size_limit: int = Field(8, ge=1, le=20, description="Largest accepted message, in MiB (1..20).")
    initial_candle_limit: int = Field(
        1500, ge=0, le=1500, description="Candles requested per pair on connect (0..1500)."
    )
    producer_data_only: bool = Field(
        False,
        description="tradecast: rely on producers for candles and do not download any from the market.",
    )
    tradecast_wire: bool = Field(
        True,
        description=(
            "tradecast: offer the tradecast.v1 subprotocol (each broadcast compressed once by a tradecast "
            "producer). A freqtrade producer never selects it; set false to keep permessage-deflate with "
            "freqtrade producers over slow links."
        ),
    )

    @field_validator("producers")
    @classmethod
    def _unique_names(cls, producers: list[ProducerConfig]) -> list[ProducerConfig]:
        seen: set[str] = set()
        for index, producer in enumerate(producers):
            if producer.name in seen:
                raise problem(
                    "duplicate producer name; every producer needs its own name",
                    at=(index, "name"),
                    got=producer.name,
                )
            seen.add(producer.name)
        return producers

    @model_validator(mode="after")
    def _producers_when_enabled(self) -> Self:
        if self.enabled and not self.producers:
            raise problem(
                "must list at least one producer when external_message_consumer.enabled is true",
                at=("producers",),
                got=[],
            )
        return self
