"""freqtrade's own JWT handling (run with .venv-freqtrade) applied to tokens from a tradecast API.

Usage: ``python ft_jwt.py JWT_KEY USERNAME ACCESS_TOKEN REFRESH_TOKEN``. Prints one JSON line:

* ``access_user`` / ``refresh_user``: what freqtrade's ``get_user_from_token`` reads from our tokens (or the
  error), ``access_as_refresh``: our access token checked as a refresh token (must be refused);
* ``ft_access``: an access token made by freqtrade's ``create_token`` for USERNAME (FreqUI would get such a
  token from a freqtrade bot; we must accept it on the message websocket when the key is shared).
"""

from __future__ import annotations

import json
import sys

from fastapi import HTTPException
from freqtrade.rpc.api_server.api_auth import create_token, get_user_from_token


def read(token: str, key: str, token_type: str) -> str:
    try:
        return get_user_from_token(token, key, token_type)
    except HTTPException as exc:
        return f"refused: {exc.status_code} {exc.detail}"


def main() -> None:
    key, username, access, refresh = sys.argv[1:5]
    print(json.dumps({
        "access_user": read(access, key, "access"),
        "refresh_user": read(refresh, key, "refresh"),
        "access_as_refresh": read(access, key, "refresh"),
        "ft_access": create_token({"identity": {"u": username}}, key, "access"),
    }), flush=True)


if __name__ == "__main__":
    main()
