from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tradecast.config import load_config, parse_jsonc, starter_config, write_starter_config
from tradecast.core.errors import ConfigError


def test_starter_config_loads_with_fresh_secrets(tmp_path: Path) -> None:
    path = write_starter_config(tmp_path / "user_data" / "config.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert "//" in text  # it is commented
    config = load_config([path], env={})
    assert config.unknown_keys == []
    assert config.dry_run is True
    assert config.timeframe == "5m"
    assert config.strategy == "ProducerStrategy"
    assert config.exchange.name == "sim"
    assert all(pair.endswith("/USDT") for pair in config.exchange.pair_whitelist)
    api = config.api_server
    assert api.enabled is False
    assert api.username == "tradecast"
    assert len(api.jwt_secret_key) >= 64
    assert isinstance(api.ws_token, str) and len(api.ws_token) >= 30
    assert len(api.password) >= 16
    other = parse_jsonc(starter_config())["api_server"]
    assert other["jwt_secret_key"] != api.jwt_secret_key
    assert other["ws_token"] != api.ws_token
    assert other["password"] != api.password


def test_starter_config_choices() -> None:
    text = starter_config(
        bot_name="p1", timeframe="1m", pairs=["ETH/BTC"], stake_currency="BTC", api_enabled=True
    )
    data = parse_jsonc(text)
    assert data["bot_name"] == "p1"
    assert data["exchange"]["pair_whitelist"] == ["ETH/BTC"]
    assert data["api_server"]["enabled"] is True


def test_bad_choice_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r'timeframe: must be one of .*got "7m"'):
        starter_config(timeframe="7m")


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{}")
    with pytest.raises(ConfigError, match="already exists"):
        write_starter_config(path)
    assert path.read_text() == "{}"
    write_starter_config(path, overwrite=True)
    assert load_config([path], env={}).bot_name == "tradecast"
