"""Info routes on a real bot, plus the auth matrix over every REST endpoint."""

from __future__ import annotations

import logging

from tradecast.api.attach import install_log_buffer

from .conftest import REST_PAIRS, RestHarness

#: (method, path, json body) of every authenticated route
ENDPOINTS = [
    ("GET", "/api/v1/version", None),
    ("GET", "/api/v1/show_config", None),
    ("GET", "/api/v1/health", None),
    ("GET", "/api/v1/sysinfo", None),
    ("GET", "/api/v1/logs", None),
    ("GET", "/api/v1/count", None),
    ("GET", "/api/v1/balance", None),
    ("GET", "/api/v1/whitelist", None),
    ("GET", "/api/v1/blacklist", None),
    ("POST", "/api/v1/blacklist", {"blacklist": ["XRP/USDT"]}),
    ("DELETE", "/api/v1/blacklist?pairs_to_delete=XRP/USDT", None),
    ("GET", "/api/v1/strategies", None),
    ("GET", "/api/v1/strategy/RestTestStrategy", None),
    ("GET", "/api/v1/plot_config", None),
    ("GET", "/api/v1/available_pairs", None),
    ("GET", "/api/v1/markets", None),
    ("GET", "/api/v1/status", None),
    ("GET", "/api/v1/trades", None),
    ("GET", "/api/v1/trade/1", None),
    ("DELETE", "/api/v1/trades/1", None),
    ("DELETE", "/api/v1/trades/1/open-order", None),
    ("POST", "/api/v1/trades/1/reload", None),
    ("GET", "/api/v1/trades/1/custom-data", None),
    ("GET", "/api/v1/trades/open/custom-data", None),
    ("GET", "/api/v1/profit", None),
    ("GET", "/api/v1/profit_all", None),
    ("GET", "/api/v1/performance", None),
    ("GET", "/api/v1/daily", None),
    ("GET", "/api/v1/weekly", None),
    ("GET", "/api/v1/monthly", None),
    ("GET", "/api/v1/stats", None),
    ("GET", "/api/v1/entries", None),
    ("GET", "/api/v1/exits", None),
    ("GET", "/api/v1/mix_tags", None),
    ("POST", "/api/v1/start", None),
    ("POST", "/api/v1/stop", None),
    ("POST", "/api/v1/stopentry", None),
    ("POST", "/api/v1/stopbuy", None),
    ("POST", "/api/v1/pause", None),
    ("POST", "/api/v1/reload_config", None),
    ("POST", "/api/v1/forceenter", {"pair": "BTC/USDT"}),
    ("POST", "/api/v1/forcebuy", {"pair": "BTC/USDT"}),
    ("POST", "/api/v1/forceexit", {"tradeid": "all"}),
    ("POST", "/api/v1/forcesell", {"tradeid": "all"}),
    ("GET", "/api/v1/locks", None),
    ("POST", "/api/v1/locks", [{"pair": "BTC/USDT", "until": "2030-01-01T00:00:00Z"}]),
    ("DELETE", "/api/v1/locks/1", None),
    ("POST", "/api/v1/locks/delete", {"pair": "BTC/USDT"}),
    ("GET", "/api/v1/pair_candles?pair=BTC/USDT&timeframe=5m", None),
    ("POST", "/api/v1/pair_candles", {"pair": "BTC/USDT", "timeframe": "5m", "columns": ["sma3"]}),
    ("GET", "/api/v1/pair_history?pair=BTC/USDT&timeframe=5m&strategy=RestTestStrategy", None),
    ("POST", "/api/v1/pair_history", {"pair": "BTC/USDT", "timeframe": "5m", "strategy": "RestTestStrategy"}),
    ("GET", "/api/v1/backtest", None),
    ("GET", "/api/v1/pairlists/available", None),
    ("GET", "/api/v1/background", None),
]


