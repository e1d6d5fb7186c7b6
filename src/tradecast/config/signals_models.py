"""The ``external_signals`` section (tradecast's own): trade signals read from a Redis stream.

Parsed and checked now; the ingester that uses it belongs to the ``signals`` package.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, field_validator, model_validator

from tradecast.config.fields import NonEmptyStr, Section, problem

__all__ = ["ExternalSignalsConfig"]

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class ExternalSignalsConfig(Section):
    """Execution-bot mode: validate signals from a Redis stream and trade on them exactly once."""

    enabled: bool = Field(False, description="Read and execute external signals.")
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", description="Redis server, e.g. redis://:password@host:6379/0."
    )
    stream: NonEmptyStr = Field("tradecast:signals", description="Redis stream the signals are written to.")
    group: NonEmptyStr = Field("tradecast", description="Consumer group name; bots sharing it share work.")
    consumer: NonEmptyStr = Field("bot-1", description="This bot's consumer name inside the group.")
    dead_letter_stream: NonEmptyStr = Field(
        "tradecast:signals:dead", description="Stream that receives rejected signals with the reason."
    )
    signal_ttl_s: float = Field(60, gt=0, description="Signals older than this many seconds are dropped.")
    min_confidence: float = Field(
        0.0, ge=0, le=1, description="Signals with a lower confidence (0..1) are rejected."
    )
    allowed_signal_types: list[str] = Field(
        default_factory=lambda: ["random", "test", "anomaly"],
        description="signal_type values that are executed; others go to the dead-letter stream.",
    )
    max_signals_per_minute: int = Field(
        600, gt=0, description="Rate limit; signals beyond it are dead-lettered."
    )
    max_entry_bytes: int = Field(
        65536, gt=0, description="Largest accepted stream entry in bytes; larger ones are dead-lettered."
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(_REDIS_SCHEMES):
            raise problem("must start with redis://, rediss:// or unix://")
        return value

    @model_validator(mode="after")
    def _separate_dead_letters(self) -> Self:
        if self.dead_letter_stream == self.stream:
            raise problem(
                "must differ from external_signals.stream, or rejected signals would be read again",
                at=("dead_letter_stream",),
                got=self.dead_letter_stream,
            )
        return self
