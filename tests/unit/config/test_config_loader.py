from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from tradecast.config import ConfigValidationError, load_config, read_config_file
from tradecast.core.errors import ConfigError


def test_files_merge_left_to_right(write_config: Any, minimal: dict) -> None:
    base = write_config(
        {
            **minimal,
            "stake_amount": 10,
            "exchange": {"name": "sim", "pair_whitelist": ["BTC/USDT", "ETH/USDT"], "sim": {"seed": 1}},
            "api_server": {"enabled": False, "listen_port": 8080},
        },
        "base.json",
    )
    local = write_config(
        {
            "stake_amount": 20,
            "exchange": {"pair_whitelist": ["SOL/USDT"], "sim": {"speed": 5}},
            "api_server": {"enabled": True},
        },
        "local.json",
    )
    config = load_config([base, local], env={})
    assert config.stake_amount == 20
    assert config.exchange.pair_whitelist == ["SOL/USDT"]  # lists replace
    assert (config.exchange.sim.seed, config.exchange.sim.speed) == (1, 5)  # dicts merge
    assert config.api_server.enabled is True
    assert config.api_server.listen_port == 8080
    assert config.source_files == [str(base), str(local)]
    assert load_config([local, base], env={}).stake_amount == 10


def test_comments_and_urls_in_a_config_file(write_config: Any) -> None:
    path = write_config(
        """
        // freqtrade style config
        {
            "max_open_trades": 3, /* block */
            "stake_currency": "USDT",
            "stake_amount": 10,
            "db_url": "postgresql://user:pw@db//weird", // a // inside a string
            "external_signals": {"redis_url": "redis://host:6379/0"}
        }
        """
    )
    config = load_config([path], env={})
    assert config.db_url == "postgresql://user:pw@db//weird"
    assert config.external_signals is not None
    assert config.external_signals.redis_url == "redis://host:6379/0"


def test_env_overrides_nested_keys_and_json_values(write_config: Any, minimal: dict) -> None:
    path = write_config({**minimal, "exchange": {"pair_whitelist": ["BTC/USDT"]}})
    env = {
        "TRADECAST__STAKE_AMOUNT": "50",
        "TRADECAST__DRY_RUN": "false",
        "TRADECAST__EXCHANGE__PAIR_WHITELIST": '["ETH/USDT", "SOL/USDT"]',
        "TRADECAST__EXCHANGE__SIM__SPEED": "60",
        "TRADECAST__API_SERVER__CORS_ORIGINS": '["http://localhost:3000"]',
        "TRADECAST__API_SERVER__PASSWORD": "123456",  # a text field keeps digits as text
        "TRADECAST__BOT_NAME": "bot two",
        "OTHER__STAKE_AMOUNT": "99",
    }
    config = load_config([path], env=env)
    assert config.stake_amount == 50
    assert config.dry_run is False
    assert config.exchange.pair_whitelist == ["ETH/USDT", "SOL/USDT"]
    assert config.exchange.sim.speed == 60
    assert config.api_server.CORS_origins == ["http://localhost:3000"]
    assert config.api_server.password == "123456"
    assert config.bot_name == "bot two"


def test_env_can_reach_into_list_entries(write_config: Any, minimal: dict) -> None:
    producers = [{"name": "a", "host": "h", "ws_token": "old"}, {"name": "b", "host": "h", "ws_token": "old"}]
    path = write_config({**minimal, "external_message_consumer": {"producers": producers}})
    env = {"TRADECAST__EXTERNAL_MESSAGE_CONSUMER__PRODUCERS__1__WS_TOKEN": "new"}
    config = load_config([path], env=env)
    assert [p.ws_token for p in config.external_message_consumer.producers] == ["old", "new"]


def test_invalid_env_value_names_the_variable(write_config: Any, minimal: dict) -> None:
    path = write_config(minimal)
    with pytest.raises(ConfigValidationError) as info:
        load_config([path], env={"TRADECAST__API_SERVER__LISTEN_PORT": "eighty"})
    assert info.value.problems == [
        'api_server.listen_port: must be a valid integer, unable to parse string as an integer, got "eighty" '
        "(from environment variable TRADECAST__API_SERVER__LISTEN_PORT)"
    ]


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("TRADECAST__STAKE_AMOUNT__X", "stake_amount holds a single value"),
        ("TRADECAST__API_SERVER____PORT", "empty level name"),
        ("TRADECAST__EXTERNAL_MESSAGE_CONSUMER__PRODUCERS__5__HOST", "not an index"),
    ],
)
def test_bad_env_variable_shapes(write_config: Any, minimal: dict, name: str, match: str) -> None:
    path = write_config({**minimal, "external_message_consumer": {"producers": []}})
    with pytest.raises(ConfigError, match=f"^{name}: .*{match}"):
        load_config([path], env={name: "1"})


def test_overrides_win_over_env_and_files(write_config: Any, minimal: dict) -> None:
    path = write_config({**minimal, "strategy": "FromFile"})
    config = load_config(
        [path],
        overrides={
            "strategy": "FromCli",
            "db_url": "sqlite://",
            "timeframe": None,
            "api_server": {"enabled": True},
        },
        env={"TRADECAST__STRATEGY": "FromEnv", "TRADECAST__TIMEFRAME": "1h"},
    )
    assert config.strategy == "FromCli"
    assert config.db_url == "sqlite://"
    assert config.timeframe == "1h"  # None means "flag not given"
    assert config.api_server.enabled is True


def test_bad_override_is_attributed_to_the_command_line(write_config: Any, minimal: dict) -> None:
    with pytest.raises(ConfigValidationError, match=r"timeframe: .* \(from command line\)"):
        load_config([write_config(minimal)], overrides={"timeframe": "2m"}, env={})


