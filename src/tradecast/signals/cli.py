"""``tradecast signal send|status|clear|stoploss set|stoploss clear|demo``.

Every command reads the Redis settings from the ``external_signals`` section of ``--config`` (repeatable,
merged in order by the config loader) and prints its result as JSON. Bad input prints one line and exits
with code 2; an unreachable Redis prints one line and exits with code 1.

The main CLI wires the group in with ``add_signal_commands(subparsers)``; the ``signal`` parser sets
``func(args) -> int`` to run the chosen command.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tradecast.core.errors import ConfigError, TransientError, WireError
from tradecast.signals.schema import ACTIONS, SIGNAL_TYPES
from tradecast.signals.sender import SignalSender

LoadConfig = Callable[[list[str]], Any]


def add_signal_commands(
    subparsers: argparse._SubParsersAction, load_config: LoadConfig | None = None
) -> argparse.ArgumentParser:
    """Add the ``signal`` command group to ``subparsers``; returns its parser."""
    parser = subparsers.add_parser("signal", help="send and inspect external signals (Redis)")
    commands = parser.add_subparsers(dest="signal_command", metavar="COMMAND", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", "-c", action="append", required=True, metavar="FILE",
        help="bot config file with an external_signals section (repeatable)",
    )  # fmt: skip

    send = commands.add_parser("send", parents=[common], help="send one signal")
    send.add_argument("--pair", required=True, help="e.g. BTC/USDT")
    send.add_argument("--action", required=True, choices=ACTIONS)
    send.add_argument("--type", dest="signal_type", default="test", choices=SIGNAL_TYPES)
    send.add_argument("--confidence", type=float, default=1.0, help="0..1 (default 1)")
    send.add_argument(
        "--meta", action="append", default=[], metavar="KEY=VALUE",
        help="metadata entry (repeatable); VALUE is read as JSON when it is JSON, else as text",
    )  # fmt: skip
    send.add_argument("--id", default=None, help="signal id (default: a new uuid4 hex)")
    send.add_argument("--ttl", dest="ttl_s", type=float, default=None, help="time to live in seconds")
    send.add_argument("--stake-amount", type=float, default=None, help="stake in quote currency")
    send.add_argument("--timestamp", default=None, help="ISO 8601 with zone (default: now)")

    status = commands.add_parser("status", parents=[common], help="pending signals, stoplosses, rejections")
    status.add_argument("--rejections", type=int, default=10, help="how many recent rejections to show")
    status.add_argument("--outcomes", type=int, default=10, help="how many recent outcomes to show")

    commands.add_parser(
        "clear", parents=[common],
        help="acknowledge the group's pending signals and skip undelivered ones (history is kept)",
    )  # fmt: skip

    stoploss = commands.add_parser("stoploss", help="set or clear a custom stoploss")
    stoploss_commands = stoploss.add_subparsers(dest="stoploss_command", metavar="COMMAND", required=True)
    sl_set = stoploss_commands.add_parser("set", parents=[common], help="set the stoploss of a pair")
    sl_set.add_argument("--pair", required=True)
    sl_set.add_argument("--ratio", type=float, required=True, help="between -1 and 0, e.g. -0.03")
    sl_clear = stoploss_commands.add_parser("clear", parents=[common], help="remove the stoploss of a pair")
    sl_clear.add_argument("--pair", required=True)

    demo = commands.add_parser("demo", parents=[common], help="send scripted good and bad signals")
    demo.add_argument("--pair", default=None, help="pair to trade (default: first of the whitelist)")
    demo.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for the bot")

    parser.set_defaults(func=lambda args: run_signal_command(args, load_config))
    return parser


def run_signal_command(args: argparse.Namespace, load_config: LoadConfig | None = None) -> int:
    """Run the parsed command; returns the exit code (0 fine, 1 Redis unreachable, 2 bad input)."""
    try:
        config = _load(args.config, load_config)
        sender = SignalSender.from_config(_section(config))
        with sender:
            result, code = _COMMANDS[_command_name(args)](sender, args, config)
    except (ConfigError, WireError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TransientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str))
    return code


def main(argv: Sequence[str] | None = None, load_config: LoadConfig | None = None) -> int:
    """Standalone entry: ``main(["signal", "send", "--config", "c.json", ...])``."""
    parser = argparse.ArgumentParser(prog="tradecast")
    add_signal_commands(parser.add_subparsers(dest="command", required=True), load_config)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    return args.func(args)


def _load(paths: list[str], load_config: LoadConfig | None) -> Any:
    if load_config is None:
        from tradecast.config import load_config  # lazy: the config package is a layer below the CLI
    return load_config(paths)


def _section(config: Any) -> Any:
    section = getattr(config, "external_signals", None)
    if section is None:
        raise ConfigError("the config has no external_signals section (redis_url, stream, group...)")
    return section


def _command_name(args: argparse.Namespace) -> str:
    if args.signal_command == "stoploss":
        return f"stoploss {args.stoploss_command}"
    return args.signal_command


def _metadata(items: list[str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--meta expects KEY=VALUE, got {item!r}")
        try:
            metadata[key] = json.loads(value)
        except ValueError:
            metadata[key] = value
    return metadata


def _send(sender: SignalSender, args: argparse.Namespace, config: Any) -> tuple[Any, int]:
    signal_id = sender.send(
        args.pair,
        args.action,
        signal_type=args.signal_type,
        confidence=args.confidence,
        metadata=_metadata(args.meta),
        id=args.id,
        ttl_s=args.ttl_s,
        stake_amount=args.stake_amount,
        timestamp=args.timestamp,
    )
    return {"sent": signal_id, "stream": sender.stream}, 0


def _status(sender: SignalSender, args: argparse.Namespace, config: Any) -> tuple[Any, int]:
    status = sender.status(rejections=args.rejections)
    status["recent_outcomes"] = sender.recent_outcomes(args.outcomes)
    return status, 0


def _clear(sender: SignalSender, args: argparse.Namespace, config: Any) -> tuple[Any, int]:
    return sender.clear_signals(), 0


def _stoploss_set(sender: SignalSender, args: argparse.Namespace, config: Any) -> tuple[Any, int]:
    sender.set_custom_stoploss(args.pair, args.ratio)
    return {"pair": args.pair, "stoploss": args.ratio}, 0


def _stoploss_clear(sender: SignalSender, args: argparse.Namespace, config: Any) -> tuple[Any, int]:
    return {"pair": args.pair, "cleared": sender.clear_custom_stoploss(args.pair)}, 0


def _demo(sender: SignalSender, args: argparse.Namespace, config: Any) -> tuple[Any, int]:
    """Send a scripted mix of good and bad signals, then report what the bot did with each one.

    The answers come from the outcome stream the bot's ingester writes, so a running bot reading the same
    stream is needed; without one every step ends up "unresolved" after ``--timeout`` seconds.
    """
    section = _section(config)
    whitelist = list(getattr(getattr(config, "exchange", None), "pair_whitelist", None) or [])
    pair = args.pair or (whitelist[0] if whitelist else "BTC/USDT")
    run = uuid.uuid4().hex[:8]
    stale = datetime.now(UTC) - timedelta(seconds=float(section.signal_ttl_s) + 60)
    steps: list[tuple[str, str, Callable[[], str]]] = [
        ("buy", "executed", lambda: sender.send(pair, "buy", id=f"demo-{run}-buy")),
        ("same id again", "duplicate", lambda: sender.send(pair, "buy", id=f"demo-{run}-buy")),
        ("expired timestamp", "rejected:expired", lambda: sender.send(pair, "buy", timestamp=stale)),
        ("unknown pair", "rejected:pair_not_tradable", lambda: sender.send("NOPE/NOWHERE", "buy")),
        ("hold", "ignored", lambda: sender.send(pair, "hold")),
        ("sell", "executed", lambda: sender.send(pair, "sell", id=f"demo-{run}-sell")),
        ("not JSON", "rejected:invalid", lambda: "stream-" + sender.send_raw({"signal": "{not json"})),
    ]
    if float(section.min_confidence) > 0:
        low = float(section.min_confidence) / 2
        steps.insert(
            4, ("low confidence", "rejected:low_confidence", lambda: sender.send(pair, "buy", confidence=low))
        )
    sent = []
    for name, expected, send in steps:
        signal_id = send()
        sent.append((name, expected, signal_id, sender.last_entry_id or ""))
    # matched by entry id: the duplicate step carries the same signal id as the first buy
    entry_ids = [entry_id for *_, entry_id in sent]
    outcomes = sender.wait_for_outcomes(entry_ids, timeout_s=args.timeout, by="entry_id")
    report = []
    for name, expected, signal_id, entry_id in sent:
        outcome = outcomes.get(entry_id)
        got = None
        if outcome is not None:
            got = outcome["status"] if outcome["status"] != "rejected" else f"rejected:{outcome['reason']}"
        report.append(
            {
                "step": name,
                "signal_id": signal_id,
                "expected": expected,
                "got": got or "unresolved",
                "detail": outcome.get("detail") if outcome else None,
                "trade_id": int(outcome["trade_id"]) if outcome and outcome.get("trade_id") else None,
                "ok": got == expected,
            }
        )
    ok = all(step["ok"] for step in report)
    return {"pair": pair, "ok": ok, "steps": report}, 0 if ok else 1


_COMMANDS = {
    "send": _send,
    "status": _status,
    "clear": _clear,
    "stoploss set": _stoploss_set,
    "stoploss clear": _stoploss_clear,
    "demo": _demo,
}
