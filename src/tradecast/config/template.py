"""The commented starter config written by ``tradecast new-config``.

It runs out of the box on the simulated market with ``ProducerStrategy`` in dry-run mode. The API section
is filled with freshly generated secrets but left disabled, so nothing listens until the operator opts in.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tradecast.config.jsonc import parse_jsonc
from tradecast.config.loader import ConfigValidationError
from tradecast.config.messages import problem_lines
from tradecast.config.models import Config
from tradecast.core.errors import ConfigError

__all__ = ["starter_config", "write_starter_config"]

DEFAULT_PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT")

_TEMPLATE = """\
// tradecast config, in freqtrade's format (JSON; // and /* */ comments are allowed).
// Any key can be overridden from the environment: TRADECAST__SECTION__KEY=value,
// e.g. TRADECAST__STAKE_AMOUNT=50 or TRADECAST__EXCHANGE__PAIR_WHITELIST='["BTC/USDT"]'.
{
    "bot_name": %(bot_name)s,
    "strategy": %(strategy)s,
    "initial_state": "running",

    // Paper trading: orders are simulated against dry_run_wallet, no real money moves.
    "dry_run": true,
    "dry_run_wallet": %(dry_run_wallet)s,

    "max_open_trades": %(max_open_trades)s,          // -1 for no limit
    "stake_currency": %(stake_currency)s,
    "stake_amount": %(stake_amount)s,             // per trade, or "unlimited"
    "tradable_balance_ratio": 0.99,
    "timeframe": %(timeframe)s,

    "unfilledtimeout": {"entry": 10, "exit": 10, "unit": "minutes", "exit_timeout_count": 0},
    "entry_pricing": {"price_side": "same"},
    "exit_pricing": {"price_side": "same"},

    "exchange": {
        // "sim" is the built-in simulated market; use a ccxt exchange id (and key/secret) for a real one.
        "name": "sim",
        "key": "",
        "secret": "",
        "pair_whitelist": %(pairs)s,
        "pair_blacklist": [],
        "sim": {"seed": 42, "speed": 1.0}
    },
    "pairlists": [{"method": "StaticPairList"}],

    // Trades are stored in SQLite under user_data_dir unless db_url is set,
    // e.g. "postgresql+psycopg://user:password@localhost/tradecast".
    "user_data_dir": "user_data",
    "internals": {"process_throttle_secs": 5},

    // REST API, FreqUI and the message websocket. The secrets below were generated for this file;
    // keep them private. Set "enabled": true to start the server.
    "api_server": {
        "enabled": %(api_enabled)s,
        "listen_ip_address": "127.0.0.1",
        "listen_port": %(listen_port)s,
        "verbosity": "error",
        "enable_openapi": false,
        "jwt_secret_key": %(jwt_secret_key)s,
        "CORS_origins": [],
        "username": "tradecast",
        "password": %(password)s,
        // consumers subscribe to this bot with ?token=<ws_token>
        "enable_message_ws": %(api_enabled)s,
        "ws_token": %(ws_token)s
    },

    // To consume another bot's analysis, enable this and list its api_server host, port and ws_token.
    "external_message_consumer": {
        "enabled": false,
        "producers": []
    }
}
"""


def starter_config(
    *,
    bot_name: str = "tradecast",
    strategy: str = "ProducerStrategy",
    timeframe: str = "5m",
    pairs: Sequence[str] = DEFAULT_PAIRS,
    stake_currency: str = "USDT",
    stake_amount: float | str = 100,
    max_open_trades: int = 3,
    dry_run_wallet: float = 1000,
    api_enabled: bool = False,
    listen_port: int = 8080,
) -> str:
    """Text of a commented starter config with fresh secrets; bad choices raise :class:`ConfigError`."""
    values = {
        "bot_name": bot_name,
        "strategy": strategy,
        "timeframe": timeframe,
        "pairs": list(pairs),
        "stake_currency": stake_currency,
        "stake_amount": stake_amount,
        "max_open_trades": max_open_trades,
        "dry_run_wallet": dry_run_wallet,
        "api_enabled": api_enabled,
        "listen_port": listen_port,
        "jwt_secret_key": secrets.token_hex(),
        "ws_token": secrets.token_urlsafe(25),
        "password": secrets.token_urlsafe(16),
    }
    text = _TEMPLATE % {key: json.dumps(value) for key, value in values.items()}
    # check the result so a bad choice fails here, not when the bot first starts
    try:
        Config.model_validate(parse_jsonc(text, "starter config"))
    except ValidationError as exc:
        raise ConfigValidationError(problem_lines(exc), []) from None
    return text


def write_starter_config(path: str | Path, overwrite: bool = False, **choices: Any) -> Path:
    """Write :func:`starter_config` to ``path`` (readable by the owner only); refuse to replace a file."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise ConfigError(f"{target} already exists; choose another path or pass overwrite=True")
    text = starter_config(**choices)
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (0 if overwrite else os.O_EXCL)
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise ConfigError(f"{target} already exists; choose another path or pass overwrite=True") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return target
