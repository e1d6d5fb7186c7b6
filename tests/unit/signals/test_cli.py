"""The ``tradecast signal`` command line without Redis: parsing, wiring and bad input (exit code 2)."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import pytest

from tradecast.core.errors import ConfigError
from tradecast.signals.cli import add_signal_commands, main

SECTION = SimpleNamespace(
    redis_url="redis://127.0.0.1:1/0",  # nothing listens there: these tests must fail before talking to Redis
    stream="s",
    group="g",
    consumer="c",
    dead_letter_stream="s:dead",
    signal_ttl_s=60,
    min_confidence=0.0,
    allowed_signal_types=["test"],
    max_signals_per_minute=10,
    max_entry_bytes=65536,
)


def run(capsys, *args: str, config: object = None) -> tuple[int, str, str]:
    config = config or SimpleNamespace(external_signals=SECTION)
    code = main(["signal", *args], load_config=lambda paths: config)
    out, err = capsys.readouterr()
    return code, out, err


def test_add_signal_commands_wires_a_func_into_a_parent_parser() -> None:
    parser = argparse.ArgumentParser(prog="tradecast")
    subparsers = parser.add_subparsers(dest="command")
    add_signal_commands(subparsers)
    args = parser.parse_args(
        ["signal", "stoploss", "set", "-c", "a.json", "-c", "b.json", "--pair", "X/Y", "--ratio", "-0.1"]
    )
    assert args.config == ["a.json", "b.json"] and args.ratio == -0.1 and callable(args.func)
    args = parser.parse_args(["signal", "send", "-c", "a.json", "--pair", "X/Y", "--action", "hold"])
    assert (args.signal_type, args.confidence, args.meta, args.id) == ("test", 1.0, [], None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["send", "-c", "x", "--pair", "BTC/USDT", "--action", "buy", "--confidence", "7"],
            "error: confidence: must be between 0 and 1, got 7.0",
        ),
        (
            ["send", "-c", "x", "--pair", "BTCUSDT", "--action", "buy"],
            "error: pair: has an invalid format, got 'BTCUSDT' (expected BASE/QUOTE)",
        ),
        (
            ["send", "-c", "x", "--pair", "BTC/USDT", "--action", "buy", "--meta", "novalue"],
            "error: --meta expects KEY=VALUE, got 'novalue'",
        ),
        (
            ["stoploss", "set", "-c", "x", "--pair", "BTC/USDT", "--ratio", "0.5"],
            "error: stoploss ratio must be a number between -1 and 0 (exclusive), got 0.5",
        ),
    ],
)
def test_bad_input_prints_one_line_and_exits_2(capsys, args: list[str], message: str) -> None:
    code, out, err = run(capsys, *args)
    assert (code, out, err) == (2, "", message + "\n")


def test_missing_section_and_config_errors_exit_2(capsys) -> None:
    code, _, err = run(capsys, "status", "-c", "x", config=SimpleNamespace(external_signals=None))
    assert (
        code == 2
        and err == "error: the config has no external_signals section (redis_url, stream, group...)\n"
    )

    def broken(paths: list[str]) -> object:
        raise ConfigError(f"{paths[0]}: no such file")

    assert main(["signal", "clear", "-c", "nope.json"], load_config=broken) == 2
    assert capsys.readouterr().err == "error: nope.json: no such file\n"


def test_unreachable_redis_exits_1(capsys) -> None:
    code, out, err = run(capsys, "stoploss", "clear", "-c", "x", "--pair", "BTC/USDT")
    assert code == 1 and out == "" and err.startswith("error: Redis unreachable at redis://127.0.0.1:1/0")


def test_argparse_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["signal", "send", "-c", "x", "--pair", "BTC/USDT", "--action", "short"])
    assert info.value.code == 2
