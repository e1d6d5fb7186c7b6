"""A real ``tradecast trade`` process with its API on a real port, driven by the REST client."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.integration.helpers import BotProcess, free_port, write_bot_config
from tradecast.api.client import ApiRequestError, RestClient

pytestmark = pytest.mark.integration

USERNAME = "operator"
PASSWORD = "a-long-and-unique-password-9f3k"
JWT_KEY = "0123456789abcdef" * 4


def test_rest_api_of_a_running_bot(bot_dir: Path) -> None:
    port = free_port()
    config = write_bot_config(bot_dir, name="apibot", speed=1.0, extra={
        "force_entry_enable": True,
        "max_open_trades": 10,
        "minimal_roi": {"0": 10.0},  # forced trades stay open until the test exits them
        "stoploss": -0.9,
        "use_exit_signal": False,
        "api_server": {"enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": port,
                       "verbosity": "info", "username": USERNAME, "password": PASSWORD,
                       "jwt_secret_key": JWT_KEY},
    })
    proc = BotProcess(config, bot_dir / "apibot.log")
    try:
        proc.wait_for("API server listening on", timeout=30)
        with RestClient(f"http://127.0.0.1:{port}", USERNAME, PASSWORD) as client:
            tokens = client.login()
            assert client.ping() == {"status": "pong"}
            shown = client.show_config()
            assert shown["bot_name"] == "apibot" and shown["state"] == "running"
            assert shown["strategy"] == "BusyStrategy" and shown["api_version"] == 2.4
            assert client.whitelist()["length"] == 4

            entered = client.forceenter("ADA/USDT", ordertype="market")  # not whitelisted: no signal trades
            trade_id = entered["trade_id"]
            assert entered["pair"] == "ADA/USDT" and entered["is_open"] is True
            assert trade_id in [t["trade_id"] for t in client.status()]
            assert client.forceexit(trade_id) == {"result": f"Created exit order for trade {trade_id}."}
            history = client.trades()
            assert trade_id in [t["trade_id"] for t in history["trades"]]
            assert history["total_trades"] == len(history["trades"])
            assert client.profit()["closed_trade_count"] >= 1
            assert client.health()["last_process_ts"] is not None

            with pytest.raises(ApiRequestError) as rejected:
                client.forceenter("NOPE/USDT")
            assert rejected.value.status_code == 502 and "NOPE/USDT" in rejected.value.payload["error"]
            logs = client.logs(limit=50)["logs"]
            assert logs and all(len(entry) == 5 for entry in logs)
        with RestClient(f"http://127.0.0.1:{port}", USERNAME, "wrong-password", auth="basic") as bad:
            with pytest.raises(ApiRequestError) as denied:
                bad.count()
            assert denied.value.status_code == 401
    finally:
        code = proc.stop(signal.SIGINT)
    out = proc.output()
    assert code == 0, out[-3000:]
    assert '"GET /api/v1/show_config HTTP/1.1" 200' in out  # the access log is on (verbosity "info")
    assert "POST /api/v1/forceenter" in out
    for secret in (PASSWORD, tokens["access_token"], tokens["refresh_token"], JWT_KEY):
        assert secret not in out


def test_unsafe_exposed_api_stops_the_bot_with_exit_code_2(bot_dir: Path) -> None:
    config = write_bot_config(bot_dir, name="exposed", extra={
        "api_server": {"enabled": True, "listen_ip_address": "0.0.0.0", "listen_port": free_port(),
                       "username": USERNAME, "password": "Xq7", "jwt_secret_key": JWT_KEY},
    })
    proc = BotProcess(config, bot_dir / "exposed.log")
    try:
        proc.proc.wait(timeout=30)
    finally:
        code = proc.stop()
    out = proc.output()
    assert code == 2, out[-3000:]
    assert "tradecast: error: api_server.password is shorter than 8 characters" in out
    assert "Xq7" not in out  # the message names the problem, never the secret
