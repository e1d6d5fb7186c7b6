"""`tradecast client`: help, argument binding, config lookup, unreachable bot, a real call."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import socket
import sys
from types import ModuleType, SimpleNamespace

import pytest

from tradecast.api import ApiServer
from tradecast.api.client import RestClient
from tradecast.api.client_cli import (
    _bind_arguments,
    add_client_command,
    client_commands,
    format_help,
    run_client,
)

from .conftest import PASSWORD, USERNAME


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tradecast")
    add_client_command(parser.add_subparsers(dest="subcommand"))
    return parser.parse_args(["client", *argv])


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_client(parse(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_help_lists_commands_with_parameters() -> None:
    code, out, _ = run(["help"])
    assert code == 0
    for expected in (
        "ping",
        "forceenter <pair> [side='long']",
        "trades [limit=None] [offset=None]",
        "blacklist [add...]",
        "pair_candles <pair> <timeframe>",
        "daily [timescale=7]",
        "available_pairs",
        "lock_add <pair> <until>",
        "custom_data <trade_id>",
    ):
        assert expected in out, expected
    assert "login" not in client_commands() and "close" not in client_commands()
    assert out == format_help() + "\n"


def test_every_spec_command_exists() -> None:
    wanted = [
        "ping",
        "version",
        "show_config",
        "health",
        "sysinfo",
        "logs",
        "start",
        "stop",
        "stopbuy",
        "stopentry",
        "reload_config",
        "status",
        "count",
        "trades",
        "trade",
        "delete_trade",
        "trade_reload",
        "custom_data",
        "locks",
        "delete_lock",
        "lock_add",
        "profit",
        "performance",
        "balance",
        "daily",
        "weekly",
        "monthly",
        "stats",
        "entries",
        "exits",
        "mix_tags",
        "forceenter",
        "forceexit",
        "whitelist",
        "blacklist",
        "delete_blacklist",
        "pair_candles",
        "pair_history",
        "plot_config",
        "strategies",
        "strategy",
        "available_pairs",
    ]
    assert set(wanted) <= set(client_commands())


def test_argument_binding() -> None:
    args, kwargs = _bind_arguments(RestClient.forceenter, ["BTC/USDT", "short", "stakeamount=10.5"])
    assert args == ["BTC/USDT", "short"] and kwargs == {"stakeamount": 10.5}
    args, _ = _bind_arguments(RestClient.pair_candles, ["ETH/USDT", "5m", "100", '["rsi"]'])
    assert args == ["ETH/USDT", "5m", 100, ["rsi"]]
    with pytest.raises(ValueError, match="usage: trade <trade_id>"):
        _bind_arguments(RestClient.trade, [])


def test_unknown_command_and_bad_arguments_exit_2() -> None:
    assert run(["frobnicate"])[0] == 2
    code, _, err = run(["trade"])
    assert code == 2 and "usage" in err


def test_connection_refused_is_one_line() -> None:
    port = free_port()
    code, out, err = run(["--url", f"http://127.0.0.1:{port}", "ping"])
    assert code == 1 and out == ""
    assert err == f"cannot reach the bot API at http://127.0.0.1:{port}: connection refused\n"


def test_settings_come_from_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    api = SimpleNamespace(listen_ip_address="0.0.0.0", listen_port=port, username="u", password="p")
    seen: list[list[str]] = []

    def load_config(paths: list[str]) -> SimpleNamespace:
        seen.append(paths)
        return SimpleNamespace(api_server=api)

    fake = ModuleType("tradecast.config")
    fake.load_config = load_config  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tradecast.config", fake)
    code, _, err = run(["--config", "a.json", "-c", "b.json", "version"])
    assert seen == [["a.json", "b.json"]]
    assert code == 1 and f"http://127.0.0.1:{port}: connection refused" in err  # 0.0.0.0 -> 127.0.0.1


async def test_cli_against_a_real_server(app_factory) -> None:
    server = ApiServer(app_factory(), "127.0.0.1", 0)
    await server.start()
    try:
        ok = await asyncio.to_thread(
            run, ["--url", server.url, "--username", USERNAME, "--password", PASSWORD, "version"]
        )
        denied = await asyncio.to_thread(run, ["--url", server.url, "--basic", "whoami"])
        no_auth = await asyncio.to_thread(run, ["--url", server.url, "version"])
    finally:
        await server.stop()
    assert ok[0] == 0 and "version" in json.loads(ok[1])
    assert denied[0] == 2  # whoami is not a client command
    assert no_auth[0] == 1 and json.loads(no_auth[1]) == {"detail": "Unauthorized"}
