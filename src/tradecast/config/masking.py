"""Hiding secrets before a config (or a value from it) is printed, logged or sent over the API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["MASK", "SECRET_KEYS", "is_secret_key", "mask_secrets", "mask_url"]

MASK = "***"

#: key names (compared case-insensitively) whose values are secrets, wherever they appear; includes the
#: spellings ccxt uses inside exchange.ccxt_config
SECRET_KEYS = frozenset(
    {
        "key",
        "secret",
        "password",
        "jwt_secret_key",
        "ws_token",
        "token",
        "apikey",
        "uid",
        "privatekey",
        "walletaddress",
    }
)


def is_secret_key(name: object) -> bool:
    """True when a value stored under ``name`` must never be shown."""
    return isinstance(name, str) and name.lower() in SECRET_KEYS


def _mask_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_mask_value(item) for item in value]
    if value is None or value == "":
        # an empty secret is shown as empty: that it is missing is useful, and reveals nothing
        return value
    return MASK


def mask_url(url: str) -> str:
    """Replace the password in ``scheme://user:password@host/...`` by ``***``; other URLs are unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    userinfo = f"{parts.username}:{MASK}" if parts.username else f":{MASK}"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, parts.fragment))


def mask_secrets(value: Any, key: object = None) -> Any:
    """A copy of ``value`` (a JSON-like tree) with every secret replaced by ``***``.

    ``key`` is the name the value is stored under, if any: secrets are recognised by their key name
    (:data:`SECRET_KEYS`), and passwords inside ``*_url`` strings are masked too.
    """
    if is_secret_key(key):
        return _mask_value(value)
    if isinstance(value, dict):
        return {k: mask_secrets(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_secrets(item) for item in value]
    if isinstance(value, str) and isinstance(key, str) and key.lower().endswith("url"):
        return mask_url(value)
    return value
