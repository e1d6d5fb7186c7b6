"""Authentication of the REST API, wire-compatible with freqtrade (spec §1), minus its weak spots.

Pure helpers first (tokens, Basic parsing, credential check, ws-token check), then the FastAPI pieces:
the :func:`require_auth` dependency and the login/refresh router. Status codes, bodies and
``WWW-Authenticate`` headers are exactly freqtrade's, because FreqUI and freqtrade-client react to them.

Differences from freqtrade, on purpose:

* both credential fields are always compared (no short-circuit), so timing does not reveal the username;
* empty configured credentials accept nobody (freqtrade accepts empty Basic credentials then);
* failed Basic authentications are rate limited per client address (:mod:`tradecast.api.ratelimit`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import jwt
from fastapi import APIRouter, Depends, HTTPException, Request, status

from tradecast.api.ratelimit import FailedLoginLimiter

__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "REFRESH_TOKEN_LIFETIME",
    "AuthSettings",
    "AuthSettingsDep",
    "BasicCredentials",
    "MalformedCredentials",
    "TokenError",
    "auth_router",
    "create_token",
    "credentials_match",
    "decode_token",
    "get_auth_settings",
    "parse_basic",
    "require_auth",
    "ws_token_ok",
]

TokenType = Literal["access", "refresh"]

ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
_ALGORITHM = "HS256"

TOO_MANY_ATTEMPTS = "Too many failed login attempts, try again later."


class TokenError(Exception):
    """A JWT is invalid, expired, of the wrong type or lacks the identity claim."""


class MalformedCredentials(Exception):
    """A Basic ``Authorization`` value is not base64 of ASCII ``user:password``."""


# --------------------------------------------------------------------------- pure helpers


def create_token(username: str, token_type: TokenType, key: str, *, now: datetime | None = None) -> str:
    """Sign a freqtrade-shaped JWT: ``identity: {"u": username}``, ``exp``, ``iat`` and ``type``.

    ``now`` is injectable so tests can mint tokens that are already expired.
    """
    issued = now or datetime.now(UTC)
    lifetime = ACCESS_TOKEN_LIFETIME if token_type == "access" else REFRESH_TOKEN_LIFETIME
    payload = {"identity": {"u": username}, "exp": issued + lifetime, "iat": issued, "type": token_type}
    return jwt.encode(payload, key, algorithm=_ALGORITHM)


def decode_token(token: str, key: str, expected_type: TokenType) -> str:
    """Verify ``token`` (HS256 only, signature, ``exp``, ``type``) and return the username in it."""
    if not token or not key:
        raise TokenError("no token or no key")
    try:
        payload = jwt.decode(token, key, algorithms=[_ALGORITHM], options={"require": ["exp", "iat"]})
    except jwt.PyJWTError as exc:
        raise TokenError(str(exc)) from exc
    if payload.get("type") != expected_type:
        raise TokenError(f"expected a {expected_type} token")
    identity = payload.get("identity")
    username = identity.get("u") if isinstance(identity, dict) else None
    if not isinstance(username, str) or not username:
        raise TokenError("token carries no identity")
    return username


@dataclass(frozen=True)
class BasicCredentials:
    username: str
    password: str = field(repr=False)


def parse_basic(param: str) -> BasicCredentials:
    """Decode the part after ``Basic `` into credentials; raise :class:`MalformedCredentials` if malformed."""
    try:
        decoded = base64.b64decode(param.strip(), validate=True).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise MalformedCredentials("invalid base64 or non-ASCII credentials") from exc
    username, sep, password = decoded.partition(":")
    if not sep:
        raise MalformedCredentials("credentials lack the ':' separator")
    return BasicCredentials(username, password)


def credentials_match(username: str, password: str, expected_user: str, expected_password: str) -> bool:
    """Constant-time check of both fields; empty configured credentials never match.

    Both comparisons run whatever the first one says (no ``and`` short-circuit between them), so the
    response time does not tell a guesser whether the username was right. Comparing UTF-8 bytes avoids the
    ``TypeError`` that ``compare_digest`` raises on non-ASCII ``str``.
    """
    user_ok = hmac.compare_digest(username.encode(), expected_user.encode())
    password_ok = hmac.compare_digest(password.encode(), expected_password.encode())
    configured = bool(expected_user) and bool(expected_password)
    return user_ok & password_ok & configured


def ws_token_ok(token: str | None, api_config: Any, jwt_key: str) -> bool:
    """Whether ``token`` may open the message websocket (spec §1.5).

    Accepted: a configured ``ws_token`` (a string, or any element of a list; every element is compared so
    the time does not depend on which one matched), else a valid *access* JWT, as FreqUI sends.
    """
    if not token:
        return False
    configured = getattr(api_config, "ws_token", None)
    candidates = [configured] if isinstance(configured, str) else list(configured or [])
    matched = False
    for candidate in candidates:
        if isinstance(candidate, str) and candidate:
            matched |= hmac.compare_digest(token.encode(), candidate.encode())
    if matched:
        return True
    try:
        decode_token(token, jwt_key, "access")
    except TokenError:
        return False
    return True


# --------------------------------------------------------------------------- FastAPI pieces


@dataclass
class AuthSettings:
    """What the auth dependencies need; stored on ``app.state.auth`` by :func:`tradecast.api.create_app`."""

    api_config: Any
    jwt_key: str
    limiter: FailedLoginLimiter = field(default_factory=FailedLoginLimiter)

    @property
    def username(self) -> str:
        return getattr(self.api_config, "username", "") or ""

    @property
    def password(self) -> str:
        return getattr(self.api_config, "password", "") or ""


async def get_auth_settings(request: Request) -> AuthSettings:
    """Dependency: the app's :class:`AuthSettings` (set by the app factory)."""
    return request.app.state.auth  # async: FastAPI would otherwise hop to a worker thread for this