def test_unknown_keys_are_collected_and_warned_once(
    write_config: Any, minimal: dict, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(
        {
            **minimal,
            "telegram": {"enabled": True, "token": "tg-secret"},
            "edge": {"enabled": False},
            "trading_mode": "futures",
            "margin_mode": "",
            "stake_amout": 5,
            "exchange": {"name": "sim", "ccxt_async_config": {}, "pair_whitlist": []},
            "external_message_consumer": {"producers": [{"name": "a", "host": "h", "ws_token": "t", "x": 1}]},
        }
    )
    with caplog.at_level(logging.WARNING, logger="tradecast.config"):
        config = load_config([path], env={})
    assert config.unknown_keys == [
        "edge",
        "exchange.ccxt_async_config",
        "exchange.pair_whitlist",
        "external_message_consumer.producers[0].x",
        "stake_amout",
        "telegram",
        "trading_mode",
    ]
    assert config.extras["telegram"] == {"enabled": True, "token": "tg-secret"}
    assert config.extras["trading_mode"] == "futures"
    assert "telegram" not in config.model_dump()
    warnings = [r for r in caplog.records if r.name == "tradecast.config"]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "stake_amout (did you mean stake_amount?)" in text
    assert "exchange.pair_whitlist (did you mean pair_whitelist?)" in text
    assert "tg-secret" not in text


def test_spot_trading_mode_is_not_reported(write_config: Any, minimal: dict) -> None:
    config = load_config([write_config({**minimal, "trading_mode": "spot", "margin_mode": ""})], env={})
    assert config.unknown_keys == []


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigError, match=f"config file not found: {re.escape(str(missing))}"):
        load_config([missing], env={})


def test_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"cannot read config file {re.escape(str(tmp_path))}"):
        load_config([tmp_path], env={})


def test_invalid_json_names_file_line_and_column(write_config: Any) -> None:
    path = write_config('{\n  "max_open_trades": 3\n  "stake_currency": "USDT"\n}')
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}:3:3: invalid JSON"):
        load_config([path], env={})


def test_trailing_commas_load_as_in_freqtrade(write_config: Any) -> None:
    path = write_config('{\n  "max_open_trades": 3,\n  "stake_currency": "USDT",\n  "stake_amount": 10,\n'
                        '  "exchange": {"name": "sim",\n    "pair_whitelist": ["BTC/USDT", "ETH/USDT",],},\n}')
    config = load_config([path], env={})
    assert config.max_open_trades == 3 and config.exchange.pair_whitelist == ["BTC/USDT", "ETH/USDT"]


def test_trailing_comma_can_still_be_refused_with_its_line(write_config: Any) -> None:
    path = write_config('{\n  "max_open_trades": 3,\n  "stake_currency": "USDT",\n}')
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}:3:27: trailing comma"):
        read_config_file(path, allow_trailing_commas=False)


def test_config_must_be_an_object(write_config: Any) -> None:
    with pytest.raises(ConfigError, match="must hold a JSON object"):
        load_config([write_config("[1, 2]")], env={})


def test_effective_db_url(write_config: Any, minimal: dict) -> None:
    dry = load_config([write_config({**minimal, "user_data_dir": "/srv/bot"})], env={})
    assert dry.effective_db_url() == "sqlite:////srv/bot/tradesv3.dryrun.sqlite"
    live = load_config([write_config({**minimal, "dry_run": False})], env={})
    assert live.effective_db_url() == "sqlite:///user_data/tradesv3.sqlite"
    assert load_config(
        [write_config(minimal)], overrides={"db_url": "sqlite://"}, env={}
    ).effective_db_url() == ("sqlite://")


def test_environment_defaults_to_os_environ(
    write_config: Any, minimal: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADECAST__STAKE_AMOUNT", "77")
    assert load_config([write_config(minimal)]).stake_amount == 77


def test_env_json_object_merges_into_the_section(write_config: Any, minimal: dict) -> None:
    path = write_config({**minimal, "api_server": {"listen_port": 9000, "username": "file"}})
    env = {"TRADECAST__API_SERVER": '{"username": "env"}', "TRADECAST__API_SERVER__ENABLED": "true"}
    api = load_config([path], env=env).api_server
    assert (api.listen_port, api.username, api.enabled) == (9000, "env", True)


def test_unknown_env_keys_become_unknown_keys(write_config: Any, minimal: dict) -> None:
    config = load_config([write_config(minimal)], env={"TRADECAST__TELEGRAM__TOKEN": "abc"})
    assert config.unknown_keys == ["telegram"]
    assert config.extras["telegram"] == {"token": "abc"}


def test_single_path_and_bom(tmp_path: Path, minimal: dict) -> None:
    path = tmp_path / "bom.json"
    path.write_text("\ufeff" + json.dumps(minimal), encoding="utf-8")
    assert load_config(str(path), env={}).source_files == [str(path)]


def test_infinite_numbers_are_rejected(write_config: Any) -> None:
    path = write_config(
        '{"max_open_trades": 1, "stake_currency": "USDT", "stake_amount": 1, "dry_run_wallet": Infinity}'
    )
    with pytest.raises(ConfigValidationError, match=r"dry_run_wallet: .*got Infinity"):
        load_config([path], env={})


def test_dict_style_access_like_freqtrade_strategies(write_config: Any, minimal: dict) -> None:
    config = load_config([write_config({**minimal, "my_strategy_setting": {"rsi": 30}})], env={})
    assert config["stake_currency"] == "USDT"
    assert config["exchange"]["name"] == "sim"
    assert config.get("my_strategy_setting") == {"rsi": 30}
    assert config.get("missing", 5) == 5
    assert "timeframe" in config and "missing" not in config
    assert config["exchange"].get("nope") is None
    with pytest.raises(KeyError):
        config["missing"]
