"""Start-up security check of the ``api_server`` section (spec §6 lists what freqtrade gets wrong).

Rule: an API reachable from other machines must be protected by real secrets, so a non-loopback listen
address with an empty/example/short password or JWT key is refused (:class:`ConfigError`, exit 2). On
loopback the same findings are only warnings, and an empty JWT key is replaced by a random one for this
run (tokens then die with the process, which is harmless: clients log in again).
"""

from __future__ import annotations

import ipaddress
import secrets
from typing import Any, NamedTuple

from tradecast.core.errors import ConfigError

__all__ = ["MIN_JWT_KEY_LENGTH", "MIN_PASSWORD_LENGTH", "SecurityCheck", "check_api_security"]

MIN_PASSWORD_LENGTH = 8
MIN_JWT_KEY_LENGTH = 32

#: values copied from documentation; compared case-insensitively
EXAMPLE_PASSWORDS = frozenset(
    {"supersecret1!", "password", "freqtrade", "changeme", "supersecurepassword", "freqtrader"}
)
EXAMPLE_JWT_KEYS = frozenset({"somethingrandom", "super-secret", "super-secret, somethingrandom"})

_KEY_HINT = "generate one with: python -c 'import secrets; print(secrets.token_hex())'"


class SecurityCheck(NamedTuple):
    """Outcome of :func:`check_api_security`."""

    #: the key to sign JWTs with: the configured one, or a random one when none is configured on loopback
    jwt_secret_key: str
    #: findings to log as warnings (the API still starts)
    warnings: list[str]


def _parse_listen_address(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise ConfigError(
            f"api_server.listen_ip_address must be an IP address such as 127.0.0.1 (this machine only) "
            f"or 0.0.0.0 (all interfaces), got {value!r}"
        ) from None


def _password_problem(password: str) -> str | None:
    if not password:
        return "api_server.password is empty"
    if password.lower() in EXAMPLE_PASSWORDS:
        return "api_server.password is an example value from the documentation"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"api_server.password is shorter than {MIN_PASSWORD_LENGTH} characters"
    return None


def _jwt_key_problem(key: str) -> str | None:
    if not key:
        return "api_server.jwt_secret_key is not set"
    if key.lower() in EXAMPLE_JWT_KEYS:
        return "api_server.jwt_secret_key is an example value from the documentation"
    if len(key) < MIN_JWT_KEY_LENGTH:
        return f"api_server.jwt_secret_key is shorter than {MIN_JWT_KEY_LENGTH} characters"
    return None


def check_api_security(api_config: Any) -> SecurityCheck:
    """Check the ``api_server`` settings; raise :class:`ConfigError` for unsafe exposed setups.

    Returns the effective JWT key and warnings to log. Call it when the API is enabled, before
    :func:`tradecast.api.create_app`, and pass ``result.jwt_secret_key`` as its ``jwt_key``.
    """
    address = _parse_listen_address(getattr(api_config, "listen_ip_address", "127.0.0.1"))
    loopback = address.is_loopback
    where = f"the API listens on {address}, which other machines can reach"

    origins = list(getattr(api_config, "CORS_origins", None) or [])
    if any(str(origin).strip() == "*" for origin in origins):
        raise ConfigError(
            "api_server.CORS_origins must not contain '*': with credentials it lets any web page drive "
            'the bot; list the exact origins instead, e.g. ["http://localhost:8080"]'
        )

    warnings: list[str] = []
    username = getattr(api_config, "username", "") or ""
    password = getattr(api_config, "password", "") or ""
    key = getattr(api_config, "jwt_secret_key", "") or ""

    password_problem = _password_problem(password)
    key_problem = _jwt_key_problem(key)
    if not loopback:
        if password_problem:
            raise ConfigError(f"{password_problem}, but {where}; set a strong unique password")
        if key_problem:
            raise ConfigError(f"{key_problem}, but {where}; {_KEY_HINT}")
        if not username:
            raise ConfigError(f"api_server.username is empty, but {where}; set a username")
    else:
        if password_problem:
            warnings.append(f"{password_problem}; set a strong password before exposing the API")
        if key_problem and key:
            warnings.append(f"{key_problem}; anyone who knows it can forge login tokens ({_KEY_HINT})")
        if not username or not password:
            warnings.append("api_server.username or password is empty: nobody can log in to the API")

    if not key:
        # only reachable on loopback: a per-run random key is safer than freqtrade's fixed default
        key = secrets.token_hex(32)
        warnings.append(
            "api_server.jwt_secret_key is not set: using a random key for this run "
            "(logins do not survive a restart)"
        )

    if any(not text.isascii() for text in (username, password)):
        # Basic credentials are decoded as ASCII (as freqtrade does), so these can never match
        warnings.append(
            "api_server.username or password contains non-ASCII characters: "
            "HTTP Basic logins will fail; use ASCII characters only"
        )

    ws_token = getattr(api_config, "ws_token", None)
    tokens = [ws_token] if isinstance(ws_token, str) else list(ws_token or [])
    if any(isinstance(t, str) and 0 < len(t) < 16 for t in tokens):
        warnings.append(
            "api_server.ws_token is shorter than 16 characters; generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(25))'"
        )
    return SecurityCheck(key, warnings)
