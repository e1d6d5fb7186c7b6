"""Auth: tokens, Basic parsing, credential check, the dependencies and freqtrade's exact error shapes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import jwt
import pytest

import tradecast
from tradecast.api.auth import (
    MalformedCredentials,
    TokenError,
    create_token,
    credentials_match,
    decode_token,
    parse_basic,
    ws_token_ok,
)

from .conftest import JWT_KEY, PASSWORD, USERNAME

NOW = datetime.now(UTC)


def basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------ pure helpers


def test_token_claims_and_lifetimes() -> None:
    access = jwt.decode(create_token("bob", "access", JWT_KEY, now=NOW), JWT_KEY, algorithms=["HS256"])
    refresh = jwt.decode(create_token("bob", "refresh", JWT_KEY, now=NOW), JWT_KEY, algorithms=["HS256"])
    assert access["identity"] == {"u": "bob"} and access["type"] == "access"
    assert access["exp"] - access["iat"] == 15 * 60
    assert refresh["type"] == "refresh" and refresh["exp"] - refresh["iat"] == 30 * 86400
    assert set(access) == {"identity", "exp", "iat", "type"}


def test_decode_checks_type_expiry_key_and_algorithm() -> None:
    token = create_token("bob", "access", JWT_KEY)
    assert decode_token(token, JWT_KEY, "access") == "bob"
    with pytest.raises(TokenError):
        decode_token(token, JWT_KEY, "refresh")
    with pytest.raises(TokenError):
        decode_token(token, "x" * 40, "access")
    expired = create_token("bob", "access", JWT_KEY, now=NOW - timedelta(minutes=16))
    with pytest.raises(TokenError):
        decode_token(expired, JWT_KEY, "access")
    unsigned = jwt.encode(
        {"identity": {"u": "bob"}, "type": "access", "exp": NOW + timedelta(hours=1), "iat": NOW},
        None,
        algorithm="none",
    )
    with pytest.raises(TokenError):
        decode_token(unsigned, JWT_KEY, "access")
    hs512 = jwt.encode(
        {"identity": {"u": "bob"}, "type": "access", "exp": NOW + timedelta(hours=1), "iat": NOW},
        JWT_KEY + "x" * 30,
        algorithm="HS512",
    )
    with pytest.raises(TokenError):
        decode_token(hs512, JWT_KEY + "x" * 30, "access")
    no_identity = jwt.encode({"type": "access", "exp": NOW + timedelta(hours=1), "iat": NOW}, JWT_KEY)
    with pytest.raises(TokenError):
        decode_token(no_identity, JWT_KEY, "access")


@pytest.mark.parametrize(
    "param", ["%%%", base64.b64encode(b"nocolon").decode(), base64.b64encode("é:x".encode()).decode()]
)
def test_parse_basic_rejects_malformed(param: str) -> None:
    with pytest.raises(MalformedCredentials):
        parse_basic(param)


def test_parse_basic_keeps_colons_in_password() -> None:
    creds = parse_basic(base64.b64encode(b"u:p:w").decode())
    assert (creds.username, creds.password) == ("u", "p:w")


def test_credentials_match_both_fields_and_refuses_empty_config() -> None:
    assert credentials_match("u", "p", "u", "p")
    assert not credentials_match("x", "p", "u", "p")
    assert not credentials_match("u", "x", "u", "p")
    assert not credentials_match("", "", "", "")
    assert not credentials_match("u", "", "u", "")
    assert not credentials_match("ü", "p", "u", "p")  # non-ASCII compares as bytes instead of raising


def test_credentials_match_calls_compare_digest_for_both_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    import tradecast.api.auth as auth

    calls: list[bytes] = []
    real = auth.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append(b)
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert not credentials_match("wrong-user", "p", "u", "p")
    assert calls == [b"u", b"p"]  # the password is compared although the username already failed


def test_ws_token_ok() -> None:
    cfg = SimpleNamespace(ws_token="tok-123456789abcdef")
    assert ws_token_ok("tok-123456789abcdef", cfg, JWT_KEY)
    assert not ws_token_ok("tok-other", cfg, JWT_KEY)
    assert not ws_token_ok("", cfg, JWT_KEY)
    listed = SimpleNamespace(ws_token=["one-token-aaaaaaaa", "two-token-bbbbbbbb"])
    assert ws_token_ok("two-token-bbbbbbbb", listed, JWT_KEY)
    none = SimpleNamespace(ws_token=None)
    assert ws_token_ok(create_token("alice", "access", JWT_KEY), none, JWT_KEY)
    assert not ws_token_ok(create_token("alice", "refresh", JWT_KEY), none, JWT_KEY)
    assert not ws_token_ok("", SimpleNamespace(ws_token=""), JWT_KEY)


# ------------------------------------------------------------------ through the app


async def test_login_refresh_and_bearer_flow(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/token/login", headers=basic(USERNAME, PASSWORD), json={})
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access_token", "refresh_token"}
    who = await client.get("/api/v1/whoami", headers=bearer(tokens["access_token"]))
    assert who.json() == {"user": USERNAME}

    refreshed = await client.post("/api/v1/token/refresh", headers=bearer(tokens["refresh_token"]))
    assert refreshed.status_code == 200 and set(refreshed.json()) == {"access_token"}
    assert (
        await client.get("/api/v1/whoami", headers=bearer(refreshed.json()["access_token"]))
    ).status_code == 200


async def test_basic_works_on_protected_routes(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/whoami", headers=basic(USERNAME, PASSWORD))
    assert response.status_code == 200 and response.json() == {"user": USERNAME}


async def test_version_needs_auth_ping_does_not(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/ping")).json() == {"status": "pong"}
    assert (await client.get("/api/v1/version")).status_code == 401
    ok = await client.get("/api/v1/version", headers=basic(USERNAME, PASSWORD))
    assert ok.json() == {"version": tradecast.__version__}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic(USERNAME, "wrong"),
        basic("wrong", PASSWORD),
        {"Authorization": "Token abc"},
        {"Authorization": "Basic"},
    ],
)
async def test_unauthorized_body_without_header(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get("/api/v1/whoami", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}
    assert "www-authenticate" not in response.headers


async def test_malformed_basic(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/whoami", headers={"Authorization": "Basic !!notbase64"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid authentication credentials"}
    assert response.headers["www-authenticate"] == "Basic"


async def test_bad_bearer_is_not_rescued_by_anything(client: httpx.AsyncClient) -> None:
    expired = create_token(USERNAME, "access", JWT_KEY, now=NOW - timedelta(hours=1))
    for token in (
        "garbage",
        expired,
        create_token(USERNAME, "refresh", JWT_KEY),
        create_token(USERNAME, "access", "z" * 40),
    ):
        response = await client.get("/api/v1/whoami", headers=bearer(token))
        assert response.status_code == 401
        assert response.json() == {"detail": "Could not validate credentials"}
        assert response.headers["www-authenticate"] == "Bearer"


async def test_login_errors(client: httpx.AsyncClient) -> None:
    missing = await client.post("/api/v1/token/login")
    assert missing.status_code == 401 and missing.json() == {"detail": "Not authenticated"}
    assert missing.headers["www-authenticate"] == "Basic"
    bearer_only = await client.post(
        "/api/v1/token/login", headers=bearer(create_token("a", "access", JWT_KEY))
    )
    assert bearer_only.json() == {"detail": "Not authenticated"}
    for headers in (basic(USERNAME, "wrong"), basic("wrong", PASSWORD)):
        wrong = await client.post("/api/v1/token/login", headers=headers)
        assert wrong.status_code == 401 and wrong.json() == {"detail": "Incorrect username or password"}
    malformed = await client.post("/api/v1/token/login", headers={"Authorization": "Basic @@@"})
    assert malformed.json() == {"detail": "Invalid authentication credentials"}
    assert malformed.headers["www-authenticate"] == "Basic"


async def test_refresh_errors(client: httpx.AsyncClient) -> None:
    expired = create_token(USERNAME, "refresh", JWT_KEY, now=NOW - timedelta(days=31))
    for headers in (
        {},
        basic(USERNAME, PASSWORD),
        bearer(create_token(USERNAME, "access", JWT_KEY)),
        bearer(expired),
    ):
        response = await client.post("/api/v1/token/refresh", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"detail": "Could not validate credentials"}
        assert response.headers["www-authenticate"] == "Bearer"


async def test_empty_configured_credentials_accept_nobody(app_factory) -> None:
    from .conftest import make_api_config

    app = app_factory(make_api_config(username="", password=""))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as ac:
        assert (await ac.get("/api/v1/whoami", headers=basic("", ""))).status_code == 401
        assert (await ac.post("/api/v1/token/login", headers=basic("", ""))).status_code == 401


async def test_auth_comes_before_validation(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/numbers?limit=abc")).status_code == 401
    invalid = await client.get("/api/v1/numbers?limit=abc", headers=basic(USERNAME, PASSWORD))
    assert invalid.status_code == 422 and invalid.json()["detail"][0]["loc"] == ["query", "limit"]