async def test_every_endpoint_needs_auth_and_none_fails_with_500(rest: RestHarness) -> None:
    for method, path, body in ENDPOINTS:
        denied = await rest.anon.request(method, path, json=body)
        assert denied.status_code == 401, (method, path, denied.text)
        assert denied.json() == {"detail": "Unauthorized"}
    for method, path, body in ENDPOINTS:
        answered = await rest.client.request(method, path, json=body)
        assert answered.status_code in (200, 404, 502, 503), (method, path, answered.text)
        assert answered.status_code != 500
    # Bearer tokens from /token/login work the same way
    tokens = (await rest.client.post("/api/v1/token/login")).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await rest.anon.get("/api/v1/show_config", headers=bearer)).status_code == 200


async def test_show_config_shape(rest: RestHarness) -> None:
    config = (await rest.client.get("/api/v1/show_config")).json()
    assert config["api_version"] == 2.40
    assert config["state"] == "running" and config["runmode"] == "dry_run" and config["dry_run"] is True
    assert config["stake_amount"] == "100" and config["stake_currency"] == "USDT"
    assert config["strategy"] == "RestTestStrategy" and config["timeframe"] == "5m"
    assert config["timeframe_ms"] == 300_000 and config["timeframe_min"] == 5
    assert config["minimal_roi"] == {"0": 10.0} and config["stoploss"] == -0.5
    assert config["force_entry_enable"] is True and config["short_allowed"] is False
    assert config["trading_mode"] == "spot" and config["exchange"] == "sim" and config["bot_name"] == "resttest"
    assert config["unfilledtimeout"] == {"entry": 10, "exit": 10, "unit": "minutes", "exit_timeout_count": 0}
    assert config["order_types"]["force_entry"] == "market"
    await rest.client.post("/api/v1/stop")
    assert (await rest.client.get("/api/v1/show_config")).json()["state"] == "stopped"


async def test_health_merges_reporters_and_sysinfo(rest: RestHarness) -> None:
    rest.bot.health_reporters["signals"] = lambda: {"pending": 2}
    rest.bot.health_reporters["broken"] = lambda: 1 / 0
    health = (await rest.client.get("/api/v1/health")).json()
    assert health["bot_start_ts"] == int(rest.bot.started_at.timestamp())
    assert health["bot_start"].endswith("Z") and health["last_process"] is None
    assert health["signals"] == {"pending": 2} and "ZeroDivisionError" in health["broken"]["error"]
    await rest.bot.run_once()
    health = (await rest.client.get("/api/v1/health")).json()
    assert health["last_process_ts"] == int(rest.clock.now().timestamp())

    info = (await rest.client.get("/api/v1/sysinfo")).json()
    assert isinstance(info["cpu_pct"], list) and info["cpu_pct"]
    assert 0 <= info["ram_pct"] <= 100


async def test_logs_are_buffered_and_masked(rest: RestHarness) -> None:
    buffer = install_log_buffer(rest.bot)
    rest.client._transport.app.state.log_buffer = buffer  # type: ignore[attr-defined]
    try:
        logging.getLogger("tradecast.test").warning("GET /api/v1/message/ws?token=sekrit123 done")
        logging.getLogger("tradecast.test").warning("second line")
        logs = (await rest.client.get("/api/v1/logs", params={"limit": 2})).json()
        assert logs["log_count"] == 2
        first, second = logs["logs"]
        assert first[2] == "tradecast.test" and first[3] == "WARNING"
        assert "sekrit123" not in first[4] and "token=***" in first[4]
        assert second[4] == "second line" and isinstance(second[1], int)
        assert (await rest.client.get("/api/v1/logs", params={"limit": 0})).status_code == 422
    finally:
        logging.getLogger().removeHandler(buffer)


async def test_count_when_stopped_is_an_error(rest: RestHarness) -> None:
    assert (await rest.client.post("/api/v1/stop")).json() == {"status": "stopping trader ..."}
    stopped = await rest.client.get("/api/v1/count")
    assert stopped.status_code == 502
    assert stopped.json() == {"error": "Error querying /api/v1/count: trader is not running"}


