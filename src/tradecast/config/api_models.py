"""The ``api_server`` section: REST API, FreqUI and the message websocket of a bot (freqtrade key names).

Only the shape is checked here. Whether the secrets are strong enough is decided when the API starts,
because a disabled API may keep placeholder values.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field, field_validator

from tradecast.config.fields import Section, problem

__all__ = ["ApiServerConfig"]


class ApiServerConfig(Section):
    """REST API server settings (freqtrade's ``api_server``)."""

    enabled: bool = Field(False, description="Run the REST API and message websocket server.")
    listen_ip_address: str = Field(
        "127.0.0.1", description="IP address the API listens on; 0.0.0.0 exposes it on every interface."
    )
    listen_port: int = Field(8080, ge=1024, le=65535, description="TCP port of the API (1024..65535).")
    verbosity: Literal["error", "info"] = Field(
        "error", description='"info" also logs every HTTP request; "error" logs only failures.'
    )
    enable_openapi: bool = Field(False, description="Serve the interactive OpenAPI docs under /docs.")
    jwt_secret_key: str = Field("", description="Key that signs login tokens (JWT); long and random.")
    CORS_origins: list[str] = Field(
        default_factory=list,
        description='Browser origins allowed to call the API, e.g. ["http://localhost:3000"]; no "*".',
    )
    username: str = Field("", description="User name for HTTP basic auth and /token/login.")
    password: str = Field("", description="Password for HTTP basic auth and /token/login.")
    ws_token: str | list[str] | None = Field(
        None,
        description="Token(s) a consumer passes as ?token= to subscribe to /api/v1/message/ws.",
    )
    enable_message_ws: bool = Field(
        False, description="Offer the message websocket (analyzed frames, whitelist, events) to consumers."
    )
    ui_path: str | None = Field(None, description="Folder holding a FreqUI build to serve under /.")

    @field_validator("listen_ip_address")
    @classmethod
    def _ip_address(cls, value: str) -> str:
        if value == "localhost":
            return value
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise problem('must be an IP address such as "127.0.0.1" or "0.0.0.0"') from None
        return value

    @field_validator("CORS_origins")
    @classmethod
    def _no_wildcard_origin(cls, origins: list[str]) -> list[str]:
        for index, origin in enumerate(origins):
            if origin.strip() == "*":
                raise problem(
                    'must not be "*": the API always allows credentials, so list each origin exactly '
                    '(e.g. "http://localhost:3000")',
                    at=(index,),
                    got=origin,
                )
        return origins

    @field_validator("ws_token", mode="before")
    @classmethod
    def _ws_token_shape(cls, value: Any) -> Any:
        # checked by hand so a bad value gives one clear message instead of one per union member
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        raise problem("must be a string or a list of strings", got="***")
