"""The ``tradecast`` command line (verb-noun commands, like freqtrade's).

Every command turns a :class:`~tradecast.core.errors.ConfigError` into one line on stderr and exit code 2;
other tradecast errors exit with 1. Nothing prints a traceback for bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tradecast import __version__
from tradecast.core.errors import ConfigError, TradecastError
from tradecast.core.logsetup import setup_logging

log = logging.getLogger("tradecast.cli")


def _add_config_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("-c", "--config", action="append", required=required, metavar="FILE",
                        help="config file (repeat to merge several, left to right)")


def _load(args: argparse.Namespace, **overrides: Any):
    from tradecast.config import load_config

    cleaned = {key: value for key, value in overrides.items() if value is not None}
    return load_config(args.config, overrides=cleaned or None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tradecast", description="Trading bots that share their analysis.")
    parser.add_argument("--version", action="version", version=f"tradecast {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for libraries)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    trade = sub.add_parser("trade", help="run a bot (paper trading unless dry_run is false)")
    _add_config_args(trade)
    trade.add_argument("-s", "--strategy", help="strategy class name (overrides the config)")
    trade.add_argument("--strategy-path", help="folder with strategy files (overrides the config)")
    trade.add_argument("--db-url", help="database URL (overrides the config)")
    trade.set_defaults(handler=cmd_trade)

    new_config = sub.add_parser("new-config", help="write a commented starter config")
    new_config.add_argument("-o", "--output", default="config.json", help="file to write (default config.json)")
    new_config.add_argument("--force", action="store_true", help="overwrite an existing file")
    new_config.set_defaults(handler=cmd_new_config)

    show_config = sub.add_parser("show-config", help="print the effective config, secrets masked")
    _add_config_args(show_config)
    show_config.set_defaults(handler=cmd_show_config)

    list_strategies = sub.add_parser("list-strategies", help="list the strategies that can be loaded")
    _add_config_args(list_strategies, required=False)
    list_strategies.add_argument("--strategy-path", help="folder with strategy files")
    list_strategies.set_defaults(handler=cmd_list_strategies)

    show_trades = sub.add_parser("show-trades", help="list the trades in the database")
    _add_config_args(show_trades)
    show_trades.add_argument("--db-url", help="database URL (overrides the config)")
    show_trades.add_argument("--json", action="store_true", help="print a JSON list with freqtrade's field names")
    show_trades.set_defaults(handler=cmd_show_trades)

    demo = sub.add_parser("demo", help="run demo bots on the simulated market until Ctrl-C")
    demo.add_argument("--speed", type=float, default=60.0, help="simulated minutes per wall minute (default 60)")
    demo.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0 = never)")
    demo.add_argument("--dir", default="user_data/demo", help="where the demo writes its configs and databases")
    demo.add_argument("--port", type=int, default=8080, help="API port of the producer (the consumer uses +1)")
    demo.set_defaults(handler=cmd_demo)

    for plugin in ("tradecast.api.client_cli:add_client_command", "tradecast.signals.cli:add_signal_commands"):
        _add_plugin(sub, plugin)
    return parser


def _add_plugin(sub: Any, target: str) -> None:
    """Commands owned by other packages register themselves here (missing ones are simply absent)."""
    module_name, func_name = target.split(":")
    try:
        module = __import__(module_name, fromlist=[func_name])
    except ImportError:
        return
    getattr(module, func_name)(sub)


# ----------------------------------------------------------------- commands
def cmd_trade(args: argparse.Namespace) -> int:
    from tradecast.bot import Bot, run_bot

    config = _load(args, strategy=args.strategy, strategy_path=args.strategy_path, db_url=args.db_url)
    if not config.strategy:
        raise ConfigError("strategy: no strategy given; set \"strategy\" in the config or pass --strategy NAME")
    bot = Bot(config)
    start_parts = _optional_parts()
    asyncio.run(run_bot(bot, start_parts))
    return 0


def _optional_parts():
    """The API server, fleet and signal parts attach themselves to a bot when their packages provide it."""
    try:
        from tradecast.assembly import attach_optional_parts
    except ImportError:
        return None
    return attach_optional_parts


def cmd_new_config(args: argparse.Namespace) -> int:
    from tradecast.config import write_starter_config

    write_starter_config(Path(args.output), overwrite=args.force)
    print(f"wrote {args.output}; start a bot with: tradecast trade --config {args.output}")
    return 0


def cmd_show_config(args: argparse.Namespace) -> int:
    config = _load(args)
    print(json.dumps(config.to_public_dict(), indent=2, default=str))
    return 0


def cmd_list_strategies(args: argparse.Namespace) -> int:
    from tradecast.strategy import list_strategies

    config = _load(args) if args.config else None
    for name, location in list_strategies(args.strategy_path or config):
        print(f"{name:30s} {location}")
    return 0


def cmd_show_trades(args: argparse.Namespace) -> int:
    from tradecast.persistence import Database, TradeRepository
    from tradecast.trading.serialize import trade_summary

    config = _load(args, db_url=args.db_url)
    database = Database(config.db_url or config.effective_db_url(), read_only=True)
    try:
        trades = TradeRepository(database).trades()
    finally:
        database.close()
    rows = [trade_summary(t) for t in trades]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if not rows:
        print("no trades")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} trade(s)")
    columns = ("trade_id", "pair", "is_open", "amount", "open_rate", "close_rate", "profit_ratio",
               "profit_abs", "exit_reason", "open_date", "close_date")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_fmt(row[column]) for column in columns))
    console = Console()
    if not console.is_terminal:  # piped into a file or grep: never squeeze the table to 80 columns
        console = Console(width=240)
    console.print(table)
    return 0


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.8g}"
    if isinstance(value, str) and len(value) > 19 and value[10] == "T":  # ISO dates: to the second, no zone
        return value[:19].replace("T", " ")
    return str(value)


def cmd_demo(args: argparse.Namespace) -> int:
    from tradecast.demo import run_demo

    return run_demo(Path(args.dir), speed=args.speed, duration_s=args.duration, base_port=args.port)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tradecast`` script and ``python -m tradecast``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # our own commands set ``handler``; the client and signal command groups set ``func``
    handler = getattr(args, "handler", None) or getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return 2
    setup_logging(args.verbose)
    try:
        return int(handler(args) or 0)
    except ConfigError as exc:
        print(f"tradecast: error: {exc}", file=sys.stderr)
        return 2
    except TradecastError as exc:
        print(f"tradecast: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