async def test_whitelist_and_blacklist_add_delete(rest: RestHarness) -> None:
    client = rest.client
    assert (await client.get("/api/v1/whitelist")).json() == {
        "whitelist": REST_PAIRS, "length": 3, "method": ["StaticPairList"]}
    blacklist = (await client.get("/api/v1/blacklist")).json()
    assert blacklist["blacklist"] == ["DOGE/USDT"] and blacklist["blacklist_expanded"] == ["DOGE/USDT"]

    added = (await client.post("/api/v1/blacklist", json={"blacklist": ["ETH/USDT", "SOL/.*", "(bad"]})).json()
    assert added["blacklist"] == ["DOGE/USDT", "ETH/USDT", "SOL/.*"] and added["length"] == 3
    assert "SOL/USDT" in added["blacklist_expanded"] and "ETH/USDT" in added["blacklist_expanded"]
    assert list(added["errors"]) == ["(bad"] and "error_msg" in added["errors"]["(bad"]
    assert (await client.get("/api/v1/whitelist")).json()["whitelist"] == ["BTC/USDT"]
    entered = await client.post("/api/v1/forceenter", json={"pair": "ETH/USDT"})
    assert entered.status_code == 502 and "blacklisted" in entered.json()["error"]

    # blacklisting the last pair would leave nothing to trade: refused, lists unchanged
    refused = (await client.post("/api/v1/blacklist", json={"blacklist": ["BTC/USDT"]})).json()
    assert "BTC/USDT" in refused["errors"] and "BTC/USDT" not in refused["blacklist"]
    assert (await client.get("/api/v1/whitelist")).json()["whitelist"] == ["BTC/USDT"]

    removed = (await client.delete("/api/v1/blacklist", params={"pairs_to_delete": ["ETH/USDT", "SOL/.*",
                                                                                  "ADA/USDT"]})).json()
    assert removed["blacklist"] == ["DOGE/USDT"] and list(removed["errors"]) == ["ADA/USDT"]
    assert (await client.get("/api/v1/whitelist")).json()["whitelist"] == REST_PAIRS


async def test_strategies_and_plot_config(rest: RestHarness) -> None:
    client = rest.client
    names = (await client.get("/api/v1/strategies")).json()["strategies"]
    assert "RestTestStrategy" in names and "ProducerStrategy" in names
    details = (await client.get("/api/v1/strategy/RestTestStrategy")).json()
    assert details["strategy"] == "RestTestStrategy" and details["timeframe"] == "5m"
    assert "class RestTestStrategy" in details["code"]
    assert (await client.get("/api/v1/strategy/ProducerStrategy")).json()["timeframe"] == "5m"
    for bad in ("NoSuchStrategy", "..%2F..%2Fetc%2Fpasswd", "rest_test.py"):
        missing = await client.get(f"/api/v1/strategy/{bad}")
        assert missing.status_code == 404, bad
    assert (await client.get("/api/v1/plot_config")).json() == {"main_plot": {"sma3": {"color": "blue"}}}
    producer_plot = (await client.get("/api/v1/plot_config", params={"strategy": "ProducerStrategy"})).json()
    assert "RSI" in producer_plot["subplots"]


async def test_available_pairs_and_webserver_only_routes(rest: RestHarness) -> None:
    assert (await rest.client.get("/api/v1/available_pairs")).json()["length"] == 0
    await rest.bot.run_once()
    pairs = (await rest.client.get("/api/v1/available_pairs", params={"timeframe": "5m"})).json()
    assert sorted(pairs["pairs"]) == sorted(REST_PAIRS)
    assert ["BTC/USDT", "5m", "spot"] in pairs["pair_interval"]
    for method, path in (("GET", "/api/v1/backtest"), ("POST", "/api/v1/backtest"),
                         ("GET", "/api/v1/backtest/history"), ("POST", "/api/v1/pairlists/evaluate"),
                         ("GET", "/api/v1/background/abc")):
        answer = await rest.client.request(method, path)
        assert answer.status_code == 503 and answer.json() == {"detail": "Bot is not in the correct state."}
