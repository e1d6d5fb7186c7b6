from __future__ import annotations

import json

from tradecast.config import Config, mask_secrets, public_config
from tradecast.config.masking import mask_url

SECRETS = [
    "exchange-key-1",
    "exchange-secret-2",
    "exchange-pass-3",
    "ccxt-apikey-4",
    "api-password-5",
    "jwt-key-6",
    "ws-token-7",
    "ws-token-8",
    "producer-token-9",
    "redis-pass-10",
    "db-pass-11",
]


def _config() -> Config:
    return Config.model_validate(
        {
            "max_open_trades": 1,
            "stake_currency": "USDT",
            "stake_amount": 10,
            "db_url": "postgresql+psycopg://bot:db-pass-11@db:5432/trades",
            "exchange": {
                "name": "binance",
                "key": "exchange-key-1",
                "secret": "exchange-secret-2",
                "password": "exchange-pass-3",
                "ccxt_config": {"apiKey": "ccxt-apikey-4", "enableRateLimit": True},
            },
            "api_server": {
                "username": "admin",
                "password": "api-password-5",
                "jwt_secret_key": "jwt-key-6",
                "ws_token": ["ws-token-7", "ws-token-8"],
            },
            "external_message_consumer": {
                "producers": [{"name": "p", "host": "h", "ws_token": "producer-token-9"}],
            },
            "external_signals": {"redis_url": "redis://:redis-pass-10@cache:6379/0"},
        }
    )


def test_public_dict_hides_every_secret() -> None:
    config = _config()
    public = config.to_public_dict()
    text = json.dumps(public)
    for secret in SECRETS:
        assert secret not in text, secret
    assert public["exchange"]["key"] == "***"
    assert public["exchange"]["ccxt_config"] == {"apiKey": "***", "enableRateLimit": True}
    assert public["api_server"]["ws_token"] == ["***", "***"]
    assert public["api_server"]["username"] == "admin"
    assert public["external_message_consumer"]["producers"][0]["ws_token"] == "***"
    assert public["external_signals"]["redis_url"] == "redis://:***@cache:6379/0"
    assert public["db_url"] == "postgresql+psycopg://bot:***@db:5432/trades"
    assert public_config(config) == public
    # the config itself keeps the real values
    assert config.api_server.password == "api-password-5"


def test_empty_secrets_stay_visible_as_empty() -> None:
    public = Config.model_validate(
        {"max_open_trades": 1, "stake_currency": "USDT", "stake_amount": 1}
    ).to_public_dict()
    assert public["exchange"]["secret"] == ""
    assert public["api_server"]["ws_token"] is None


def test_public_dict_is_a_loadable_config() -> None:
    public = _config().to_public_dict()
    assert Config.model_validate(public).stake_amount == 10


def test_mask_helpers() -> None:
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert mask_url("redis://user:pw@h/0") == "redis://user:***@h/0"
    assert mask_secrets({"telegram": {"token": "t", "chat_id": "1"}}) == {
        "telegram": {"token": "***", "chat_id": "1"}
    }