#: parameter annotation for routes that need the auth settings
AuthSettingsDep = Annotated[AuthSettings, Depends(get_auth_settings)]


def _client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _split_authorization(request: Request) -> tuple[str, str]:
    scheme, _, param = request.headers.get("authorization", "").strip().partition(" ")
    return scheme.lower(), param.strip()


def _unauthorized(detail: str, scheme: str | None = None) -> HTTPException:
    headers = {"WWW-Authenticate": scheme} if scheme else None
    return HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail=detail, headers=headers)


def _bearer_invalid() -> HTTPException:
    return _unauthorized("Could not validate credentials", "Bearer")


def _check_basic(request: Request, settings: AuthSettings, param: str, wrong_detail: str) -> str:
    """Rate-limited Basic check shared by protected routes and login; returns the username."""
    key = _client_key(request)
    wait = settings.limiter.retry_after(key)
    if wait is not None:
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail=TOO_MANY_ATTEMPTS,
            headers={"Retry-After": str(wait)},
        )
    try:
        creds = parse_basic(param)
    except MalformedCredentials:
        settings.limiter.record_failure(key)
        raise _unauthorized("Invalid authentication credentials", "Basic") from None
    if not credentials_match(creds.username, creds.password, settings.username, settings.password):
        settings.limiter.record_failure(key)
        raise _unauthorized(wrong_detail)
    return creds.username


async def require_auth(request: Request, settings: AuthSettingsDep) -> str:
    """Dependency for protected routes: a Bearer *access* JWT or HTTP Basic; returns the username.

    When a Bearer header is present only it is checked (freqtrade does the same), so a bad token is not
    rescued by anything else.
    """
    scheme, param = _split_authorization(request)
    if scheme == "bearer":
        try:
            return decode_token(param, settings.jwt_key, "access")
        except TokenError:
            raise _bearer_invalid() from None
    if scheme == "basic" and param:
        return _check_basic(request, settings, param, "Unauthorized")
    raise _unauthorized("Unauthorized")


auth_router = APIRouter(prefix="/api/v1/token", tags=["auth"])


@auth_router.post("/login")
async def token_login(request: Request, settings: AuthSettingsDep) -> dict[str, str]:
    """HTTP Basic only (the body is ignored); returns an access and a refresh token."""
    scheme, param = _split_authorization(request)
    if scheme != "basic" or not param:
        raise _unauthorized("Not authenticated", "Basic")
    username = _check_basic(request, settings, param, "Incorrect username or password")
    return {
        "access_token": create_token(username, "access", settings.jwt_key),
        "refresh_token": create_token(username, "refresh", settings.jwt_key),
    }


@auth_router.post("/refresh")
async def token_refresh(request: Request, settings: AuthSettingsDep) -> dict[str, str]:
    """Bearer *refresh* token only; returns a new access token (the refresh token is not rotated)."""
    scheme, param = _split_authorization(request)
    if scheme != "bearer":
        raise _bearer_invalid()
    try:
        username = decode_token(param, settings.jwt_key, "refresh")
    except TokenError:
        raise _bearer_invalid() from None
    return {"access_token": create_token(username, "access", settings.jwt_key)}
