"""Start-up security check: refusals on exposed addresses, warnings on loopback."""

from __future__ import annotations

import pytest

from tradecast.api.security import check_api_security
from tradecast.core.errors import ConfigError

from .conftest import make_api_config

STRONG = {"password": "a-long-unique-pass", "jwt_secret_key": "j" * 32}


def test_strong_exposed_setup_passes() -> None:
    result = check_api_security(make_api_config(listen_ip_address="0.0.0.0", **STRONG))
    assert result.jwt_secret_key == "j" * 32
    assert result.warnings == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password": ""}, "api_server.password is empty"),
        ({"password": "SuperSecret1!"}, "example value"),
        ({"password": "freqtrade"}, "example value"),
        ({"password": "changeme"}, "example value"),
        ({"password": "SuperSecurePassword"}, "example value"),
        ({"password": "short7!"}, "shorter than 8"),
        ({"jwt_secret_key": ""}, "jwt_secret_key is not set"),
        ({"jwt_secret_key": "somethingrandom"}, "example value"),
        ({"jwt_secret_key": "super-secret"}, "example value"),
        ({"jwt_secret_key": "x" * 31}, "shorter than 32"),
        ({"username": ""}, "username is empty"),
    ],
)
def test_exposed_weak_secrets_are_refused(overrides: dict[str, str], message: str) -> None:
    config = make_api_config(listen_ip_address="0.0.0.0", **{**STRONG, **overrides})
    with pytest.raises(ConfigError, match=message) as info:
        check_api_security(config)
    assert "0.0.0.0" in str(info.value)
    assert info.value.exit_code == 2


def test_ipv6_exposed_is_checked_too() -> None:
    with pytest.raises(ConfigError):
        check_api_security(make_api_config(listen_ip_address="::", password="password"))


def test_loopback_only_warns_and_fills_an_empty_key() -> None:
    result = check_api_security(make_api_config(password="changeme", jwt_secret_key=""))
    assert len(result.jwt_secret_key) == 64
    assert any("password is an example" in w for w in result.warnings)
    assert any("random key" in w for w in result.warnings)
    again = check_api_security(make_api_config(password="changeme", jwt_secret_key=""))
    assert again.jwt_secret_key != result.jwt_secret_key


def test_loopback_keeps_a_short_key_with_a_warning() -> None:
    result = check_api_security(make_api_config(jwt_secret_key="super-secret", **{"password": "p" * 12}))
    assert result.jwt_secret_key == "super-secret"
    assert any("forge" in w for w in result.warnings)


def test_hostname_is_refused_clearly() -> None:
    with pytest.raises(ConfigError, match=r"listen_ip_address must be an IP address .*'localhost'"):
        check_api_security(make_api_config(listen_ip_address="localhost"))


def test_cors_wildcard_refused_even_on_loopback() -> None:
    with pytest.raises(ConfigError, match="CORS_origins must not contain"):
        check_api_security(make_api_config(CORS_origins=["http://localhost:8080", "*"]))


def test_other_warnings() -> None:
    result = check_api_security(make_api_config(password="pässwörd-long", ws_token=["short"]))
    assert any("non-ASCII" in w for w in result.warnings)
    assert any("ws_token is shorter" in w for w in result.warnings)
