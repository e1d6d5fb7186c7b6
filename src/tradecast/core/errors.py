"""The one exception tree of tradecast.

Every error a component raises on purpose derives from :class:`TradecastError` and says, by its class,
what the caller should do about it:

* :class:`ConfigError`: the operator must act (fix a config file, a path, a secret). The CLI prints the
  message on one line and exits with code 2.
* :class:`TransientError`: the outside world hiccupped (network, exchange, Redis). Retry with backoff.
* :class:`StrategyError`: user strategy code failed. Isolate that pair or callback, keep the bot running.
* :class:`WireError`: a message from a peer is malformed. Drop and count it; keep the connection if sound.
* :class:`TradeRejected`: a request to trade was refused by a rule (blacklist, lock, balance...). It is a
  normal outcome, reported to whoever asked, never a crash.

Library errors (ccxt, SQLAlchemy, redis, websockets) are translated into these where the library is imported.
"""

from __future__ import annotations


class TradecastError(Exception):
    """Base of every error tradecast raises on purpose."""


class ConfigError(TradecastError):
    """The configuration (or another operator-provided input) is wrong; exit code 2."""

    exit_code = 2


class TransientError(TradecastError):
    """A temporary failure of something outside the bot; retrying later may succeed."""


class StrategyError(TradecastError):
    """User strategy code raised or returned something unusable."""


class WireError(TradecastError):
    """A message received from a peer could not be decoded or validated."""

    def __init__(self, message: str, *, kind: str = "malformed") -> None:
        super().__init__(message)
        #: a short stable label used to count and log-once per kind of problem
        self.kind = kind


class TradeRejected(TradecastError):
    """A trade or order request was refused by a trading rule; the message says which."""


class PersistenceError(TradecastError):
    """The database could not be written or read (read-only file, lost connection...)."""
