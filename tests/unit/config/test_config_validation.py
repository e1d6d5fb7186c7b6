"""Each kind of bad value gives one line naming the key path and the bad value."""

from __future__ import annotations

from typing import Any

import pytest

from tradecast.config import Config, ConfigValidationError, load_config
from tradecast.core.errors import ConfigError


def _problems(write_config: Any, minimal: dict, **changes: Any) -> list[str]:
    path = write_config({**minimal, **changes})
    with pytest.raises(ConfigValidationError) as info:
        load_config([path], env={})
    assert isinstance(info.value, ConfigError)
    assert info.value.exit_code == 2
    return info.value.problems


def test_good_config_loads(write_config: Any, minimal: dict) -> None:
    path = write_config(
        {
            **minimal,
            "stake_amount": "unlimited",
            "max_open_trades": -1,
            "timeframe": "5m",
            "minimal_roi": {"0": 0.04, "30": "0.02"},
            "stoploss": -0.1,
            "trailing_stop": True,
            "trailing_stop_positive": 0.01,
            "trailing_stop_positive_offset": 0.02,
            "trailing_only_offset_is_reached": True,
            "unfilledtimeout": {"entry": 5, "exit": 5, "unit": "seconds"},
            "entry_pricing": {"price_side": "other"},
            "order_types": {"entry": "limit", "exit": "market", "stoploss_on_exchange": False},
            "exchange": {"name": "sim", "pair_whitelist": ["BTC/USDT", ".*/USDT"], "sim": {"speed": 60}},
            "api_server": {"enabled": True, "listen_port": 8081, "ws_token": ["a", "b"]},
            "external_message_consumer": {
                "enabled": True,
                "producers": [{"name": "p1", "host": "127.0.0.1", "ws_token": "t"}],
            },
            "external_signals": {"enabled": True, "min_confidence": 0.5},
        }
    )
    config = load_config([path], env={})
    assert config.stake_amount == "unlimited"
    assert config.max_open_trades == -1
    assert config.minimal_roi == {"0": 0.04, "30": 0.02}
    assert config.dry_run is True
    assert config.dry_run_wallet == 1000
    assert config.tradable_balance_ratio == 0.99
    assert config.unfilledtimeout.unit == "seconds"
    assert config.entry_pricing.price_side == "other"
    assert config.exit_pricing.price_side == "same"
    assert config.exchange.sim.speed == 60
    assert config.exchange.sim.seed == 42
    assert config.pairlists[0].method == "StaticPairList"
    assert config.external_message_consumer.producers[0].port == 8080
    assert config.external_message_consumer.wait_timeout == 30
    assert config.external_signals is not None
    assert config.external_signals.stream == "tradecast:signals"
    assert config.initial_state == "running"
    assert config.internals.process_throttle_secs == 5
    assert config.source_files == [str(path)]
    assert config.unknown_keys == []


def test_infinite_max_open_trades_means_unlimited(minimal: dict) -> None:
    config = Config.model_validate({**minimal, "max_open_trades": float("inf")})
    assert config.max_open_trades == -1


def test_every_field_has_a_description() -> None:
    from tradecast import config as package

    for name in package.__all__:
        model = getattr(package, name)
        if isinstance(model, type) and hasattr(model, "model_fields"):
            for field_name, info in model.model_fields.items():
                assert info.description, f"{name}.{field_name} has no description"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"stake_amount": -5}, 'stake_amount: must be a positive number or "unlimited", got -5'),
        ({"stake_amount": "all"}, 'stake_amount: must be a positive number or "unlimited", got "all"'),
        ({"stoploss": 0.5}, "stoploss: must be a ratio between -1 and 0"),
        ({"timeframe": "7m"}, "timeframe: must be one of 1m, 3m, 5m"),
        ({"max_open_trades": -2}, "max_open_trades: must be a whole number >= 0, or -1 for no limit, got -2"),
        ({"tradable_balance_ratio": 1.5}, "tradable_balance_ratio: must be less than or equal to 1, got 1.5"),
        ({"dry_run_wallet": 0}, "dry_run_wallet: must be greater than 0, got 0"),
        ({"initial_state": "paused"}, "initial_state: must be 'running' or 'stopped', got \"paused\""),
        ({"minimal_roi": {"0": 0.1, "soon": 0.05}}, "minimal_roi.soon: keys must be minutes"),
        ({"minimal_roi": {"-5": 0.1}}, "minimal_roi.-5: keys must be minutes"),
        ({"entry_pricing": {"price_side": "mid"}}, "entry_pricing.price_side: must be "),
        ({"order_types": {"entry": "stop"}}, 'order_types.entry: must be "limit" or "market", got "stop"'),
        ({"pairlists": [{"method": "VolumePairList"}]}, 'pairlists[0].method: only "StaticPairList"'),
        (
            {"api_server": {"listen_port": 80}},
            "api_server.listen_port: must be greater than or equal to 1024",
        ),
        ({"api_server": {"listen_port": "http"}}, "api_server.listen_port: must be a valid integer"),
        ({"api_server": {"listen_ip_address": "my host"}}, "api_server.listen_ip_address: must be an IP"),
        ({"external_signals": {"min_confidence": 2}}, "external_signals.min_confidence: must be less than"),
        (
            {"external_signals": {"redis_url": "http://x"}},
            "external_signals.redis_url: must start with redis",
        ),
    ],
)
def test_bad_value_names_path_and_value(
    write_config: Any, minimal: dict, changes: dict, expected: str
) -> None:
    problems = _problems(write_config, minimal, **changes)
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems


def test_stake_amount_message_is_exact(write_config: Any, minimal: dict) -> None:
    path = write_config({**minimal, "stake_amount": -5})
    with pytest.raises(ConfigError) as info:
        load_config([path], env={})
    assert str(info.value).startswith('stake_amount: must be a positive number or "unlimited", got -5 ')


def test_bad_pair_names_the_entry_index(write_config: Any, minimal: dict) -> None:
    problems = _problems(
        write_config, minimal, exchange={"pair_whitelist": ["BTC/USDT", "ETH/USDT", "XRPUSDT"]}
    )
    assert problems == [
        'exchange.pair_whitelist[2]: must look like BASE/QUOTE, e.g. "BTC/USDT", got "XRPUSDT"'
    ]


def test_all_problems_are_reported_together(write_config: Any, minimal: dict) -> None:
    path = write_config({**minimal, "stake_amount": -5, "stoploss": 0.5, "timeframe": "7m"})
    with pytest.raises(ConfigValidationError) as info:
        load_config([path], env={})
    message = str(info.value)
    assert message.startswith("3 problems in the config")
    for key in ("stake_amount:", "stoploss:", "timeframe:"):
        assert f"\n  {key}" in message


def test_missing_required_key(write_config: Any, minimal: dict) -> None:
    path = write_config({"max_open_trades": 1, "stake_currency": "USDT"})
    with pytest.raises(ConfigValidationError) as info:
        load_config([path], env={})
    assert info.value.problems == ["stake_amount: is required"]


def test_duplicate_producer_names(write_config: Any, minimal: dict) -> None:
    producer = {"host": "127.0.0.1", "ws_token": "secret-token"}
    problems = _problems(
        write_config,
        minimal,
        external_message_consumer={
            "enabled": True,
            "producers": [{"name": "a", **producer}, {"name": "b", **producer}, {"name": "a", **producer}],
        },
    )
    assert problems[0].startswith("external_message_consumer.producers[2].name: duplicate producer name")
    assert problems[0].endswith('got "a"')


def test_enabled_consumer_needs_a_producer(write_config: Any, minimal: dict) -> None:
    problems = _problems(write_config, minimal, external_message_consumer={"enabled": True})
    assert problems[0].startswith("external_message_consumer.producers: must list at least one producer")


def test_producer_port_range(write_config: Any, minimal: dict) -> None:
    problems = _problems(
        write_config,
        minimal,
        external_message_consumer={"producers": [{"name": "a", "host": "h", "port": 70000, "ws_token": "t"}]},
    )
    assert problems == [
        "external_message_consumer.producers[0].port: must be less than or equal to 65535, got 70000"
    ]


def test_cors_wildcard_is_rejected(write_config: Any, minimal: dict) -> None:
    problems = _problems(write_config, minimal, api_server={"CORS_origins": ["http://localhost:3000", "*"]})
    assert problems[0].startswith('api_server.CORS_origins[1]: must not be "*"')
    assert problems[0].endswith('got "*"')


def test_secret_values_are_never_echoed(write_config: Any, minimal: dict) -> None:
    problems = _problems(
        write_config,
        minimal,
        api_server={"password": 12345678, "jwt_secret_key": ["hunter2-secret"]},
        external_message_consumer={"producers": [{"name": "a", "host": "h", "ws_token": 987654}]},
    )
    text = "\n".join(problems)
    assert "api_server.password" in text
    assert "api_server.jwt_secret_key" in text
    assert "producers[0].ws_token" in text
    for secret in ("12345678", "hunter2", "987654"):
        assert secret not in text


def test_url_password_is_masked_in_messages(write_config: Any, minimal: dict) -> None:
    problems = _problems(write_config, minimal, external_signals={"redis_url": "http://user:s3cret@host/0"})
    assert "s3cret" not in problems[0]
    assert "***" in problems[0]


def test_trailing_offset_must_exceed_positive(write_config: Any, minimal: dict) -> None:
    problems = _problems(
        write_config, minimal, trailing_stop_positive=0.05, trailing_stop_positive_offset=0.02
    )
    assert problems[0].startswith("trailing_stop_positive_offset: must be at least trailing_stop_positive")
