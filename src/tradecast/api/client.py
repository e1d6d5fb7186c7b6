"""A small synchronous client of the bot's REST API (freqtrade-compatible endpoints), built on httpx.

With a username and password it logs in once and uses Bearer tokens, refreshing (or logging in again) once
when a call answers 401; ``auth="basic"`` sends Basic credentials on every call instead, as freqtrade-client
does. Every public method is one endpoint; ``tradecast client help`` lists them from their signatures.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import httpx

__all__ = ["ApiRequestError", "ApiUnreachable", "RestClient"]


class ApiUnreachable(Exception):
    """The bot API could not be reached (connection refused, timeout...)."""


class ApiRequestError(Exception):
    """The API answered with an error status; ``payload`` is its decoded body."""

    def __init__(self, status_code: int, payload: Any) -> None:
        super().__init__(f"HTTP {status_code}: {payload}")
        self.status_code = status_code
        self.payload = payload


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


class RestClient:
    """One method per REST endpoint; each returns the decoded JSON answer."""

    def __init__(
        self,
        url: str = "http://127.0.0.1:8080",
        username: str | None = None,
        password: str | None = None,
        *,
        auth: Literal["jwt", "basic"] = "jwt",
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._username = username or ""
        self._password = password or ""
        self._auth_mode = auth
        self._access: str | None = None
        self._refresh: str | None = None
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        """Close the underlying connections."""
        self._http.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transport

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, f"/api/v1/{path}", **kwargs)
        except httpx.ConnectError as exc:
            reason = "connection refused" if "refused" in str(exc).lower() else str(exc) or "cannot connect"
            raise ApiUnreachable(f"cannot reach the bot API at {self.url}: {reason}") from None
        except httpx.TimeoutException:
            raise ApiUnreachable(f"cannot reach the bot API at {self.url}: timed out") from None
        except httpx.TransportError as exc:
            raise ApiUnreachable(f"cannot reach the bot API at {self.url}: {exc}") from None

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        try:
            payload = response.json()
        except ValueError:
            payload = response.text
        if response.is_error:
            raise ApiRequestError(response.status_code, payload)
        return payload

    def login(self) -> dict[str, str]:
        """Log in with the username and password; stores and returns the access and refresh tokens."""
        response = self._send("POST", "token/login", auth=(self._username, self._password), json={})
        tokens = self._decode(response)
        self._access, self._refresh = tokens["access_token"], tokens["refresh_token"]
        return tokens

    def _try_refresh(self) -> bool:
        if not self._refresh:
            return False
        response = self._send("POST", "token/refresh", headers={"Authorization": f"Bearer {self._refresh}"})
        if response.status_code != 200:
            return False
        self._access = response.json()["access_token"]
        return True

    def _auth_kwargs(self) -> dict[str, Any]:
        if not (self._username and self._password):
            return {}
        if self._auth_mode == "basic":
            return {"auth": (self._username, self._password)}
        if self._access is None:
            self.login()
        return {"headers": {"Authorization": f"Bearer {self._access}"}}

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        kwargs: dict[str, Any] = {}
        if params:
            kwargs["params"] = _clean(params)
        if body is not None:
            kwargs["json"] = body
        response = self._send(method, path, **kwargs, **self._auth_kwargs())
        if response.status_code == 401 and self._auth_mode == "jwt" and self._access is not None:
            # the access token expired: refresh it, or log in again if the refresh token is gone too
            if not self._try_refresh():
                self.login()
            response = self._send(method, path, **kwargs, **self._auth_kwargs())
        return self._decode(response)

    # ------------------------------------------------------------------ info

    def ping(self) -> Any:
        """Check that the API answers (no login needed)."""
        return self._call("GET", "ping")

    def version(self) -> Any:
        """Version of the bot."""
        return self._call("GET", "version")

    def show_config(self) -> Any:
        """The trading-relevant part of the configuration."""
        return self._call("GET", "show_config")

    def health(self) -> Any:
        """Last processing time and bot start time."""
        return self._call("GET", "health")

    def sysinfo(self) -> Any:
        """CPU and RAM usage of the machine."""
        return self._call("GET", "sysinfo")

    def logs(self, limit: int | None = None) -> Any:
        """The newest log lines (all kept lines without a limit)."""
        return self._call("GET", "logs", params={"limit": limit})

    # ------------------------------------------------------------------ control

    def start(self) -> Any:
        """Start the trader if it is stopped."""
        return self._call("POST", "start")

    def stop(self) -> Any:
        """Stop the trader; use start to resume."""
        return self._call("POST", "stop")

    def stopentry(self) -> Any:
        """Stop opening trades (open trades are still managed); reload_config resets it."""
        return self._call("POST", "stopentry")

    def stopbuy(self) -> Any:
        """Old name of stopentry."""
        return self._call("POST", "stopbuy")

    def reload_config(self) -> Any:
        """Reload the configuration."""
        return self._call("POST", "reload_config")

    # ------------------------------------------------------------------ trades

    def status(self) -> Any:
        """Open trades with their current profit."""
        return self._call("GET", "status")

    def count(self) -> Any:
        """Number of open trades and the maximum."""
        return self._call("GET", "count")

    def trades(self, limit: int | None = None, offset: int | None = None) -> Any:
        """Closed trades, oldest first, one page at a time."""
        return self._call("GET", "trades", params={"limit": limit, "offset": offset})

    def trade(self, trade_id: int) -> Any:
        """One trade by id."""
        return self._call("GET", f"trade/{trade_id}")

    def delete_trade(self, trade_id: int) -> Any:
        """Delete a trade from the database (cancelling its open orders)."""
        return self._call("DELETE", f"trades/{trade_id}")

    def trade_reload(self, trade_id: int) -> Any:
        """Reload a trade from the exchange."""
        return self._call("POST", f"trades/{trade_id}/reload")

    def custom_data(self, trade_id: int, key: str | None = None) -> Any:
        """Custom data stored by the strategy for a trade (optionally one key)."""
        return self._call("GET", f"trades/{trade_id}/custom-data", params={"key": key})

    def forceenter(
        self,
        pair: str,
        side: str = "long",
        price: float | None = None,
        ordertype: str | None = None,
        stakeamount: float | None = None,
        entry_tag: str | None = None,
    ) -> Any:
        """Open a trade now (needs force_entry_enable); side is long or short, ordertype limit or market."""
        body = {
            "pair": pair,
            "side": side,
            "price": price,
            "ordertype": ordertype,
            "stakeamount": stakeamount,
            "entry_tag": entry_tag,
        }
        return self._call("POST", "forceenter", body=_clean(body))

    def forceexit(self, tradeid: int | str, ordertype: str | None = None, amount: float | None = None) -> Any:
        """Exit a trade now (tradeid "all" exits every trade); without amount the whole position."""
        body = {"tradeid": tradeid, "ordertype": ordertype, "amount": amount}
        return self._call("POST", "forceexit", body=_clean(body))

    # ------------------------------------------------------------------ locks

    def locks(self) -> Any:
        """Current pair locks."""
        return self._call("GET", "locks")

    def delete_lock(self, lock_id: int) -> Any:
        """Remove a pair lock by id."""
        return self._call("DELETE", f"locks/{lock_id}")

    def lock_add(self, pair: str, until: str, side: str = "*", reason: str = "") -> Any:
        """Lock a pair until a time (ISO 8601 with zone, e.g. 2026-01-01T00:00:00Z); side *, long or short."""
        lock = {"pair": pair, "until": until, "side": side, "reason": reason}
        return self._call("POST", "locks", body=[lock])

    # ------------------------------------------------------------------ results

    def profit(self) -> Any:
        """Profit summary."""
        return self._call("GET", "profit")

    def performance(self) -> Any:
        """Profit per pair."""
        return self._call("GET", "performance")

    def balance(self) -> Any:
        """Balances per currency."""
        return self._call("GET", "balance")

    def daily(self, timescale: int = 7) -> Any:
        """Profit per day for the last timescale days."""
        return self._call("GET", "daily", params={"timescale": timescale})

    def weekly(self, timescale: int = 4) -> Any:
        """Profit per week for the last timescale weeks."""
        return self._call("GET", "weekly", params={"timescale": timescale})

    def monthly(self, timescale: int = 3) -> Any:
        """Profit per month for the last timescale months."""
        return self._call("GET", "monthly", params={"timescale": timescale})

    def stats(self) -> Any:
        """Exit reasons and trade durations."""
        return self._call("GET", "stats")

    def entries(self, pair: str | None = None) -> Any:
        """Performance per entry tag (optionally for one pair)."""
        return self._call("GET", "entries", params={"pair": pair})

    def exits(self, pair: str | None = None) -> Any:
        """Performance per exit reason (optionally for one pair)."""
        return self._call("GET", "exits", params={"pair": pair})

    def mix_tags(self, pair: str | None = None) -> Any:
        """Performance per entry tag and exit reason combination (optionally for one pair)."""
        return self._call("GET", "mix_tags", params={"pair": pair})

    # ------------------------------------------------------------------ pairs

    def whitelist(self) -> Any:
        """The current whitelist."""
        return self._call("GET", "whitelist")

    def blacklist(self, *add: str) -> Any:
        """Show the blacklist, or add pairs (or regexes) to it."""
        if add:
            return self._call("POST", "blacklist", body={"blacklist": list(add)})
        return self._call("GET", "blacklist")

    def delete_blacklist(self, *pairs: str) -> Any:
        """Remove pairs from the blacklist."""
        return self._call("DELETE", "blacklist", params={"pairs_to_delete": list(pairs)})

    def available_pairs(self, timeframe: str | None = None, stake_currency: str | None = None) -> Any:
        """Pairs with stored candle data."""
        return self._call(
            "GET", "available_pairs", params={"timeframe": timeframe, "stake_currency": stake_currency}
        )

    # ------------------------------------------------------------------ candles and strategy

    def pair_candles(
        self, pair: str, timeframe: str, limit: int | None = None, columns: list[str] | None = None
    ) -> Any:
        """The analysed candles the bot trades on (columns selects indicator columns)."""
        if columns:
            body = _clean({"pair": pair, "timeframe": timeframe, "limit": limit, "columns": list(columns)})
            return self._call("POST", "pair_candles", body=body)
        params = {"pair": pair, "timeframe": timeframe, "limit": limit}
        return self._call("GET", "pair_candles", params=params)

    def pair_history(self, pair: str, timeframe: str, strategy: str, timerange: str | None = None) -> Any:
        """Stored candles analysed by a strategy (timerange like 20260101-20260201)."""
        params = {"pair": pair, "timeframe": timeframe, "strategy": strategy, "timerange": timerange}
        return self._call("GET", "pair_history", params=params)

    def plot_config(self) -> Any:
        """The strategy's plot configuration."""
        return self._call("GET", "plot_config")

    def strategies(self) -> Any:
        """Names of the available strategies."""
        return self._call("GET", "strategies")

    def strategy(self, name: str) -> Any:
        """Source code and timeframe of one strategy."""
        return self._call("GET", f"strategy/{name}")


def format_json(payload: Any) -> str:
    """Pretty JSON for the terminal."""
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str)
